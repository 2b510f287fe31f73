using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Planning;

/// <summary>An idle device asking for work.</summary>
/// <param name="FreeBytes">The device's free memory (CPU devices: available RAM); null when it does not say, and then every unit fits.</param>
public sealed record WorkRequest(string NodeId, string DeviceId, long? FreeBytes = null);

/// <summary>A unit handed to a device.</summary>
/// <param name="Failures">How many times this unit's jobs have failed before (0 on a first run).</param>
/// <param name="Split">Set when the policy cut a unit too big for the device; the unit handed out is the first part.</param>
public sealed record Assignment(WorkUnit Unit, string NodeId, string DeviceId, int Failures, UnitSplit? Split);

/// <summary>A queued unit replaced by smaller ones that fit the device that asked; the store should do the same.</summary>
public sealed record UnitSplit(WorkUnit Original, IReadOnlyList<WorkUnit> Parts);

public enum FailureVerdict
{
    /// <summary>Back in the queue, at its old place; preferably run on another node.</summary>
    Retry,

    /// <summary>The sweep's retries are used up: fail the unit's jobs with <see cref="FailureOutcome.Reason"/>.</summary>
    GiveUp,

    /// <summary>The sweep was cancelled: the unit is forgotten.</summary>
    Dropped,
}

/// <summary>What to do after a unit failed.</summary>
/// <param name="Failures">How many times the unit has failed, this time included.</param>
/// <param name="NodeBlocked">True when this failure was the one that blocked the node for the sweep.</param>
public sealed record FailureOutcome(FailureVerdict Verdict, WorkUnit Unit, int Failures, string Reason, bool NodeBlocked)
{
    /// <summary>The jobs to record as failed: all of the unit's when the policy gives up, none otherwise.</summary>
    public IReadOnlyList<string> FailedJobIds => Verdict == FailureVerdict.GiveUp ? Unit.Jobs.Select(j => j.JobId).ToArray() : [];
}

/// <summary>A unit the policy knows of, as queries return it.</summary>
/// <param name="RunningOn">The node and device running it; null while it waits.</param>
public sealed record QueuedUnit(WorkUnit Unit, int Failures, IReadOnlyCollection<string> FailedOn, string? LastFailure,
    (string NodeId, string DeviceId)? RunningOn);

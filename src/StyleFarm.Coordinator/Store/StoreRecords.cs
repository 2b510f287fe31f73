using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Store;

public enum SweepState { Queued, Running, Paused, Done, Failed, Cancelled }

public enum JobState { Queued, Running, Done, Failed, Cancelled }

/// <summary>
/// Queued also means requeued: a unit handed back keeps its checkpoint and waits for the next device. Split: the
/// unit was replaced by smaller ones that fit a device (it keeps its history; its parts do the work).
/// </summary>
public enum UnitState { Queued, Assigned, Running, Done, Failed, Cancelled, Split }

public enum AttemptOutcome { Done, Failed, Requeued, Cancelled }

/// <summary>What recording a job's result did: the first report is recorded, any later one is a duplicate.</summary>
public enum RecordOutcome { Recorded, Duplicate, UnknownJob }

/// <summary>
/// A validated, expanded and planned sweep. <paramref name="Units"/> cover the jobs that still need running (the
/// caller leaves out jobs <see cref="FarmStore.FindCompletedJobs"/> reported done); every unit's SweepId is
/// <paramref name="Id"/>, every job a unit answers is one of <paramref name="Jobs"/>, and unit ids are unique
/// across sweeps (FusionPlanner.UnitIdOf starts with the sweep id).
/// </summary>
public sealed record NewSweep(
    string Id,
    string Name,
    string FileText,
    int Priority,
    int Retries,
    IReadOnlyList<NewSweepJob> Jobs,
    IReadOnlyList<WorkUnit> Units);

/// <summary>One combination of a sweep: its resolved settings and the swept values that produced it (for labels).</summary>
public sealed record NewSweepJob(JobSettings Settings, IReadOnlyDictionary<string, string> SweptValues);

public sealed record SweepRecord(
    string Id,
    string Name,
    string FileText,
    SweepState State,
    int Priority,
    int Retries,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt)
{
    public bool IsFinished => State is SweepState.Done or SweepState.Failed or SweepState.Cancelled;
}

/// <param name="Node">The node that delivered the result.</param>
/// <param name="Device">The device id that delivered it (as on the wire: <c>node-a/cuda:0</c>).</param>
/// <param name="BatchSize">How many variants ran fused with it.</param>
public sealed record JobRecord(
    string Id,
    JobSettings Settings,
    JobState State,
    string? ResultBlob,
    string? TraceBlob,
    LossValues? FinalLosses,
    string? Node,
    string? Device,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double? EngineSeconds,
    int? BatchSize,
    string? FailureReason);

public sealed record SweepJobRecord(JobRecord Job, IReadOnlyDictionary<string, string> SweptValues);

public sealed record SnapshotRecord(string JobId, int Step, string Blob);

/// <param name="AttemptId">The attempt holding the unit while it is assigned or running; null otherwise.</param>
/// <param name="Checkpoint">Where the unit resumes; null to start at step 0.</param>
/// <param name="Attempts">How many times it was handed out.</param>
/// <param name="FailedOn">Nodes on which it failed, each once (the dispatcher prefers others for a retry).</param>
public sealed record UnitRecord(
    WorkUnit Unit,
    UnitState State,
    string? AttemptId,
    string? Node,
    string? Device,
    ResumePoint? Checkpoint,
    int Attempts,
    int Failures,
    string? FailureReason,
    IReadOnlyList<string> FailedOn)
{
    public string SweepId => Unit.SweepId;

    public string UnitId => Unit.UnitId;
}

/// <summary>A queued unit without its plan: how many jobs it answers and the step it resumes at.</summary>
public sealed record QueuedUnitSize(string UnitId, int Jobs, int CheckpointStep);

/// <summary>The state a unit change left the unit and its sweep in (a sweep finishes with its last unit).</summary>
public sealed record UnitChange(UnitState Unit, SweepState Sweep);

/// <summary>
/// What <see cref="FarmStore.RecordUnitDone"/> did: each result's outcome (in the order given), the unit's sweep
/// (null if the unit is unknown), and the unit's change when it was completed.
/// </summary>
public sealed record UnitDoneOutcome(IReadOnlyList<RecordOutcome> Outcomes, string? SweepId, UnitChange? Change);

/// <summary>
/// A unit that ended before its assignment was written (<see cref="FarmStore.AssignAndRecordUnitDone"/>): who ran
/// it, under which attempt, since when, and its results.
/// </summary>
public sealed record UnitEndToFold(string UnitId, string Node, string Device, string AttemptId, DateTimeOffset AssignedAt,
    IReadOnlyList<JobResult> Results);

/// <summary>An unfinished sweep after a restart, with its units waiting for a device (running ones requeued).</summary>
public sealed record UnfinishedSweep(SweepRecord Sweep, IReadOnlyList<UnitRecord> Units);

/// <summary>A sweep's jobs and units counted by state; every state is present (zero when none).</summary>
public sealed record SweepProgress(
    string SweepId,
    SweepState State,
    IReadOnlyDictionary<JobState, int> Jobs,
    IReadOnlyDictionary<UnitState, int> Units)
{
    public int JobCount => Jobs.Values.Sum();
}

/// <summary>One hand-out of a unit to a device; Outcome is null while the device holds it.</summary>
public sealed record AttemptRecord(
    string Id,
    string SweepId,
    string UnitId,
    string Node,
    string Device,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    AttemptOutcome? Outcome,
    string? Reason);

/// <summary>Attempts one node made, by outcome; Open counts attempts still running.</summary>
public sealed record NodeAttempts(string Node, int Attempts, int Done, int Failed, int Requeued, int Cancelled, int Open);

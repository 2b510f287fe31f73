using Akka.Actor;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Farm;

// What the SweepManager publishes on its ActorSystem's EventStream for the dashboard and the `run` command.
// Local only: subscribe with system.EventStream.Subscribe(actor, typeof(IFarmEvent)) (or one record's type).

/// <summary>Every event the farm publishes on the coordinator's EventStream.</summary>
public interface IFarmEvent : INoSerializationVerificationNeeded;

/// <summary>The sweep finished (the store says Done, Failed or Cancelled); nothing of it runs any more.</summary>
public sealed record SweepEnded(string SweepId, SweepState State) : IFarmEvent;

/// <summary>A job's result was recorded (once per job, whichever attempt delivered it).</summary>
public sealed record JobRecorded(string SweepId, string JobId, string DeviceId) : IFarmEvent;

/// <summary>Jobs failed for good (retries used up, or no node may run them).</summary>
public sealed record JobsFailed(string SweepId, IReadOnlyList<string> JobIds, string Reason) : IFarmEvent;

/// <summary>A running unit reported progress; <paramref name="Losses"/> are every variant's losses at <paramref name="Step"/>.</summary>
public sealed record UnitProgressed(string SweepId, string UnitId, string DeviceId, int Step, int MaxSteps, VariantLosses[] Losses) : IFarmEvent;

/// <summary>
/// A unit was handed to a device (published as it is sent). <paramref name="Unit"/> is its plan, so that the
/// dashboard need not read the plans of units still queued (in-process only: farm events never travel).
/// </summary>
public sealed record UnitAssigned(string SweepId, string UnitId, string DeviceId, string AttemptId, int Jobs, WorkUnit? Unit = null) : IFarmEvent;

/// <summary>A unit went back to the queue unfinished (hand-back, pause, device or node lost, a failure to retry).</summary>
public sealed record UnitRequeued(string SweepId, string UnitId, string DeviceId, string Reason) : IFarmEvent;

/// <summary>A node joined, drained, became unreachable or left, or one of its devices changed state.</summary>
public sealed record NodeChanged(NodeView Node) : IFarmEvent;

// Added for the Dashboard (helper I): what it needs to know without reading the store on every step.

/// <summary>A sweep was taken up and its units queued (published once, after SweepSubmitted).</summary>
public sealed record SweepQueued(string SweepId, string Name) : IFarmEvent;

/// <summary>A unit finished on a device: every job of it has its result stored.</summary>
public sealed record UnitCompleted(string SweepId, string UnitId, string DeviceId) : IFarmEvent;

/// <summary>A variant's snapshot at <paramref name="Step"/> was filed under <paramref name="JobIds"/> (the variant's jobs that run that far).</summary>
public sealed record SnapshotStored(string SweepId, string UnitId, string VariantId, IReadOnlyList<string> JobIds, int Step, string Blob) : IFarmEvent;

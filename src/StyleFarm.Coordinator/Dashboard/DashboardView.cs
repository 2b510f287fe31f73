using Akka.Actor;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Dashboard;

// The live view of the farm, as GET /api/v1/dashboard and the `view` events of GET /api/v1/events send it (JSON with
// ApiJson.Options) and `stylefarm watch` reads it. Every property is a constructor parameter: what goes out comes
// back in. Local only (it never crosses the cluster), so it skips serialize-messages.

/// <summary>The whole farm at <paramref name="At"/>; <paramref name="Version"/> grows with every change folded in.</summary>
/// <param name="Sweeps">Unfinished sweeps (oldest first), then the ones that ended lately (newest first).</param>
/// <param name="Units">The units running now, longest running first, at most DashboardLimits.ListedUnits of them.</param>
/// <param name="Jobs">The jobs of the running units, then the jobs that ended lately (newest first).</param>
/// <param name="QueuedUnits">Units waiting for a device, over every sweep.</param>
/// <param name="RunningUnits">Units running, over every sweep (listed or not).</param>
/// <param name="Failures">Recent failures and requeues with their reasons, newest last.</param>
public sealed record DashboardView(
    DateTimeOffset At,
    long Version,
    IReadOnlyList<DashboardSweep> Sweeps,
    IReadOnlyList<DashboardUnit> Units,
    IReadOnlyList<DashboardJob> Jobs,
    IReadOnlyList<DashboardNode> Nodes,
    int QueuedUnits,
    int RunningUnits,
    IReadOnlyList<DashboardFailure> Failures) : INoSerializationVerificationNeeded
{
    public static DashboardView Empty(DateTimeOffset at) => new(at, 0, [], [], [], [], 0, 0, []);

    public DashboardSweep? Sweep(string sweepId) => Sweeps.FirstOrDefault(s => s.Id == sweepId);
}

/// <summary>One sweep's progress.</summary>
/// <param name="Jobs">Every job of the sweep (0 until the sweep is read from the store).</param>
/// <param name="JobsPerSecond">Recent throughput (null until a job was recorded while the dashboard watched).</param>
/// <param name="EtaSeconds">Remaining jobs at <paramref name="JobsPerSecond"/>; null when unknown or ended.</param>
public sealed record DashboardSweep(
    string Id,
    string Name,
    SweepState State,
    int Jobs,
    int JobsDone,
    int JobsFailed,
    int JobsCancelled,
    int JobsRunning,
    int JobsQueued,
    int UnitsQueued,
    int UnitsRunning,
    double? JobsPerSecond,
    double? EtaSeconds,
    DateTimeOffset? EndedAt)
{
    public bool IsFinished => State is SweepState.Done or SweepState.Failed or SweepState.Cancelled;
}

/// <summary>A unit running on a device.</summary>
/// <param name="Losses">Every variant's losses at <paramref name="Step"/> (empty before the first report).</param>
public sealed record DashboardUnit(
    string UnitId,
    string SweepId,
    string? DeviceId,
    int Jobs,
    int Step,
    int MaxSteps,
    DateTimeOffset? AssignedAt,
    IReadOnlyList<VariantLosses> Losses);

/// <summary>One job: how far its variant got and what it looked like last.</summary>
/// <param name="Steps">The job's step count; <paramref name="Step"/> is its variant's step, at most that.</param>
public sealed record DashboardJob(
    string JobId,
    string SweepId,
    string? UnitId,
    string? VariantId,
    JobState State,
    int Step,
    int Steps,
    LossValues? Losses,
    int? SnapshotStep,
    string? SnapshotBlob,
    string? DeviceId,
    DateTimeOffset? EndedAt);

/// <summary>A node and its devices.</summary>
/// <param name="State">up, draining, unreachable or gone.</param>
public sealed record DashboardNode(string NodeId, string HostName, string State, IReadOnlyList<DashboardDevice> Devices);

/// <summary>A device: what it runs and how fast (from the units' progress reports).</summary>
/// <param name="State">idle, running, draining or gone.</param>
public sealed record DashboardDevice(
    string DeviceId,
    string Device,
    string State,
    string? UnitId,
    string? SweepId,
    int Step,
    int MaxSteps,
    double StepsPerSecond,
    int JobsDone,
    int Failures,
    LossValues? Losses);

/// <summary>A failure (jobs failed for good) or a requeue (a unit back in the queue, a failure to retry among them).</summary>
/// <param name="Kind">failed or requeued.</param>
public sealed record DashboardFailure(
    DateTimeOffset At,
    string Kind,
    string SweepId,
    string? UnitId,
    string? DeviceId,
    int Jobs,
    string Reason);

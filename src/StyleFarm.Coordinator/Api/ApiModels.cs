using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Api;

// The bodies of /api/v1, shared by the server (StyleFarmApi) and the client (StyleFarmApiClient) so the two cannot
// drift apart. Every property is a constructor parameter: what goes out comes back in.

/// <summary>GET /api/v1: what this coordinator speaks.</summary>
/// <param name="TokenRequired">Whether mutating requests need the API token (<see cref="ApiToken"/>).</param>
public sealed record ApiInfo(string Service, string Version, int ApiVersion, int ProtocolVersion, IReadOnlyList<ApiEndpoint> Endpoints,
    bool TokenRequired = false);

public sealed record ApiEndpoint(string Method, string Path, string Description);

/// <summary>GET /api/v1/health.</summary>
public sealed record ApiHealth(string Status, DateTimeOffset Time);

/// <summary>One problem with a request, in the shape `stylefarm validate` reports sweep file errors.</summary>
/// <param name="Line">The sweep file line, or 0 when the problem is not tied to one (a job the client sent, a blob).</param>
public sealed record ApiError(string Field, int Line, string Message);

// ---- submission ----

/// <summary>POST /api/v1/sweeps: a sweep the client loaded, validated and expanded, its files uploaded as blobs.</summary>
/// <param name="FileName">The sweep file's name, for messages and the run folder.</param>
/// <param name="FileText">The sweep file as written, kept with the sweep.</param>
public sealed record SubmitSweepRequest(
    string FileName,
    string FileText,
    string Name,
    int Priority,
    int Retries,
    int MaxJobs,
    IReadOnlyList<SubmitSweepJob> Jobs);

public sealed record SubmitSweepJob(JobSettings Settings, IReadOnlyDictionary<string, string> SweptValues);

/// <summary>201 from POST /api/v1/sweeps.</summary>
/// <param name="ReusedJobs">Jobs already done in an earlier sweep; they do not run again.</param>
/// <param name="Units">The work units the remaining jobs were fused into.</param>
/// <param name="Warning">Set when the sweep is stored but the SweepManager did not take it up at once.</param>
public sealed record SubmitSweepResponse(string Id, string Name, int Jobs, int ReusedJobs, int Units, string? Warning);

// ---- sweeps and jobs ----

/// <summary>One row of GET /api/v1/sweeps.</summary>
public sealed record SweepSummary(
    string Id,
    string Name,
    SweepState State,
    int Priority,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    int JobCount,
    IReadOnlyDictionary<JobState, int> Jobs);

/// <summary>GET /api/v1/sweeps/{id}.</summary>
/// <param name="Failures">The most recent failed attempts (newest last), with their reasons.</param>
public sealed record SweepDetail(
    string Id,
    string Name,
    SweepState State,
    int Priority,
    int Retries,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string FileText,
    int JobCount,
    IReadOnlyDictionary<JobState, int> Jobs,
    IReadOnlyDictionary<UnitState, int> Units,
    IReadOnlyList<RunningUnit> RunningUnits,
    IReadOnlyList<AttemptView> Failures,
    IReadOnlyList<FailedJob> FailedJobs);

/// <summary>A unit handed out to a device now.</summary>
public sealed record RunningUnit(string UnitId, UnitState State, string? Node, string? Device, int Jobs, int MaxSteps, int Attempts);

public sealed record FailedJob(string JobId, IReadOnlyDictionary<string, string> SweptValues, string? Reason);

public sealed record AttemptView(
    string Id,
    string SweepId,
    string UnitId,
    string Node,
    string Device,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    AttemptOutcome? Outcome,
    string? Reason);

public sealed record SnapshotView(int Step, string Blob);

/// <summary>One job of GET /api/v1/sweeps/{id}/jobs.</summary>
/// <param name="Node">The node that delivered the result; <paramref name="Device"/> the device id (node-a/cuda:0).</param>
public sealed record JobView(
    string Id,
    JobState State,
    IReadOnlyDictionary<string, string>? SweptValues,
    JobSettings Settings,
    LossValues? FinalLosses,
    string? Node,
    string? Device,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double? EngineSeconds,
    int? BatchSize,
    string? ResultBlob,
    string? TraceBlob,
    IReadOnlyList<SnapshotView> Snapshots,
    string? FailureReason);

/// <summary>GET /api/v1/jobs/{id}: the job, the sweeps that asked for it, and every hand-out of a unit answering it.</summary>
public sealed record JobDetail(JobView Job, IReadOnlyList<string> Sweeps, IReadOnlyList<AttemptView> Attempts);

internal static class ApiViews
{
    public static AttemptView ToView(this AttemptRecord a) =>
        new(a.Id, a.SweepId, a.UnitId, a.Node, a.Device, a.StartedAt, a.FinishedAt, a.Outcome, a.Reason);

    public static JobView ToView(this JobRecord j, IReadOnlyDictionary<string, string>? sweptValues, IReadOnlyList<SnapshotRecord> snapshots) =>
        new(j.Id, j.State, sweptValues, j.Settings, j.FinalLosses, j.Node, j.Device, j.CreatedAt, j.StartedAt, j.FinishedAt,
            j.EngineSeconds, j.BatchSize, j.ResultBlob, j.TraceBlob, snapshots.Select(s => new SnapshotView(s.Step, s.Blob)).ToArray(),
            j.FailureReason);
}

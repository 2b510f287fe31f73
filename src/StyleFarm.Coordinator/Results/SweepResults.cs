using System.Text.Json;
using System.Text.Json.Serialization;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Results;

/// <summary>
/// Everything a sweep produced, one row per job in the order its file expanded them: what <c>runs/&lt;name&gt;/results.json</c>
/// holds and what <c>GET /api/v1/sweeps/{id}/results</c> serves. Serializes with the web defaults (camelCase); states
/// are written as lower-case names and NaN or infinite losses as "NaN"/"Infinity", whatever options the caller uses.
/// </summary>
public sealed record SweepResults(
    string SweepId,
    string Name,
    [property: JsonConverter(typeof(LowerCaseEnumConverter<SweepState>))] SweepState State,
    string FileText,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyList<SweepResultRow> Jobs,
    IReadOnlyList<SweepFailure> Failures)
{
    /// <summary>How many of the sweep's jobs are in <paramref name="state"/>.</summary>
    public int CountOf(JobState state) => Jobs.Count(j => j.State == state);

    /// <summary>True when every job has its result (a run's exit code is 0 exactly then).</summary>
    [JsonIgnore]
    public bool AllDone => Jobs.All(j => j.State == JobState.Done);
}

/// <summary>One job of a sweep and what became of it.</summary>
/// <param name="Index">Its position in the sweep's expansion order, from 1 (the number its label starts with).</param>
/// <param name="Label">A stable, file-system safe name, e.g. <c>003_style_weight-1e5_steps-200</c> (see <see cref="JobLabels"/>).</param>
/// <param name="SweptValues">The swept parameters' values as the sweep file wrote them, in the file's order.</param>
/// <param name="Device">The device that delivered the result, as on the wire (<c>node-a/cuda:0</c>).</param>
/// <param name="EngineSeconds">Engine time of its unit up to this job's last step.</param>
/// <param name="BatchSize">How many variants ran fused with it.</param>
/// <param name="Attempts">How many times a unit holding this job was handed to a device in this sweep.</param>
/// <param name="Snapshots">The images saved on the way (save_every), by step.</param>
/// <param name="Files">Where the run folder put this job's files (relative, '/'-separated); null until written.</param>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record SweepResultRow(
    int Index,
    string JobId,
    string Label,
    [property: JsonConverter(typeof(LowerCaseEnumConverter<JobState>))] JobState State,
    IReadOnlyDictionary<string, string> SweptValues,
    JobSettings Settings,
    FinalLosses? FinalLosses,
    string? Node,
    string? Device,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    double? EngineSeconds,
    int? BatchSize,
    int Attempts,
    string? FailureReason,
    string? ImageBlob,
    string? TraceBlob,
    IReadOnlyList<SnapshotBlob> Snapshots,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RunFiles? Files = null);

/// <summary>The weighted loss terms at a job's last step; a diverged run has NaN or infinite ones.</summary>
[JsonNumberHandling(JsonNumberHandling.AllowNamedFloatingPointLiterals)]
public sealed record FinalLosses(double Total, double Content, double Style, double Tv);

/// <summary>A snapshot of a job at <paramref name="Step"/>, stored as <paramref name="Blob"/>.</summary>
public sealed record SnapshotBlob(int Step, string Blob);

/// <summary>A job's files in the run folder, relative to it; Image and Trace are null for a job without a result.</summary>
public sealed record RunFiles(string? Image, string? Trace, IReadOnlyList<string> Snapshots);

/// <summary>A failed attempt of one of the sweep's units: where it ran and why it failed.</summary>
public sealed record SweepFailure(string UnitId, string Node, string Device, DateTimeOffset At, string? Reason);

/// <summary>The JSON form of <see cref="SweepResults"/>: the web defaults, indented for a file people open.</summary>
public static class SweepResultsJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string Serialize(SweepResults results) => JsonSerializer.Serialize(results, Options);

    public static SweepResults Deserialize(string json) =>
        JsonSerializer.Deserialize<SweepResults>(json, Options) ?? throw new InvalidDataException("The results JSON is null.");
}

/// <summary>An enum as its camelCase name ("done", "failed"), the form the store and the API use.</summary>
public sealed class LowerCaseEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(JsonNamingPolicy.CamelCase, allowIntegerValues: false)
    where TEnum : struct, Enum;

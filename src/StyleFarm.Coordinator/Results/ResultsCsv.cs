using System.Globalization;
using System.Text;
using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Results;

/// <summary>
/// <c>results.csv</c>: one row per job, for a spreadsheet or pandas. Swept parameters come as <c>swept_&lt;key&gt;</c>
/// columns holding the values as the sweep file wrote them (a preset's name, a path); the settings columns after
/// them hold the resolved values, so <c>style_weight</c> is always a number. Invariant culture, RFC 4180 quoting,
/// times in ISO 8601 UTC, losses in round-trip form (NaN and Infinity as .NET writes them).
/// </summary>
public static class ResultsCsv
{
    public const string SweptPrefix = "swept_";

    private static readonly string[] FixedBefore = ["label", "job_id", "state"];

    private static readonly string[] FixedAfter =
    [
        "network", "size", "steps", "content_weight", "style_weight", "tv_weight", "learning_rate", "optimizer", "init",
        "seed", "content_layer", "style_layers",
        "total_loss", "content_loss", "style_loss", "tv_loss",
        "node", "device", "started_at", "finished_at", "engine_seconds", "batch_size", "attempts",
        "image", "trace", "failure_reason",
    ];

    /// <summary>The swept parameters, in the order they first appear (the sweep file's order).</summary>
    public static IReadOnlyList<string> SweptKeys(SweepResults results) =>
        results.Jobs.SelectMany(j => j.SweptValues.Keys).Distinct(StringComparer.Ordinal).ToArray();

    public static IReadOnlyList<string> Header(SweepResults results) =>
        [.. FixedBefore, .. SweptKeys(results).Select(k => SweptPrefix + k), .. FixedAfter];

    public static string Write(SweepResults results)
    {
        IReadOnlyList<string> swept = SweptKeys(results);
        var csv = new StringBuilder();
        AppendLine(csv, Header(results));
        foreach (SweepResultRow job in results.Jobs)
            AppendLine(csv, Cells(job, swept));
        return csv.ToString();
    }

    /// <summary>One field, quoted when it holds a comma, a quote, a line break or edge spaces; quotes doubled.</summary>
    public static string Quote(string field)
    {
        bool needsQuotes = field.AsSpan().IndexOfAny(",\"\r\n") >= 0 || (field.Length > 0 && (field[0] == ' ' || field[^1] == ' '));
        return needsQuotes ? $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : field;
    }

    private static IEnumerable<string> Cells(SweepResultRow job, IReadOnlyList<string> swept)
    {
        JobSettings s = job.Settings;
        FinalLosses? losses = job.FinalLosses;
        return
        [
            job.Label, job.JobId, job.State.ToString().ToLowerInvariant(),
            .. swept.Select(k => job.SweptValues.TryGetValue(k, out string? v) ? v : ""),
            s.Network, Number(s.Size), Number(s.Steps), Number(s.ContentWeight), Number(s.StyleWeight), Number(s.TvWeight),
            Number(s.LearningRate), s.Optimizer, s.Init, Number(s.Seed), s.ContentLayer,
            string.Join(';', s.StyleLayers.Select(l => $"{l.Layer}={Number(l.Weight)}")),
            Number(losses?.Total), Number(losses?.Content), Number(losses?.Style), Number(losses?.Tv),
            job.Node ?? "", job.Device ?? "", Time(job.StartedAt), Time(job.FinishedAt), Number(job.EngineSeconds),
            Number(job.BatchSize), Number(job.Attempts),
            job.Files?.Image ?? "", job.Files?.Trace ?? "", job.FailureReason ?? "",
        ];
    }

    private static void AppendLine(StringBuilder csv, IEnumerable<string> fields) =>
        csv.AppendJoin(',', fields.Select(Quote)).Append('\n');

    private static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    private static string Number(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    private static string Time(DateTimeOffset? time) =>
        time?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) ?? "";
}

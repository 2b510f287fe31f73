using System.Globalization;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Results;

/// <summary>
/// The lines <c>stylefarm run</c> prints when a sweep ends, and its exit code:
/// <code>
/// 12 of 12 jobs done in 3m04s → runs/demo
/// </code>
/// or, when some did not finish,
/// <code>
/// 10 of 12 jobs done in 3m04s → runs/demo
/// 2 of 12 jobs failed:
///   003_style_weight-1e5_steps-200, 007_style_weight-1e5_steps-400: CUDA out of memory
/// </code>
/// Jobs that failed for the same reason share a line.
/// </summary>
public static class RunSummary
{
    /// <summary>Labels listed on one reason's line before the rest are counted.</summary>
    public const int MaxLabelsPerReason = 5;

    /// <summary>Longest reason shown (its first line only); results.csv keeps the whole text.</summary>
    public const int MaxReasonLength = 200;

    /// <summary>0 when every job of the sweep is done, else 1 (StyleFarmCli.Failed).</summary>
    public static int ExitCode(SweepResults results) => results.AllDone ? 0 : 1;

    /// <param name="runFolder">Where the results were written, as the user should see it (e.g. <c>runs/demo</c>).</param>
    /// <param name="elapsed">The run's wall time; by default from the sweep's creation to its end (left out while it runs).</param>
    public static IReadOnlyList<string> Lines(SweepResults results, string runFolder, TimeSpan? elapsed = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        int total = results.Jobs.Count;
        elapsed ??= results.FinishedAt - results.CreatedAt;
        string took = elapsed is { } time ? $" in {Duration(time)}" : "";
        var lines = new List<string> { $"{results.CountOf(JobState.Done)} of {total} {Jobs(total)} done{took} → {runFolder}" };

        var failed = results.Jobs.Where(j => j.State == JobState.Failed).ToList();
        if (failed.Count > 0)
        {
            lines.Add($"{failed.Count} of {total} {Jobs(total)} failed:");
            foreach (var group in failed.GroupBy(j => Reason(j.FailureReason), StringComparer.Ordinal))
                lines.Add($"  {LabelList(group.Select(j => j.Label).ToList())}: {group.Key}");
        }

        int cancelled = results.CountOf(JobState.Cancelled);
        if (cancelled > 0) lines.Add($"{cancelled} of {total} {Jobs(total)} cancelled");
        int unfinished = results.CountOf(JobState.Queued) + results.CountOf(JobState.Running);
        if (unfinished > 0) lines.Add($"{unfinished} of {total} {Jobs(total)} not finished yet");
        return lines;
    }

    public static string Text(SweepResults results, string runFolder, TimeSpan? elapsed = null) =>
        string.Join(Environment.NewLine, Lines(results, runFolder, elapsed));

    /// <summary>42s, 3m04s, 1h02m09s.</summary>
    public static string Duration(TimeSpan time)
    {
        long seconds = (long)Math.Round(Math.Max(0, time.TotalSeconds), MidpointRounding.AwayFromZero);
        long h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
        return h > 0 ? string.Create(CultureInfo.InvariantCulture, $"{h}h{m:00}m{s:00}s")
            : m > 0 ? string.Create(CultureInfo.InvariantCulture, $"{m}m{s:00}s")
            : string.Create(CultureInfo.InvariantCulture, $"{s}s");
    }

    private static string Jobs(int total) => total == 1 ? "job" : "jobs";

    private static string LabelList(IReadOnlyList<string> labels) => labels.Count <= MaxLabelsPerReason
        ? string.Join(", ", labels)
        : $"{string.Join(", ", labels.Take(MaxLabelsPerReason))} and {labels.Count - MaxLabelsPerReason} more";

    private static string Reason(string? reason)
    {
        string line = reason?.Split('\n', 2)[0].Trim() ?? "";
        if (line.Length == 0) return "no reason recorded";
        return line.Length <= MaxReasonLength ? line : line[..(MaxReasonLength - 1)] + "…";
    }
}

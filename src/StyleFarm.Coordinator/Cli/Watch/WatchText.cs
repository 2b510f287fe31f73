using System.Globalization;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Work;
using static StyleFarm.Coordinator.Cli.DisplayIds;

namespace StyleFarm.Coordinator.Cli.Watch;

/// <summary>The words and numbers `stylefarm watch` shows, in both its modes.</summary>
internal static class WatchText
{
    /// <summary>Which sweep to follow: the one asked for, else the oldest unfinished one in the view (null: none yet).</summary>
    public static string? Target(string? asked, DashboardView view) =>
        asked ?? view.Sweeps.FirstOrDefault(s => !s.IsFinished)?.Id;

    /// <summary>The exit code of a sweep that ended: 0 done, 1 failed or cancelled.</summary>
    public static int ExitCode(SweepState state) => state == SweepState.Done ? 0 : StyleFarmCli.Failed;

    public static string Progress(DashboardSweep s)
    {
        var parts = new List<string> { F($"{s.JobsDone}/{s.Jobs} jobs done") };
        if (s.JobsRunning > 0) parts.Add(F($"{s.JobsRunning} running"));
        if (s.JobsFailed > 0) parts.Add(F($"{s.JobsFailed} failed"));
        if (s.JobsCancelled > 0) parts.Add(F($"{s.JobsCancelled} cancelled"));
        if (!s.IsFinished) parts.Add($"ETA {Eta(s.EtaSeconds)}");
        return $"sweep {s.Id} \"{s.Name}\" {Name(s.State)}: {string.Join(", ", parts)}";
    }

    public static string Unit(DashboardUnit u) =>
        F($"unit {Short(u.UnitId)} on {u.DeviceId ?? "?"} step {u.Step}/{u.MaxSteps}") +
        (u.Losses.Count > 0 ? "  " + Losses(u.Losses[0].Losses) : "");

    public static string Failure(DashboardFailure f) =>
        $"{f.Kind}: {(f.UnitId is null ? "" : $"unit {Short(f.UnitId)} ")}{(f.DeviceId is null ? "" : $"on {f.DeviceId} ")}" +
        $"({F($"{f.Jobs}")} jobs): {f.Reason}";

    public static string Losses(LossValues l) =>
        F($"loss {l.Total:G4} (content {l.Content:G3}, style {l.Style:G3}, tv {l.Tv:G3})");

    public static string Eta(double? seconds)
    {
        if (seconds is not { } s || double.IsNaN(s) || double.IsInfinity(s)) return "unknown";
        var span = TimeSpan.FromSeconds(Math.Round(s));
        return span.TotalHours >= 1 ? F($"{(int)span.TotalHours}h{span.Minutes:00}m")
            : span.TotalMinutes >= 1 ? F($"{span.Minutes}m{span.Seconds:00}s")
            : F($"{span.Seconds}s");
    }

    public static string Rate(double stepsPerSecond) => F($"{stepsPerSecond:0.##}");

    public static string Name<TEnum>(TEnum value) where TEnum : struct, Enum => value.ToString().ToLowerInvariant();

    public static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

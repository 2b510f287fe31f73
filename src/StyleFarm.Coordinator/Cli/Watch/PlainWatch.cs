using StyleFarm.Coordinator.Dashboard;
using static StyleFarm.Coordinator.Cli.Watch.WatchText;

namespace StyleFarm.Coordinator.Cli.Watch;

/// <summary>
/// `stylefarm watch` for logs and pipes: one line when the sweep's progress changes (at most one per
/// <paramref name="every"/>), each new failure once, and the sweep's last line when it ends.
/// </summary>
internal sealed class PlainWatch(TextWriter output, TimeSpan every, TimeProvider time)
{
    private string? _lastLine;
    private DateTimeOffset _lastAt = DateTimeOffset.MinValue;
    private readonly HashSet<DashboardFailure> _failuresSeen = [];

    public void Show(DashboardView view, string? sweepId)
    {
        DashboardSweep? sweep = sweepId is null ? null : view.Sweep(sweepId);
        foreach (DashboardFailure failure in view.Failures.Where(f => (sweepId is null || f.SweepId == sweepId) && _failuresSeen.Add(f)))
            Write(Failure(failure));

        string line = sweep is null
            ? sweepId is null ? Farm(view) : $"sweep {sweepId}: waiting for the coordinator's dashboard to show it"
            : string.Join("  |  ", new[] { Progress(sweep) }.Concat(view.Units.Where(u => u.SweepId == sweep.Id).Select(Unit)));
        DateTimeOffset now = time.GetUtcNow();
        bool final = sweep is { IsFinished: true };
        if (line == _lastLine || (!final && now - _lastAt < every)) return;
        Write(line);
        _lastLine = line;
        _lastAt = now;
    }

    private static string Farm(DashboardView view) =>
        F($"no sweep running; {view.Nodes.Count(n => n.State != "gone")} node(s), {view.Nodes.SelectMany(n => n.Devices).Count(d => d.State == "running")} device(s) busy, {view.QueuedUnits} unit(s) queued");

    private void Write(string line)
    {
        output.WriteLine(F($"{time.GetLocalNow():HH:mm:ss} {line}"));
        output.Flush();
    }
}

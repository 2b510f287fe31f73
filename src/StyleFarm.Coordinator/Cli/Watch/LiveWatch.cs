using Spectre.Console;
using Spectre.Console.Rendering;
using StyleFarm.Coordinator.Dashboard;
using static StyleFarm.Coordinator.Cli.Watch.WatchText;
using static StyleFarm.Coordinator.Cli.DisplayIds;

namespace StyleFarm.Coordinator.Cli.Watch;

/// <summary>`stylefarm watch` on a terminal: the sweep's progress bar and ETA, a bar per running unit, the nodes table.</summary>
internal static class LiveWatch
{
    private const int BarWidth = 30;

    public static IRenderable Render(DashboardView view, string? sweepId)
    {
        var rows = new List<IRenderable>();
        DashboardSweep? sweep = sweepId is null ? null : view.Sweep(sweepId);
        if (sweep is null)
        {
            rows.Add(new Markup(Markup.Escape(sweepId is null ? "no sweep running" : $"sweep {sweepId}: waiting for the dashboard to show it")));
        }
        else
        {
            int ended = sweep.JobsDone + sweep.JobsFailed + sweep.JobsCancelled;
            rows.Add(new Markup($"[bold]{Markup.Escape($"{sweep.Id} \"{sweep.Name}\"")}[/] {Markup.Escape(Name(sweep.State))}"));
            rows.Add(new Markup($"{Bar(ended, sweep.Jobs)} {Markup.Escape(Progress(sweep)[(Progress(sweep).IndexOf(':') + 2)..])}"));
        }

        DashboardUnit[] units = view.Units.Where(u => sweepId is null || u.SweepId == sweepId).ToArray();
        if (units.Length > 0)
        {
            var table = new Table().Border(TableBorder.Simple).AddColumns("UNIT", "DEVICE", "PROGRESS", "STEP", "LOSS");
            foreach (DashboardUnit u in units)
                table.AddRow(
                    new Markup(Markup.Escape(Short(u.UnitId))),
                    new Markup(Markup.Escape(u.DeviceId ?? "-")),
                    new Markup(Bar(u.Step, u.MaxSteps)),
                    new Markup(Markup.Escape(F($"{u.Step}/{u.MaxSteps}"))),
                    new Markup(Markup.Escape(u.Losses.Count > 0 ? Losses(u.Losses[0].Losses) : "-")));
            rows.Add(table);
        }

        var nodes = new Table().Border(TableBorder.Simple).AddColumns("NODE", "DEVICE", "STATE", "UNIT", "STEP", "STEPS/S", "JOBS", "FAILURES");
        foreach (DashboardNode node in view.Nodes)
            foreach (DashboardDevice d in node.Devices)
                nodes.AddRow(new[]
                {
                    node.NodeId + (node.State == "up" ? "" : $" ({node.State})"), d.DeviceId, d.State, d.UnitId is null ? "-" : Short(d.UnitId),
                    d.UnitId is null ? "-" : F($"{d.Step}/{d.MaxSteps}"), Rate(d.StepsPerSecond), F($"{d.JobsDone}"), F($"{d.Failures}"),
                }.Select(Markup.Escape).ToArray());
        rows.Add(view.Nodes.Count == 0 ? new Markup("[grey]no nodes in the farm[/]") : nodes);

        foreach (DashboardFailure f in view.Failures.Where(f => sweepId is null || f.SweepId == sweepId).TakeLast(3))
            rows.Add(new Markup($"[red]{Markup.Escape(Failure(f))}[/]"));
        return new Rows(rows);
    }

    private static string Bar(int value, int max)
    {
        double fraction = max <= 0 ? 0 : Math.Clamp((double)value / max, 0, 1);
        int filled = (int)Math.Round(fraction * BarWidth);
        return $"[green]{new string('━', filled)}[/][grey]{new string('━', BarWidth - filled)}[/] {F($"{fraction * 100,3:0}")}%";
    }
}

using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Store;
using static StyleFarm.Coordinator.Cli.DisplayIds;

namespace StyleFarm.Coordinator.Cli.Client;

public sealed class StatusSettings : ClientJsonSettings
{
    [CommandArgument(0, "[ID]"), Description("A sweep's id; without one, every sweep.")]
    public string? Id { get; init; }
}

/// <summary>`stylefarm status [ID]`: every sweep as a table, or one sweep: its jobs by state, running units and failures.</summary>
public sealed class StatusCommand : ClientCommand<StatusSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, StatusSettings options, ClientConsole console, CancellationToken cancel)
    {
        if (options.Id is null)
        {
            IReadOnlyList<SweepSummary> sweeps = await api.ListSweepsAsync(cancel).ConfigureAwait(false);
            if (options.Json) console.Out.WriteLine(JsonSerializer.Serialize(sweeps, ApiJson.Options));
            else ShowSweeps(sweeps, console);
            return 0;
        }

        SweepDetail sweep = await api.GetSweepAsync(options.Id, cancel).ConfigureAwait(false);
        if (options.Json) console.Out.WriteLine(JsonSerializer.Serialize(sweep, ApiJson.Options));
        else ShowSweep(sweep, console);
        return 0;
    }

    private static void ShowSweeps(IReadOnlyList<SweepSummary> sweeps, ClientConsole console)
    {
        if (sweeps.Count == 0)
        {
            console.Out.WriteLine("no sweeps yet; `stylefarm submit sweep.yaml` submits one");
            return;
        }
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("ID", "NAME", "STATE", "PRIORITY", "DONE", "QUEUED", "RUNNING", "FAILED", "CANCELLED", "CREATED", "FINISHED");
        foreach (SweepSummary s in sweeps)
            table.AddRow(Cells(s.Id, s.Name, Name(s.State), I(s.Priority), $"{I(Of(s.Jobs, JobState.Done))}/{I(s.JobCount)}",
                I(Of(s.Jobs, JobState.Queued)), I(Of(s.Jobs, JobState.Running)), I(Of(s.Jobs, JobState.Failed)),
                I(Of(s.Jobs, JobState.Cancelled)), Time(s.CreatedAt), s.FinishedAt is { } f ? Time(f) : "-"));
        console.Tables.Write(table);
    }

    private static void ShowSweep(SweepDetail s, ClientConsole console)
    {
        TextWriter o = console.Out;
        o.WriteLine($"sweep {s.Id} \"{s.Name}\": {Name(s.State)} (priority {I(s.Priority)}, {I(s.Retries)} retries)");
        o.WriteLine($"  created {Time(s.CreatedAt)}{(s.FinishedAt is { } f ? $", finished {Time(f)}" : "")}");
        o.WriteLine($"  jobs:  {Counts(s.Jobs, s.JobCount)}");
        o.WriteLine($"  units: {Counts(s.Units, s.Units.Values.Sum())}");

        if (s.RunningUnits.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("running units:");
            var table = new Table().Border(TableBorder.Simple).AddColumns("UNIT", "STATE", "NODE", "DEVICE", "JOBS", "STEPS", "ATTEMPT");
            foreach (RunningUnit u in s.RunningUnits)
                table.AddRow(Cells(Short(u.UnitId), Name(u.State), u.Node ?? "-", u.Device ?? "-", I(u.Jobs), I(u.MaxSteps), I(u.Attempts)));
            console.Tables.Write(table);
        }
        if (s.FailedJobs.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("failed jobs:");
            foreach (FailedJob j in s.FailedJobs)
                o.WriteLine($"  {Short(j.JobId)} {Swept(j.SweptValues)}: {j.Reason ?? "no reason given"}");
        }
        if (s.Failures.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("failed attempts (most recent last):");
            foreach (AttemptView a in s.Failures)
                o.WriteLine($"  {Time(a.FinishedAt ?? a.StartedAt)} unit {Short(a.UnitId)} on {a.Device}: {a.Reason ?? "no reason given"}");
        }
    }

    private static string Counts<TState>(IReadOnlyDictionary<TState, int> counts, int total) where TState : struct, Enum
    {
        string parts = string.Join(", ", counts.Where(c => c.Value > 0).Select(c => $"{I(c.Value)} {Name(c.Key)}"));
        return total == 0 ? "none" : $"{I(total)} ({parts})";
    }

    private static int Of(IReadOnlyDictionary<JobState, int> counts, JobState state) => counts.GetValueOrDefault(state);

    private static string Swept(IReadOnlyDictionary<string, string> values) =>
        values.Count == 0 ? "" : "(" + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}")) + ")";

    internal static string[] Cells(params string[] texts) => texts.Select(Markup.Escape).ToArray();

    internal static string Name<TEnum>(TEnum value) where TEnum : struct, Enum => value.ToString().ToLowerInvariant();

    internal static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    internal static string Time(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}

using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Cli.Client;
using StyleFarm.Coordinator.Dashboard;
using static StyleFarm.Coordinator.Cli.Watch.WatchText;

namespace StyleFarm.Coordinator.Cli.Watch;

public sealed class WatchSettings : ClientSettings
{
    [CommandArgument(0, "[ID]"), Description("The sweep to watch; without one, the oldest unfinished sweep (or the farm until one starts).")]
    public string? Id { get; init; }
}

/// <summary>
/// `stylefarm watch [ID]`: follows the coordinator's live view (GET /api/v1/events) until the sweep ends: exit 0 when
/// it is done, 1 when it failed or was cancelled (or the coordinator went away), 130 on Ctrl+C. On a terminal it draws
/// progress bars and the nodes table; into a pipe or a file it prints plain lines.
/// </summary>
public sealed class WatchCommand : ClientCommand<WatchSettings>
{
    /// <summary>The least time between two plain progress lines.</summary>
    public TimeSpan PlainEvery { get; init; } = TimeSpan.FromSeconds(1);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    protected override async Task<int> RunAsync(StyleFarmApiClient api, WatchSettings options, ClientConsole console, CancellationToken cancel)
    {
        if (options.Id is { } id)
        {
            // Unknown ids fail here (404: bad input); a sweep that already ended needs no stream.
            SweepDetail sweep = await api.GetSweepAsync(id, cancel).ConfigureAwait(false);
            if (sweep.State is Store.SweepState.Done or Store.SweepState.Failed or Store.SweepState.Cancelled)
            {
                int done = sweep.Jobs.GetValueOrDefault(Store.JobState.Done);
                console.Out.WriteLine($"sweep {sweep.Id} \"{sweep.Name}\" {Name(sweep.State)}: {F($"{done}/{sweep.JobCount}")} jobs done");
                return ExitCode(sweep.State);
            }
        }

        bool live = console.Tables.Profile.Capabilities.Interactive && !Console.IsOutputRedirected && ReferenceEquals(console.Out, Console.Out);
        int? exit = live ? await LiveAsync(api, options.Id, console.Tables, cancel).ConfigureAwait(false)
            : await PlainAsync(api, options.Id, new PlainWatch(console.Out, PlainEvery, Time), cancel).ConfigureAwait(false);
        if (exit is { } code) return code;
        console.Error.WriteLine($"stylefarm: the coordinator at {api.Address} ended the event stream (is it shutting down?)");
        return StyleFarmCli.Failed;
    }

    /// <summary>Prints lines until the sweep ends (its exit code) or the stream does (null).</summary>
    private static async Task<int?> PlainAsync(StyleFarmApiClient api, string? asked, PlainWatch plain, CancellationToken cancel)
    {
        string? target = asked;
        await foreach (DashboardView view in api.EventsAsync(cancel).ConfigureAwait(false))
        {
            target ??= Target(asked, view);
            plain.Show(view, target);
            if (target is not null && view.Sweep(target) is { IsFinished: true } ended) return ExitCode(ended.State);
        }
        return null;
    }

    private static async Task<int?> LiveAsync(StyleFarmApiClient api, string? asked, IAnsiConsole console, CancellationToken cancel)
    {
        int? exit = null;
        await console.Live(new Markup("connecting…")).AutoClear(false).StartAsync(async context =>
        {
            string? target = asked;
            await foreach (DashboardView view in api.EventsAsync(cancel).ConfigureAwait(false))
            {
                target ??= Target(asked, view);
                context.UpdateTarget(LiveWatch.Render(view, target));
                context.Refresh();
                if (target is not null && view.Sweep(target) is { IsFinished: true } ended)
                {
                    exit = ExitCode(ended.State);
                    return;
                }
            }
        }).ConfigureAwait(false);
        return exit;
    }
}

using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Cli.Coordinator;
using StyleFarm.Coordinator.Cli.Watch;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Embedded;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.GpuNode.Node;
using static StyleFarm.Coordinator.Cli.DisplayIds;

namespace StyleFarm.Coordinator.Cli.Run;

public sealed class RunSettings : CommandSettings
{
    [CommandArgument(0, "[SWEEP]"), Description("The sweep file (YAML or JSON).")]
    public string? Sweep { get; init; }

    [CommandOption("--demo"), Description("Run the demo sweep on generated images (3 style weights × 100 and 200 steps).")]
    public bool Demo { get; init; }

    [CommandOption("--devices <LIST>"), Description("Local devices, one worker each: cpu (default), cpu,cpu, cuda:0,cuda:1.")]
    public string Devices { get; init; } = "cpu";

    [CommandOption("--data <FOLDER>"), Description("The farm's store (default ./farm-data); finished jobs in it are reused, not run again.")]
    public string Data { get; init; } = "farm-data";

    [CommandOption("--runs <FOLDER>"), Description("Where results go, as <FOLDER>/<sweep name>/ (default ./runs).")]
    public string Runs { get; init; } = RunFolderWriter.DefaultRunsRoot;

    [CommandOption("--threads <N>"), Description("CPU threads for the engine (default: torch's choice).")]
    public int Threads { get; init; }

    [CommandOption("--checkpoint-every <STEPS>"), Description("Checkpoint running units every this many steps (default 50).")]
    public int CheckpointEvery { get; init; } = 50;

    [CommandOption("--http <HOST:PORT>"), Description("Where the dashboard and API listen while the sweep runs (default 127.0.0.1 on a free port).")]
    public string Http { get; init; } = EmbeddedFarmOptions.FreeLoopbackPort;

    [CommandOption("--no-http"), Description("Serve no dashboard or API.")]
    public bool NoHttp { get; init; }

    [CommandOption("--api-token <TOKEN>"), Description("The token the API's mutating requests need (default: $" + StyleFarm.Coordinator.Api.ApiToken.Variable + "); required unless --http is a loopback address.")]
    public string? ApiToken { get; init; }

    public IReadOnlyList<string> DeviceList =>
        Devices.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    public override Spectre.Console.ValidationResult Validate()
    {
        if (Demo == (Sweep is not null))
            return Spectre.Console.ValidationResult.Error("give a sweep file or --demo (one of them)");
        if (DeviceList.Count == 0)
            return Spectre.Console.ValidationResult.Error("--devices: give at least one device (cpu, cuda:0…)");
        if (DeviceList.FirstOrDefault(d => !GpuNodeSettings.IsDeviceName(d)) is { } bad)
            return Spectre.Console.ValidationResult.Error($"--devices: '{bad}' is not a device (cpu, cuda or cuda:N)");
        if (Threads < 0)
            return Spectre.Console.ValidationResult.Error($"--threads {Threads}: give a positive number");
        if (CheckpointEvery < 0)
            return Spectre.Console.ValidationResult.Error($"--checkpoint-every {CheckpointEvery}: give 0 or a positive number of steps");
        if (!NoHttp)
        {
            if (!HttpAddress.TryParse(Http, out var endpoint, out string? problem, allowFreePort: true))
                return Spectre.Console.ValidationResult.Error($"--http {Http}: {problem}");
            if (StyleFarm.Coordinator.Api.ApiToken.BindProblem(endpoint, StyleFarm.Coordinator.Api.ApiToken.Resolve(ApiToken)) is { } unsafeBind)
                return Spectre.Console.ValidationResult.Error(unsafeBind);
        }
        return Spectre.Console.ValidationResult.Success();
    }
}

/// <summary>
/// `stylefarm run`: the embedded farm. One process runs a coordinator and a device worker per local device, runs
/// the sweep, and writes runs/&lt;name&gt;/. Exit 0 when every job is done, 1 when some failed, 2 on bad input,
/// 130 when interrupted (finished jobs stay in the store; running the sweep again resumes it).
/// </summary>
public sealed class RunCommand : AsyncCommand<RunSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, RunSettings options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string sweepPath = options.Demo
            ? DemoSweep.WriteTo(Path.Combine(options.Runs, DemoSweep.Name, "inputs"))
            : options.Sweep!;
        if (!File.Exists(sweepPath))
        {
            Console.Error.WriteLine($"stylefarm: {sweepPath}: no such file");
            return StyleFarmCli.BadInput;
        }
        // Read once: the text stored with the sweep is the text its jobs came from, even if the file changes meanwhile.
        SweepFileSubmission file;
        try
        {
            file = SweepFileSubmission.Load(sweepPath);
        }
        catch (SweepValidationException e)
        {
            foreach (string error in e.FormattedErrors) Console.Error.WriteLine(error);
            Console.Error.WriteLine($"stylefarm: {sweepPath}: {e.Errors.Count} error(s); nothing was run");
            return StyleFarmCli.BadInput;
        }

        // On a terminal the live view (as `stylefarm watch` draws it); into a pipe or a file, plain progress lines.
        bool live = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        EmbeddedFarm farm;
        try
        {
            farm = await EmbeddedFarm.StartAsync(new EmbeddedFarmOptions
            {
                DataFolder = options.Data,
                Devices = options.DeviceList,
                Threads = options.Threads,
                CheckpointEverySteps = options.CheckpointEvery,
                // The node's own lines would tear the live view; it shows the same facts.
                Report = live ? null : Say,
                Http = options.NoHttp ? null : options.Http,
                ApiToken = StyleFarm.Coordinator.Api.ApiToken.Resolve(options.ApiToken),
            }, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StoreVersionException)
        {
            Console.Error.WriteLine($"stylefarm: {e.Message}");
            return StyleFarmCli.BadInput;
        }

        await using (farm)
        {
            if (farm.DashboardUrl is { } dashboard)
                Say($"dashboard: {StyleFarmWebHost.DashboardLink(dashboard, StyleFarm.Coordinator.Api.ApiToken.Resolve(options.ApiToken))}");
            SubmittedSweep submitted = await farm.SubmitAsync(file.Sweep, file.FileText, cancellationToken);
            string id = submitted.Sweep.Id;
            Say($"sweep \"{file.Sweep.Name}\" ({id}): {submitted.Jobs} jobs, {submitted.ReusedJobs} already done in {options.Data}, " +
                $"{submitted.Units.Count} work units on {string.Join(", ", options.DeviceList)}");
            try
            {
                if (!submitted.Sweep.IsFinished && farm.Store.GetSweep(id) is { IsFinished: false })
                {
                    int jobsToRun = submitted.Jobs - submitted.ReusedJobs;
                    if (live) await FollowLiveAsync(farm, id, jobsToRun, cancellationToken);
                    else await FollowAsync(farm, id, jobsToRun, Say, cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Console.Error.WriteLine($"stylefarm: interrupted; finished jobs are kept in {options.Data}, and running the sweep again resumes it");
                return StyleFarmCli.Interrupted;
            }

            SweepResults results = SweepResultsBuilder.FromStore(farm.Store, id)
                ?? throw new InvalidOperationException($"sweep {id} vanished from the store");
            string folder = RunFolderWriter.FolderFor(results, options.Runs);
            RunFolderSummary written = await RunFolderWriter.WriteAsync(results, RunFolderWriter.ReadFrom(farm.Blobs), folder, CancellationToken.None);
            foreach (string problem in written.ReportProblems)
                Console.Error.WriteLine($"stylefarm: report: {problem}");
            foreach (string line in RunSummary.Lines(results, folder, clock.Elapsed))
                Console.WriteLine(line);
            return RunSummary.ExitCode(results);
        }
    }

    /// <summary>
    /// Draws the live view until the sweep ends. The farm's events say when it ends (the view may lag a moment), and
    /// reading them keeps their channel from growing while the view is drawn.
    /// </summary>
    private static async Task FollowLiveAsync(EmbeddedFarm farm, string sweepId, int jobsToRun, CancellationToken ct)
    {
        Task ended = FollowAsync(farm, sweepId, jobsToRun, say: null, ct);
        await using DashboardSubscription views = await farm.Dashboard.SubscribeAsync(ct);
        await AnsiConsole.Live(new Markup("starting…")).AutoClear(false).StartAsync(async context =>
        {
            while (true)
            {
                Task<bool> more = views.Views.WaitToReadAsync(ct).AsTask();
                if (await Task.WhenAny(ended, more) == ended || !await more) break;
                while (views.Views.TryRead(out DashboardView? view))
                    context.UpdateTarget(LiveWatch.Render(view, sweepId));
                context.Refresh();
            }
            // The last picture shows the sweep as it ended.
            if (ended.IsCompletedSuccessfully)
            {
                context.UpdateTarget(LiveWatch.Render(await farm.Dashboard.CurrentAsync(ct), sweepId));
                context.Refresh();
            }
        });
        await ended; // an interrupted run ends here with its cancellation
    }

    /// <summary>Prints the sweep's progress as plain lines (none when <paramref name="say"/> is null) until it ends.</summary>
    private static async Task FollowAsync(EmbeddedFarm farm, string sweepId, int jobsToRun, Action<string>? say, CancellationToken ct)
    {
        say ??= _ => { };
        int recorded = 0;
        var lastLine = new Dictionary<string, Stopwatch>();
        await foreach (IFarmEvent e in farm.Events.ReadAllAsync(ct))
        {
            switch (e)
            {
                case UnitProgressed p when p.SweepId == sweepId:
                    if (lastLine.TryGetValue(p.UnitId, out var since) && since.Elapsed < TimeSpan.FromSeconds(5) && p.Step < p.MaxSteps)
                        break;
                    lastLine[p.UnitId] = Stopwatch.StartNew();
                    var first = p.Losses.FirstOrDefault()?.Losses;
                    say(F($"unit {Short(p.UnitId)} on {p.DeviceId}: step {p.Step}/{p.MaxSteps}") +
                        (first is null ? "" : F($"  loss {first.Total:G4}")));
                    break;
                case JobRecorded r when r.SweepId == sweepId:
                    recorded++;
                    say(F($"job {recorded}/{jobsToRun} done ({r.JobId[..12]} on {r.DeviceId})"));
                    break;
                case JobsFailed f when f.SweepId == sweepId:
                    say(F($"{f.JobIds.Count} job(s) failed: {f.Reason}"));
                    break;
                case SweepEnded end when end.SweepId == sweepId:
                    return;
            }
        }
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static void Say(string line)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }
}

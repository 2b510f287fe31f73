using System.ComponentModel;
using System.Runtime;
using System.Threading.Channels;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Cli.Bench.Farm;
using StyleFarm.Coordinator.Embedded;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Submission;
using StyleFarm.GpuNode.Node;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;
using static StyleFarm.Coordinator.Cli.Bench.Farm.FigureTable;

namespace StyleFarm.Coordinator.Cli.Bench;

public sealed class BenchFarmSettings : CommandSettings
{
    [CommandOption("--jobs <N>"), Description("Jobs of each dispatch sweep (default 2000).")]
    public int Jobs { get; init; } = 2000;

    [CommandOption("--fuse <N>"), Description("Jobs per unit of the fused dispatch sweep (default 8).")]
    public int Fuse { get; init; } = 8;

    [CommandOption("--devices <N>"), Description("Device workers of the one-process no-op farm (default 16).")]
    public int Devices { get; init; } = 16;

    [CommandOption("--nodes <N>"), Description("stylefarm-node processes of the across-processes case (default 2).")]
    public int Nodes { get; init; } = 2;

    [CommandOption("--node-devices <N>"), Description("Device workers of each node process (default 8).")]
    public int NodeDevices { get; init; } = 8;

    [CommandOption("--size <PX>"), Description("Image size of the real sweep (default 64).")]
    public int Size { get; init; } = 64;

    [CommandOption("--steps <N>"), Description("Steps of the real sweep's jobs (default 40).")]
    public int Steps { get; init; } = 40;

    [CommandOption("--units <N>"), Description("Work units of the real sweep, 3 style weights each (default 2).")]
    public int Units { get; init; } = 2;

    [CommandOption("--repeats <N>"), Description("Times the real sweep is measured; the median counts (default 3).")]
    public int Repeats { get; init; } = 3;

    [CommandOption("--threads <N>"), Description("CPU threads of the real sweep's engine, in the farm and alone alike (default: torch's choice).")]
    public int Threads { get; init; }

    [CommandOption("--data-root <DIR>"), Description("Where the throwaway farm stores go (default: the temp folder); try a tmpfs to see whether dispatch is store-bound.")]
    public string? DataRoot { get; init; }

    [CommandOption("--skip-local"), Description("Skip the one-process dispatch case.")]
    public bool SkipLocal { get; init; }

    [CommandOption("--skip-remote"), Description("Skip the across-processes dispatch case.")]
    public bool SkipRemote { get; init; }

    [CommandOption("--skip-overhead"), Description("Skip the farm's overhead on the real sweep.")]
    public bool SkipOverhead { get; init; }

    [CommandOption("--skip-fusion"), Description("Skip fused against one-by-one on the real sweep.")]
    public bool SkipFusion { get; init; }

    public override Spectre.Console.ValidationResult Validate()
    {
        foreach (var (name, value) in new[]
                 {
                     ("--jobs", Jobs), ("--fuse", Fuse), ("--devices", Devices), ("--nodes", Nodes), ("--node-devices", NodeDevices),
                     ("--size", Size), ("--steps", Steps), ("--units", Units), ("--repeats", Repeats),
                 })
        {
            if (value < 1) return Spectre.Console.ValidationResult.Error($"{name} {value}: give a positive number");
        }
        if (Threads < 0) return Spectre.Console.ValidationResult.Error($"--threads {Threads}: give a positive number");
        if (Size < 32) return Spectre.Console.ValidationResult.Error($"--size {Size}: resnet18 needs at least 32 px");
        if (DataRoot is not null && !Directory.Exists(DataRoot))
            return Spectre.Console.ValidationResult.Error($"--data-root {DataRoot}: no such folder");
        return Spectre.Console.ValidationResult.Success();
    }
}

/// <summary>
/// `stylefarm bench farm`: DESIGN.md's farm targets as figures, not pass/fail tests. Dispatch throughput with the
/// no-op engine, in one process and across node processes; then a small real sweep in the one-process farm against
/// the same units run on the engine alone (the farm's overhead), and against its jobs run one by one (fusion).
/// </summary>
public sealed class BenchFarmCommand : AsyncCommand<BenchFarmSettings>
{
    private const double LocalTarget = 5_000, RemoteTarget = 1_000, OverheadTarget = 0.01, FusionTarget = 1.8;
    private static readonly double[] RealStyleWeights = [3, 10, 30];

    public override async Task<int> ExecuteAsync(CommandContext context, BenchFarmSettings options, CancellationToken cancellationToken)
    {
        string root = Path.Combine(options.DataRoot ?? Path.GetTempPath(), $"stylefarm-bench-farm-{Guid.NewGuid().ToString("N")[..12]}");
        var figures = new FigureTable();
        try
        {
            var sweeps = new BenchSweeps(Path.Combine(root, "inputs"));
            Say(F($"{Environment.ProcessorCount} cores; throwaway stores in {root}"));
            if (!options.SkipLocal)
                await Section(figures, "dispatch, one process", () => LocalDispatchAsync(options, sweeps, root, figures, cancellationToken), cancellationToken);
            if (!options.SkipRemote)
                await Section(figures, "dispatch, across processes", () => RemoteDispatchAsync(options, sweeps, root, figures, cancellationToken), cancellationToken);
            if (!options.SkipOverhead || !options.SkipFusion)
                await Section(figures, "real sweep", () => RealSweepAsync(options, sweeps, root, figures, cancellationToken), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("stylefarm: interrupted");
            return StyleFarmCli.Interrupted;
        }
        finally
        {
            figures.Print(Console.Out);
            TryDelete(root);
        }
        return figures.AnyFailed ? StyleFarmCli.Failed : 0;
    }

    /// <summary>A section that fails is a failed figure; the other sections still run.</summary>
    private static async Task Section(FigureTable figures, string name, Func<Task> run, CancellationToken ct)
    {
        try
        {
            await run();
        }
        catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            Say($"{name}: failed: {e.Message}");
            figures.Failed(name, e.Message);
        }
    }

    // ---- 1. dispatch in one process ----

    private static async Task LocalDispatchAsync(BenchFarmSettings options, BenchSweeps sweeps, string root, FigureTable figures, CancellationToken ct)
    {
        IReadOnlyList<string> devices = NoOpDevices(options.Devices);
        await using EmbeddedFarm farm = await EmbeddedFarm.StartAsync(new EmbeddedFarmOptions
        {
            DataFolder = Path.Combine(root, "local"),
            Devices = devices,
            NoOpEngine = true,
        }, ct);
        await SweepTimer.WaitForDevicesAsync(farm.SweepManager, devices.Count, TimeSpan.FromSeconds(60), ct);
        string where = F($"one process, {devices.Count} device workers");
        await DispatchCasesAsync(options, sweeps, where, "dispatch, one process", LocalTarget,
            (sweep, token) => farm.SubmitAsync(sweep.Expanded, sweep.Text, token), farm.Events, figures, ct);
    }

    /// <summary>
    /// One job per unit, then fused; each case measured once the runtime has compiled its paths. The coordinator is a
    /// long-running process, and its figure is its steady rate: a sweep of a few thousand units lasts about a second,
    /// while .NET takes several such seconds to finish recompiling a farm's hot methods at full optimisation.
    /// </summary>
    private static async Task DispatchCasesAsync(BenchFarmSettings options, BenchSweeps sweeps, string where, string figure,
        double target, SweepTimer.Submit submit, ChannelReader<IFarmEvent> events,
        FigureTable figures, CancellationToken ct)
    {
        TimeSpan timeout = TimeSpan.FromSeconds(120 + options.Jobs / 50.0);
        // Seeds set every sweep's jobs apart: a job done before would be reused, not dispatched.
        long firstSeed = 0;
        BenchSweep Next(string name, int perUnit)
        {
            BenchSweep sweep = sweeps.Dispatch(name, options.Jobs, perUnit, firstSeed);
            firstSeed += sweep.Jobs;
            return sweep;
        }

        foreach (int perUnit in new[] { 1, options.Fuse }.Distinct())
        {
            int warmups = 0;
            long compiled;
            do
            {
                long before = JitInfo.GetCompiledMethodCount();
                await SweepTimer.RunAsync(submit, events, Next(F($"bench-warmup-{perUnit}-{warmups}"), perUnit), timeout, ct);
                compiled = JitInfo.GetCompiledMethodCount() - before;
                warmups++;
            } while (compiled > JitSettled && warmups < MaxWarmups);
            BenchSweep sweep = Next(F($"bench-dispatch-{perUnit}"), perUnit);
            long jitBefore = JitInfo.GetCompiledMethodCount();
            TimedSweep timed = await SweepTimer.RunAsync(submit, events, sweep, timeout, ct);
            TimeSpan dispatch = timed.Total - timed.Submit;
            double dispatched = timed.Recorded / dispatch.TotalSeconds;
            Say(F($"{where}, {perUnit} job(s)/unit: {timed.Recorded} of {timed.Jobs} jobs in {timed.Units} units, ") +
                F($"submit {timed.Submit.TotalSeconds:F2} s + dispatch {dispatch.TotalSeconds:F2} s = {timed.Total.TotalSeconds:F2} s: ") +
                F($"{dispatched:N0} jobs/s dispatched ({timed.Units / dispatch.TotalSeconds:N0} units/s), {timed.JobsPerSecond:N0} jobs/s with the submit; ") +
                F($"after {warmups} warm-up sweep(s) of this shape, {JitInfo.GetCompiledMethodCount() - jitBefore} methods compiled meanwhile"));
            string jobs = F($"{perUnit} job{(perUnit == 1 ? "" : "s")}/unit");
            if (!timed.Complete)
            {
                figures.Failed(F($"{figure}, {jobs}"), F($"the sweep ended {timed.State} with {timed.Recorded} of {timed.Jobs} jobs recorded"));
                continue;
            }
            // Dispatch: from the coordinator taking the stored sweep to its last job recorded, every unit handed out,
            // run and its end written. The submit (expanding, planning and storing the sweep) is shown beside it.
            figures.Add(F($"{figure}, {jobs}"), F($"{dispatched:N0} jobs/s"), F($"≥ {target:N0}/s"), dispatched >= target);
            figures.Add(F($"  with its submit"), F($"{timed.JobsPerSecond:N0} jobs/s"), "", null);
        }
    }

    // A warm-up sweep that compiles no more methods than this leaves the hot paths compiled; a bound in case it never does.
    private const int JitSettled = 50, MaxWarmups = 10;

    /// <summary>
    /// cpu × count when a node takes one device name more than once; otherwise distinct names. The no-op engine
    /// never opens its devices, so for it a name is only a label.
    /// </summary>
    private static IReadOnlyList<string> NoOpDevices(int count)
    {
        string[] cpus = Enumerable.Repeat("cpu", count).ToArray();
        if (count == 1 || new GpuNodeSettings { NodeId = "bench", Devices = cpus }.Problems().Count == 0) return cpus;
        Say("(this build's nodes take each device once: the no-op device workers are named cuda:0, cuda:1…; no device is opened)");
        return Enumerable.Range(0, count).Select(i => F($"cuda:{i}")).ToArray();
    }

    // ---- 2. dispatch across processes ----

    private static async Task RemoteDispatchAsync(BenchFarmSettings options, BenchSweeps sweeps, string root, FigureTable figures, CancellationToken ct)
    {
        IReadOnlyList<string> devices = NoOpDevices(options.NodeDevices);
        // An embedded farm without local devices is a coordinator-only process, which the node processes join.
        EmbeddedFarm coordinator = await EmbeddedFarm.StartAsync(new EmbeddedFarmOptions { DataFolder = Path.Combine(root, "remote"), Devices = [] }, ct);
        NodeProcesses? nodes = null;
        try
        {
            string[] nodeIds = Enumerable.Range(1, options.Nodes).Select(i => F($"bench-node-{i}")).ToArray();
            nodes = NodeProcesses.Start(coordinator.SeedAddress, nodeIds, id =>
                ["--devices", string.Join(',', devices), "--noop-engine", "--cache", Path.Combine(root, "cache-" + id)]);
            string where = F($"{options.Nodes} node processes × {devices.Count} device workers");
            try
            {
                await SweepTimer.WaitForDevicesAsync(coordinator.SweepManager, options.Nodes * devices.Count, TimeSpan.FromSeconds(120), ct);
                await DispatchCasesAsync(options, sweeps, where, F($"dispatch, {options.Nodes} node processes"), RemoteTarget,
                    (sweep, token) => coordinator.SubmitAsync(sweep.Expanded, sweep.Text, token), coordinator.Events, figures, ct);
            }
            catch (TimeoutException e) when (nodes.Ended() is { } ended)
            {
                throw new InvalidOperationException(ended, e);
            }
        }
        finally
        {
            // The coordinator leaves the cluster first (quick while its nodes are alive; slow and noisy once they are
            // dead), then the nodes are killed, whatever happened.
            try
            {
                await coordinator.DisposeAsync();
            }
            finally
            {
                nodes?.Dispose();
            }
        }
    }

    // ---- 3 and 4. a real sweep: the farm against the engine alone, fused against one by one ----

    private static async Task RealSweepAsync(BenchFarmSettings options, BenchSweeps sweeps, string root, FigureTable figures, CancellationToken ct)
    {
        var planner = new FusionPlanner();
        long freeBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        IReadOnlyList<WorkUnit> Fused(BenchSweep sweep) => planner.Plan("bench-direct", 0, JobsOf(sweep), freeBytes);
        IReadOnlyList<WorkUnit> OneByOne(BenchSweep sweep) =>
            JobsOf(sweep).SelectMany(job => planner.Plan("bench-direct", 0, [job], freeBytes)).ToArray();

        BenchSweep Sweep(string name, int steps, int firstSeed, int units) =>
            sweeps.Real(name, options.Size, steps, Enumerable.Range(firstSeed, units).Select(s => (long)s), RealStyleWeights);

        BenchSweep warmup = Sweep("bench-real-warmup", Math.Min(options.Steps, 5), 1_000, 1);
        using var direct = new DirectEngine("cpu", options.Threads, warmup.Expanded.Images);
        EmbeddedFarm? farm = null;
        try
        {
            // Both load ResNet18 and run a short unit first, so neither side's figure carries the loading.
            await direct.RunAsync(Fused(warmup), ct);
            if (!options.SkipOverhead)
            {
                farm = await EmbeddedFarm.StartAsync(new EmbeddedFarmOptions
                {
                    DataFolder = Path.Combine(root, "real"),
                    Devices = ["cpu"],
                    Threads = options.Threads,
                }, ct);
                await SweepTimer.WaitForDevicesAsync(farm.SweepManager, 1, TimeSpan.FromSeconds(60), ct);
                await TimeInFarmAsync(farm, warmup, ct);
            }

            var overheads = new List<double>();
            var farmOwn = new List<double>();
            var aloneTimes = new List<double>();
            var speedups = new List<double>();
            string shape = F($"resnet18 {options.Size}px, {options.Steps} steps, {options.Units} units × {RealStyleWeights.Length} style weights");
            Say($"real sweep: {shape}, {options.Repeats} repeats");
            for (int r = 0; r < options.Repeats; r++)
            {
                // New seeds each repeat: the farm's store would otherwise hand back the jobs it has done already.
                BenchSweep sweep = Sweep(F($"bench-real-{r}"), options.Steps, 1 + r * options.Units, options.Units);
                IReadOnlyList<WorkUnit> fused = Fused(sweep);
                TimedSweep? inFarm = null;
                TimeSpan? alone, oneByOne = null;
                // The order alternates, so that a machine getting busier or quieter does not favour one side.
                if (farm is not null && r % 2 == 0) inFarm = await TimeInFarmAsync(farm, sweep, ct);
                alone = await direct.RunAsync(fused, ct);
                aloneTimes.Add(alone.Value.TotalSeconds);
                if (!options.SkipFusion) oneByOne = await direct.RunAsync(OneByOne(sweep), ct);
                if (farm is not null && r % 2 == 1) inFarm = await TimeInFarmAsync(farm, sweep, ct);

                string line = F($"  repeat {r + 1}: {fused.Count} fused units alone {alone.Value.TotalSeconds:F2} s");
                if (inFarm is not null)
                {
                    double overhead = inFarm.Total / alone.Value - 1;
                    overheads.Add(overhead);
                    double engine = EngineSecondsInFarm(farm!, inFarm.SweepId);
                    double own = inFarm.Total.TotalSeconds / engine - 1;
                    farmOwn.Add(own);
                    line += F($", in the farm {inFarm.Total.TotalSeconds:F2} s (overhead {overhead:+0.0%;-0.0%}; ") +
                            F($"stored {inFarm.Submit.TotalSeconds:F2} s, first unit out {Seconds(inFarm.FirstAssigned)}, last job in {Seconds(inFarm.LastRecorded)}; ") +
                            F($"its engine {engine:F2} s, so the farm's own {own:+0.0%;-0.0%})");
                }
                if (oneByOne is { } single)
                {
                    double speedup = single / alone.Value;
                    speedups.Add(speedup);
                    line += F($", one by one {single.TotalSeconds:F2} s (fusion {speedup:F2}×)");
                }
                Say(line);
            }

            if (aloneTimes.Count > 1)
                Say(F($"  (the engine alone took {aloneTimes.Min():F2} to {aloneTimes.Max():F2} s for the same work: ") +
                    F($"run-to-run noise of {aloneTimes.Max() / aloneTimes.Min() - 1:0.0%} on this machine)"));
            if (overheads.Count > 0)
            {
                double overhead = Median(overheads);
                figures.Add(F($"farm overhead against the engine alone, {shape}"), F($"{overhead:+0.0%;-0.0%}"), F($"< {OverheadTarget:0%}"), overhead < OverheadTarget);
                double own = Median(farmOwn);
                figures.Add("farm overhead against its own engine time (less noisy)", F($"{own:+0.0%;-0.0%}"), F($"< {OverheadTarget:0%}"), own < OverheadTarget);
            }
            if (speedups.Count > 0)
            {
                double speedup = Median(speedups);
                figures.Add("fusion speedup, same sweep", F($"{speedup:F2}×"),
                    F($"≥ {FusionTarget}× (for 3 sw × steps 100,200,400)"), speedup >= FusionTarget);
            }
        }
        finally
        {
            if (farm is not null) await farm.DisposeAsync();
        }
    }

    private static string Seconds(TimeSpan? time) => time is { } t ? F($"{t.TotalSeconds:F2} s") : "never";

    private static async Task<TimedSweep> TimeInFarmAsync(EmbeddedFarm farm, BenchSweep sweep, CancellationToken ct)
    {
        TimedSweep timed = await SweepTimer.RunAsync((s, token) => farm.SubmitAsync(s.Expanded, s.Text, token), farm.Events, sweep,
            TimeSpan.FromMinutes(30), ct);
        if (!timed.Complete)
            throw new InvalidOperationException(F($"sweep {sweep.Expanded.Name} ended {timed.State} with {timed.Recorded} of {timed.Jobs} jobs recorded"));
        return timed;
    }

    /// <summary>
    /// The engine time the farm's device spent on a sweep, as its jobs' timings report it: each unit's time to its
    /// last output (units are told apart by fusion key, one unit per key in these sweeps). Image loading, before the
    /// engine's clock starts, counts as the farm's.
    /// </summary>
    private static double EngineSecondsInFarm(EmbeddedFarm farm, string sweepId) =>
        farm.Store.SweepJobs(sweepId).GroupBy(j => j.Job.Settings.FusionKey).Sum(unit => unit.Max(j => j.Job.EngineSeconds ?? 0));

    private static IEnumerable<JobSettings> JobsOf(BenchSweep sweep) => sweep.Expanded.Jobs.Select(j => j.Settings);

    private static double Median(List<double> values)
    {
        double[] sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"stylefarm: could not delete {folder}: {e.Message}");
        }
    }

    private static void Say(string line)
    {
        Console.WriteLine(line);
        Console.Out.Flush();
    }
}

using StyleFarm.GpuNode.Blobs;
using StyleFarm.GpuNode.Devices;
using StyleFarm.GpuNode.Execution;

namespace StyleFarm.GpuNode.Node;

/// <summary>What a GPU node runs: who it is, its devices, where it keeps blobs, and which engine.</summary>
public sealed record GpuNodeSettings
{
    /// <summary>The node's id in the farm (no '/'); device ids are <c>nodeId/device</c>.</summary>
    public required string NodeId { get; init; }

    /// <summary>The machine's name, for people (the dashboard).</summary>
    public string HostName { get; init; } = Environment.MachineName;

    /// <summary>The engine's device names, one DeviceWorker each: cpu, cuda:0, cuda:1…</summary>
    public IReadOnlyList<string> Devices { get; init; } = ["cpu"];

    /// <summary>The node-local content-addressed blob cache.</summary>
    public string BlobCacheFolder { get; init; } = NodeBlobCache.DefaultFolder();

    /// <summary>torch CPU threads (0: torch's default, all cores).</summary>
    public int Threads { get; init; }

    /// <summary>Run <see cref="NoOpUnitRunner"/> instead of the engine (the farm's dispatch benchmark).</summary>
    public bool UseNoOpEngine { get; init; }

    /// <summary>Makes each device's runner; overrides <see cref="UseNoOpEngine"/> (tests, the embedded farm).</summary>
    public Func<UnitRunnerContext, IUnitRunner>? RunnerFactory { get; init; }

    /// <summary>
    /// Create the SweepManager singleton proxy under <see cref="Cluster.SweepManagerProxyKey"/>. The embedded
    /// one-process farm sets it false: the coordinator's singleton registration made that proxy already.
    /// </summary>
    public bool RegisterSweepManagerProxy { get; init; } = true;

    /// <summary>Where one-line notices go (joined, a unit started or ended); null: the log only.</summary>
    public Action<string>? Report { get; init; }

    /// <summary>How long SIGTERM (or a coordinated shutdown) waits for the devices to hand their units back.</summary>
    public TimeSpan ShutdownDrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>NodeJoined is repeated this often until NodeAccepted.</summary>
    public TimeSpan JoinRetry { get; init; } = TimeSpan.FromSeconds(3);

    public DeviceWorkerTimings WorkerTimings { get; init; } = new();

    /// <summary>
    /// One worker per entry of <see cref="Devices"/>, each with its name within the node: the device's name, and
    /// for a repeated cpu <c>cpu-2</c>, <c>cpu-3</c>… (`--devices cpu,cpu` runs two workers on the CPU).
    /// </summary>
    public IReadOnlyList<(string Slot, string Device)> DeviceSlots()
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var slots = new List<(string, string)>(Devices.Count);
        foreach (var device in Devices)
        {
            int n = seen[device] = seen.GetValueOrDefault(device) + 1;
            slots.Add((n == 1 ? device : $"{device}-{n.ToString(System.Globalization.CultureInfo.InvariantCulture)}", device));
        }
        return slots;
    }

    /// <summary>
    /// torch CPU threads per worker: <see cref="Threads"/> when given, else the cores shared out among the CPU
    /// workers (torch's pool is per process, so two CPU workers at full width would fight over the cores).
    /// </summary>
    public int EffectiveThreads
    {
        get
        {
            int cpuWorkers = Devices.Count(d => d == "cpu");
            return Threads > 0 || cpuWorkers <= 1 ? Threads : Math.Max(1, Environment.ProcessorCount / cpuWorkers);
        }
    }

    /// <summary>The runner factory in force: <see cref="RunnerFactory"/>, else no-op or the engine.</summary>
    public Func<UnitRunnerContext, IUnitRunner> ResolveRunnerFactory() =>
        RunnerFactory ?? (UseNoOpEngine ? _ => new NoOpUnitRunner() : context => new RealUnitRunner(context));

    /// <summary>Every problem with these settings, one line each; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(NodeId) || NodeId.Contains('/') || NodeId.Any(char.IsWhiteSpace))
            problems.Add($"Node id '{NodeId}' must be non-empty, without '/' or spaces.");
        if (Devices.Count == 0)
            problems.Add("Give at least one device (cpu, cuda:0…).");
        foreach (var device in Devices)
            if (!IsDeviceName(device))
                problems.Add($"Device '{device}': expected cpu, cuda or cuda:N.");
        foreach (var twice in Devices.Where(d => d != "cpu").GroupBy(d => d).Where(g => g.Count() > 1))
            problems.Add($"Device '{twice.Key}' is given twice (only cpu may run several workers).");
        if (Threads < 0)
            problems.Add($"Threads must be 0 (torch's default) or positive, not {Threads}.");
        if (string.IsNullOrWhiteSpace(BlobCacheFolder))
            problems.Add("The blob cache folder is empty.");
        return problems;
    }

    /// <summary>cpu, cuda, or cuda:N: the names the engine resolves (whether the device exists is checked by the engine).</summary>
    public static bool IsDeviceName(string device) =>
        device == "cpu" || device == "cuda"
        || (device.StartsWith("cuda:", StringComparison.Ordinal) && device.Length > 5 && device[5..].All(char.IsAsciiDigit));
}

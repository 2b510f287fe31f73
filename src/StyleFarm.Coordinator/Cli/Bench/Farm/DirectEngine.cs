using StyleFarm.Engine.Devices;
using StyleFarm.GpuNode.Execution;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Cli.Bench.Farm;

/// <summary>
/// The engine without the farm: work units run with <see cref="UnitExecutor"/> on one dedicated thread (a
/// <see cref="DeviceEngine"/>, as a device worker runs them), the loaded network kept between units, the images read
/// straight from their files. What the farm's wall time is compared with.
/// </summary>
internal sealed class DirectEngine : IDisposable
{
    private readonly DeviceEngine _engine;
    private readonly int _threads;

    /// <param name="files">Blob hash → local file, for every image and weights file the units name.</param>
    public DirectEngine(string device, int threads, IReadOnlyDictionary<string, string> files)
    {
        _threads = threads;
        _engine = new DeviceEngine("bench direct engine", () => new Runner(device, files));
    }

    /// <summary>Runs the units one after another; returns the wall time of all of them.</summary>
    public async Task<TimeSpan> RunAsync(IReadOnlyList<WorkUnit> units, CancellationToken ct)
    {
        var done = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var hooks = new ExecutionHooks { Threads = _threads };
        _engine.Run(runner =>
        {
            foreach (WorkUnit unit in units) runner.Run(unit, null, hooks, ct);
        }, (elapsed, error) =>
        {
            if (error is null) done.SetResult(elapsed);
            else done.SetException(error);
        });
        return await done.Task;
    }

    public void Dispose() => _engine.Dispose();

    private sealed class Runner(string device, IReadOnlyDictionary<string, string> files) : IUnitRunner
    {
        private readonly FeatureNetworkCache _networks = new(ComputeDevice.Resolve(device), hash => files[hash]);

        public void Run(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel) =>
            new UnitExecutor(_networks, hash => File.ReadAllBytes(files[hash])).Execute(unit, resumeCheckpoint, hooks, cancel);

        public void Dispose() => _networks.Dispose();
    }
}

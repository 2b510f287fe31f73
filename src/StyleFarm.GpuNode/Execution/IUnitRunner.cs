using StyleFarm.GpuNode.Blobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.GpuNode.Execution;

/// <summary>What a device's runner is made from: the engine's device name, the node's blob cache, torch's CPU threads.</summary>
public sealed record UnitRunnerContext(string Device, NodeBlobCache Blobs, int Threads);

/// <summary>
/// Runs work units for one device, one at a time, on the calling thread (a DeviceWorker's engine thread). Every
/// blob the unit names (images, weights) is in the context's cache before <see cref="Run"/> is called.
/// </summary>
public interface IUnitRunner : IDisposable
{
    /// <summary>
    /// Runs <paramref name="unit"/> (from <paramref name="resumeCheckpoint"/> when given) to its end, handing out
    /// progress, snapshots, checkpoints and finished jobs through <paramref name="hooks"/>. Throws
    /// <see cref="OperationCanceledException"/> within a step of <paramref name="cancel"/>, having first called
    /// <see cref="ExecutionHooks.OnCheckpoint"/> when <see cref="ExecutionHooks.CheckpointOnCancel"/> is set.
    /// </summary>
    void Run(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel);
}

/// <summary>The engine: <see cref="UnitExecutor"/> with the device's loaded networks kept between units.</summary>
public sealed class RealUnitRunner : IUnitRunner
{
    private readonly FeatureNetworkCache _networks;
    private readonly UnitExecutor _executor;

    /// <param name="load">How a network is loaded (tests point the ResNet18 cache elsewhere); the engine's by default.</param>
    public RealUnitRunner(UnitRunnerContext context, Func<string, string?, TorchSharp.torch.Device, Engine.Networks.IFeatureNetwork>? load = null)
    {
        var device = Engine.Devices.ComputeDevice.Resolve(context.Device);
        _networks = new FeatureNetworkCache(device, context.Blobs.WeightsFile, load);
        _executor = new UnitExecutor(_networks, context.Blobs.Read);
    }

    public void Run(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel) =>
        _executor.Execute(unit, resumeCheckpoint, hooks, cancel);

    public void Dispose() => _networks.Dispose();
}

/// <summary>
/// For the farm's dispatch benchmark: finishes every job at once with the same tiny PNG and trace, so that the
/// coordinator's blob store dedupes them and what is measured is the farm, not the engine.
/// </summary>
public sealed class NoOpUnitRunner : IUnitRunner
{
    /// <summary>A 1×1 PNG.</summary>
    public static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    /// <summary>A loss trace with no rows (the header of a trace without style layers).</summary>
    public const string TraceCsv = "step,total,content,tv\n";

    public void Run(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        foreach (var job in unit.Jobs)
            hooks.OnJobDone?.Invoke(new JobOutput(job.JobId, job.Steps, Png, TraceCsv,
                new Engine.Runs.LossRow(job.Steps, 0, 0, [], 0), TimeSpan.Zero));
    }

    public void Dispose()
    {
    }
}

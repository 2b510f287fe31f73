using System.Diagnostics;
using StyleFarm.Engine.Imaging;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;
using static TorchSharp.torch;

namespace StyleFarm.GpuNode.Execution;

/// <summary>A finished job: its image as PNG, its loss trace as CSV and its last losses.</summary>
public sealed record JobOutput(string JobId, int Steps, byte[] Png, string TraceCsv, LossRow? FinalLosses, TimeSpan Elapsed);

/// <summary>What a running unit hands out on the way; every hook is optional.</summary>
public sealed class ExecutionHooks
{
    public Action<StepProgress>? OnStep { get; init; }

    /// <summary>A snapshot (every save_every steps) of a variant, as PNG.</summary>
    public Action<UnitVariant, int, byte[]>? OnSnapshot { get; init; }

    /// <summary>A job done: called as soon as its step count is reached, before the unit ends.</summary>
    public Action<JobOutput>? OnJobDone { get; init; }

    public int CheckpointEvery { get; init; }

    /// <summary>A checkpoint's step and bytes, to travel to the coordinator.</summary>
    public Action<int, byte[]>? OnCheckpoint { get; init; }

    public bool CheckpointOnCancel { get; init; }

    public int Threads { get; init; }
}

/// <summary>
/// Runs a work unit from the wire on the engine: images from blob bytes, one engine variant per unit variant,
/// each job read out at its step count. No Akka here: the device worker calls it on its own thread.
/// </summary>
public sealed class UnitExecutor(FeatureNetworkCache networks, Func<string, byte[]> readBlob)
{
    public void Execute(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel)
    {
        JobSettings shared = unit.Shared;
        IFeatureNetwork network = networks.Get(shared.Network, shared.WeightsBlob);
        using var scope = NewDisposeScope();
        Tensor content = ImageLoader.LoadContent(readBlob(shared.ContentImage), $"content image {shared.ContentImage}", shared.Size, network.SideMultiple);
        Tensor style = ImageLoader.LoadStyle(readBlob(shared.StyleImage), $"style image {shared.StyleImage}", (int)content.shape[2], (int)content.shape[3]);
        using UnitCheckpoint? resume = resumeCheckpoint is null ? null : UnitCheckpoint.FromBytes(resumeCheckpoint, $"checkpoint of unit {unit.UnitId}");

        var clock = Stopwatch.StartNew();
        var variants = unit.Variants.ToDictionary(v => v.VariantId);
        var options = new RunOptions
        {
            Threads = hooks.Threads,
            ResumeFrom = resume,
            CheckpointEvery = hooks.CheckpointEvery,
            CheckpointOnCancel = hooks.CheckpointOnCancel,
            OnCheckpoint = checkpoint => { using (checkpoint) hooks.OnCheckpoint?.Invoke(checkpoint.Step, checkpoint.ToBytes()); },
            OnStep = hooks.OnStep,
            OnSnapshot = snapshot => HandOut(snapshot, variants[snapshot.VariantId], shared.SaveEvery, hooks, clock.Elapsed),
        };
        using UnitResult result = new FusedRunner(network).Run(ToUnitSpec(unit, network), content, style, options, cancel);
    }

    /// <summary>Snapshots go out every save_every steps; at a job's step count, the job's result goes out.</summary>
    private static void HandOut(Snapshot snapshot, UnitVariant variant, int saveEvery, ExecutionHooks hooks, TimeSpan elapsed)
    {
        byte[] png = ImageWriter.EncodePng(snapshot.Image);
        if (saveEvery > 0 && snapshot.Step % saveEvery == 0) hooks.OnSnapshot?.Invoke(variant, snapshot.Step, png);
        if (!snapshot.IsOutput) return;

        LossTrace trace = snapshot.Trace.UpTo(snapshot.Step);
        foreach (JobAtStep job in variant.Jobs.Where(j => j.Steps == snapshot.Step))
            hooks.OnJobDone?.Invoke(new JobOutput(job.JobId, job.Steps, png, trace.ToCsv(), trace.Last, elapsed));
    }

    /// <summary>The engine's view of a unit: one variant per row, read out at each of its jobs' step counts.</summary>
    public static UnitSpec ToUnitSpec(WorkUnit unit, IFeatureNetwork network)
    {
        JobSettings shared = unit.Shared;
        return new UnitSpec(
            shared.ContentLayer,
            shared.StyleLayers.Select(l => l.Layer).ToArray(),
            network.Defaults.LossForm,
            Enum.Parse<OptimizerKind>(shared.Optimizer, ignoreCase: true),
            Enum.Parse<InitKind>(shared.Init, ignoreCase: true),
            shared.Seed,
            shared.SaveEvery,
            unit.Variants.Select(v => new VariantSpec(
                v.VariantId, v.ContentWeight, v.StyleWeight,
                v.StyleLayers.ToDictionary(l => l.Layer, l => l.Weight),
                v.TvWeight, v.LearningRate,
                v.Jobs.Select(j => j.Steps).Distinct().Order().ToArray())).ToArray());
    }
}

using System.Diagnostics;
using StyleFarm.Engine.Devices;
using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Optimisation;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Runs;

/// <summary>
/// Runs a work unit: its N variants as one [N,3,H,W] batch through the network, each with its own loss weights
/// and learning rate, to the largest step count of any variant. Variants are read out at each of their step
/// counts and leave the batch once their last one is reached. Targets are computed once per unit.
/// </summary>
public sealed class FusedRunner(IFeatureNetwork network)
{
    public IFeatureNetwork Network { get; } = network;

    /// <summary>
    /// Runs <paramref name="spec"/> on a content and a style image (float [1,3,H,W] in [0,1], same shape).
    /// Throws OperationCanceledException within one step of <paramref name="cancel"/>.
    /// </summary>
    public UnitResult Run(UnitSpec spec, Tensor content, Tensor style, RunOptions? options = null, CancellationToken cancel = default)
    {
        options ??= new RunOptions();
        spec.Validate(Network);
        RequireImagePair(content, style);
        ComputeDevice.SetThreads(options.Threads);
        var clock = Stopwatch.StartNew();

        using var targets = StyleTargets.Compute(Network, spec, content, style);
        using var state = RunState.Start(spec, Network, targets, content, style, options);
        var outputs = new List<VariantOutput>();
        try
        {
            for (int step = state.Step + 1; step <= spec.MaxSteps; step++)
            {
                if (cancel.IsCancellationRequested)
                {
                    if (options.CheckpointOnCancel) options.OnCheckpoint?.Invoke(state.Checkpoint());
                    cancel.ThrowIfCancellationRequested();
                }
                LossRow[] rows = state.TakeStep();
                options.OnStep?.Invoke(new StepProgress(step, spec.MaxSteps,
                    state.Active.Select((v, i) => new VariantLosses(v.Id, rows[i])).ToArray()));
                ReadOut(spec, state, step, options, outputs);
                state.DropFinishedVariants();
                if (options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0 && step < spec.MaxSteps)
                    options.OnCheckpoint?.Invoke(state.Checkpoint());
            }
        }
        catch
        {
            foreach (VariantOutput output in outputs) output.Image.Dispose();
            throw;
        }
        return new UnitResult
        {
            Outputs = outputs,
            Traces = state.Traces,
            StepsRun = spec.MaxSteps - (options.ResumeFrom?.Step ?? 0),
            Elapsed = clock.Elapsed,
        };
    }

    /// <summary>Hands out snapshots (every save_every) and outputs (at each variant's step counts).</summary>
    private static void ReadOut(UnitSpec spec, RunState state, int step, RunOptions options, List<VariantOutput> outputs)
    {
        bool snapshotStep = spec.SaveEvery > 0 && step % spec.SaveEvery == 0;
        for (int row = 0; row < state.Active.Count; row++)
        {
            VariantSpec variant = state.Active[row];
            bool isOutput = variant.OutputSteps.Contains(step);
            if (!isOutput && (!snapshotStep || options.OnSnapshot is null)) continue;

            using Tensor image = state.ImageOf(row);
            if (isOutput) outputs.Add(new VariantOutput(variant.Id, step, image.clone()));
            if (snapshotStep || isOutput) options.OnSnapshot?.Invoke(new Snapshot(variant.Id, step, isOutput, image, state.Traces[variant.Id]));
        }
    }

    private void RequireImagePair(Tensor content, Tensor style)
    {
        if (content.dim() != 4 || content.shape[0] != 1 || content.shape[1] != 3)
            throw new EngineException($"content image must be [1,3,H,W], not [{string.Join(",", content.shape)}]");
        if (!content.shape.SequenceEqual(style.shape))
            throw new EngineException($"style image must have the content's shape [{string.Join(",", content.shape)}], not [{string.Join(",", style.shape)}]");
        int multiple = Network.SideMultiple;
        if (content.shape[2] % multiple != 0 || content.shape[3] % multiple != 0)
            throw new EngineException($"{Network.Name} needs image sides that are multiples of {multiple}; got {content.shape[3]}×{content.shape[2]}");
    }
}

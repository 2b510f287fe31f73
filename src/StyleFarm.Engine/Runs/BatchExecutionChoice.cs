using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Runs;

/// <summary>
/// How a unit's batch of variants goes through the network when the caller does not say.
/// <list type="bullet">
/// <item>On a GPU, as one batch: batching is what a GPU is fast at.</item>
/// <item>On a CPU, as one batch when that provably gives each variant what it would get alone, bit for bit; else
/// image by image. Style transfer is chaotic enough that a rounding difference of 1e-7 in one step grows into a
/// visible one within tens of steps, so "equal to its lone run" has to mean equal.
/// <see cref="BatchInvariantConv"/> keeps the convolutions PyTorch is known to treat differently in a batch image by
/// image, but which kernels oneDNN picks depends on the machine. So the claim is checked where it is made: one
/// step's losses and gradient of random images, computed both ways, must be identical. The verdict is kept per
/// network, image size, batch size and thread count, so a process checks each geometry once (about two steps).</item>
/// </list>
/// </summary>
public static class BatchExecutionChoice
{
    private static readonly ConditionalWeakTable<IFeatureNetwork, ConcurrentDictionary<string, BatchExecution>> Verdicts = new();

    public static BatchExecution For(IFeatureNetwork network, UnitSpec spec, IReadOnlyList<VariantSpec> variants,
        StyleTargets targets, long height, long width)
    {
        if (network.Device.type != DeviceType.CPU) return BatchExecution.Batched;
        if (variants.Count == 1) return BatchExecution.Batched;

        int threads = get_num_threads();
        string geometry = $"{height}x{width}|n{variants.Count}|t{threads}|{spec.LossForm}|{spec.ContentLayer}|{string.Join(",", spec.StyleLayers)}";
        return Verdicts.GetOrCreateValue(network)
            .GetOrAdd(geometry, _ => BatchedEqualsImageByImage(network, spec, variants, targets, height, width)
                ? BatchExecution.Batched
                : BatchExecution.PerImage);
    }

    /// <summary>One step's losses and gradient of random images, as one batch and image by image: identical?</summary>
    public static bool BatchedEqualsImageByImage(IFeatureNetwork network, UnitSpec spec, IReadOnlyList<VariantSpec> variants,
        StyleTargets targets, long height, long width)
    {
        using var scope = NewDisposeScope();
        Tensor images = rand([variants.Count, 3, height, width], dtype: float32, generator: new Generator(20_150_826))
            .to(network.DType, network.Device);
        using var batched = new StyleObjective(network, spec, variants, BatchExecution.Batched);
        using var imageByImage = new StyleObjective(network, spec, variants, BatchExecution.PerImage);
        var (batchedLosses, batchedGradient) = batched.EvaluateWithGradient(images, targets);
        var (aloneLosses, aloneGradient) = imageByImage.EvaluateWithGradient(images, targets);
        return Identical(batchedGradient, aloneGradient) && Identical(batchedLosses.AsTable(), aloneLosses.AsTable());
    }

    private static bool Identical(Tensor a, Tensor b) => a.eq(b).all().item<bool>();
}

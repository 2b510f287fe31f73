using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Runs;

/// <summary>What the optimised images are pulled towards: content features at one layer and style Grams at several.</summary>
public sealed class StyleTargets : IDisposable
{
    public required Tensor ContentFeatures { get; init; }
    public required IReadOnlyDictionary<string, Tensor> StyleGrams { get; init; }

    /// <summary>Computes the targets once for a whole unit, without gradients.</summary>
    public static StyleTargets Compute(IFeatureNetwork network, UnitSpec spec, Tensor content, Tensor style)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var contentFeatures = network.Extract(content.to(network.DType, network.Device), [spec.ContentLayer]);
        var styleFeatures = network.Extract(style.to(network.DType, network.Device), spec.StyleLayers);
        // Owned by this object from here on, not by any caller's scope.
        return new StyleTargets
        {
            ContentFeatures = contentFeatures[spec.ContentLayer].detach().DetachFromDisposeScope(),
            StyleGrams = spec.StyleLayers.ToDictionary(
                layer => layer,
                layer => StyleLosses.GramMatrix(styleFeatures[layer]).detach().DetachFromDisposeScope()),
        };
    }

    public void Dispose()
    {
        ContentFeatures.Dispose();
        foreach (Tensor gram in StyleGrams.Values) gram.Dispose();
    }
}

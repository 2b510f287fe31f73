using StyleFarm.Engine.Networks;

namespace StyleFarm.Engine.Runs;

public enum OptimizerKind { Adam, Lbfgs }

/// <summary>What the optimised image starts as.</summary>
public enum InitKind { Content, Noise, Style }

/// <summary>
/// One variant of a fused unit: the numbers that may differ between the variants of a unit. A variant is read
/// out at every step count in <see cref="OutputSteps"/>: a 100-step job is the first 100 steps of a 300-step one.
/// </summary>
public sealed record VariantSpec(
    string Id,
    double ContentWeight,
    double StyleWeight,
    IReadOnlyDictionary<string, double> StyleLayerWeights,
    double TvWeight,
    double LearningRate,
    IReadOnlyList<int> OutputSteps)
{
    public int LastStep => OutputSteps.Max();
}

/// <summary>
/// A work unit: variants that share images, size, network, layers, loss form, init, seed and optimizer kind,
/// and so can run as one batch through one network.
/// </summary>
public sealed record UnitSpec(
    string ContentLayer,
    IReadOnlyList<string> StyleLayers,
    LossForm LossForm,
    OptimizerKind Optimizer,
    InitKind Init,
    long Seed,
    int SaveEvery,
    IReadOnlyList<VariantSpec> Variants)
{
    public int MaxSteps => Variants.Max(v => v.LastStep);

    /// <summary>Checks the spec against the network it will run on; throws EngineException naming the problem.</summary>
    public void Validate(IFeatureNetwork network)
    {
        if (Variants.Count == 0) throw new EngineException("a work unit needs at least one variant");
        if (Optimizer == OptimizerKind.Lbfgs && Variants.Count > 1)
            throw new EngineException("L-BFGS couples a batch through its history; an L-BFGS unit holds one variant");
        if (SaveEvery < 0) throw new EngineException($"save_every must be 0 (never) or positive, not {SaveEvery}");
        RequireLayer(network, ContentLayer, "content layer");
        if (StyleLayers.Count == 0) throw new EngineException("at least one style layer is needed");
        foreach (string layer in StyleLayers) RequireLayer(network, layer, "style layer");
        if (Variants.Select(v => v.Id).Distinct().Count() != Variants.Count)
            throw new EngineException("variant ids in a unit must be distinct");
        foreach (VariantSpec v in Variants) ValidateVariant(v);
    }

    private void ValidateVariant(VariantSpec v)
    {
        if (v.OutputSteps.Count == 0 || v.OutputSteps.Any(s => s <= 0))
            throw new EngineException($"variant {v.Id}: step counts must be positive");
        if (v.LearningRate <= 0 || !double.IsFinite(v.LearningRate))
            throw new EngineException($"variant {v.Id}: learning rate must be a positive number, not {v.LearningRate}");
        foreach (var (name, value) in new[] { ("content weight", v.ContentWeight), ("style weight", v.StyleWeight), ("tv weight", v.TvWeight) })
            if (value < 0 || !double.IsFinite(value))
                throw new EngineException($"variant {v.Id}: {name} must be a non-negative number, not {value}");
        foreach (var (layer, weight) in v.StyleLayerWeights)
        {
            if (!StyleLayers.Contains(layer))
                throw new EngineException($"variant {v.Id}: style layer weight for '{layer}', which is not one of the unit's style layers ({string.Join(", ", StyleLayers)})");
            if (weight < 0 || !double.IsFinite(weight))
                throw new EngineException($"variant {v.Id}: style layer weight {layer} must be non-negative, not {weight}");
        }
    }

    private static void RequireLayer(IFeatureNetwork network, string layer, string role)
    {
        if (!network.LayerNames.Contains(layer))
            throw new EngineException($"{role} '{layer}' is not a layer of {network.Name} (its layers: {string.Join(", ", network.LayerNames)})");
    }
}

using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Losses;

/// <summary>The losses of a batch of images, each row with its own variant's weights. All tensors are per row.</summary>
public sealed record ObjectiveValues(Tensor Total, Tensor Content, Tensor StyleByLayer, Tensor Tv)
{
    /// <summary>[total; content; style per layer…; tv] as one [3+L,N] table, read back in one copy.</summary>
    public Tensor AsTable() => cat([stack([Total, Content]), StyleByLayer, Tv.unsqueeze(0)]);

    /// <summary>Rows evaluated one by one, joined as one batch.</summary>
    public static ObjectiveValues Join(IReadOnlyList<ObjectiveValues> rows) => new(
        cat(rows.Select(r => r.Total).ToArray()),
        cat(rows.Select(r => r.Content).ToArray()),
        cat(rows.Select(r => r.StyleByLayer).ToArray(), dim: 1),
        cat(rows.Select(r => r.Tv).ToArray()));

    /// <summary>The same values, owned by the dispose scope around the current one.</summary>
    public ObjectiveValues MoveToOuterDisposeScope() => new(
        Total.MoveToOuterDisposeScope(), Content.MoveToOuterDisposeScope(),
        StyleByLayer.MoveToOuterDisposeScope(), Tv.MoveToOuterDisposeScope());
}

/// <summary>How the rows of a fused batch go through the network (<see cref="BatchExecutionChoice"/> picks one).</summary>
public enum BatchExecution
{
    /// <summary>Each image through the network alone: by construction what its lone run computes.</summary>
    PerImage,

    /// <summary>
    /// All rows as one [N,3,H,W] batch: faster, and on a CPU equal to lone runs bit for bit wherever the kernels
    /// compute each image alike at every batch size (<see cref="Networks.BatchInvariantConv"/>).
    /// </summary>
    Batched,
}

/// <summary>
/// total_n = content_weight_n · content_n + style_weight_n · Σ_l w_{l,n} · style_{l,n} + tv_weight_n · tv_n,
/// for the variants of a unit stacked as rows of one batch.
/// </summary>
public sealed class StyleObjective : IDisposable
{
    private readonly IFeatureNetwork _network;
    private readonly UnitSpec _spec;
    private readonly string[] _layers;
    private readonly Tensor _contentWeights;      // [N]
    private readonly Tensor _styleWeights;        // [N]
    private readonly Tensor _tvWeights;           // [N]
    private readonly Tensor _styleLayerWeights;   // [L,N]

    /// <summary>One objective per row when each image runs alone; null when the batch runs as one.</summary>
    private readonly StyleObjective[]? _perImage;

    /// <summary>Each variant's learning rate, [N], for the optimiser.</summary>
    public Tensor LearningRates { get; }

    public StyleObjective(IFeatureNetwork network, UnitSpec spec, IReadOnlyList<VariantSpec> variants,
        BatchExecution execution = BatchExecution.PerImage)
    {
        if (execution == BatchExecution.PerImage && variants.Count > 1)
            _perImage = variants.Select(v => new StyleObjective(network, spec, [v], BatchExecution.Batched)).ToArray();
        _network = network;
        _spec = spec;
        _layers = spec.StyleLayers.Append(spec.ContentLayer).Distinct().ToArray();
        _contentWeights = Column(variants, v => v.ContentWeight);
        _styleWeights = Column(variants, v => v.StyleWeight);
        _tvWeights = Column(variants, v => v.TvWeight);
        LearningRates = Column(variants, v => v.LearningRate);
        _styleLayerWeights = LayerWeights(variants);
    }

    /// <summary>The losses of each row, differentiable with respect to <paramref name="images"/> through autograd.</summary>
    public ObjectiveValues Evaluate(Tensor images, StyleTargets targets)
    {
        if (_perImage is null) return EvaluateBatch(images, targets);

        using var scope = NewDisposeScope();
        ObjectiveValues[] rows = _perImage.Select((objective, i) => objective.EvaluateBatch(images.narrow(0, i, 1), targets)).ToArray();
        return ObjectiveValues.Join(rows).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The losses of each row and the gradient of Σ_n total_n with respect to the pixels [N,3,H,W]. The losses'
    /// gradients with respect to the features are taken in closed form (<see cref="StyleLosses"/>), and one backward
    /// pass carries them through the network to the pixels. What a step runs; no graph is left behind.
    /// </summary>
    public (ObjectiveValues Values, Tensor Gradient) EvaluateWithGradient(Tensor images, StyleTargets targets)
    {
        if (_perImage is null) return EvaluateBatchWithGradient(images, targets);

        using var scope = NewDisposeScope();
        var rows = _perImage.Select((objective, i) => objective.EvaluateBatchWithGradient(images.narrow(0, i, 1), targets)).ToArray();
        var values = ObjectiveValues.Join(rows.Select(r => r.Values).ToArray()).MoveToOuterDisposeScope();
        return (values, cat(rows.Select(r => r.Gradient).ToArray()).MoveToOuterDisposeScope());
    }

    private (ObjectiveValues Values, Tensor Gradient) EvaluateBatchWithGradient(Tensor images, StyleTargets targets)
    {
        using var scope = NewDisposeScope();
        // A leaf of its own, so the backward below reaches exactly these pixels whatever the caller's tensor is.
        var pixels = images.detach().requires_grad_(true);
        var features = _network.Extract(pixels, _layers);

        var content = StyleLosses.ContentLossWithGradient(features[_spec.ContentLayer], targets.ContentFeatures, _spec.LossForm, _contentWeights);
        var style = _spec.StyleLayers.Select((layer, l) => StyleLosses.StyleLayerLossWithGradient(
            features[layer], targets.StyleGrams[layer], _spec.LossForm, _styleWeights * _styleLayerWeights[l])).ToArray();
        var tv = StyleLosses.TotalVariationWithGradient(pixels.detach(), _tvWeights);

        // d total / d features, per layer: the content layer may also be a style layer.
        var featureGradients = _layers.ToDictionary(layer => layer, _ => (Tensor?)null);
        void Accumulate(string layer, Tensor gradient) =>
            featureGradients[layer] = featureGradients[layer] is { } sum ? sum.add_(gradient) : gradient;
        Accumulate(_spec.ContentLayer, content.Gradient);
        for (int l = 0; l < style.Length; l++) Accumulate(_spec.StyleLayers[l], style[l].Gradient);

        var throughNetwork = autograd.grad(
            _layers.Select(layer => features[layer]).ToArray(), [pixels],
            _layers.Select(layer => featureGradients[layer]!).ToArray())[0];
        var gradient = throughNetwork.add_(tv.Gradient);

        Tensor styleByLayer = stack(style.Select(s => s.Loss).ToArray());
        var values = new ObjectiveValues(Total(content.Loss, styleByLayer, tv.Loss), content.Loss, styleByLayer, tv.Loss);
        return (values.MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope());
    }

    private ObjectiveValues EvaluateBatch(Tensor images, StyleTargets targets)
    {
        using var scope = NewDisposeScope();
        var features = _network.Extract(images, _layers);
        Tensor content = StyleLosses.ContentLoss(features[_spec.ContentLayer], targets.ContentFeatures, _spec.LossForm);
        Tensor styleByLayer = stack(_spec.StyleLayers
            .Select(layer => StyleLosses.StyleLayerLoss(StyleLosses.GramMatrix(features[layer]), targets.StyleGrams[layer], _spec.LossForm))
            .ToArray());
        Tensor tv = StyleLosses.TotalVariation(images);
        return new ObjectiveValues(Total(content, styleByLayer, tv), content, styleByLayer, tv).MoveToOuterDisposeScope();
    }

    /// <summary>content_weight·content + style_weight·Σ_l w_l·style_l + tv_weight·tv, per row.</summary>
    private Tensor Total(Tensor content, Tensor styleByLayer, Tensor tv)
    {
        Tensor style = (_styleLayerWeights * styleByLayer).sum(dim: 0);
        return _contentWeights * content + _styleWeights * style + _tvWeights * tv;
    }

    /// <summary>
    /// Layer weights as an [L,N] matrix. The relative form spreads each variant's style weight over its layers
    /// (weights scaled to sum to 1); the seed's form sums the layers as given.
    /// </summary>
    private Tensor LayerWeights(IReadOnlyList<VariantSpec> variants)
    {
        int layers = _spec.StyleLayers.Count, n = variants.Count;
        var matrix = new double[layers * n];
        for (int i = 0; i < n; i++)
        {
            double[] w = _spec.StyleLayers.Select(l => variants[i].StyleLayerWeights.GetValueOrDefault(l)).ToArray();
            double sum = w.Sum();
            if (_spec.LossForm == LossForm.Relative && sum > 0) w = w.Select(x => x / sum).ToArray();
            for (int l = 0; l < layers; l++) matrix[l * n + i] = w[l];
        }
        return tensor(matrix, [layers, n], dtype: _network.DType, device: _network.Device).DetachFromDisposeScope();
    }

    private Tensor Column(IReadOnlyList<VariantSpec> variants, Func<VariantSpec, double> pick) =>
        tensor(variants.Select(pick).ToArray(), dtype: _network.DType, device: _network.Device).DetachFromDisposeScope();

    public void Dispose()
    {
        foreach (StyleObjective row in _perImage ?? []) row.Dispose();
        _contentWeights.Dispose();
        _styleWeights.Dispose();
        _tvWeights.Dispose();
        _styleLayerWeights.Dispose();
        LearningRates.Dispose();
    }
}

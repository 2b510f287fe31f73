using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Losses;

/// <summary>The losses of a batch of images, each row with its own variant's weights. All tensors are per row.</summary>
public sealed record ObjectiveValues(Tensor Total, Tensor Content, Tensor StyleByLayer, Tensor Tv)
{
    /// <summary>[total; content; style per layer…; tv] as one [3+L,N] table, read back in one copy.</summary>
    public Tensor AsTable() => cat([stack([Total, Content]), StyleByLayer, Tv.unsqueeze(0)]);
}

/// <summary>How the rows of a fused batch go through the network.</summary>
public enum BatchExecution
{
    /// <summary>
    /// Each image through the network alone, with the kernels a lone run uses: fused variants then equal their
    /// lone runs bit for bit. Style transfer is chaotic enough that batch-dependent rounding (oneDNN picks other
    /// kernels for N=3 than for N=1) grows from 1e-7 to visible differences within tens of steps. On a CPU a
    /// single image already fills the cores, so this costs little.
    /// </summary>
    PerImage,

    /// <summary>All rows as one [N,3,H,W] batch: the faster choice on GPUs, equal to lone runs only up to rounding.</summary>
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

    public ObjectiveValues Evaluate(Tensor images, StyleTargets targets)
    {
        if (_perImage is null) return EvaluateBatch(images, targets);

        using var scope = NewDisposeScope();
        ObjectiveValues[] rows = _perImage.Select((objective, i) => objective.EvaluateBatch(images.narrow(0, i, 1), targets)).ToArray();
        return new ObjectiveValues(
            cat(rows.Select(r => r.Total).ToArray()).MoveToOuterDisposeScope(),
            cat(rows.Select(r => r.Content).ToArray()).MoveToOuterDisposeScope(),
            cat(rows.Select(r => r.StyleByLayer).ToArray(), dim: 1).MoveToOuterDisposeScope(),
            cat(rows.Select(r => r.Tv).ToArray()).MoveToOuterDisposeScope());
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
        Tensor style = (_styleLayerWeights * styleByLayer).sum(dim: 0);
        Tensor total = _contentWeights * content + _styleWeights * style + _tvWeights * tv;
        return new ObjectiveValues(
            total.MoveToOuterDisposeScope(), content.MoveToOuterDisposeScope(),
            styleByLayer.MoveToOuterDisposeScope(), tv.MoveToOuterDisposeScope());
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

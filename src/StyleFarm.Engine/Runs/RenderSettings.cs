using StyleFarm.Engine.Networks;

namespace StyleFarm.Engine.Runs;

/// <summary>
/// The settings of one render as a user gives them; anything left null takes the network's default.
/// Learning rates apply to [0,1] pixels.
/// </summary>
public sealed record RenderSettings
{
    public const int DefaultSize = 400;

    public string Network { get; init; } = FeatureNetworks.ResNet18;
    public string? Weights { get; init; }
    public int Size { get; init; } = DefaultSize;
    public int? Steps { get; init; }
    public double? ContentWeight { get; init; }
    public double? StyleWeight { get; init; }
    public double? TvWeight { get; init; }
    public double? LearningRate { get; init; }
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public InitKind Init { get; init; } = InitKind.Content;
    public long Seed { get; init; }
    public int SaveEvery { get; init; }
    public string? ContentLayer { get; init; }
    public IReadOnlyDictionary<string, double>? StyleLayers { get; init; }

    /// <summary>L-BFGS takes whole quasi-Newton steps; the network's Adam rate would crawl.</summary>
    public const double LbfgsDefaultLearningRate = 1.0;

    /// <summary>This render as a unit of one variant, with the network's defaults filled in.</summary>
    public UnitSpec ToUnitSpec(NetworkDefaults defaults, string variantId = "render")
    {
        IReadOnlyDictionary<string, double> layers = StyleLayers ?? defaults.StyleLayers;
        double learningRate = LearningRate
            ?? (Optimizer == OptimizerKind.Lbfgs ? LbfgsDefaultLearningRate : defaults.LearningRate);
        var variant = new VariantSpec(variantId,
            ContentWeight ?? defaults.ContentWeight,
            StyleWeight ?? defaults.StyleWeight,
            layers,
            TvWeight ?? defaults.TvWeight,
            learningRate,
            [Steps ?? defaults.Steps]);
        return new UnitSpec(ContentLayer ?? defaults.ContentLayer, layers.Keys.ToArray(), defaults.LossForm,
            Optimizer, Init, Seed, SaveEvery, [variant]);
    }
}

using System.Globalization;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using StyleFarm.Messages.Jobs;
using static StyleFarm.Coordinator.Sweeps.SweepKeys;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// One job's settings, complete: what the file gives, and otherwise the defaults a single render would use
/// (<see cref="RenderSettings"/>, and the network's own from <see cref="FeatureNetworks.DefaultsFor"/>).
/// </summary>
internal sealed class JobResolver(FileHashes hashes)
{
    /// <param name="values">This job's value of every setting the file gives, fixed and swept, all valid.</param>
    public JobSettings Resolve(IReadOnlyDictionary<string, SettingValue> values)
    {
        string network = Get<string>(values, Network) ?? FeatureNetworks.ResNet18;
        NetworkDefaults defaults = FeatureNetworks.DefaultsFor(network);
        string optimizer = Get<string>(values, Optimizer) ?? SweepKeys.Adam;
        (double contentWeight, double styleWeight) = LossWeights(values, defaults);
        return new JobSettings(
            Network: network,
            WeightsBlob: values.TryGetValue(Weights, out SettingValue? weights) ? hashes.Of(weights) : null,
            Size: GetValue<int>(values, Size) ?? RenderSettings.DefaultSize,
            Steps: GetValue<int>(values, Steps) ?? defaults.Steps,
            ContentWeight: contentWeight,
            StyleWeight: styleWeight,
            TvWeight: GetValue<double>(values, TvWeight) ?? defaults.TvWeight,
            LearningRate: GetValue<double>(values, LearningRate) ?? DefaultLearningRate(optimizer, defaults),
            Optimizer: optimizer,
            Init: Get<string>(values, Init) ?? "content",
            Seed: GetValue<long>(values, SweepKeys.Seed) ?? 0,
            SaveEvery: GetValue<int>(values, SaveEvery) ?? 0,
            ContentLayer: Get<string>(values, ContentLayer) ?? defaults.ContentLayer,
            StyleLayers: LayerWeights(Get<LayerPreset>(values, StyleLayers), network, defaults),
            ContentImage: hashes.Of(values[Content]),
            StyleImage: hashes.Of(values[Style]));
    }

    // L-BFGS takes whole quasi-Newton steps; the network's Adam rate would crawl (as a single render does).
    private static double DefaultLearningRate(string optimizer, NetworkDefaults defaults) =>
        optimizer == Lbfgs ? RenderSettings.LbfgsDefaultLearningRate : defaults.LearningRate;

    /// <summary>
    /// The ratio form sets content_weight = ratio · style_weight, or style_weight = content_weight / ratio when
    /// content_weight is the one given; with neither weight the style weight is the network's default.
    /// </summary>
    private static (double Content, double Style) LossWeights(IReadOnlyDictionary<string, SettingValue> values, NetworkDefaults defaults)
    {
        double? content = GetValue<double>(values, ContentWeight);
        double? style = GetValue<double>(values, StyleWeight);
        if (GetValue<double>(values, ContentStyleRatio) is not double ratio)
        {
            return (content ?? defaults.ContentWeight, style ?? defaults.StyleWeight);
        }

        return content is double givenContent && style is null
            ? (givenContent, Tidy(givenContent / ratio))
            : (Tidy(ratio * (style ?? defaults.StyleWeight)), style ?? defaults.StyleWeight);
    }

    // 0.1 · 30 is 3.0000000000000004 in binary; rounding to 15 significant digits gives the 3 the user meant, so the
    // ratio form and the explicit weights name the same job.
    private static double Tidy(double value) =>
        double.Parse(value.ToString("G15", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>The preset's (or the network's default) layers in the network's order, so the order written never changes a job id.</summary>
    private static StyleLayerWeight[] LayerWeights(LayerPreset? preset, string network, NetworkDefaults defaults)
    {
        IEnumerable<StyleLayerWeight> layers = preset is not null
            ? preset.Layers.Select(l => new StyleLayerWeight(l.Layer, l.Weight))
            : defaults.StyleLayers.Select(l => new StyleLayerWeight(l.Key, l.Value));
        IReadOnlyList<string> order = FeatureNetworks.LayersOf(network);
        return [.. layers.OrderBy(l => IndexOf(order, l.Layer))];
    }

    private static int IndexOf(IReadOnlyList<string> order, string layer)
    {
        for (int i = 0; i < order.Count; i++)
        {
            if (order[i] == layer)
            {
                return i;
            }
        }

        return order.Count;
    }

    private static T? Get<T>(IReadOnlyDictionary<string, SettingValue> values, string key) where T : class =>
        values.TryGetValue(key, out SettingValue? value) ? (T?)value.Value : null;

    private static T? GetValue<T>(IReadOnlyDictionary<string, SettingValue> values, string key) where T : struct =>
        values.TryGetValue(key, out SettingValue? value) ? (T?)value.Value : null;
}

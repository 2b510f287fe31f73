using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Support;

/// <summary>Builders for units and runs used across the runner tests.</summary>
public static class RunFixtures
{
    public static VariantSpec Variant(string id, double styleWeight = 10, double lr = 0.03, int[]? steps = null,
        double contentWeight = 1, double tv = 0, Dictionary<string, double>? layers = null) =>
        new(id, contentWeight, styleWeight, layers ?? new Dictionary<string, double> { ["conv1"] = 1, ["conv2"] = 1, ["conv3"] = 1 },
            tv, lr, steps ?? [10]);

    public static UnitSpec Unit(IFeatureNetwork network, params VariantSpec[] variants) => Unit(network, OptimizerKind.Adam, InitKind.Content, variants);

    public static UnitSpec Unit(IFeatureNetwork network, OptimizerKind optimizer, InitKind init, params VariantSpec[] variants) =>
        new(network.Defaults.ContentLayer, network.Defaults.StyleLayers.Keys.ToArray(), network.Defaults.LossForm,
            optimizer, init, Seed: 3, SaveEvery: 0, variants);

    /// <summary>Runs a unit and returns each output as a float array keyed by (variant, step), plus the traces.</summary>
    public static (Dictionary<(string, int), float[]> Images, IReadOnlyDictionary<string, LossTrace> Traces) RunToArrays(
        IFeatureNetwork network, UnitSpec spec, Tensor content, Tensor style, RunOptions? options = null)
    {
        using UnitResult result = new FusedRunner(network).Run(spec, content, style, options);
        var images = result.Outputs.ToDictionary(o => (o.VariantId, o.Step), o => o.Image.to(ScalarType.Float32).data<float>().ToArray());
        return (images, result.Traces);
    }

    public static (double Max, double Mean) Difference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0, sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs(a[i] - b[i]);
            max = Math.Max(max, d);
            sum += d;
        }
        return (max, sum / a.Length);
    }
}

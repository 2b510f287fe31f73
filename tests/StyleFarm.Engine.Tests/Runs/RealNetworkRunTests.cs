using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Networks.ResNet18;
using StyleFarm.Engine.Networks.Vgg19;
using StyleFarm.Engine.Runs;
using StyleFarm.Engine.Tests.Support;
using static StyleFarm.Engine.Tests.Support.RunFixtures;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Runs;

/// <summary>The pretrained ResNet18 and a VGG19 of the real shape, loaded once for the class.</summary>
public sealed class RealNetworksFixture : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("stylefarm-real-networks-").FullName;

    public RealNetworksFixture()
    {
        ResNet18 = ResNet18Network.LoadPretrained(cacheDirectory: _cache);
        Vgg19 = Vgg19Network.WithRandomWeights(seed: 11);
    }

    public IFeatureNetwork ResNet18 { get; }
    public IFeatureNetwork Vgg19 { get; }

    public IFeatureNetwork ByName(string name) => name == FeatureNetworks.ResNet18 ? ResNet18 : Vgg19;

    public void Dispose()
    {
        ResNet18.Dispose();
        Vgg19.Dispose();
        Directory.Delete(_cache, recursive: true);
    }
}

public class RealNetworkRunTests(RealNetworksFixture networks) : IClassFixture<RealNetworksFixture>
{
    [Theory]
    [InlineData(FeatureNetworks.ResNet18, OptimizerKind.Adam)]
    [InlineData(FeatureNetworks.ResNet18, OptimizerKind.Lbfgs)]
    [InlineData(FeatureNetworks.Vgg19, OptimizerKind.Adam)]
    [InlineData(FeatureNetworks.Vgg19, OptimizerKind.Lbfgs)]
    public void LossFallsOverThirtySteps(string name, OptimizerKind optimizer)
    {
        IFeatureNetwork network = networks.ByName(name);
        using var content = TestImages.Pattern(64, 64, 0.1);
        using var style = TestImages.Pattern(64, 64, 0.8);
        UnitSpec spec = new RenderSettings { Network = name, Steps = 30, Optimizer = optimizer }.ToUnitSpec(network.Defaults);

        var (_, traces) = RunToArrays(network, spec, content, style);
        IReadOnlyList<LossRow> rows = traces["render"].Rows;
        Assert.Equal(30, rows.Count);
        // Starting from the content image, content loss starts at 0 and rises while style loss falls faster.
        Assert.True(rows[^1].Total < 0.9 * rows.Take(3).Max(r => r.Total), $"{name}/{optimizer}: total loss went from {rows[0].Total} to {rows[^1].Total}");
        Assert.True(rows[^1].Style.Sum() < 0.85 * rows[0].Style.Sum(), $"{name}/{optimizer}: style loss went from {rows[0].Style.Sum()} to {rows[^1].Style.Sum()}");
    }

    [Fact]
    public void FusedResNet18VariantsEqualRunsAloneBitForBit()
    {
        IFeatureNetwork network = networks.ResNet18;
        using var content = TestImages.Pattern(64, 96, 0.2);
        using var style = TestImages.Pattern(64, 96, 0.9);
        UnitSpec template = new RenderSettings { Steps = 20 }.ToUnitSpec(network.Defaults);
        VariantSpec Variant(string id, double styleWeight, double lr, int[] steps) =>
            template.Variants[0] with { Id = id, StyleWeight = styleWeight, LearningRate = lr, OutputSteps = steps };
        VariantSpec[] variants = [Variant("a", 3, 0.03, [10, 20]), Variant("b", 10, 0.02, [20]), Variant("c", 30, 0.05, [15])];

        var fused = RunToArrays(network, template with { Variants = variants }, content, style);
        foreach (VariantSpec variant in variants)
        {
            var alone = RunToArrays(network, template with { Variants = [variant] }, content, style);
            foreach (int step in variant.OutputSteps)
            {
                // Image by image (the CPU default) the fused run uses the same kernels as a lone run.
                Assert.Equal(alone.Images[(variant.Id, step)], fused.Images[(variant.Id, step)]);
            }
        }
    }

    /// <summary>
    /// Batched, rows round differently from lone runs (other kernels), and the optimisation amplifies that, so
    /// only the first step's losses (before any update) can be held to rounding.
    /// </summary>
    [Fact]
    public void BatchedExecutionComputesEachRowsOwnLosses()
    {
        IFeatureNetwork network = networks.ResNet18;
        using var content = TestImages.Pattern(64, 96, 0.2);
        using var style = TestImages.Pattern(64, 96, 0.9);
        UnitSpec template = new RenderSettings { Steps = 2, Init = InitKind.Noise }.ToUnitSpec(network.Defaults);
        VariantSpec[] variants = [template.Variants[0] with { Id = "a", StyleWeight = 3 }, template.Variants[0] with { Id = "b", StyleWeight = 30 }];
        var batched = RunToArrays(network, template with { Variants = variants }, content, style, new RunOptions { Execution = BatchExecution.Batched });
        foreach (VariantSpec variant in variants)
        {
            var alone = RunToArrays(network, template with { Variants = [variant] }, content, style);
            LossRow first = batched.Traces[variant.Id].Rows[0], expected = alone.Traces[variant.Id].Rows[0];
            Assert.Equal(expected.Total, first.Total, expected.Total * 1e-5);
            Assert.Equal(expected.Content, first.Content, expected.Content * 1e-5);
        }
    }
}

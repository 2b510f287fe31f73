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

    /// <summary>
    /// A fused unit's variants against the same jobs run alone, image by image, as one batch, and as the runner
    /// chooses by default, on both networks at a size where PyTorch convolves some of their layers with other kernels
    /// for a lone image than for a batch (<see cref="BatchInvariantConv"/>).
    /// </summary>
    [Theory]
    [InlineData(FeatureNetworks.ResNet18, null)]
    [InlineData(FeatureNetworks.ResNet18, BatchExecution.Batched)]
    [InlineData(FeatureNetworks.ResNet18, BatchExecution.PerImage)]
    [InlineData(FeatureNetworks.Vgg19, BatchExecution.Batched)]
    public void FusedVariantsEqualRunsAloneBitForBit(string name, BatchExecution? execution)
    {
        IFeatureNetwork network = networks.ByName(name);
        using var content = TestImages.Pattern(64, 96, 0.2);
        using var style = TestImages.Pattern(64, 96, 0.9);
        UnitSpec template = new RenderSettings { Network = name, Steps = 20 }.ToUnitSpec(network.Defaults);
        VariantSpec Variant(string id, double styleWeight, double lr, int[] steps) =>
            template.Variants[0] with { Id = id, StyleWeight = styleWeight, LearningRate = lr, OutputSteps = steps };
        VariantSpec[] variants = [Variant("a", 3, 0.03, [10, 20]), Variant("b", 10, 0.02, [20]), Variant("c", 30, 0.05, [15])];

        var fused = RunToArrays(network, template with { Variants = variants }, content, style, new RunOptions { Execution = execution });
        foreach (VariantSpec variant in variants)
        {
            var alone = RunToArrays(network, template with { Variants = [variant] }, content, style);
            foreach (int step in variant.OutputSteps)
                Assert.Equal(alone.Images[(variant.Id, step)], fused.Images[(variant.Id, step)]);
            Assert.Equal(alone.Traces[variant.Id].Rows.Select(r => r.Total), fused.Traces[variant.Id].Rows.Select(r => r.Total));
        }
    }

    /// <summary>Where one batch equals image by image, as it does here for resnet18 at 64×96, a unit runs as one batch.</summary>
    [Fact]
    public void ResNet18UnitsRunAsOneBatchByDefault()
    {
        IFeatureNetwork network = networks.ResNet18;
        using var content = TestImages.Pattern(64, 96, 0.2);
        using var style = TestImages.Pattern(64, 96, 0.9);
        UnitSpec template = new RenderSettings { Steps = 5 }.ToUnitSpec(network.Defaults);
        UnitSpec unit = template with { Variants = [template.Variants[0] with { Id = "a", StyleWeight = 3 }, template.Variants[0] with { Id = "b", StyleWeight = 30 }] };
        using var targets = StyleTargets.Compute(network, unit, content, style);

        Assert.True(BatchExecutionChoice.BatchedEqualsImageByImage(network, unit, unit.Variants, targets, 64, 96));
        Assert.Equal(BatchExecution.Batched, BatchExecutionChoice.For(network, unit, unit.Variants, targets, 64, 96));
    }
}

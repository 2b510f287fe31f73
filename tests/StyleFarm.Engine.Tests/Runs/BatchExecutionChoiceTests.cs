using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using StyleFarm.Engine.Tests.Support;
using static StyleFarm.Engine.Tests.Support.RunFixtures;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Runs;

public class BatchExecutionChoiceTests
{
    /// <summary>
    /// A network whose batches round unlike its lone images (as PyTorch's kernels may on some machine): the
    /// runner sees it and runs image by image, so the fused variants still equal their lone runs.
    /// </summary>
    [Fact]
    public void ABatchThatRoundsUnlikeLoneImagesRunsImageByImage()
    {
        // In float64 the tiny network's batches round like its lone images (next test): only the wrapper differs.
        using var network = new WatchedNetwork(new TinyNetwork(ScalarType.Float64), batchRounding: 1e-6);
        using var content = TestImages.Pattern(12, 16, 0.1, ScalarType.Float64);
        using var style = TestImages.Pattern(12, 16, 0.8, ScalarType.Float64);
        VariantSpec[] variants = [Variant("a", styleWeight: 3, steps: [8]), Variant("b", styleWeight: 30, steps: [8])];
        UnitSpec unit = Unit(network, variants);
        using (var targets = StyleTargets.Compute(network, unit, content, style))
            Assert.Equal(BatchExecution.PerImage, BatchExecutionChoice.For(network, unit, variants, targets, 12, 16));

        var fused = RunToArrays(network, unit, content, style);
        var batched = RunToArrays(network, unit, content, style, new RunOptions { Execution = BatchExecution.Batched });
        foreach (VariantSpec variant in variants)
        {
            var alone = RunToArrays(network, Unit(network, variant), content, style);
            Assert.Equal(alone.Images[(variant.Id, 8)], fused.Images[(variant.Id, 8)]);
            Assert.NotEqual(alone.Images[(variant.Id, 8)], batched.Images[(variant.Id, 8)]);
        }
    }

    [Fact]
    public void BatchesThatRoundLikeLoneImagesRunAsOneBatch()
    {
        using var network = new WatchedNetwork(new TinyNetwork(ScalarType.Float64), batchRounding: 0);
        using var content = TestImages.Pattern(12, 16, 0.1, ScalarType.Float64);
        using var style = TestImages.Pattern(12, 16, 0.8, ScalarType.Float64);
        VariantSpec[] variants = [Variant("a", styleWeight: 3), Variant("b", styleWeight: 30)];
        UnitSpec unit = Unit(network, variants);
        using var targets = StyleTargets.Compute(network, unit, content, style);

        Assert.Equal(BatchExecution.Batched, BatchExecutionChoice.For(network, unit, variants, targets, 12, 16));
    }

    /// <summary>The check costs about two steps, so a process makes it once per network, size and batch size.</summary>
    [Fact]
    public void EachGeometryIsCheckedOnce()
    {
        using var network = new WatchedNetwork(new TinyNetwork(), batchRounding: 0);
        using var content = TestImages.Pattern(12, 16, 0.1);
        using var style = TestImages.Pattern(12, 16, 0.8);
        VariantSpec[] three = [Variant("a", styleWeight: 3), Variant("b", styleWeight: 10), Variant("c", styleWeight: 30)];
        UnitSpec unit = Unit(network, three);
        using var targets = StyleTargets.Compute(network, unit, content, style);

        BatchExecutionChoice.For(network, unit, three, targets, 12, 16);
        int afterFirst = network.BatchedCalls;
        Assert.True(afterFirst > 0);

        BatchExecutionChoice.For(network, unit, three, targets, 12, 16);
        Assert.Equal(afterFirst, network.BatchedCalls);

        BatchExecutionChoice.For(network, unit, three[..2], targets, 12, 16);
        Assert.True(network.BatchedCalls > afterFirst, "a batch of two is another geometry");

        int beforeLone = network.BatchedCalls;
        Assert.Equal(BatchExecution.Batched, BatchExecutionChoice.For(network, unit, three[..1], targets, 12, 16));
        Assert.Equal(beforeLone, network.BatchedCalls);
    }

    /// <summary>Wraps a network, counts its calls on batches, and may scale a batch's features by 1 + <c>batchRounding</c>.</summary>
    private sealed class WatchedNetwork(IFeatureNetwork inner, double batchRounding) : IFeatureNetwork
    {
        public int BatchedCalls { get; private set; }
        public string Name => inner.Name;
        public IReadOnlyList<string> LayerNames => inner.LayerNames;
        public int SideMultiple => inner.SideMultiple;
        public NetworkDefaults Defaults => inner.Defaults;
        public Device Device => inner.Device;
        public ScalarType DType => inner.DType;
        public void MoveTo(Device device) => inner.MoveTo(device);
        public void Dispose() => inner.Dispose();

        public IReadOnlyDictionary<string, Tensor> Extract(Tensor rgb01, IReadOnlyCollection<string> layers)
        {
            var features = inner.Extract(rgb01, layers);
            if (rgb01.shape[0] == 1) return features;
            BatchedCalls++;
            return batchRounding == 0 ? features : features.ToDictionary(kv => kv.Key, kv => kv.Value * (1 + batchRounding));
        }
    }
}

using StyleFarm.Coordinator.Planning;
using StyleFarm.Messages.Jobs;
using static StyleFarm.Coordinator.Tests.Planning.PlanningFixtures;

namespace StyleFarm.Coordinator.Tests.Planning;

public class MemoryEstimateTests
{
    [Fact]
    public void ResNet18At64Pixels_FollowsTheDocumentedFormula()
    {
        // P = 64² = 4096 pixels. Saved activations through layer4, in floats per pixel: stem 16; layer1 pool 3·4
        // + 2 blocks · 2 · 4 = 28; layer2 2·2·2 + shortcut 2 = 10; layer3 2·2·1 + 1 = 5; layer4 3·2·0.5 + 0.5 = 3.5.
        // Per variant: P · (15 image + 12 Adam + 62.5 saved + 1 content difference + 2·16 backward
        // + 2 · 3·7²/2² stem columns) + 3 · Σ C² with Σ C² = 64² + 64² + 128² + 256² + 512² = 352,256.
        const long perVariantFloats = 4096 * 196 + 3 * 352_256;
        // Per unit: 15,891,328 parameters (22 convolutions and their biases) + P · (6 images + 1 target + 3 + 2·16)
        // + Σ C² target Grams + 16 Mi floats of workspace.
        const long perUnitFloats = 15_891_328 + 4096 * 42 + 352_256 + 16 * 1024 * 1024;

        MemoryEstimate estimate = MemoryEstimate.For(Job() with { Size = 64 });

        Assert.Equal(4 * perVariantFloats, estimate.BytesPerVariant);
        Assert.Equal(4 * perUnitFloats, estimate.FixedBytes);
        Assert.Equal((long)Math.Ceiling(1.5 * (4 * perUnitFloats + 3 * 4 * perVariantFloats)), estimate.BytesFor(3));
    }

    [Fact]
    public void Vgg19At400Pixels_NeedsAFewHundredMegabytesPerVariant()
    {
        JobSettings vgg = Job() with
        {
            Network = "vgg19", Size = 400, ContentLayer = "conv4_2",
            StyleLayers = new[] { "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1" }.Select(l => new StyleLayerWeight(l, 1)).ToArray(),
        };

        MemoryEstimate estimate = MemoryEstimate.For(vgg);

        // 64 channels at full size alone are 41 MB a tensor at 400²; a Gatys step keeps about ten of them.
        Assert.InRange(estimate.BytesPerVariant, 300L << 20, 800L << 20);
        Assert.InRange(estimate.FixedBytes, 80L << 20, 300L << 20);
    }

    [Fact]
    public void Estimate_GrowsWithSizeDepthAndLbfgs()
    {
        JobSettings job = Job();
        long baseline = MemoryEstimate.For(job).BytesPerVariant;

        Assert.True(MemoryEstimate.For(job with { Size = 512 }).BytesPerVariant > 3 * baseline);
        Assert.True(MemoryEstimate.For(job with { StyleLayers = [new("stem", 1)], ContentLayer = "layer1" }).BytesPerVariant < baseline);
        Assert.True(MemoryEstimate.For(job with { Optimizer = "lbfgs" }).BytesPerVariant > baseline);
    }

    [Fact]
    public void ResNetSizes_RoundUpToMultiplesOf32()
    {
        Assert.Equal(MemoryEstimate.For(Job() with { Size = 256 }), MemoryEstimate.For(Job() with { Size = 250 }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public void MaxVariants_IsExactlyWhatBytesForAccepts(int variants)
    {
        MemoryEstimate estimate = MemoryEstimate.For(Job());
        long free = variants == 0 ? estimate.BytesFor(1) - 1 : estimate.BytesFor(variants);

        Assert.Equal(variants, estimate.MaxVariants(free));
        Assert.Equal(variants, estimate.MaxVariants(estimate.BytesFor(variants + 1) - 1));
    }

    [Fact]
    public void UnknownNetworksAndLayers_AreNamed()
    {
        Assert.Contains("alexnet", Assert.Throws<ArgumentException>(() => MemoryEstimate.For(Job() with { Network = "alexnet" })).Message);
        Assert.Contains("conv4_2", Assert.Throws<ArgumentException>(() => MemoryEstimate.For(Job() with { ContentLayer = "conv4_2" })).Message);
    }
}

using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Losses;

public class StyleLossesTests
{
    [Fact]
    public void GramMatrixIsFeatureProductOverChannelsTimesPositions()
    {
        // F: C=2 channels, H=1, W=2 → rows [1,2] and [3,4]; F·Fᵀ = [[5,11],[11,25]], divided by C·H·W = 4.
        using var f = tensor(new float[] { 1, 2, 3, 4 }, [1, 2, 1, 2]);
        using var gram = StyleLosses.GramMatrix(f);
        Assert.Equal(new long[] { 1, 2, 2 }, gram.shape);
        Assert.Equal(new float[] { 1.25f, 2.75f, 2.75f, 6.25f }, gram.data<float>().ToArray());
    }

    [Fact]
    public void GramMatrixKeepsBatchRowsApart()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, [1, 2, 1, 2]);
        using var b = tensor(new float[] { 0, 1, 1, 0 }, [1, 2, 1, 2]);
        using var batch = cat([a, b]);
        using var gram = StyleLosses.GramMatrix(batch);
        Assert.Equal(new float[] { 1.25f, 2.75f, 2.75f, 6.25f, 0.25f, 0, 0, 0.25f }, gram.data<float>().ToArray());
    }

    [Fact]
    public void ContentLossMeanSquaredAndRelative()
    {
        using var target = tensor(new float[] { 1, 2, 3, 4 }, [1, 1, 2, 2]);
        using var input = tensor(new float[] { 1, 2, 3, 4, 2, 2, 3, 2 }, [2, 1, 2, 2]);
        // Row 0 equals the target; row 1 differs by (1,0,0,-2): squared error 5.
        using var mse = StyleLosses.ContentLoss(input, target, LossForm.MeanSquared);
        Assert.Equal(new float[] { 0, 5f / 4 }, mse.data<float>().ToArray());
        using var relative = StyleLosses.ContentLoss(input, target, LossForm.Relative);
        Assert.Equal(0, relative[0].item<float>());
        Assert.Equal(5f / 30, relative[1].item<float>(), 6);   // ‖Fc‖² = 1+4+9+16 = 30
    }

    [Fact]
    public void StyleLayerLossComparesGrams()
    {
        using var targetGram = tensor(new float[] { 2, 0, 0, 2 }, [1, 2, 2]);
        using var gram = tensor(new float[] { 3, 1, 1, 2 }, [1, 2, 2]);
        using var mse = StyleLosses.StyleLayerLoss(gram, targetGram, LossForm.MeanSquared);
        Assert.Equal(3f / 4, mse.item<float>(), 6);
        using var relative = StyleLosses.StyleLayerLoss(gram, targetGram, LossForm.Relative);
        Assert.Equal(3f / 8, relative.item<float>(), 6);
    }

    [Fact]
    public void TotalVariationOfAStepEdge()
    {
        // One channel... three identical channels of a 2×2 image [[0,1],[0,1]]: horizontal steps of 1, no vertical ones.
        using var image = tensor(new float[] { 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 }, [1, 3, 2, 2]);
        using var tv = StyleLosses.TotalVariation(image);
        Assert.Equal(1f, tv.item<float>(), 6);
        using var flat = ones(1, 3, 4, 4);
        using var none = StyleLosses.TotalVariation(flat);
        Assert.Equal(0f, none.item<float>());
    }

    [Fact]
    public void BlankTargetGivesFiniteRelativeLoss()
    {
        using var target = zeros(1, 1, 2, 2);
        using var input = ones(1, 1, 2, 2);
        using var loss = StyleLosses.ContentLoss(input, target, LossForm.Relative);
        Assert.True(float.IsFinite(loss.item<float>()));
    }
}

public class ChannelsLastLossesTests
{
    /// <summary>Features stored channels-last (what CPU networks return) give the same Grams and gradients as NCHW.</summary>
    [Theory]
    [InlineData(LossForm.MeanSquared)]
    [InlineData(LossForm.Relative)]
    public void LossesAndGradientsDoNotDependOnTheLayout(LossForm form)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var features = randn(2, 5, 4, 6, dtype: ScalarType.Float64);
        var nhwc = ChannelsLast.Of(features);
        Assert.True(ChannelsLast.IsChannelsLast(nhwc));
        Assert.False(ChannelsLast.IsChannelsLast(features));
        var targetGram = StyleLosses.GramMatrix(randn(1, 5, 4, 6, dtype: ScalarType.Float64));
        var scale = tensor(new[] { 1.0, 3.0 });

        Assert.True(StyleLosses.GramMatrix(nhwc).allclose(StyleLosses.GramMatrix(features), rtol: 1e-12));
        var plain = StyleLosses.StyleLayerLossWithGradient(features, targetGram, form, scale);
        var channelsLast = StyleLosses.StyleLayerLossWithGradient(nhwc, targetGram, form, scale);
        Assert.True(channelsLast.Loss.allclose(plain.Loss, rtol: 1e-12));
        Assert.True(channelsLast.Gradient.allclose(plain.Gradient, rtol: 1e-10, atol: 1e-14));
        Assert.True(ChannelsLast.IsChannelsLast(channelsLast.Gradient), "the gradient should keep the features' layout");
    }

    [Fact]
    public void ClosedFormGradientsAreScaledPerImage()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var features = randn(2, 3, 4, 4, dtype: ScalarType.Float64);
        var target = randn(1, 3, 4, 4, dtype: ScalarType.Float64);
        var unit = StyleLosses.ContentLossWithGradient(features, target, LossForm.MeanSquared, tensor(new[] { 1.0, 1.0 }));
        var scaled = StyleLosses.ContentLossWithGradient(features, target, LossForm.MeanSquared, tensor(new[] { 2.0, 0.0 }));
        Assert.True(scaled.Loss.allclose(unit.Loss), "the scale weights the gradient, not the loss");
        Assert.True(scaled.Gradient[0].allclose(unit.Gradient[0] * 2));
        Assert.Equal(0, scaled.Gradient[1].abs().max().item<double>());
        // d mean((F − Fc)²)/dF = 2(F − Fc)/(C·H·W)
        Assert.True(unit.Gradient.allclose((features - target) * (2.0 / 48)));
    }
}

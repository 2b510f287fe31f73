using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using StyleFarm.Engine.Tests.Support;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Losses;

public class GradientCheckTests
{
    /// <summary>The gradient a step uses (closed-form loss gradients, one backward) against central differences.</summary>
    [Theory]
    [InlineData(LossForm.MeanSquared)]
    [InlineData(LossForm.Relative)]
    public void StepGradientMatchesFiniteDifferences(LossForm form)
    {
        using var network = new TinyNetwork(ScalarType.Float64);
        var variant = Variant("v", contentWeight: 1.5, styleWeight: 40, tvWeight: 0.2);
        // conv2 is the content layer and a style layer at once: both gradients meet there.
        var spec = Spec(form, ["conv1", "conv2", "conv3"], variant);
        using var content = TestImages.Pattern(6, 7, 0.1, ScalarType.Float64);
        using var style = TestImages.Pattern(6, 7, 0.7, ScalarType.Float64);
        using var targets = StyleTargets.Compute(network, spec, content, style);
        using var objective = new StyleObjective(network, spec, [variant]);

        using var image = TestImages.Pattern(6, 7, 0.4, ScalarType.Float64);
        double Loss(Tensor x) { using var s = NewDisposeScope(); return objective.Evaluate(x, targets).Total.sum().item<double>(); }

        double[] analytic;
        using (NewDisposeScope()) analytic = objective.EvaluateWithGradient(image, targets).Gradient.flatten().data<double>().ToArray();

        const double h = 1e-6;
        for (long index = 0; index < image.numel(); index += 17)
        {
            using var plus = image.clone();
            using var minus = image.clone();
            plus.view(-1)[index] += h;
            minus.view(-1)[index] -= h;
            double numeric = (Loss(plus) - Loss(minus)) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[index]) <= 1e-6 + 1e-5 * Math.Abs(numeric),
                $"pixel {index}: analytic {analytic[index]}, numeric {numeric}");
        }
    }

    /// <summary>
    /// The closed form against autograd through the loss definitions, for a fused batch of variants with their own
    /// weights, run as one batch and image by image, and the losses it reports against Evaluate's.
    /// </summary>
    [Theory]
    [InlineData(LossForm.MeanSquared, BatchExecution.Batched)]
    [InlineData(LossForm.Relative, BatchExecution.Batched)]
    [InlineData(LossForm.Relative, BatchExecution.PerImage)]
    public void StepGradientEqualsAutogradOfTheLosses(LossForm form, BatchExecution execution)
    {
        using var network = new TinyNetwork(ScalarType.Float64);
        VariantSpec[] variants =
        [
            Variant("a", contentWeight: 1, styleWeight: 10, tvWeight: 0),
            Variant("b", contentWeight: 0.5, styleWeight: 300, tvWeight: 2) with { StyleLayerWeights = new Dictionary<string, double> { ["conv1"] = 0.1, ["conv3"] = 3 } },
        ];
        var spec = Spec(form, ["conv1", "conv3"], variants);
        using var content = TestImages.Pattern(8, 9, 0.1, ScalarType.Float64);
        using var style = TestImages.Pattern(8, 9, 0.7, ScalarType.Float64);
        using var targets = StyleTargets.Compute(network, spec, content, style);
        using var objective = new StyleObjective(network, spec, variants, execution);
        using var scope = NewDisposeScope();
        var images = cat([TestImages.Pattern(8, 9, 0.3, ScalarType.Float64), TestImages.Pattern(8, 9, 0.9, ScalarType.Float64)]);

        var leaf = images.clone().requires_grad_(true);
        var expected = objective.Evaluate(leaf, targets);
        var expectedGradient = autograd.grad([expected.Total.sum()], [leaf])[0];
        var (actual, gradient) = objective.EvaluateWithGradient(images, targets);

        Assert.True(gradient.allclose(expectedGradient, rtol: 1e-9, atol: 1e-12), $"largest difference {(gradient - expectedGradient).abs().max().item<double>()}");
        Assert.True(actual.AsTable().allclose(expected.AsTable().detach(), rtol: 1e-12, atol: 0), "the losses reported with the gradient differ from Evaluate's");
        Assert.False(images.requires_grad, "the caller's images must not be turned into an autograd leaf");
    }

    private static VariantSpec Variant(string id, double contentWeight, double styleWeight, double tvWeight) =>
        new(id, contentWeight, styleWeight, new Dictionary<string, double> { ["conv1"] = 1, ["conv2"] = 0.7, ["conv3"] = 0.5 }, tvWeight, 0.01, [1]);

    private static UnitSpec Spec(LossForm form, string[] styleLayers, params VariantSpec[] variants) =>
        new("conv2", styleLayers, form, OptimizerKind.Adam, InitKind.Content, 0, 0,
            variants.Select(v => v with { StyleLayerWeights = v.StyleLayerWeights.Where(kv => styleLayers.Contains(kv.Key)).ToDictionary() }).ToArray());
}

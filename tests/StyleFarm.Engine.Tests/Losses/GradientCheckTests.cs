using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using StyleFarm.Engine.Tests.Support;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Losses;

public class GradientCheckTests
{
    [Theory]
    [InlineData(LossForm.MeanSquared)]
    [InlineData(LossForm.Relative)]
    public void TotalLossGradientMatchesFiniteDifferences(LossForm form)
    {
        using var network = new TinyNetwork(ScalarType.Float64);
        var variant = new VariantSpec("v", 1.5, 40, new Dictionary<string, double> { ["conv1"] = 1, ["conv3"] = 0.5 }, 0.2, 0.01, [1]);
        var spec = new UnitSpec("conv2", ["conv1", "conv3"], form, OptimizerKind.Adam, InitKind.Content, 0, 0, [variant]);
        using var content = TestImages.Pattern(6, 7, 0.1, ScalarType.Float64);
        using var style = TestImages.Pattern(6, 7, 0.7, ScalarType.Float64);
        using var targets = StyleTargets.Compute(network, spec, content, style);
        using var objective = new StyleObjective(network, spec, [variant]);

        using var image = TestImages.Pattern(6, 7, 0.4, ScalarType.Float64).requires_grad_(true);
        double Loss(Tensor x) { using var s = NewDisposeScope(); return objective.Evaluate(x, targets).Total.sum().item<double>(); }

        Tensor analytic;
        using (NewDisposeScope())
        {
            var total = objective.Evaluate(image, targets).Total.sum();
            analytic = autograd.grad([total], [image])[0].detach().MoveToOuterDisposeScope();
        }

        // Central differences at a spread of pixels, float64 throughout.
        const double h = 1e-6;
        double[] flat = analytic.flatten().data<double>().ToArray();
        for (long index = 0; index < image.numel(); index += 17)
        {
            using var plus = image.detach().clone();
            using var minus = image.detach().clone();
            plus.view(-1)[index] += h;
            minus.view(-1)[index] -= h;
            double numeric = (Loss(plus) - Loss(minus)) / (2 * h);
            Assert.True(Math.Abs(numeric - flat[index]) <= 1e-6 + 1e-5 * Math.Abs(numeric),
                $"pixel {index}: analytic {flat[index]}, numeric {numeric}");
        }
        analytic.Dispose();
    }
}

using StyleFarm.Engine.Networks;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace StyleFarm.Engine.Tests.Networks;

public class BatchInvariantConvTests
{
    /// <summary>
    /// Each image of a batch, forward and input gradient, against the same convolution of that image alone, on both
    /// sides of PyTorch's small-input rule: 256×6×8 (resnet18's third stage at 96×128 px) takes the native kernel
    /// alone; 128×12×16 is large enough for oneDNN either way; a strided 1×1 always takes oneDNN.
    /// </summary>
    [Theory]
    [InlineData(256, 6, 8, 3, 1)]
    [InlineData(512, 3, 4, 3, 1)]
    [InlineData(128, 12, 16, 3, 1)]
    [InlineData(64, 8, 8, 1, 2)]
    public void EachImageOfABatchEqualsItsLoneConvolution(int channels, int height, int width, int kernel, int stride)
    {
        using var scope = NewDisposeScope();
        Tensor images = ChannelsLast.Of(randn([3, channels, height, width], generator: new Generator(1)));
        Tensor weight = ChannelsLast.Of(randn([channels, channels, kernel, kernel], generator: new Generator(2)) * 0.02);
        Tensor bias = randn([channels], generator: new Generator(3));
        long[] strides = [stride, stride], padding = [kernel / 2, kernel / 2];
        Tensor outputGradient = randn([3, channels, (height + 2 * padding[0] - kernel) / stride + 1, (width + 2 * padding[1] - kernel) / stride + 1],
            generator: new Generator(4));

        (Tensor Output, Tensor InputGradient) Convolve(Tensor input, Tensor gradient, Func<Tensor, Tensor> conv)
        {
            Tensor leaf = input.detach().requires_grad_(true);
            Tensor output = conv(leaf);
            return (output.detach(), autograd.grad([output], [leaf], [gradient])[0]);
        }

        var batch = Convolve(images, outputGradient, x => BatchInvariantConv.Conv2d(x, weight, bias, strides, padding));
        for (int i = 0; i < 3; i++)
        {
            var alone = Convolve(images.narrow(0, i, 1), outputGradient.narrow(0, i, 1).clone(),
                x => F.conv2d(x, weight, bias, strides: strides, padding: padding));
            Assert.True(alone.Output.eq(batch.Output.narrow(0, i, 1)).all().item<bool>(), $"image {i}: outputs differ");
            Assert.True(alone.InputGradient.eq(batch.InputGradient.narrow(0, i, 1)).all().item<bool>(), $"image {i}: input gradients differ");
        }
    }

    [Theory]
    [InlineData(256, 6, 8, 3, 1, 2, false)]    // 12,288 elements, 3×3: native
    [InlineData(128, 12, 16, 3, 1, 2, true)]   // 24,576 elements: oneDNN
    [InlineData(3, 32, 32, 7, 2, 2, true)]     // wider than 3×3 both ways: oneDNN at any size
    [InlineData(64, 8, 8, 1, 2, 1, false)]     // strided 1×1, small: native
    [InlineData(512, 40, 40, 1, 1, 1, false)]  // unstrided 1×1 on one thread: native however large
    [InlineData(512, 40, 40, 1, 1, 2, true)]   // … but oneDNN on two
    public void KnowsWhichKernelPyTorchGivesALoneImage(int channels, int height, int width, int kernel, int stride, int threads, bool oneDnn)
    {
        using var scope = NewDisposeScope();
        Tensor input = zeros(1, channels, height, width);
        Tensor weight = zeros(channels, channels, kernel, kernel);
        Assert.Equal(oneDnn, BatchInvariantConv.LoneImageTakesOneDnn(input, weight, [stride, stride], threads));
    }

    [Fact]
    public void GroupedConvolutionsTakeOneDnnAndOtherDtypesTheNativeKernel()
    {
        using var scope = NewDisposeScope();
        Assert.True(BatchInvariantConv.LoneImageTakesOneDnn(zeros(1, 8, 4, 4), zeros(8, 2, 3, 3), [1, 1], threads: 2));
        Assert.False(BatchInvariantConv.LoneImageTakesOneDnn(zeros(1, 256, 40, 40, dtype: float64), zeros(256, 256, 3, 3, dtype: float64), [1, 1], threads: 2));
    }
}

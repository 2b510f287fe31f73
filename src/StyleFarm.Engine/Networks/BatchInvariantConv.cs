using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace StyleFarm.Engine.Networks;

/// <summary>
/// conv2d whose result for each image of a batch equals, bit for bit, what the same call gives that image alone,
/// so that a fused unit run as one batch equals its variants' lone runs.
/// On a CPU PyTorch convolves every float32 batch of two or more with oneDNN, but a lone image with its native
/// kernel when the input is small (C·H·W ≤ 20480) and the kernel at most 3×3: resnet18's last two stages below
/// about 150–200 px square, vgg19's last block below about 100 px. The two kernels round differently. Such
/// convolutions therefore run image by image, as a lone run does them, and the rest stays one batch: oneDNN computed
/// each image alike at every batch size measured here, 64–416 px, though not resnet18's 7×7 stem's input gradient
/// at 32×32. <see cref="Runs.BatchExecutionChoice"/> checks the result on the machine before relying on it.
/// </summary>
public static class BatchInvariantConv
{
    /// <summary>The input size (C·H·W of one image) up to which PyTorch prefers its native kernel for a lone image.</summary>
    public const long NativeKernelMaxElements = 20480;

    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long[] strides, long[]? padding = null)
    {
        long[] pads = padding ?? [0, 0];
        bool asOneBatch = input.shape[0] == 1 || input.device.type != DeviceType.CPU
                          || LoneImageTakesOneDnn(input, weight, strides, get_num_threads());
        return asOneBatch
            ? F.conv2d(input, weight, bias, strides: strides, padding: pads)
            : ImageByImage.Concat(input.shape[0], i => F.conv2d(input.narrow(0, i, 1), weight, bias, strides: strides, padding: pads));
    }

    /// <summary>
    /// PyTorch's choice (Convolution.cpp, use_mkldnn) for one image on a CPU: oneDNN only for float32, and only when
    /// the convolution is strided, not 1×1 or multi-threaded, and also grouped, wider than 3×3 both ways, or larger
    /// than <see cref="NativeKernelMaxElements"/>. Every other lone image takes the native kernel.
    /// </summary>
    public static bool LoneImageTakesOneDnn(Tensor input, Tensor weight, long[] strides, int threads)
    {
        if (input.dtype != ScalarType.Float32) return false;
        long kernelHeight = weight.shape[2], kernelWidth = weight.shape[3];
        bool strided = strides.Any(s => s != 1);
        bool notPointwise = kernelHeight != 1 || kernelWidth != 1;
        bool grouped = input.shape[1] != weight.shape[1];
        bool wide = kernelHeight > 3 && kernelWidth > 3;
        long elements = input.shape[1] * input.shape[2] * input.shape[3];
        return (strided || notPointwise || threads > 1) && (grouped || wide || elements > NativeKernelMaxElements);
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Networks;

/// <summary>
/// A frozen CNN that style transfer reads features from. Inputs are RGB images in [0,1] of shape [N,3,H,W];
/// each network applies its own preprocessing inside <see cref="Extract"/>, so gradients reach the pixels.
/// </summary>
public interface IFeatureNetwork : IDisposable
{
    /// <summary>The name a sweep uses: "resnet18", "vgg19".</summary>
    string Name { get; }

    /// <summary>Every layer <see cref="Extract"/> can return, in forward order.</summary>
    IReadOnlyList<string> LayerNames { get; }

    /// <summary>Image sides must be multiples of this (resnet18: 32, else its shortcut and main paths disagree).</summary>
    int SideMultiple { get; }

    /// <summary>The layers, weights and loss form this network works best with.</summary>
    NetworkDefaults Defaults { get; }

    Device Device { get; }

    ScalarType DType { get; }

    /// <summary>
    /// Features of <paramref name="rgb01"/> at the named layers, computed only as deep as the deepest of them.
    /// Differentiable with respect to the input; the network's own weights never require gradients.
    /// </summary>
    IReadOnlyDictionary<string, Tensor> Extract(Tensor rgb01, IReadOnlyCollection<string> layers);

    /// <summary>Moves the weights to a device (cpu, cuda:N).</summary>
    void MoveTo(Device device);

    /// <summary>
    /// Floating-point operations of one forward pass through the convolutions <see cref="Extract"/> runs for these
    /// layers at an input of height×width (a multiply-add counts as two). NaN when the network does not say.
    /// </summary>
    double ForwardFlops(long height, long width, IReadOnlyCollection<string> layers) => double.NaN;
}

/// <summary>How content and style losses are scaled.</summary>
public enum LossForm
{
    /// <summary>As in the seed (Gatys): mean squared error of features and of Gram matrices.</summary>
    MeanSquared,
    /// <summary>Relative to the target: ‖F−Fc‖²/‖Fc‖² and ‖G−Gs‖²/‖Gs‖²; style layer weights are spread to sum to 1.</summary>
    Relative,
}

/// <summary>A network's own defaults; a sweep or the command line may override each.</summary>
public sealed record NetworkDefaults(
    string ContentLayer,
    IReadOnlyDictionary<string, double> StyleLayers,
    LossForm LossForm,
    double ContentWeight,
    double StyleWeight,
    double TvWeight,
    double LearningRate,
    int Steps);

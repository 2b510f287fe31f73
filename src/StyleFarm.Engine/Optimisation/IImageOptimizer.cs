using static TorchSharp.torch;

namespace StyleFarm.Engine.Optimisation;

/// <summary>
/// Updates a batch of images [N,3,H,W] in place from their gradient. Rows are independent variants, each with
/// its own learning rate, so a fused batch gives the same images as N runs alone.
/// </summary>
public interface IImageOptimizer : IDisposable
{
    /// <summary>Applies one update to <paramref name="images"/> (a leaf; called with gradients off).</summary>
    void Step(Tensor images, Tensor gradient);

    /// <summary>Keeps only the given rows (variants that still run), dropping the state of the others.</summary>
    void KeepRows(Tensor rowIndices, Tensor learningRates);

    /// <summary>The state a checkpoint must hold to resume with the same result; names are stable.</summary>
    IReadOnlyDictionary<string, Tensor> SaveState();

    /// <summary>Restores <see cref="SaveState"/>'s tensors (on any device) onto <paramref name="device"/>.</summary>
    void LoadState(IReadOnlyDictionary<string, Tensor> state, Device device);
}

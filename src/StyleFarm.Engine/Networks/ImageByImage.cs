using static TorchSharp.torch;

namespace StyleFarm.Engine.Networks;

/// <summary>
/// Runs an operation on each image of a batch alone and joins the results along the batch dimension: how the engine
/// keeps a batch's results equal to each image's lone run where PyTorch would compute a batch differently.
/// </summary>
internal static class ImageByImage
{
    /// <summary>cat(image(0), …, image(images − 1)); a lone image's result is returned as it is.</summary>
    public static Tensor Concat(long images, Func<int, Tensor> image)
    {
        if (images == 1) return image(0);
        using var scope = NewDisposeScope();
        Tensor[] results = Enumerable.Range(0, (int)images).Select(image).ToArray();
        return cat(results).MoveToOuterDisposeScope();
    }
}

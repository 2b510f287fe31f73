using StyleFarm.Engine.Networks;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Losses;

/// <summary>A loss per image [N] and its gradient with respect to the loss's input, already scaled per image.</summary>
public sealed record LossAndGradient(Tensor Loss, Tensor Gradient);

/// <summary>
/// The losses of neural style transfer, per image of a batch: every function maps [N,…] inputs to an [N] loss,
/// so the N variants of a fused unit each get their own loss from one forward pass. Targets have batch size 1
/// and broadcast over the N inputs. Each function frees its temporaries in its own dispose scope.
/// The <c>…WithGradient</c> forms also return the loss's gradient in closed form, multiplied per image by a
/// scale [N] (the variant's weight in the total), so the full-size gradient is written once. They are what a
/// step runs: autograd through a Gram matrix costs two large products and a transposed add where the closed form
/// needs one product. They build no autograd graph.
/// </summary>
public static class StyleLosses
{
    /// <summary>G = F·Fᵀ / (C·H·W) for features F of shape [N,C,H,W] (either memory layout); returns [N,C,C].</summary>
    public static Tensor GramMatrix(Tensor features)
    {
        using var scope = NewDisposeScope();
        long c = features.shape[1];
        var gram = ChannelsLast.IsChannelsLast(features)
            ? EachImageBmm(PositionsByChannels(features).transpose(1, 2), PositionsByChannels(features))
            : EachImageBmm(ChannelsByPositions(features), ChannelsByPositions(features).transpose(1, 2));
        return gram.div_(c * Positions(features)).MoveToOuterDisposeScope();
    }

    /// <summary>MeanSquared: mean((F − Fc)²). Relative: ‖F − Fc‖² / ‖Fc‖².</summary>
    public static Tensor ContentLoss(Tensor features, Tensor target, LossForm form) =>
        SquaredError(features, target, form);

    /// <summary>
    /// <see cref="ContentLoss"/> and scale · dL/dF = scale · 2(F − Fc)/(C·H·W) (MeanSquared) or
    /// scale · 2(F − Fc)/‖Fc‖² (Relative).
    /// </summary>
    public static LossAndGradient ContentLossWithGradient(Tensor features, Tensor target, LossForm form, Tensor scale)
    {
        using var scope = NewDisposeScope();
        using var noGraph = no_grad();
        var difference = features - target;
        var normaliser = Normaliser(target, form, PerImageCount(features));
        var loss = SumPerImage(difference.square()).div_(normaliser);
        var gradient = difference.mul_(PerImage(scale.mul(2).div_(normaliser), features.dim()));
        return new LossAndGradient(loss.MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope());
    }

    /// <summary>One style layer's loss from Gram matrices: mean((G − Gs)²) or ‖G − Gs‖² / ‖Gs‖².</summary>
    public static Tensor StyleLayerLoss(Tensor gram, Tensor targetGram, LossForm form) =>
        SquaredError(gram, targetGram, form);

    /// <summary>
    /// StyleLayerLoss(GramMatrix(F), Gs) and scale · dL/dF. With D = dL/dG = 2(G − Gs)/C² (MeanSquared) or
    /// 2(G − Gs)/‖Gs‖² (Relative), which is symmetric, dL/dF = (D + Dᵀ)·F/(C·H·W) = 2·D·F/(C·H·W): one product of
    /// a C×C matrix with the features, the scale and constants folded into the small matrix first.
    /// </summary>
    public static LossAndGradient StyleLayerLossWithGradient(Tensor features, Tensor targetGram, LossForm form, Tensor scale)
    {
        using var scope = NewDisposeScope();
        using var noGraph = no_grad();
        long c = features.shape[1];
        var difference = GramMatrix(features) - targetGram;
        var normaliser = Normaliser(targetGram, form, c * c);
        var loss = SumPerImage(difference.square()).div_(normaliser);
        var coefficient = scale.mul(4).div_(normaliser).div_(c * Positions(features));
        var d = difference.mul_(PerImage(coefficient, 3));
        var gradient = ChannelsLast.IsChannelsLast(features)
            ? EachImageBmm(PositionsByChannels(features), d).view(features.shape[0], features.shape[2], features.shape[3], c).permute(0, 3, 1, 2)
            : EachImageBmm(d, ChannelsByPositions(features)).view(features.shape);
        return new LossAndGradient(loss.MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope());
    }

    /// <summary>Total variation: mean squared difference of vertical plus of horizontal neighbours, per image.</summary>
    public static Tensor TotalVariation(Tensor images)
    {
        using var scope = NewDisposeScope();
        var tv = MeanPerImage(Steps(images, Rows).square()) + MeanPerImage(Steps(images, Columns).square());
        return tv.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="TotalVariation"/> and scale · d tv/dx: each step d = x[i+1] − x[i] adds 2d/count to x[i+1] and
    /// takes it from x[i], where count is the number of steps in that direction.
    /// </summary>
    public static LossAndGradient TotalVariationWithGradient(Tensor images, Tensor scale)
    {
        using var scope = NewDisposeScope();
        using var noGraph = no_grad();
        var gradient = zeros_like(images);
        var loss = zeros_like(scale);
        foreach (long dim in new[] { Rows, Columns })
        {
            var steps = Steps(images, dim);
            loss.add_(MeanPerImage(steps.square()));
            var pull = steps.mul_(PerImage(scale.mul(2.0 / PerImageCount(steps)), 4));
            long count = images.shape[dim] - 1;
            gradient.narrow(dim, 1, count).add_(pull);
            gradient.narrow(dim, 0, count).sub_(pull);
        }
        return new LossAndGradient(loss.MoveToOuterDisposeScope(), gradient.MoveToOuterDisposeScope());
    }

    private const long Rows = 2, Columns = 3;

    /// <summary>Differences of neighbours along <paramref name="dim"/> (rows or columns) of [N,C,H,W] images.</summary>
    private static Tensor Steps(Tensor images, long dim)
    {
        long count = images.shape[dim] - 1;
        return images.narrow(dim, 1, count) - images.narrow(dim, 0, count);
    }

    private static Tensor SquaredError(Tensor input, Tensor target, LossForm form)
    {
        using var scope = NewDisposeScope();
        var loss = SumPerImage((input - target).square()).div_(Normaliser(target, form, PerImageCount(input)));
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// What a summed squared error is divided by: the element count (MeanSquared) or the target's energy ‖T‖²
    /// (Relative), floored because a blank target (all zeros) would divide by zero.
    /// </summary>
    private static Tensor Normaliser(Tensor target, LossForm form, long elements) => form == LossForm.MeanSquared
        ? tensor((double)elements, dtype: target.dtype, device: target.device)
        : SumPerImage(target.square()).clamp_min(1e-12);

    private static long PerImageCount(Tensor t) => t.numel() / t.shape[0];

    /// <summary>F viewed as [N, C, H·W] (NCHW storage).</summary>
    private static Tensor ChannelsByPositions(Tensor features) =>
        features.reshape(features.shape[0], features.shape[1], Positions(features));

    /// <summary>F viewed as [N, H·W, C] (channels-last storage: a view, no copy).</summary>
    private static Tensor PositionsByChannels(Tensor features) =>
        features.permute(0, 2, 3, 1).reshape(features.shape[0], Positions(features), features.shape[1]);

    private static long Positions(Tensor features) => features.shape[2] * features.shape[3];

    /// <summary>A per-image [N] tensor shaped to broadcast over a [N, …] tensor of <paramref name="dims"/> dimensions.</summary>
    private static Tensor PerImage(Tensor perImage, long dims) =>
        perImage.reshape([perImage.shape[0], .. Enumerable.Repeat(1L, (int)dims - 1)]);

    private static Tensor MeanPerImage(Tensor t) => EachImageAlone(t, image => image.flatten(1).mean([1L]));

    private static Tensor SumPerImage(Tensor t) => EachImageAlone(t, image => image.flatten(1).sum([1L]));

    /// <summary>
    /// The per-image reductions and products of the losses run image by image, each exactly as in a lone run of that
    /// image: PyTorch splits a batch's reduction across threads by images but a lone image's within the image, and
    /// MKL multiplies a batch of matrices with other kernels than a single one, so both round differently. Style
    /// transfer grows any such difference, and a fused variant must equal its lone run (BatchExecutionChoice).
    /// These are small next to the network's passes.
    /// </summary>
    private static Tensor EachImageAlone(Tensor batch, Func<Tensor, Tensor> perImage) =>
        ImageByImage.Concat(batch.shape[0], i => perImage(batch.narrow(0, i, 1)));

    /// <summary>a[n]·b[n] for each image n, image by image (see <see cref="EachImageAlone"/>).</summary>
    private static Tensor EachImageBmm(Tensor a, Tensor b) =>
        ImageByImage.Concat(a.shape[0], i => a.narrow(0, i, 1).bmm(b.narrow(0, i, 1)));
}

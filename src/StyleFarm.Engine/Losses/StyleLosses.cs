using StyleFarm.Engine.Networks;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Losses;

/// <summary>
/// The losses of neural style transfer, per image of a batch: every function maps [N,…] inputs to an [N] loss,
/// so the N variants of a fused unit each get their own loss from one forward pass. Targets have batch size 1
/// and broadcast over the N inputs. Each function frees its temporaries in its own dispose scope.
/// </summary>
public static class StyleLosses
{
    /// <summary>G = F·Fᵀ / (C·H·W) for features F of shape [N,C,H,W]; returns [N,C,C].</summary>
    public static Tensor GramMatrix(Tensor features)
    {
        using var scope = NewDisposeScope();
        long n = features.shape[0], c = features.shape[1], positions = features.shape[2] * features.shape[3];
        var flat = features.reshape(n, c, positions);
        var gram = flat.bmm(flat.transpose(1, 2)).div_(c * positions);
        return gram.MoveToOuterDisposeScope();
    }

    /// <summary>MeanSquared: mean((F − Fc)²). Relative: ‖F − Fc‖² / ‖Fc‖².</summary>
    public static Tensor ContentLoss(Tensor features, Tensor target, LossForm form) =>
        SquaredError(features, target, form);

    /// <summary>One style layer's loss from Gram matrices: mean((G − Gs)²) or ‖G − Gs‖² / ‖Gs‖².</summary>
    public static Tensor StyleLayerLoss(Tensor gram, Tensor targetGram, LossForm form) =>
        SquaredError(gram, targetGram, form);

    /// <summary>Total variation: mean squared difference of vertical plus of horizontal neighbours, per image.</summary>
    public static Tensor TotalVariation(Tensor images)
    {
        using var scope = NewDisposeScope();
        long h = images.shape[2], w = images.shape[3];
        var down = images.narrow(2, 1, h - 1) - images.narrow(2, 0, h - 1);
        var right = images.narrow(3, 1, w - 1) - images.narrow(3, 0, w - 1);
        var tv = MeanPerImage(down.square()) + MeanPerImage(right.square());
        return tv.MoveToOuterDisposeScope();
    }

    private static Tensor SquaredError(Tensor input, Tensor target, LossForm form)
    {
        using var scope = NewDisposeScope();
        var squared = (input - target).square();
        Tensor loss;
        if (form == LossForm.MeanSquared)
        {
            loss = MeanPerImage(squared);
        }
        else
        {
            // A blank target (all zeros) would divide by zero; the floor keeps the loss finite.
            var targetEnergy = SumPerImage(target.square()).clamp_min(1e-12);
            loss = SumPerImage(squared) / targetEnergy;
        }
        return loss.MoveToOuterDisposeScope();
    }

    private static Tensor MeanPerImage(Tensor t) => t.flatten(1).mean([1L]);

    private static Tensor SumPerImage(Tensor t) => t.flatten(1).sum([1L]);
}

using static TorchSharp.torch;

namespace StyleFarm.Engine.Optimisation;

/// <summary>
/// Adam (Kingma and Ba) on images, with a learning rate per row. Adam is elementwise, so a per-row rate
/// [N,1,1,1] makes each row follow exactly the path it would follow alone.
/// </summary>
public sealed class BatchedAdam : IImageOptimizer
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;

    private Tensor _learningRates;   // [N,1,1,1]
    private Tensor? _firstMoment;    // m, [N,3,H,W]
    private Tensor? _secondMoment;   // v
    private long _steps;

    /// <param name="learningRates">One rate per row, shape [N], on the images' device.</param>
    public BatchedAdam(Tensor learningRates)
    {
        _learningRates = AsRowScale(learningRates);
    }

    public void Step(Tensor images, Tensor gradient)
    {
        using var scope = NewDisposeScope();
        _firstMoment ??= zeros_like(images).DetachFromDisposeScope();
        _secondMoment ??= zeros_like(images).DetachFromDisposeScope();
        _steps++;

        _firstMoment.mul_(Beta1).add_(gradient, alpha: 1 - Beta1);
        _secondMoment.mul_(Beta2).addcmul_(gradient, gradient, value: 1 - Beta2);

        double firstCorrection = 1 - Math.Pow(Beta1, _steps);
        double secondCorrection = 1 - Math.Pow(Beta2, _steps);
        var denominator = _secondMoment.div(secondCorrection).sqrt_().add_(Epsilon);
        var stepSize = _learningRates.div(firstCorrection);
        images.addcdiv_(_firstMoment * stepSize, denominator, value: -1);
    }

    public void KeepRows(Tensor rowIndices, Tensor learningRates)
    {
        _learningRates.Dispose();
        _learningRates = AsRowScale(learningRates);
        _firstMoment = SelectRows(_firstMoment, rowIndices);
        _secondMoment = SelectRows(_secondMoment, rowIndices);
    }

    public IReadOnlyDictionary<string, Tensor> SaveState()
    {
        var state = new Dictionary<string, Tensor> { ["adam.steps"] = tensor(new[] { _steps }) };
        if (_firstMoment is not null && _secondMoment is not null)
        {
            state["adam.m"] = _firstMoment.cpu();
            state["adam.v"] = _secondMoment.cpu();
        }
        return state;
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, Device device)
    {
        _steps = state["adam.steps"].item<long>();
        if (state.TryGetValue("adam.m", out Tensor? m) && state.TryGetValue("adam.v", out Tensor? v))
        {
            _firstMoment?.Dispose();
            _secondMoment?.Dispose();
            _firstMoment = m.to(device).DetachFromDisposeScope();
            _secondMoment = v.to(device).DetachFromDisposeScope();
        }
    }

    public void Dispose()
    {
        _learningRates.Dispose();
        _firstMoment?.Dispose();
        _secondMoment?.Dispose();
    }

    private static Tensor AsRowScale(Tensor perRow) => perRow.reshape(-1, 1, 1, 1).DetachFromDisposeScope();

    private static Tensor? SelectRows(Tensor? state, Tensor rowIndices)
    {
        if (state is null) return null;
        Tensor kept = state.index_select(0, rowIndices).DetachFromDisposeScope();
        state.Dispose();
        return kept;
    }
}

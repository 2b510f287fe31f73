using static TorchSharp.torch;

namespace StyleFarm.Engine.Optimisation;

/// <summary>
/// Limited-memory BFGS on one image, one gradient evaluation per step and no line search (as PyTorch's LBFGS
/// with max_iter=1): the direction comes from the two-loop recursion over the last <see cref="HistorySize"/>
/// curvature pairs, the step is the learning rate (scaled down on the first step by the gradient's size).
/// Its history couples the rows of a batch, so it takes exactly one row.
/// </summary>
public sealed class Lbfgs : IImageOptimizer
{
    public const int HistorySize = 10;
    private const double CurvatureFloor = 1e-10;

    private readonly double _learningRate;
    private readonly List<(Tensor S, Tensor Y, double Rho)> _history = [];
    private Tensor? _previousImage;
    private Tensor? _previousGradient;
    private double _hessianScale = 1;
    private long _steps;

    public Lbfgs(double learningRate) => _learningRate = learningRate;

    public void Step(Tensor images, Tensor gradient)
    {
        if (images.shape[0] != 1) throw new EngineException("L-BFGS optimises one image at a time");
        using var scope = NewDisposeScope();
        Tensor g = gradient.flatten();
        Tensor x = images.flatten();
        if (_previousImage is not null && _previousGradient is not null) RememberCurvature(x, g);

        Tensor direction = Direction(g);
        double stepSize = _steps == 0
            ? Math.Min(1.0, 1.0 / g.abs().sum().item<float>()) * _learningRate
            : _learningRate;

        _previousImage?.Dispose();
        _previousGradient?.Dispose();
        _previousImage = x.clone().DetachFromDisposeScope();
        _previousGradient = g.clone().DetachFromDisposeScope();
        images.add_(direction.view_as(images), alpha: stepSize);
        _steps++;
    }

    /// <summary>Adds the pair (s, y) = (x − x_prev, g − g_prev) if it has positive curvature.</summary>
    private void RememberCurvature(Tensor x, Tensor g)
    {
        Tensor s = x - _previousImage!;
        Tensor y = g - _previousGradient!;
        double ys = y.dot(s).item<float>();
        if (ys <= CurvatureFloor) return;
        if (_history.Count == HistorySize)
        {
            _history[0].S.Dispose();
            _history[0].Y.Dispose();
            _history.RemoveAt(0);
        }
        _history.Add((s.DetachFromDisposeScope(), y.DetachFromDisposeScope(), 1.0 / ys));
        _hessianScale = ys / y.dot(y).item<float>();
    }

    /// <summary>The two-loop recursion: d = −H·g with H the L-BFGS inverse Hessian estimate.</summary>
    private Tensor Direction(Tensor g)
    {
        Tensor q = g.neg();
        var alphas = new double[_history.Count];
        for (int i = _history.Count - 1; i >= 0; i--)
        {
            var (s, y, rho) = _history[i];
            alphas[i] = rho * s.dot(q).item<float>();
            q.add_(y, alpha: -alphas[i]);
        }
        Tensor r = q.mul_(_hessianScale);
        for (int i = 0; i < _history.Count; i++)
        {
            var (s, y, rho) = _history[i];
            double beta = rho * y.dot(r).item<float>();
            r.add_(s, alpha: alphas[i] - beta);
        }
        return r;
    }

    public void KeepRows(Tensor rowIndices, Tensor learningRates)
    {
        if (rowIndices.shape[0] != 1) throw new EngineException("L-BFGS optimises one image at a time");
    }

    public IReadOnlyDictionary<string, Tensor> SaveState()
    {
        var state = new Dictionary<string, Tensor>
        {
            ["lbfgs.steps"] = tensor(new[] { _steps }),
            ["lbfgs.hessian_scale"] = tensor(new[] { _hessianScale }),
            ["lbfgs.rho"] = tensor(_history.Select(h => h.Rho).ToArray()),
        };
        if (_previousImage is not null && _previousGradient is not null)
        {
            state["lbfgs.previous_image"] = _previousImage.cpu();
            state["lbfgs.previous_gradient"] = _previousGradient.cpu();
        }
        for (int i = 0; i < _history.Count; i++)
        {
            state[$"lbfgs.s.{i}"] = _history[i].S.cpu();
            state[$"lbfgs.y.{i}"] = _history[i].Y.cpu();
        }
        return state;
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, Device device)
    {
        _steps = state["lbfgs.steps"].item<long>();
        _hessianScale = state["lbfgs.hessian_scale"].item<double>();
        double[] rhos = state["lbfgs.rho"].data<double>().ToArray();
        ClearHistory();
        for (int i = 0; i < rhos.Length; i++)
            _history.Add((OnDevice(state[$"lbfgs.s.{i}"], device), OnDevice(state[$"lbfgs.y.{i}"], device), rhos[i]));
        if (state.TryGetValue("lbfgs.previous_image", out Tensor? px) && state.TryGetValue("lbfgs.previous_gradient", out Tensor? pg))
        {
            _previousImage?.Dispose();
            _previousGradient?.Dispose();
            _previousImage = OnDevice(px, device);
            _previousGradient = OnDevice(pg, device);
        }
    }

    private static Tensor OnDevice(Tensor t, Device device) => t.to(device, copy: true).DetachFromDisposeScope();

    private void ClearHistory()
    {
        foreach (var (s, y, _) in _history) { s.Dispose(); y.Dispose(); }
        _history.Clear();
    }

    public void Dispose()
    {
        ClearHistory();
        _previousImage?.Dispose();
        _previousGradient?.Dispose();
    }
}

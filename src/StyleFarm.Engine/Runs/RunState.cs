using StyleFarm.Engine.Losses;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Optimisation;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Runs;

/// <summary>The state of a unit in flight: the batch of images, the optimiser, each variant's weights and traces.</summary>
internal sealed class RunState : IDisposable
{
    private readonly UnitSpec _spec;
    private readonly IFeatureNetwork _network;
    private readonly string _fingerprint;
    private readonly Dictionary<string, LossTrace> _traces;
    private readonly IImageOptimizer _optimizer;
    private readonly StyleTargets _targets;
    private readonly BatchExecution? _requestedExecution;   // null: BatchExecutionChoice decides for each batch size
    private List<VariantSpec> _active;
    private Tensor _images;          // [N,3,H,W], the pixels being optimised
    private StyleObjective _objective;

    /// <summary>Steps taken so far.</summary>
    public int Step { get; private set; }
    public IReadOnlyList<VariantSpec> Active => _active;
    public IReadOnlyDictionary<string, LossTrace> Traces => _traces;

    private RunState(UnitSpec spec, IFeatureNetwork network, StyleTargets targets, string fingerprint, List<VariantSpec> active,
        Tensor images, int step, BatchExecution? requestedExecution)
    {
        _targets = targets;
        _requestedExecution = requestedExecution;
        _spec = spec;
        _network = network;
        _fingerprint = fingerprint;
        _active = active;
        _images = images;
        Step = step;
        _traces = spec.Variants.ToDictionary(v => v.Id, _ => new LossTrace(spec.StyleLayers));
        _objective = NewObjective();
        _optimizer = spec.Optimizer == OptimizerKind.Adam
            ? new BatchedAdam(_objective.LearningRates)
            : new Lbfgs(active[0].LearningRate);
    }

    /// <param name="targets">The unit's targets; the caller keeps owning them and keeps them alive while this runs.</param>
    public static RunState Start(UnitSpec spec, IFeatureNetwork network, StyleTargets targets, Tensor content, Tensor style, RunOptions options)
    {
        UnitCheckpoint? resume = options.ResumeFrom;
        string fingerprint = UnitCheckpoint.Fingerprint(spec, content.shape);
        if (resume is null)
        {
            Tensor images = InitialImages(spec, network, content, style);
            return new RunState(spec, network, targets, fingerprint, spec.Variants.ToList(), images, step: 0, options.Execution);
        }

        if (resume.SpecFingerprint != fingerprint)
            throw new EngineException("the checkpoint belongs to another unit (its settings or image size differ)");
        var active = resume.ActiveVariants.Select(id => spec.Variants.Single(v => v.Id == id)).ToList();
        Tensor resumed = resume.Images.to(network.DType, network.Device, copy: true).DetachFromDisposeScope();
        var state = new RunState(spec, network, targets, fingerprint, active, resumed, resume.Step, options.Execution);
        state._optimizer.LoadState(resume.OptimizerState, network.Device);
        foreach (var (id, trace) in resume.Traces)
            foreach (LossRow row in trace.Rows) state._traces[id].Add(row);
        return state;
    }

    /// <summary>
    /// One optimisation step (the next, <see cref="Step"/> + 1) for every running variant: losses, gradient with respect to the pixels only, update,
    /// clamp to [0,1]. Returns each variant's losses before the update.
    /// </summary>
    public LossRow[] TakeStep()
    {
        using var scope = NewDisposeScope();
        var (losses, gradient) = _objective.EvaluateWithGradient(_images, _targets);
        _optimizer.Step(_images, gradient);
        _images.clamp_(0, 1);
        LossRow[] rows = RecordLosses(losses.AsTable());
        Step++;
        return rows;
    }

    /// <summary>Reads the [3+L,N] loss table back once and appends each variant's row to its trace.</summary>
    private LossRow[] RecordLosses(Tensor table)
    {
        double[] values = table.detach().to(float64).cpu().data<double>().ToArray();
        int n = _active.Count, layers = _spec.StyleLayers.Count, step = Step + 1;
        var rows = new LossRow[n];
        for (int i = 0; i < n; i++)
        {
            double[] style = new double[layers];
            for (int l = 0; l < layers; l++) style[l] = values[(2 + l) * n + i];
            rows[i] = new LossRow(step, values[i], values[n + i], style, values[(2 + layers) * n + i]);
            _traces[_active[i].Id].Add(rows[i]);
        }
        return rows;
    }

    /// <summary>A CPU copy-free view of one variant's current image, [3,H,W].</summary>
    public Tensor ImageOf(int row)
    {
        using var noGrad = no_grad();
        return _images.select(0, row).detach().cpu();
    }

    /// <summary>Variants past their last step count leave the batch, so they cost nothing more.</summary>
    public void DropFinishedVariants()
    {
        if (_active.All(v => v.LastStep > Step)) return;
        int[] keep = Enumerable.Range(0, _active.Count).Where(i => _active[i].LastStep > Step).ToArray();
        _active = keep.Select(i => _active[i]).ToList();
        if (_active.Count == 0) return;

        using var scope = NewDisposeScope();
        Tensor rows = tensor(keep.Select(i => (long)i).ToArray(), device: _images.device);
        Tensor kept;
        using (no_grad()) kept = _images.index_select(0, rows).detach();
        _images.Dispose();
        _images = kept.DetachFromDisposeScope();
        _objective.Dispose();
        _objective = NewObjective();
        _optimizer.KeepRows(rows, _objective.LearningRates);
    }

    /// <summary>The objective of the running variants, run as one batch or image by image (<see cref="BatchExecutionChoice"/>).</summary>
    private StyleObjective NewObjective()
    {
        BatchExecution execution = _requestedExecution
            ?? BatchExecutionChoice.For(_network, _spec, _active, _targets, _images.shape[2], _images.shape[3]);
        return new StyleObjective(_network, _spec, _active, execution);
    }

    public UnitCheckpoint Checkpoint() => new()
    {
        Step = Step,
        SpecFingerprint = _fingerprint,
        ActiveVariants = _active.Select(v => v.Id).ToArray(),
        Images = _images.detach().cpu().clone(),
        OptimizerState = _optimizer.SaveState(),
        Traces = _traces.ToDictionary(kv => kv.Key, kv => kv.Value.UpTo(Step)),
    };

    private static Tensor InitialImages(UnitSpec spec, IFeatureNetwork network, Tensor content, Tensor style)
    {
        using var scope = NewDisposeScope();
        long n = spec.Variants.Count;
        Tensor single = spec.Init switch
        {
            InitKind.Content => content,
            InitKind.Style => style,
            _ => rand(content.shape, dtype: float32, generator: new Generator((ulong)spec.Seed)),
        };
        Tensor images = single.to(network.DType, network.Device).expand(n, -1, -1, -1).clone();
        return images.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        _images.Dispose();
        _objective.Dispose();
        _optimizer.Dispose();
    }
}

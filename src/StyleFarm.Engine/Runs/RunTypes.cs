using StyleFarm.Engine.Losses;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Runs;

/// <summary>The losses of every running variant after one step.</summary>
public sealed record StepProgress(int Step, int MaxSteps, IReadOnlyList<VariantLosses> Variants);

public sealed record VariantLosses(string VariantId, LossRow Losses);

/// <summary>
/// An image of one variant at one step: a snapshot (every save_every steps) or an output (at one of the variant's
/// step counts), or both. <see cref="Image"/> is a CPU tensor [3,H,W] in [0,1] and <see cref="Trace"/> the
/// variant's losses so far; both are valid only during the callback.
/// </summary>
public sealed record Snapshot(string VariantId, int Step, bool IsOutput, Tensor Image, LossTrace Trace);

/// <summary>Hooks and controls for one run of a unit; every hook is optional and costs nothing when unset.</summary>
public sealed class RunOptions
{
    public Action<StepProgress>? OnStep { get; init; }
    public Action<Snapshot>? OnSnapshot { get; init; }

    /// <summary>Take a checkpoint every this many steps (0: never).</summary>
    public int CheckpointEvery { get; init; }
    public Action<UnitCheckpoint>? OnCheckpoint { get; init; }

    /// <summary>When cancelled, hand <see cref="OnCheckpoint"/> the state at the current step before stopping.</summary>
    public bool CheckpointOnCancel { get; init; }

    /// <summary>Go on from this checkpoint instead of starting afresh.</summary>
    public UnitCheckpoint? ResumeFrom { get; init; }

    /// <summary>CPU threads for torch during the run (0: leave as is). Torch's thread pool is per process.</summary>
    public int Threads { get; init; }

    /// <summary>How a fused batch goes through the network; by default <see cref="BatchExecutionChoice"/> decides.</summary>
    public BatchExecution? Execution { get; init; }
}

/// <summary>A finished image of one variant at one of its step counts (a CPU tensor [3,H,W] the caller owns).</summary>
public sealed record VariantOutput(string VariantId, int Step, Tensor Image);

public sealed class UnitResult : IDisposable
{
    public required IReadOnlyList<VariantOutput> Outputs { get; init; }
    public required IReadOnlyDictionary<string, LossTrace> Traces { get; init; }
    public required int StepsRun { get; init; }
    public required TimeSpan Elapsed { get; init; }

    public void Dispose()
    {
        foreach (VariantOutput output in Outputs) output.Image.Dispose();
    }
}

using StyleFarm.Messages.Jobs;

namespace StyleFarm.Messages.Work;

/// <summary>A job read out of a variant at its step count.</summary>
public sealed record JobAtStep(string JobId, int Steps) : IStyleFarmMessage;

/// <summary>
/// One row of a fused unit: the numbers it runs with and the jobs it answers (one per step count it is read at).
/// </summary>
public sealed record UnitVariant(
    string VariantId,
    double ContentWeight,
    double StyleWeight,
    double TvWeight,
    double LearningRate,
    StyleLayerWeight[] StyleLayers,
    JobAtStep[] Jobs) : IStyleFarmMessage
{
    public int LastStep => Jobs.Max(j => j.Steps);
}

/// <summary>
/// Work for one device: variants that share images, size, network, layers, init, seed and optimizer, run as one
/// batch. <see cref="Shared"/> holds the settings they share (its numbers are the first variant's).
/// </summary>
public sealed record WorkUnit(
    string UnitId,
    string SweepId,
    int Priority,
    JobSettings Shared,
    UnitVariant[] Variants) : IStyleFarmMessage
{
    public int MaxSteps => Variants.Max(v => v.LastStep);

    public IEnumerable<JobAtStep> Jobs => Variants.SelectMany(v => v.Jobs);
}

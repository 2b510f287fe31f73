using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Planning;

/// <summary>One unit of a plan, as `stylefarm validate` lists it.</summary>
/// <param name="ImageSteps">Steps of one image through the network: each variant's last step count.</param>
/// <param name="EstimatedBytes">Device memory the unit needs (<see cref="MemoryEstimate"/>, safety factor included).</param>
public sealed record UnitSummary(string UnitId, int Variants, int Jobs, int MaxSteps, long ImageSteps, long EstimatedBytes);

/// <summary>
/// What a plan amounts to, for `stylefarm validate`: how many jobs and units, how big the batches, and the fusion
/// saving in image-steps (one image through one optimisation step, the engine's unit of work).
/// </summary>
/// <param name="FusedImageSteps">Σ over variants of their last step count: what the plan computes.</param>
/// <param name="OneByOneImageSteps">Σ over jobs of their step count: what running each job alone would compute.</param>
/// <param name="BatchSteps">Σ over units of their longest step count: the steps a device takes if a batch step costs one image-step (a GPU with room to spare).</param>
/// <param name="PeakBytes">The most memory any one unit needs.</param>
public sealed record PlanSummary(
    int JobCount,
    int UnitCount,
    IReadOnlyList<int> BatchSizes,
    long FusedImageSteps,
    long OneByOneImageSteps,
    long BatchSteps,
    long PeakBytes,
    IReadOnlyList<UnitSummary> Units)
{
    /// <summary>How many times fewer image-steps the plan computes than the jobs one by one.</summary>
    public double Speedup => FusedImageSteps == 0 ? 1 : (double)OneByOneImageSteps / FusedImageSteps;

    public long SavedImageSteps => OneByOneImageSteps - FusedImageSteps;

    public int LargestBatch => BatchSizes.DefaultIfEmpty(0).Max();

    public static PlanSummary Of(IReadOnlyList<WorkUnit> units, FusionPlanner? planner = null)
    {
        planner ??= new FusionPlanner();
        UnitSummary[] details = units.Select(u => Describe(u, planner)).ToArray();
        return new PlanSummary(
            JobCount: units.Sum(u => u.Variants.Sum(v => v.Jobs.Length)),
            UnitCount: units.Count,
            BatchSizes: details.Select(d => d.Variants).ToArray(),
            FusedImageSteps: details.Sum(d => d.ImageSteps),
            OneByOneImageSteps: units.Sum(u => u.Jobs.Sum(j => (long)j.Steps)),
            BatchSteps: details.Sum(d => (long)d.MaxSteps),
            PeakBytes: details.Select(d => d.EstimatedBytes).DefaultIfEmpty(0).Max(),
            Units: details);
    }

    private static UnitSummary Describe(WorkUnit unit, FusionPlanner planner) => new(
        unit.UnitId, unit.Variants.Length, unit.Variants.Sum(v => v.Jobs.Length), unit.MaxSteps,
        FusionPlanner.ImageSteps(unit), planner.BytesFor(unit));
}

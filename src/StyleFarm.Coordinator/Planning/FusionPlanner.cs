using StyleFarm.Messages;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Planning;

/// <summary>
/// Turns a sweep's jobs into work units (DESIGN.md, "Sweep fusion"). Jobs with the same
/// <see cref="JobSettings.FusionKey"/> may share a unit. Within a key, jobs that differ only in their step count
/// form one variant (a track) read out at each count, since a 100-step run is the first 100 steps of a 1000-step
/// one; variants with other numbers (weights, layer weights, learning rate) are rows of one batch, as many as the
/// device's memory holds. L-BFGS variants get a unit each: its history couples the rows of a batch.
/// <para>
/// Deterministic: the output depends on the set of jobs, not their order, and a unit's id is its sweep's id and a
/// hash of the sweep and its jobs' ids. Any subset of a sweep's jobs may be planned (e.g. the jobs left of a unit).
/// </para>
/// </summary>
public sealed class FusionPlanner
{
    private readonly Func<JobSettings, MemoryEstimate> _estimate;
    private readonly bool _estimateReadsGeometryOnly;

    /// <param name="estimate">The memory a unit of these settings needs; <see cref="MemoryEstimate.For(JobSettings)"/> by default.</param>
    public FusionPlanner(Func<JobSettings, MemoryEstimate>? estimate = null)
    {
        _estimate = estimate ?? MemoryEstimate.For;
        _estimateReadsGeometryOnly = estimate is null;
    }

    /// <summary>The memory estimate the planner sizes units of these settings by.</summary>
    public MemoryEstimate EstimateFor(JobSettings shared) => _estimate(shared);

    /// <summary>The bytes <paramref name="unit"/> needs on a device, safety factor included.</summary>
    public long BytesFor(WorkUnit unit) => _estimate(unit.Shared).BytesFor(unit.Variants.Length);

    /// <summary>
    /// Plans <paramref name="jobs"/> (duplicates ignored) into units of at most as many variants as fit in
    /// <paramref name="deviceFreeBytes"/> and at most <paramref name="maxVariantsPerUnit"/> (a cap the caller may
    /// set so that a big grid spreads over several devices). A variant that does not fit even alone still gets a
    /// unit of its own; <see cref="PlanSummary"/> shows its size. Units come longest first: handing out the
    /// longest work first shortens a sweep's wall time on several devices.
    /// </summary>
    public IReadOnlyList<WorkUnit> Plan(string sweepId, int priority, IEnumerable<JobSettings> jobs, long deviceFreeBytes,
        int maxVariantsPerUnit = int.MaxValue) =>
        PlanWithIds(sweepId, priority, jobs.Select(j => (j.JobId, j)), deviceFreeBytes, maxVariantsPerUnit);

    /// <summary>
    /// As <see cref="Plan(string, int, IEnumerable{JobSettings}, long, int)"/>, for jobs whose ids the caller has
    /// (a job id is a SHA-256 of the settings, computed anew on every read).
    /// </summary>
    public IReadOnlyList<WorkUnit> PlanWithIds(string sweepId, int priority, IEnumerable<(string JobId, JobSettings Settings)> jobs,
        long deviceFreeBytes, int maxVariantsPerUnit = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVariantsPerUnit, 1);
        var units = new List<WorkUnit>();
        // Groups that differ only in seeds or images size their batches alike: one estimate each.
        var batchLimits = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var group in Distinct(jobs).GroupBy(j => j.Settings.FusionKey, StringComparer.Ordinal))
        {
            JobSettings template = group.First().Settings;
            UnitVariant[] variants = Tracks(group.Key, group).ToArray();
            // (Only the default estimate is known to read no more than GeometryKey does.)
            string geometry = _estimateReadsGeometryOnly ? GeometryKey(template) : group.Key;
            if (!batchLimits.TryGetValue(geometry, out int fits)) fits = batchLimits[geometry] = BatchLimit(template, deviceFreeBytes);
            int batch = Math.Min(Math.Min(maxVariantsPerUnit, fits), WireBatchLimit(variants));
            units.AddRange(Units(sweepId, priority, template, variants, batch));
        }
        return units.OrderByDescending(Work).ThenBy(u => u.UnitId, StringComparer.Ordinal).ToArray();
    }

    /// <summary>What <see cref="MemoryEstimate.For(JobSettings)"/> and <see cref="BatchLimit"/> read of a job's settings.</summary>
    private static string GeometryKey(JobSettings s) =>
        string.Join('\n', s.Network, s.Size.ToString(CultureInfo.InvariantCulture), s.ContentLayer, s.Optimizer,
            string.Join(',', s.StyleLayers.Select(l => l.Layer)));

    /// <summary>How many variants keep a unit within <see cref="WireLimits.MaxJobsPerUnit"/> jobs (tracks are never cut).</summary>
    private static int WireBatchLimit(IReadOnlyList<UnitVariant> variants) =>
        Math.Max(1, WireLimits.MaxJobsPerUnit / variants.Max(v => v.Jobs.Length));

    /// <summary>
    /// <paramref name="unit"/> cut into units of at most <paramref name="maxVariants"/> variants, as even as
    /// possible; the unit itself when it is small enough. Tracks are never cut: that would lose the shared prefix.
    /// </summary>
    public IReadOnlyList<WorkUnit> Split(WorkUnit unit, int maxVariants)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVariants, 1);
        return unit.Variants.Length <= maxVariants
            ? [unit]
            : Units(unit.SweepId, unit.Priority, unit.Shared, unit.Variants, maxVariants).ToArray();
    }

    /// <summary>
    /// <paramref name="unit"/> cut into units that each fit in <paramref name="freeBytes"/>; null when not even one
    /// of its variants does.
    /// </summary>
    public IReadOnlyList<WorkUnit>? SplitToFit(WorkUnit unit, long freeBytes)
    {
        int fits = _estimate(unit.Shared).MaxVariants(freeBytes);
        return fits == 0 ? null : Split(unit, fits);
    }

    /// <summary>How many variants a unit of these settings may hold on a device with this much free memory (at least 1).</summary>
    public int BatchLimit(JobSettings shared, long deviceFreeBytes) =>
        MemoryEstimate.IsLbfgs(shared.Optimizer) ? 1 : Math.Max(1, _estimate(shared).MaxVariants(deviceFreeBytes));

    /// <summary>
    /// The jobs a unit answers, rebuilt from its shared settings and each variant's numbers and step counts; the
    /// caller can replan the ones still to do. Throws when a rebuilt job's id differs from the unit's (a unit not
    /// made by this planner), rather than silently losing the job.
    /// </summary>
    public static IReadOnlyList<JobSettings> JobsOf(WorkUnit unit) =>
        unit.Variants.SelectMany(v => v.Jobs.Select(j => Rebuild(unit, v, j))).ToArray();

    /// <summary>
    /// A unit's id: its sweep's id, '-', and 32 hex digits of a SHA-256 of the sweep and its jobs' ids in ordinal order.
    /// The sweep's id comes first so that a sweep's units sit together in the store's indexes: storing a sweep's
    /// thousands of units then writes the pages at their end, not a page of every index all over a big store.
    /// </summary>
    public static string UnitIdOf(string sweepId, IEnumerable<string> jobIds) =>
        $"{sweepId}-{Hash(string.Join('\n', new[] { "stylefarm-unit-v1", sweepId }.Concat(jobIds.Order(StringComparer.Ordinal))))[..32]}";

    /// <summary>Image-steps a unit computes: each row runs to its last step count and then leaves the batch.</summary>
    public static long ImageSteps(WorkUnit unit) => unit.Variants.Sum(v => (long)v.LastStep);

    /// <summary>A unit's cost for ordering: image-steps times pixels.</summary>
    private static double Work(WorkUnit unit) => (double)ImageSteps(unit) * unit.Shared.Size * unit.Shared.Size;

    private sealed record PlannedJob(string JobId, JobSettings Settings);

    private static IEnumerable<PlannedJob> Distinct(IEnumerable<(string JobId, JobSettings Settings)> jobs) =>
        jobs.Select(j => new PlannedJob(j.JobId, j.Settings)).DistinctBy(j => j.JobId, StringComparer.Ordinal);

    /// <summary>
    /// The variants of one fusion key: jobs grouped by their numbers, each group read out at its step counts.
    /// Ordered longest first, then by id, so that rows of similar length share a unit and stay in the batch
    /// together; the order depends only on the jobs themselves.
    /// </summary>
    private static IEnumerable<UnitVariant> Tracks(string fusionKey, IEnumerable<PlannedJob> jobs) =>
        jobs.GroupBy(j => NumbersKey(j.Settings), StringComparer.Ordinal)
            .Select(track => Variant(fusionKey, track.Key, track.ToArray()))
            .OrderByDescending(v => v.LastStep)
            .ThenBy(v => v.VariantId, StringComparer.Ordinal);

    private static UnitVariant Variant(string fusionKey, string numbersKey, PlannedJob[] track)
    {
        JobSettings s = track[0].Settings;
        JobAtStep[] readOuts = track.Select(j => new JobAtStep(j.JobId, j.Settings.Steps))
            .OrderBy(j => j.Steps).ThenBy(j => j.JobId, StringComparer.Ordinal).ToArray();
        return new UnitVariant(VariantIdOf(fusionKey, numbersKey), s.ContentWeight, s.StyleWeight, s.TvWeight, s.LearningRate,
            s.StyleLayers.ToArray(), readOuts);
    }

    /// <summary>Variants in balanced chunks of at most <paramref name="batch"/>: 10 variants at 4 make 4, 3, 3, not 4, 4, 2.</summary>
    private static IEnumerable<WorkUnit> Units(string sweepId, int priority, JobSettings template, IReadOnlyList<UnitVariant> variants, int batch)
    {
        int count = (variants.Count + batch - 1) / batch;
        int start = 0;
        for (int i = 0; i < count; i++)
        {
            int size = variants.Count / count + (i < variants.Count % count ? 1 : 0);
            UnitVariant[] chunk = variants.Skip(start).Take(size).ToArray();
            start += size;
            yield return new WorkUnit(UnitIdOf(sweepId, chunk.SelectMany(v => v.Jobs).Select(j => j.JobId)), sweepId, priority,
                SharedFor(template, chunk[0]), chunk);
        }
    }

    /// <summary>The settings a unit shares, with the numbers of its first variant at that variant's last step.</summary>
    private static JobSettings SharedFor(JobSettings template, UnitVariant first) => template with
    {
        Steps = first.LastStep,
        ContentWeight = first.ContentWeight,
        StyleWeight = first.StyleWeight,
        TvWeight = first.TvWeight,
        LearningRate = first.LearningRate,
        StyleLayers = first.StyleLayers.ToArray(),
    };

    private static JobSettings Rebuild(WorkUnit unit, UnitVariant variant, JobAtStep job)
    {
        JobSettings settings = SharedFor(unit.Shared, variant) with { Steps = job.Steps };
        return settings.JobId == job.JobId
            ? settings
            : throw new InvalidOperationException(
                $"unit {unit.UnitId}: job {job.JobId} cannot be rebuilt from the unit's settings (got {settings.JobId})");
    }

    /// <summary>The numbers a batch may vary per row, in the canonical form JobSettings hashes them in.</summary>
    private static string NumbersKey(JobSettings s)
    {
        static string N(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        return string.Join('\n', N(s.ContentWeight), N(s.StyleWeight), N(s.TvWeight), N(s.LearningRate),
            string.Join(',', s.StyleLayers.Select(l => $"{l.Layer}={N(l.Weight)}")));
    }

    /// <summary>Stable across replans (it does not depend on which step counts are left), distinct within a unit.</summary>
    private static string VariantIdOf(string fusionKey, string numbersKey) =>
        Hash($"stylefarm-variant-v1\n{fusionKey}\n{numbersKey}")[..16];

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

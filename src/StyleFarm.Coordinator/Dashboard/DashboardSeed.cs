using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Dashboard;

/// <summary>What the store says of one sweep when the dashboard first hears of it.</summary>
/// <param name="JobStates">Every job of the sweep and its stored state.</param>
/// <param name="Units">The sweep's units that run, with their plans (others are ignored).</param>
/// <param name="Failures">Its most recent failed attempts, oldest first.</param>
public sealed record SweepSeed(
    SweepRecord Sweep,
    IReadOnlyDictionary<string, JobState> JobStates,
    IReadOnlyList<UnitRecord> Units,
    IReadOnlyList<AttemptRecord> Failures)
{
    /// <summary>
    /// Its queued units, by size only: a plan is read from JSON, and a big sweep has tens of thousands of them. A
    /// queued unit's plan comes with its <see cref="Farm.UnitAssigned"/>.
    /// </summary>
    public IReadOnlyList<QueuedUnitSize> QueuedUnits { get; init; } = [];
}

/// <summary>Reads the dashboard's seeds from the store. Called off the actor's thread: these are SQLite reads.</summary>
public static class DashboardSeeds
{
    /// <summary>How many of a sweep's failed attempts a seed carries.</summary>
    public const int FailuresPerSweep = 10;

    /// <summary>Every unfinished sweep, for a dashboard that just started.</summary>
    public static IReadOnlyList<SweepSeed> Unfinished(FarmStore store) =>
        store.ListSweeps().Where(s => !s.IsFinished).Reverse().Select(s => Read(store, s)).ToArray();

    /// <summary>The named sweeps that are in the store (unknown ids are left out).</summary>
    public static IReadOnlyList<SweepSeed> Of(FarmStore store, IEnumerable<string> sweepIds) =>
        sweepIds.Select(store.GetSweep).Where(s => s is not null).Select(s => Read(store, s!)).ToArray();

    /// <summary>The named units that are in the store.</summary>
    public static IReadOnlyList<UnitRecord> Units(FarmStore store, IEnumerable<string> unitIds) =>
        unitIds.Select(store.GetUnit).Where(u => u is not null).Select(u => u!).ToArray();

    private static SweepSeed Read(FarmStore store, SweepRecord sweep)
    {
        IReadOnlyList<AttemptRecord> failures = store.Failures(sweep.Id);
        return new SweepSeed(sweep, store.SweepJobStates(sweep.Id), store.RunningUnitsOfSweep(sweep.Id),
            failures.Skip(Math.Max(0, failures.Count - FailuresPerSweep)).ToArray())
        {
            QueuedUnits = store.QueuedUnitSizes(sweep.Id),
        };
    }
}

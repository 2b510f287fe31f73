using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Nodes;
using static StyleFarm.Coordinator.Tests.Dashboard.DashboardTestData;

namespace StyleFarm.Coordinator.Tests.Dashboard;

public sealed class DashboardStateTests
{
    private readonly DashboardState _state = new();

    private void Apply(double at, params IFarmEvent[] events)
    {
        foreach (IFarmEvent e in events) Assert.True(_state.Apply(e, At(at)), $"{e} changed nothing");
    }

    [Fact]
    public void EventsFoldIntoTheSweepItsRunningUnitItsJobsAndTheDevice()
    {
        _state.Seed(Seed(), T0);
        Apply(1, new NodeChanged(NodeA()));
        Apply(10, new UnitAssigned("s1", "u1", Device, "attempt", 4));
        Apply(20, new UnitProgressed("s1", "u1", Device, 50, 200, Losses(9, 8)));
        Apply(30, new UnitProgressed("s1", "u1", Device, 150, 200, Losses(7, 6)));

        DashboardView view = _state.View(At(30));
        DashboardSweep sweep = Assert.Single(view.Sweeps);
        Assert.Equal(("demo", SweepState.Running, 5, 0, 4, 1), (sweep.Name, sweep.State, sweep.Jobs, sweep.JobsDone, sweep.JobsRunning, sweep.JobsQueued));
        Assert.Equal((1, 1), (sweep.UnitsQueued, sweep.UnitsRunning));
        Assert.Equal(1, view.QueuedUnits);
        DashboardUnit unit = Assert.Single(view.Units);
        Assert.Equal(("u1", Device, 150, 200, At(10)), (unit.UnitId, unit.DeviceId, unit.Step, unit.MaxSteps, unit.AssignedAt));
        Assert.Equal(7, unit.Losses[0].Losses.Total);

        // A job stops at its own step count; each carries its variant's losses.
        DashboardJob a = view.Jobs.Single(j => j.JobId == "a"), b = view.Jobs.Single(j => j.JobId == "b"), c = view.Jobs.Single(j => j.JobId == "c");
        Assert.Equal((JobState.Running, 100, 100, 7.0), (a.State, a.Step, a.Steps, a.Losses!.Total));
        Assert.Equal((JobState.Running, 150, 200), (b.State, b.Step, b.Steps));
        Assert.Equal(6, c.Losses!.Total);
        Assert.DoesNotContain(view.Jobs, j => j.JobId == "e"); // queued jobs are counted, not listed

        DashboardDevice device = Assert.Single(Assert.Single(view.Nodes).Devices);
        // 5 steps/s, then 10, smoothed as the SweepManager smooths them.
        Assert.Equal(("u1", 150, 0.7 * 5 + 0.3 * 10, 7.0), (device.UnitId, device.Step, device.StepsPerSecond, device.Losses!.Total));

        Apply(31, new JobRecorded("s1", "a", Device), new JobRecorded("s1", "c", Device));
        view = _state.View(At(31));
        sweep = Assert.Single(view.Sweeps);
        Assert.Equal((2, 2, 1), (sweep.JobsDone, sweep.JobsRunning, sweep.JobsQueued));
        Assert.Equal(JobState.Done, view.Jobs.Single(j => j.JobId == "a").State);
    }

    [Fact]
    public void AQueuedUnitSeededBySizeOnlyGetsItsPlanFromItsAssignment()
    {
        // The store's seed of a big sweep: queued units by size, no plans.
        SweepSeed seed = Seed() with { Units = [] };
        _state.Seed(seed with { QueuedUnits = [new QueuedUnitSize(U1.UnitId, 4, 0), new QueuedUnitSize(U2.UnitId, 1, 0)] }, T0);
        DashboardView before = _state.View(At(1));
        Assert.Equal(2, before.QueuedUnits);
        Assert.Equal((2, 0, 5), (before.Sweeps[0].UnitsQueued, before.Sweeps[0].UnitsRunning, before.Sweeps[0].JobsQueued));
        Assert.Empty(_state.TakeMissingUnits()); // nothing to read: queued units need no plan yet

        Apply(10, new UnitAssigned("s1", U1.UnitId, Device, "attempt", 4, U1));
        Apply(20, new UnitProgressed("s1", U1.UnitId, Device, 150, 200, Losses(7, 6)));

        DashboardView view = _state.View(At(20));
        Assert.Empty(_state.TakeMissingUnits());
        Assert.Equal((1, 1, 4, 1), (view.Sweeps[0].UnitsQueued, view.Sweeps[0].UnitsRunning, view.Sweeps[0].JobsRunning, view.Sweeps[0].JobsQueued));
        Assert.Equal(200, Assert.Single(view.Units).MaxSteps);
        DashboardJob a = view.Jobs.Single(j => j.JobId == "a");
        Assert.Equal((JobState.Running, 100, 100, Device), (a.State, a.Step, a.Steps, a.DeviceId));
    }

    [Fact]
    public void TheViewListsTheLongestRunningUnitsUpToItsLimitAndCountsThemAll()
    {
        var state = new DashboardState(new DashboardLimits { ListedUnits = 1 });
        state.Seed(Seed(), T0);
        state.Apply(new UnitAssigned("s1", U1.UnitId, Device, "attempt-1", 4, U1), At(10));
        state.Apply(new UnitAssigned("s1", U2.UnitId, "node-a/cpu-2", "attempt-2", 1, U2), At(20));

        DashboardView view = state.View(At(30));

        Assert.Equal(U1.UnitId, Assert.Single(view.Units).UnitId); // the longest running
        Assert.Equal((2, 0), (view.RunningUnits, view.QueuedUnits));
        DashboardSweep sweep = Assert.Single(view.Sweeps);
        Assert.Equal((2, 5, 0), (sweep.UnitsRunning, sweep.JobsRunning, sweep.JobsQueued)); // every running job counts
        Assert.All(view.Jobs.Where(j => j.State == JobState.Running), j => Assert.Equal(U1.UnitId, j.UnitId));
    }

    [Fact]
    public void TheEtaIsTheRemainingJobsAtTheRecentThroughput()
    {
        _state.Seed(Seed(), T0);
        Apply(0, new UnitAssigned("s1", "u1", Device, "attempt", 4));
        Assert.Null(Assert.Single(_state.View(At(5)).Sweeps).EtaSeconds); // nothing done yet: unknown

        Apply(10, new JobRecorded("s1", "a", Device), new JobRecorded("s1", "c", Device));

        DashboardSweep sweep = Assert.Single(_state.View(At(20)).Sweeps);
        Assert.Equal(0.1, sweep.JobsPerSecond!.Value, 9); // 2 jobs in the 20 s watched
        Assert.Equal(30, sweep.EtaSeconds!.Value, 6); // 3 jobs left
        // A stalled sweep's ETA grows.
        Assert.True(Assert.Single(_state.View(At(40)).Sweeps).EtaSeconds > 30);
    }

    [Fact]
    public void UnitTimingsMeasureTheWaitInTheQueueAndTheRun()
    {
        _state.Seed(Seed(), T0);
        Apply(4, new UnitAssigned("s1", "u1", Device, "attempt-1", 4));
        Apply(5, new UnitRequeued("s1", "u1", Device, "node lost"));
        Apply(7, new UnitAssigned("s1", "u1", Device, "attempt-2", 4));
        Apply(17, new UnitCompleted("s1", "u1", Device));

        Assert.Equal(
            new[] { new UnitTiming(UnitTimingKind.Wait, TimeSpan.FromSeconds(4)), new UnitTiming(UnitTimingKind.Wait, TimeSpan.FromSeconds(2)),
             new UnitTiming(UnitTimingKind.Run, TimeSpan.FromSeconds(10)) },
            _state.TakeTimings());
        Assert.Empty(_state.TakeTimings());
        Assert.Empty(_state.View(At(17)).Units);
    }

    [Fact]
    public void RequeuesAndFailuresAreListedWithTheirReasonsAndAFailedUnitEnds()
    {
        _state.Seed(Seed(), T0);
        Apply(1, new NodeChanged(NodeA()), new UnitAssigned("s1", "u1", Device, "attempt-1", 4));
        Apply(2, new UnitProgressed("s1", "u1", Device, 50, 200, Losses(1, 1)));
        Apply(3, new UnitRequeued("s1", "u1", Device, "out of memory; retrying elsewhere"));

        DashboardView view = _state.View(At(3));
        Assert.Empty(view.Units);
        Assert.Equal(2, view.QueuedUnits);
        Assert.Equal((0, 5), (view.Sweeps[0].JobsRunning, view.Sweeps[0].JobsQueued));
        Assert.Equal(0, view.Nodes[0].Devices[0].StepsPerSecond);
        DashboardFailure requeue = Assert.Single(view.Failures);
        Assert.Equal(("requeued", "u1", Device, 4, "out of memory; retrying elsewhere"), (requeue.Kind, requeue.UnitId, requeue.DeviceId, requeue.Jobs, requeue.Reason));

        Apply(4, new UnitAssigned("s1", "u1", Device, "attempt-2", 4));
        Apply(5, new JobsFailed("s1", ["a", "b", "c", "d"], "retries used up: out of memory"));

        view = _state.View(At(5));
        Assert.Empty(view.Units);
        Assert.Equal(1, view.QueuedUnits);
        Assert.Equal((4, 0, 1), (view.Sweeps[0].JobsFailed, view.Sweeps[0].JobsRunning, view.Sweeps[0].JobsQueued));
        Assert.Equal(new[] { "requeued", "failed" }, view.Failures.Select(f => f.Kind));
        Assert.Equal(("u1", 4, "retries used up: out of memory"), (view.Failures[1].UnitId, view.Failures[1].Jobs, view.Failures[1].Reason));
        Assert.All(view.Jobs, j => Assert.Equal(JobState.Failed, j.State));
    }

    [Fact]
    public void EventsHeardBeforeTheSweepWasReadAreMergedWithItsSeedAndNotCountedTwice()
    {
        Apply(1, new UnitAssigned("s1", "u1", Device, "attempt", 4));
        Apply(2, new JobRecorded("s1", "a", Device));
        Assert.Equal(new[] { "s1" }, _state.TakeMissingSweeps());
        Assert.Empty(_state.TakeMissingUnits()); // the sweep's seed brings its units
        DashboardSweep early = Assert.Single(_state.View(At(2)).Sweeps);
        Assert.Equal(("s1", 1), (early.Name, early.JobsDone));

        // Read after the result was stored, but before the assignment was (the store says u1 is still queued).
        _state.Seed(Seed(u1: UnitState.Queued, done: "a"), At(3));

        DashboardView view = _state.View(At(3));
        DashboardSweep sweep = Assert.Single(view.Sweeps);
        Assert.Equal(("demo", 5, 1, SweepState.Running), (sweep.Name, sweep.Jobs, sweep.JobsDone, sweep.State));
        Assert.Equal("u1", Assert.Single(view.Units).UnitId);
        Assert.Equal(1, view.QueuedUnits);
        Assert.Equal(3, sweep.JobsRunning); // b, c, d: a is done
        Assert.Empty(_state.TakeMissingSweeps());
    }

    [Fact]
    public void AUnitThatCompletedStaysEndedWhenAnOlderSeedArrives()
    {
        Apply(1, new UnitAssigned("s1", "u1", Device, "attempt", 4));
        Apply(2, new UnitCompleted("s1", "u1", Device));
        _state.Seed(Seed(u1: UnitState.Running), At(3));

        DashboardView view = _state.View(At(3));
        Assert.Empty(view.Units);
        Assert.Equal(1, view.QueuedUnits);
    }

    [Fact]
    public void ANewUnitOfAReadSweepIsAskedForAndSeededOnItsOwn()
    {
        _state.Seed(Seed(), T0);
        Apply(1, new UnitAssigned("s1", "u1-part", Device, "attempt", 2));
        Assert.Equal(new[] { "u1-part" }, _state.TakeMissingUnits());
        Assert.Equal(2, Assert.Single(_state.View(At(1)).Units).Jobs);

        var part = U1 with { UnitId = "u1-part", Variants = [U1.Variants[0]] };
        _state.Seed(Unit(part, UnitState.Assigned, Device), At(2));
        Apply(3, new UnitProgressed("s1", "u1-part", Device, 120, 200, Losses(5, 5)[..1]));

        DashboardView view = _state.View(At(3));
        Assert.Equal(new[] { "a", "b" }, view.Jobs.Where(j => j.UnitId == "u1-part").Select(j => j.JobId));
        Assert.Equal(100, view.Jobs.Single(j => j.JobId == "a").Step);
    }

    [Fact]
    public void SnapshotsAreKeptPerJobAndOnlyANewerOneReplacesThem()
    {
        _state.Seed(Seed(), T0);
        Apply(1, new UnitAssigned("s1", "u1", Device, "attempt", 4));
        Apply(2, new SnapshotStored("s1", "u1", "v0", ["a", "b"], 100, "blob-100"));
        Apply(3, new SnapshotStored("s1", "u1", "v0", ["b"], 150, "blob-150"));
        _state.Apply(new SnapshotStored("s1", "u1", "v0", ["b"], 50, "blob-50"), At(4)); // a rerun from a checkpoint sends it again

        DashboardView view = _state.View(At(4));
        Assert.Equal((100, "blob-100"), (view.Jobs.Single(j => j.JobId == "a").SnapshotStep, view.Jobs.Single(j => j.JobId == "a").SnapshotBlob));
        Assert.Equal((150, "blob-150"), (view.Jobs.Single(j => j.JobId == "b").SnapshotStep, view.Jobs.Single(j => j.JobId == "b").SnapshotBlob));
        Assert.Null(view.Jobs.Single(j => j.JobId == "c").SnapshotBlob);
    }

    [Fact]
    public void ACancelledSweepCancelsItsRemainingJobsAndFreesItsUnits()
    {
        _state.Seed(Seed(), T0);
        Apply(1, new UnitAssigned("s1", "u1", Device, "attempt", 4), new JobRecorded("s1", "a", Device));
        Apply(2, new SweepEnded("s1", SweepState.Cancelled));

        DashboardView view = _state.View(At(2));
        DashboardSweep sweep = Assert.Single(view.Sweeps);
        Assert.Equal((SweepState.Cancelled, 1, 4, 0, 0), (sweep.State, sweep.JobsDone, sweep.JobsCancelled, sweep.JobsRunning, sweep.JobsQueued));
        Assert.True(sweep.IsFinished);
        Assert.Equal(At(2), sweep.EndedAt);
        Assert.Null(sweep.EtaSeconds);
        Assert.Empty(view.Units);
        Assert.Equal(0, view.QueuedUnits);
        // Late reports of the cancelled sweep change nothing.
        Assert.False(_state.Apply(new UnitProgressed("s1", "u1", Device, 10, 200, Losses(1, 1)), At(3)));
    }

    [Fact]
    public void DevicesShowTheNodesViewWithTheLatestProgressOfTheirUnit()
    {
        _state.Seed(Seed(), T0);
        Apply(1, new UnitAssigned("s1", "u1", Device, "attempt", 4), new NodeChanged(NodeA(unitId: "u1", step: 0)));
        Apply(2, new UnitProgressed("s1", "u1", Device, 40, 200, Losses(3, 3)));
        Apply(4, new UnitProgressed("s1", "u1", Device, 80, 200, Losses(2, 2)));

        DashboardDevice device = _state.View(At(4)).Nodes[0].Devices[0];
        Assert.Equal(("running", "u1", 80, 0.7 * 40 + 0.3 * 20, 2.0), (device.State, device.UnitId, device.Step, device.StepsPerSecond, device.Losses!.Total));

        Apply(5, new UnitCompleted("s1", "u1", Device), new NodeChanged(NodeA()));
        device = _state.View(At(5)).Nodes[0].Devices[0];
        Assert.Equal(("idle", (string?)null, 0, 0.0), (device.State, device.UnitId, device.Step, device.StepsPerSecond));

        Apply(6, new NodeChanged(NodeA(state: "gone") with { Devices = [NodeA().Devices[0] with { State = "gone" }] }));
        Assert.Equal("gone", Assert.Single(_state.View(At(6)).Nodes).State);
    }

    [Fact]
    public void ASweepNotYetReadFromTheStoreHasNoEtaRatherThanZero()
    {
        var state = new DashboardState(new DashboardLimits());
        state.Apply(new SweepQueued("fresh", "just submitted"), At(1));

        DashboardSweep sweep = Assert.Single(state.View(At(2)).Sweeps);
        Assert.Equal(0, sweep.Jobs); // its jobs are unknown until the store is read
        Assert.Null(sweep.EtaSeconds);
    }

    [Fact]
    public void EndedSweepsAreKeptUpToTheLimitNewestFirst()
    {
        var state = new DashboardState(new DashboardLimits { EndedSweeps = 2 });
        for (int i = 1; i <= 3; i++) state.Apply(new SweepEnded($"x{i}", SweepState.Done), At(i));
        state.Apply(new SweepQueued("live", "running one"), At(4));

        Assert.Equal(new[] { "live", "x3", "x2" }, state.View(At(5)).Sweeps.Select(s => s.Id));
    }
}

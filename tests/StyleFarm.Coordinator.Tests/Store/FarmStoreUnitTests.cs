using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Store;

public sealed class FarmStoreUnitTests : IDisposable
{
    private readonly DataFolder _data = new();
    private readonly FarmStore _store;

    public FarmStoreUnitTests() => _store = _data.OpenStore();

    public void Dispose()
    {
        _store.Dispose();
        _data.Dispose();
    }

    [Fact]
    public void A_unit_goes_assigned_running_checkpointed_done_and_finishes_its_sweep()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10);
        _store.CreateSweep(Farm.Sweep("s1", jobs, perUnit: 2));

        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cuda:0")!;
        Assert.Equal((UnitState.Assigned, attempt), (_store.GetUnit("s1-u0")!.State, _store.GetUnit("s1-u0")!.AttemptId));
        Assert.Equal(SweepState.Running, _store.GetSweep("s1")!.State);
        Assert.Null(_store.AssignUnit("s1-u0", "node-b", "node-b/cpu"));

        Assert.True(_store.MarkUnitRunning("s1-u0", attempt));
        Assert.Equal(JobState.Running, _store.GetJob(jobs[0].JobId)!.State);
        Assert.True(_store.SaveCheckpoint("s1-u0", Farm.Hash("c50"), 50));
        Assert.False(_store.SaveCheckpoint("s1-u0", Farm.Hash("c25"), 25));
        Assert.Equal(new ResumePoint(Farm.Hash("c50"), 50), _store.GetUnit("s1-u0")!.Checkpoint);

        foreach (JobSettings job in jobs) _store.RecordJobResult(Farm.Result("s1-u0", attempt, job.JobId, "node-a/cuda:0"));
        UnitChange change = _store.CompleteUnit("s1-u0", attempt)!;

        Assert.Equal(new UnitChange(UnitState.Done, SweepState.Done), change);
        AttemptRecord record = Assert.Single(_store.AttemptsOfUnit("s1-u0"));
        Assert.Equal(("node-a", "node-a/cuda:0", AttemptOutcome.Done), (record.Node, record.Device, record.Outcome));
        Assert.NotNull(record.FinishedAt);
        Assert.NotNull(_store.GetSweep("s1")!.FinishedAt);
    }

    [Fact]
    public void A_handed_back_unit_is_requeued_with_its_checkpoint_and_no_failure()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1)));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.MarkUnitRunning("s1-u0", attempt);

        Assert.True(_store.RequeueUnit("s1-u0", attempt, "drain", new ResumePoint(Farm.Hash("c70"), 70)));
        Assert.False(_store.RequeueUnit("s1-u0", attempt, "drain again"));

        UnitRecord unit = _store.GetUnit("s1-u0")!;
        Assert.Equal((UnitState.Queued, 0, 1), (unit.State, unit.Failures, unit.Attempts));
        Assert.Equal(70, unit.Checkpoint!.Step);
        Assert.Null(unit.AttemptId);
        Assert.Equal(JobState.Queued, _store.GetJob(Farm.Job(1).JobId)!.State);
        Assert.Equal(("drain", AttemptOutcome.Requeued), (_store.GetAttempt(attempt)!.Reason, _store.GetAttempt(attempt)!.Outcome));
    }

    [Fact]
    public void A_lost_nodes_units_are_requeued_and_reports_from_its_old_attempts_change_nothing()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10, 100)));
        string lostA = _store.AssignUnit("s1-u0", "node-a", "node-a/cuda:0")!;
        string lostB = _store.AssignUnit("s1-u1", "node-a", "node-a/cuda:1")!;
        _store.AssignUnit("s1-u2", "node-b", "node-b/cpu");

        IReadOnlyList<UnitRecord> requeued = _store.RequeueUnitsOfNode("node-a", "node unreachable");

        Assert.Equal(["s1-u0", "s1-u1"], requeued.Select(u => u.UnitId).Order());
        Assert.All(requeued, u => Assert.Equal(UnitState.Queued, u.State));
        Assert.Equal(UnitState.Assigned, _store.GetUnit("s1-u2")!.State);
        string again = _store.AssignUnit("s1-u0", "node-b", "node-b/cuda:0")!;
        Assert.False(_store.MarkUnitRunning("s1-u0", lostA));
        Assert.Equal(UnitState.Assigned, _store.FailUnit("s1-u0", lostA, "late failure")!.Unit);
        Assert.False(_store.RequeueUnit("s1-u0", lostA, "late hand-back"));
        Assert.Equal(again, _store.GetUnit("s1-u0")!.AttemptId);
        Assert.Equal(UnitState.Queued, _store.GetUnit("s1-u1")!.State);
        Assert.Equal(AttemptOutcome.Requeued, _store.GetAttempt(lostB)!.Outcome);
    }

    [Fact]
    public void A_unit_finished_by_an_attempt_written_off_still_counts_and_stops_the_new_one()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1)));
        string first = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.RequeueUnitsOfNode("node-a", "node unreachable");
        string second = _store.AssignUnit("s1-u0", "node-b", "node-b/cpu")!;

        _store.RecordJobResult(Farm.Result("s1-u0", first, Farm.Job(1).JobId));
        UnitChange change = _store.CompleteUnit("s1-u0", first)!;

        Assert.Equal(new UnitChange(UnitState.Done, SweepState.Done), change);
        Assert.Equal(AttemptOutcome.Done, _store.GetAttempt(first)!.Outcome);
        Assert.Equal(AttemptOutcome.Cancelled, _store.GetAttempt(second)!.Outcome);
        Assert.Equal("node-a", _store.GetUnit("s1-u0")!.Node);
    }

    [Fact]
    public void A_failing_unit_is_retried_up_to_the_sweeps_retries_then_fails_with_its_reason()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10);
        _store.CreateSweep(Farm.Sweep("s1", jobs, perUnit: 2, retries: 2));

        UnitChange? change = null;
        for (int run = 0; run < 3; run++)
        {
            string attempt = _store.AssignUnit("s1-u0", $"node-{run}", $"node-{run}/cpu")!;
            _store.MarkUnitRunning("s1-u0", attempt);
            change = _store.FailUnit("s1-u0", attempt, $"NaN loss at step {run}");
            if (run < 2) Assert.Equal(new UnitChange(UnitState.Queued, SweepState.Running), change);
        }

        Assert.Equal(new UnitChange(UnitState.Failed, SweepState.Failed), change);
        UnitRecord unit = _store.GetUnit("s1-u0")!;
        Assert.Equal((3, 3, "NaN loss at step 2"), (unit.Failures, unit.Attempts, unit.FailureReason));
        Assert.Equal(["node-0", "node-1", "node-2"], unit.FailedOn);
        Assert.All(jobs, j => Assert.Equal((JobState.Failed, "NaN loss at step 2"),
            (_store.GetJob(j.JobId)!.State, _store.GetJob(j.JobId)!.FailureReason)));
        Assert.Equal(["NaN loss at step 0", "NaN loss at step 1", "NaN loss at step 2"], _store.Failures("s1").Select(f => f.Reason));
        Assert.Equal([1, 1, 1], _store.AttemptsByNode("s1").Select(n => n.Failed));
    }

    [Fact]
    public void Completing_a_unit_fails_the_jobs_it_never_reported()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10);
        _store.CreateSweep(Farm.Sweep("s1", jobs, perUnit: 2));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.RecordJobResult(Farm.Result("s1-u0", attempt, jobs[0].JobId));

        Assert.Equal(new UnitChange(UnitState.Done, SweepState.Failed), _store.CompleteUnit("s1-u0", attempt));

        Assert.Equal(JobState.Done, _store.GetJob(jobs[0].JobId)!.State);
        Assert.Equal(JobState.Failed, _store.GetJob(jobs[1].JobId)!.State);
        Assert.Null(_store.CompleteUnit("nope", attempt));
    }

    [Fact]
    public void Startup_recovery_requeues_running_units_from_their_checkpoint_and_keeps_done_ones()
    {
        using (FarmStore before = new(_data.Path + "/farm2"))
        {
            before.CreateSweep(Farm.Sweep("low", Farm.Jobs(1), priority: 10));
            before.CreateSweep(Farm.Sweep("high", Farm.Jobs(10, 100, 1000), priority: 90));
            Farm.RunToEnd(before, "high-u0");
            string attempt = before.AssignUnit("high-u1", "node-a", "node-a/cpu")!;
            before.MarkUnitRunning("high-u1", attempt);
            before.SaveCheckpoint("high-u1", Farm.Hash("c30"), 30);
            before.AssignUnit("low-u0", "node-b", "node-b/cpu");
            before.CreateSweep(Farm.Sweep("over", Farm.Jobs(5)));
            Farm.RunToEnd(before, "over-u0");
        }

        using FarmStore after = new(_data.Path + "/farm2");
        IReadOnlyList<UnfinishedSweep> unfinished = after.RecoverOnStartup();

        Assert.Equal(["high", "low"], unfinished.Select(s => s.Sweep.Id));
        UnfinishedSweep high = unfinished[0];
        Assert.Equal(["high-u1", "high-u2"], high.Units.Select(u => u.UnitId));
        UnitRecord resumed = high.Units[0];
        Assert.Equal((UnitState.Queued, 30, null), (resumed.State, resumed.Checkpoint!.Step, resumed.AttemptId));
        Assert.Null(high.Units[1].Checkpoint);
        Assert.Equal(UnitState.Done, after.GetUnit("high-u0")!.State);
        Assert.Equal(JobState.Done, after.GetJob(Farm.Job(10).JobId)!.State);
        Assert.Equal(JobState.Queued, after.GetJob(Farm.Job(100).JobId)!.State);
        Assert.Equal(["low-u0"], unfinished[1].Units.Select(u => u.UnitId));
        Assert.All(after.AttemptsByNode(), n => Assert.Equal(0, n.Open));
        Assert.Equal("coordinator restarted", after.AttemptsOfUnit("high-u1").Single().Reason);
    }

    [Fact]
    public void A_split_unit_is_replaced_by_parts_that_keep_its_place_and_failures()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10, 100);
        _store.CreateSweep(Farm.Sweep("s1", jobs, perUnit: 2, retries: 3));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.FailUnit("s1-u0", attempt, "out of memory");
        WorkUnit[] parts = [Farm.Unit("s1-u0a", "s1", 50, [jobs[0]]), Farm.Unit("s1-u0b", "s1", 50, [jobs[1]])];

        Assert.Throws<ArgumentException>(() => _store.SplitUnit("s1-u0", parts[..1]));
        Assert.True(_store.SplitUnit("s1-u0", parts));
        Assert.False(_store.SplitUnit("s1-u0", parts));

        Assert.Equal(["s1-u0", "s1-u0a", "s1-u0b", "s1-u1"], _store.UnitsOfSweep("s1").Select(u => u.UnitId));
        Assert.Equal(UnitState.Split, _store.GetUnit("s1-u0")!.State);
        Assert.Equal((UnitState.Queued, 1), (_store.GetUnit("s1-u0a")!.State, _store.GetUnit("s1-u0a")!.Failures));
        Farm.RunToEnd(_store, "s1-u0a");
        Farm.RunToEnd(_store, "s1-u0b");
        Farm.RunToEnd(_store, "s1-u1");
        Assert.Equal(SweepState.Done, _store.GetSweep("s1")!.State);
    }
}

using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Store;

public sealed class FarmStoreJobTests : IDisposable
{
    private readonly DataFolder _data = new();
    private readonly FarmStore _store;

    public FarmStoreJobTests() => _store = _data.OpenStore();

    public void Dispose()
    {
        _store.Dispose();
        _data.Dispose();
    }

    [Fact]
    public void A_result_is_recorded_once_and_every_later_report_is_a_duplicate()
    {
        JobSettings job = Farm.Job(1);
        _store.CreateSweep(Farm.Sweep("s1", [job]));
        string first = _store.AssignUnit("s1-u0", "node-a", "node-a/cuda:0")!;
        _store.RequeueUnitsOfNode("node-a", "node unreachable");
        string second = _store.AssignUnit("s1-u0", "node-b", "node-b/cpu")!;

        RecordOutcome[] outcomes = new RecordOutcome[8];
        Parallel.For(0, outcomes.Length, i => outcomes[i] = _store.RecordJobResult(
            Farm.Result("s1-u0", i % 2 == 0 ? first : second, job.JobId, i % 2 == 0 ? "node-a/cuda:0" : "node-b/cpu", image: $"run{i}")));

        Assert.Equal(1, outcomes.Count(o => o == RecordOutcome.Recorded));
        Assert.Equal(7, outcomes.Count(o => o == RecordOutcome.Duplicate));
        JobRecord stored = _store.GetJob(job.JobId)!;
        int winner = Array.IndexOf(outcomes, RecordOutcome.Recorded);
        Assert.Equal(Farm.Hash($"run{winner}" + job.JobId), stored.ResultBlob);
        Assert.Equal(winner % 2 == 0 ? "node-a" : "node-b", stored.Node);
        Assert.Equal(RecordOutcome.Duplicate, _store.RecordJobResult(Farm.Result("s1-u0", second, job.JobId)));
        Assert.Equal(RecordOutcome.UnknownJob, _store.RecordJobResult(Farm.Result("s1-u0", second, Farm.Job(42).JobId)));
    }

    [Fact]
    public void A_unit_end_records_its_results_and_completes_the_unit_in_one_write()
    {
        JobSettings[] jobs = Farm.Jobs(1, 2);
        _store.CreateSweep(Farm.Sweep("s1", jobs, perUnit: 2));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.RecordJobResult(Farm.Result("s1-u0", attempt, jobs[0].JobId));

        UnitDoneOutcome outcome = _store.RecordUnitDone("s1-u0", attempt,
            [Farm.Result("s1-u0", attempt, jobs[0].JobId), Farm.Result("s1-u0", attempt, jobs[1].JobId)], complete: true);

        Assert.Equal([RecordOutcome.Duplicate, RecordOutcome.Recorded], outcome.Outcomes);
        Assert.Equal("s1", outcome.SweepId);
        Assert.Equal(new UnitChange(UnitState.Done, SweepState.Done), outcome.Change);
        Assert.All(jobs, j => Assert.Equal(JobState.Done, _store.GetJob(j.JobId)!.State));
        Assert.Equal(UnitState.Done, _store.GetUnit("s1-u0")!.State);
    }

    [Fact]
    public void A_unit_end_with_a_malformed_result_stores_nothing_of_it()
    {
        JobSettings[] jobs = Farm.Jobs(1, 2);
        _store.CreateSweep(Farm.Sweep("s1", jobs, perUnit: 2));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        JobResult bad = Farm.Result("s1-u0", attempt, jobs[1].JobId) with { TraceBlob = "../not-a-hash" };

        Assert.ThrowsAny<ArgumentException>(() => _store.RecordUnitDone("s1-u0", attempt,
            [Farm.Result("s1-u0", attempt, jobs[0].JobId), bad], complete: true));

        Assert.All(jobs, j => Assert.NotEqual(JobState.Done, _store.GetJob(j.JobId)!.State));
        Assert.Equal(UnitState.Assigned, _store.GetUnit("s1-u0")!.State);
    }

    [Fact]
    public void A_result_keeps_its_losses_timings_and_device()
    {
        JobSettings job = Farm.Job(1);
        _store.CreateSweep(Farm.Sweep("s1", [job]));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cuda:1")!;

        _store.RecordJobResult(Farm.Result("s1-u0", attempt, job.JobId, "node-a/cuda:1"));

        JobRecord stored = _store.GetJob(job.JobId)!;
        Assert.Equal(JobState.Done, stored.State);
        Assert.Equal((1.5, 0.5, 1.0), (stored.FinalLosses!.Total, stored.FinalLosses.Content, stored.FinalLosses.Style));
        Assert.True(double.IsNaN(stored.FinalLosses.Tv));
        Assert.Equal(("node-a", "node-a/cuda:1"), (stored.Node, stored.Device));
        Assert.Equal((1.75, 2), (stored.EngineSeconds, stored.BatchSize));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddSeconds(12), stored.FinishedAt);
        Assert.Equal(Farm.Hash("trace" + job.JobId), stored.TraceBlob);
    }

    [Fact]
    public void A_late_result_turns_a_sweep_that_failed_for_want_of_it_into_done()
    {
        JobSettings job = Farm.Job(1);
        _store.CreateSweep(Farm.Sweep("s1", [job], retries: 0));
        string lost = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.RequeueUnitsOfNode("node-a", "node unreachable");
        string retry = _store.AssignUnit("s1-u0", "node-b", "node-b/cpu")!;
        _store.FailUnit("s1-u0", retry, "device lost");
        Assert.Equal(SweepState.Failed, _store.GetSweep("s1")!.State);

        Assert.Equal(RecordOutcome.Recorded, _store.RecordJobResult(Farm.Result("s1-u0", lost, job.JobId)));

        Assert.Equal(SweepState.Done, _store.GetSweep("s1")!.State);
    }

    [Fact]
    public void A_late_result_in_the_same_batch_as_the_failure_still_turns_the_sweep_into_done()
    {
        JobSettings job = Farm.Job(1), other = Farm.Job(2);
        _store.CreateSweep(Farm.Sweep("s1", [job], retries: 0));
        _store.CreateSweep(Farm.Sweep("s2", [other]));
        string lost = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.RequeueUnitsOfNode("node-a", "node unreachable");
        string retry = _store.AssignUnit("s1-u0", "node-b", "node-b/cpu")!;
        string elsewhere = _store.AssignUnit("s2-u0", "node-c", "node-c/cpu")!;

        _store.Batch(() =>
        {
            // A result first, while no sweep has failed yet; then s1 fails and its lost attempt's result comes in.
            Assert.Equal(RecordOutcome.Recorded, _store.RecordJobResult(Farm.Result("s2-u0", elsewhere, other.JobId)));
            _store.FailUnit("s1-u0", retry, "device lost");
            Assert.Equal(SweepState.Failed, _store.GetSweep("s1")!.State);
            Assert.Equal(RecordOutcome.Recorded, _store.RecordJobResult(Farm.Result("s1-u0", lost, job.JobId)));
        });

        Assert.Equal(SweepState.Done, _store.GetSweep("s1")!.State);
    }

    [Fact]
    public void An_assignment_and_its_end_written_as_one_leave_what_the_two_writes_would()
    {
        JobSettings[] jobs = Farm.Jobs(1, 2);
        _store.CreateSweep(Farm.Sweep("s1", jobs));
        string attempt = FarmStore.NewAttemptId();
        var assignedAt = DateTimeOffset.UtcNow.AddSeconds(-2);

        UnitDoneOutcome done = _store.AssignAndRecordUnitDone(new UnitEndToFold("s1-u0", "node-a", "node-a/cpu", attempt, assignedAt,
            [Farm.Result("s1-u0", attempt, jobs[0].JobId, "node-a/cpu")]));

        Assert.Equal((RecordOutcome.Recorded, "s1", new UnitChange(UnitState.Done, SweepState.Running)),
            (Assert.Single(done.Outcomes), done.SweepId, done.Change));
        UnitRecord unit = _store.GetUnit("s1-u0")!;
        Assert.Equal((UnitState.Done, 1, "node-a", "node-a/cpu", (string?)null), (unit.State, unit.Attempts, unit.Node, unit.Device, unit.AttemptId));
        AttemptRecord stored = _store.GetAttempt(attempt)!;
        Assert.Equal((AttemptOutcome.Done, "node-a", "node-a/cpu", "s1"), (stored.Outcome, stored.Node, stored.Device, stored.SweepId));
        Assert.Equal(assignedAt.ToUnixTimeMilliseconds(), stored.StartedAt.ToUnixTimeMilliseconds());
        Assert.True(stored.FinishedAt >= stored.StartedAt);
        Assert.Equal(("node-a", JobState.Done), (_store.GetJob(jobs[0].JobId)!.Node, _store.GetJob(jobs[0].JobId)!.State));
        Assert.Equal(SweepState.Running, _store.GetSweep("s1")!.State);

        // The last unit so written settles the sweep.
        string last = FarmStore.NewAttemptId();
        UnitDoneOutcome end = _store.AssignAndRecordUnitDone(new UnitEndToFold("s1-u1", "node-b", "node-b/cpu", last, DateTimeOffset.UtcNow,
            [Farm.Result("s1-u1", last, jobs[1].JobId, "node-b/cpu")]));
        Assert.Equal(new UnitChange(UnitState.Done, SweepState.Done), end.Change);
    }

    [Fact]
    public void An_assignment_and_end_of_a_unit_no_longer_queued_still_record_its_results()
    {
        JobSettings[] jobs = Farm.Jobs(1, 2);
        _store.CreateSweep(Farm.Sweep("s1", jobs));
        string elsewhere = _store.AssignUnit("s1-u0", "node-b", "node-b/cpu")!; // behind the dispatcher's back
        string attempt = FarmStore.NewAttemptId();

        UnitDoneOutcome done = _store.AssignAndRecordUnitDone(new UnitEndToFold("s1-u0", "node-a", "node-a/cpu", attempt, DateTimeOffset.UtcNow,
            [Farm.Result("s1-u0", attempt, jobs[0].JobId, "node-a/cpu")]));

        Assert.Equal(RecordOutcome.Recorded, Assert.Single(done.Outcomes));
        Assert.Equal(JobState.Done, _store.GetJob(jobs[0].JobId)!.State);
        Assert.Null(_store.GetAttempt(attempt)); // never stored as an attempt: the unit was not there to take
        // As RecordUnitDone from an attempt the store never saw: the unit is complete, the other attempt cancelled.
        Assert.Equal(UnitState.Done, _store.GetUnit("s1-u0")!.State);
        Assert.Equal(AttemptOutcome.Cancelled, _store.GetAttempt(elsewhere)!.Outcome);
    }

    [Fact]
    public void A_variant_snapshot_goes_to_every_job_of_the_variant_that_runs_that_far_once()
    {
        JobSettings short_ = Farm.Job(1, steps: 100);
        JobSettings long_ = Farm.Job(1, steps: 300);
        WorkUnit unit = new("s1-u0", "s1", 50, long_,
        [
            new UnitVariant("v0", 1, 1, 0, 0.03, long_.StyleLayers, [new JobAtStep(short_.JobId, 100), new JobAtStep(long_.JobId, 300)]),
        ]);
        NewSweep sweep = Farm.Sweep("s1", [short_, long_]) with { Units = [unit] };
        _store.CreateSweep(sweep);

        Assert.Equal(2, _store.AddSnapshot("s1-u0", "v0", 100, Farm.Hash("snap100")));
        Assert.Equal(1, _store.AddSnapshot("s1-u0", "v0", 200, Farm.Hash("snap200")));
        Assert.Equal(0, _store.AddSnapshot("s1-u0", "v0", 200, Farm.Hash("snap200 again")));
        Assert.Equal(0, _store.AddSnapshot("s1-u0", "v9", 100, Farm.Hash("unknown variant")));

        Assert.Equal([100], _store.Snapshots(short_.JobId).Select(s => s.Step));
        Assert.Equal([(100, Farm.Hash("snap100")), (200, Farm.Hash("snap200"))],
            _store.Snapshots(long_.JobId).Select(s => (s.Step, s.Blob)));
    }

    [Fact]
    public void Blob_names_that_are_not_hashes_are_refused()
    {
        _store.CreateSweep(Farm.Sweep("s1", [Farm.Job(1)]));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        JobResult good = Farm.Result("s1-u0", attempt, Farm.Job(1).JobId);

        Assert.Throws<ArgumentException>(() => _store.RecordJobResult(good with { ImageBlob = "../../etc/passwd" }));
        Assert.Throws<ArgumentException>(() => _store.RecordJobResult(good with { TraceBlob = good.TraceBlob.ToUpperInvariant() }));
        Assert.Throws<ArgumentException>(() => _store.SaveCheckpoint("s1-u0", "abc", 10));
        Assert.Throws<ArgumentException>(() => _store.AddSnapshot("s1-u0", "v0", 10, new string('g', 64)));
        Assert.Equal(JobState.Queued, _store.GetJob(Farm.Job(1).JobId)!.State);
    }
}

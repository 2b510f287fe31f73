using Microsoft.Data.Sqlite;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Store;

public sealed class FarmStoreSweepTests : IDisposable
{
    private readonly DataFolder _data = new();
    private readonly FarmStore _store;

    public FarmStoreSweepTests() => _store = _data.OpenStore();

    public void Dispose()
    {
        _store.Dispose();
        _data.Dispose();
    }

    [Fact]
    public void The_dashboard_s_seed_reads_job_states_running_plans_and_queued_unit_sizes()
    {
        JobSettings[] jobs = Enumerable.Range(0, 10).Select(i => Farm.Job(1 + i)).ToArray();
        NewSweep sweep = Farm.Sweep("s1", jobs, perUnit: 4); // units of 4, 4 and 2 jobs
        _store.CreateSweep(sweep);
        string attempt = _store.AssignUnit("s1-u1", "node-a", "node-a/cpu")!;
        Farm.RunToEnd(_store, "s1-u0");

        Assert.Equal(jobs.ToDictionary(j => j.JobId, j => sweep.Units[0].Jobs.Any(u => u.JobId == j.JobId) ? JobState.Done : JobState.Queued),
            _store.SweepJobStates("s1"));
        UnitRecord running = Assert.Single(_store.RunningUnitsOfSweep("s1"));
        Assert.Equal(("s1-u1", attempt), (running.UnitId, running.AttemptId));
        Assert.Equal(sweep.Units[1].Jobs, running.Unit.Jobs);
        Assert.Equal([new QueuedUnitSize("s1-u2", 2, 0)], _store.QueuedUnitSizes("s1"));
    }

    [Fact]
    public void A_sweep_is_stored_with_its_jobs_units_and_labels()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10, 100);
        SweepRecord sweep = _store.CreateSweep(Farm.Sweep("s1", jobs, perUnit: 2, priority: 70, retries: 2));

        Assert.Equal(SweepState.Queued, sweep.State);
        Assert.Equal((70, 2), (sweep.Priority, sweep.Retries));
        Assert.Equal("name: s1\n", sweep.FileText);
        IReadOnlyList<SweepJobRecord> stored = _store.SweepJobs("s1");
        Assert.Equal(jobs.Select(j => j.JobId), stored.Select(j => j.Job.Id));
        Assert.Equal(jobs[1], stored[1].Job.Settings);
        Assert.Equal("10", stored[1].SweptValues["style_weight"]);
        Assert.All(stored, j => Assert.Equal(JobState.Queued, j.Job.State));
        IReadOnlyList<UnitRecord> units = _store.UnitsOfSweep("s1");
        Assert.Equal(["s1-u0", "s1-u1"], units.Select(u => u.UnitId));
        Assert.Equal([jobs[0].JobId, jobs[1].JobId], units[0].Unit.Jobs.Select(j => j.JobId));
        Assert.Equal(jobs[0], units[0].Unit.Shared);
    }

    [Fact]
    public void Two_combinations_with_the_same_settings_are_one_job_labelled_by_the_first()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10);
        NewSweep sweep = Farm.Sweep("s1", jobs);
        var again = new NewSweepJob(jobs[0], new Dictionary<string, string> { ["style_weight"] = "1.0", ["ratio"] = "x" });
        sweep = sweep with { Jobs = [sweep.Jobs[0], sweep.Jobs[1], again] };

        _store.CreateSweep(sweep);

        IReadOnlyList<SweepJobRecord> stored = _store.SweepJobs("s1");
        Assert.Equal([jobs[0].JobId, jobs[1].JobId], stored.Select(j => j.Job.Id));
        Assert.Equal(sweep.Jobs[0].SweptValues.OrderBy(p => p.Key), stored[0].SweptValues.OrderBy(p => p.Key));
        Assert.Equal(jobs[0], stored[0].Job.Settings);
    }

    [Fact]
    public void A_new_sweep_s_units_load_from_the_plans_in_hand_once_and_from_the_store_after_or_when_they_changed()
    {
        NewSweep first = Farm.Sweep("s1", Farm.Jobs(1, 10, 100));
        NewSweep second = Farm.Sweep("s2", Farm.Jobs(2, 20, 200));
        _store.CreateSweep(first);
        _store.CreateSweep(second);
        string attempt = _store.AssignUnit("s2-u1", "node-a", "node-a/cpu")!; // s2 changed before it was loaded

        IReadOnlyList<UnitRecord> loaded = _store.QueuedUnitsToLoad("s1");
        Assert.Equal(first.Units, loaded.Select(u => u.Unit)); // the very plans the sweep was created with
        Assert.All(loaded, u => Assert.Equal((UnitState.Queued, 0, 0, (ResumePoint?)null), (u.State, u.Attempts, u.Failures, u.Checkpoint)));
        IReadOnlyList<UnitRecord> again = _store.QueuedUnitsToLoad("s1"); // read back from the store this time
        Assert.Equal(first.Units.Select(u => u.UnitId), again.Select(u => u.UnitId));
        Assert.All(again, u => Assert.NotSame(first.Units.Single(p => p.UnitId == u.UnitId), u.Unit));

        IReadOnlyList<UnitRecord> changed = _store.QueuedUnitsToLoad("s2");
        Assert.Equal(["s2-u0", "s2-u2"], changed.Select(u => u.UnitId));
        Assert.NotNull(attempt);
    }

    [Fact]
    public void A_sweep_that_fails_before_commit_leaves_nothing()
    {
        _store.BeforeCommit = () => throw new InvalidOperationException("injected");

        Assert.Throws<InvalidOperationException>(() => _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10, 100))));

        _store.BeforeCommit = null;
        AssertEmpty();
    }

    [Fact]
    public void A_sweep_refused_by_the_database_half_way_leaves_nothing()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1)));
        // The second sweep's jobs and first unit are written before its second unit collides with s1's unit id.
        NewSweep clash = Farm.Sweep("s2", Farm.Jobs(10, 100), perUnit: 1);
        clash = clash with { Units = [clash.Units[0], clash.Units[1] with { UnitId = "s1-u0" }] };

        Assert.Throws<SqliteException>(() => _store.CreateSweep(clash));

        Assert.Null(_store.GetSweep("s2"));
        Assert.Null(_store.GetJob(Farm.Job(10).JobId));
        Assert.Null(_store.GetUnit("s2-u0"));
        Assert.Single(_store.ListSweeps());
    }

    [Fact]
    public void Units_that_do_not_fit_the_sweep_are_refused_before_anything_is_written()
    {
        NewSweep sweep = Farm.Sweep("s1", Farm.Jobs(1, 10));
        NewSweep stranger = sweep with { Units = [Farm.Unit("u", "s1", 50, [Farm.Job(999)])] };
        NewSweep foreign = sweep with { Units = [sweep.Units[0] with { SweepId = "other" }] };

        Assert.Throws<ArgumentException>(() => _store.CreateSweep(stranger));
        Assert.Throws<ArgumentException>(() => _store.CreateSweep(foreign));
        AssertEmpty();
    }

    [Fact]
    public void A_completed_job_is_reused_by_a_later_sweep()
    {
        JobSettings[] first = Farm.Jobs(1, 10);
        _store.CreateSweep(Farm.Sweep("s1", first));
        Farm.RunToEnd(_store, "s1-u0");
        JobRecord done = _store.GetJob(first[0].JobId)!;

        JobSettings[] second = [first[0], Farm.Job(100)];
        IReadOnlyDictionary<string, JobRecord> reusable = _store.FindCompletedJobs(second.Select(j => j.JobId));
        _store.CreateSweep(Farm.Sweep("s2", second, skip: reusable.Keys));

        Assert.Equal([first[0].JobId], reusable.Keys);
        Assert.Equal(done, reusable[first[0].JobId] with { FinalLosses = done.FinalLosses });
        Assert.Equal([Farm.Job(100).JobId], _store.UnitsOfSweep("s2").SelectMany(u => u.Unit.Jobs).Select(j => j.JobId));
        JobRecord after = _store.GetJob(first[0].JobId)!;
        Assert.Equal((JobState.Done, done.ResultBlob), (after.State, after.ResultBlob));
        SweepProgress progress = _store.Progress("s2")!;
        Assert.Equal(1, progress.Jobs[JobState.Done]);
        Assert.Equal(1, progress.Jobs[JobState.Queued]);
    }

    [Fact]
    public void Resubmitting_a_finished_sweep_runs_nothing_and_is_done_at_once()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10);
        _store.CreateSweep(Farm.Sweep("s1", jobs));
        Farm.RunToEnd(_store, "s1-u0");
        Farm.RunToEnd(_store, "s1-u1");
        Assert.Equal(SweepState.Done, _store.GetSweep("s1")!.State);

        var done = _store.FindCompletedJobs(jobs.Select(j => j.JobId)).Keys;
        SweepRecord again = _store.CreateSweep(Farm.Sweep("s2", jobs, skip: done));

        Assert.Equal(SweepState.Done, again.State);
        Assert.NotNull(again.FinishedAt);
        Assert.Empty(_store.UnitsOfSweep("s2"));
    }

    [Fact]
    public void A_failed_job_is_queued_again_by_a_new_sweep()
    {
        JobSettings[] jobs = Farm.Jobs(1);
        _store.CreateSweep(Farm.Sweep("s1", jobs, retries: 0));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.FailUnit("s1-u0", attempt, "out of memory");
        Assert.Equal(JobState.Failed, _store.GetJob(jobs[0].JobId)!.State);

        _store.CreateSweep(Farm.Sweep("s2", jobs));

        JobRecord job = _store.GetJob(jobs[0].JobId)!;
        Assert.Equal(JobState.Queued, job.State);
        Assert.Null(job.FailureReason);
        Assert.Equal(SweepState.Failed, _store.GetSweep("s1")!.State);
    }

    [Fact]
    public void Pause_resume_and_cancel_move_the_sweep_and_its_work()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10, 100)));
        string attempt = _store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        _store.MarkUnitRunning("s1-u0", attempt);

        Assert.Equal(SweepState.Paused, _store.PauseSweep("s1"));
        Assert.Equal(SweepState.Paused, _store.PauseSweep("s1"));
        Assert.Null(_store.AssignUnit("s1-u1", "node-a", "node-a/cpu"));
        Assert.Equal(SweepState.Running, _store.ResumeSweep("s1"));
        Assert.Equal(SweepState.Running, _store.ResumeSweep("s1"));
        Assert.NotNull(_store.AssignUnit("s1-u1", "node-b", "node-b/cpu"));

        Assert.Equal(SweepState.Cancelled, _store.CancelSweep("s1"));

        Assert.NotNull(_store.GetSweep("s1")!.FinishedAt);
        Assert.All(_store.UnitsOfSweep("s1"), u => Assert.Equal(UnitState.Cancelled, u.State));
        Assert.All(_store.SweepJobs("s1"), j => Assert.Equal(JobState.Cancelled, j.Job.State));
        Assert.All(_store.AttemptsByNode("s1"), n => Assert.Equal((1, 0), (n.Cancelled, n.Open)));
        Assert.Equal(SweepState.Cancelled, _store.PauseSweep("s1"));
        Assert.Equal(SweepState.Cancelled, _store.ResumeSweep("s1"));
        Assert.Null(_store.CancelSweep("nope"));
    }

    [Fact]
    public void A_paused_sweep_never_started_resumes_as_queued_and_a_done_sweep_cannot_be_cancelled()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1)));
        _store.PauseSweep("s1");
        Assert.Equal(SweepState.Queued, _store.ResumeSweep("s1"));

        Farm.RunToEnd(_store, "s1-u0");

        Assert.Equal(SweepState.Done, _store.CancelSweep("s1"));
        Assert.Equal(JobState.Done, _store.GetJob(Farm.Job(1).JobId)!.State);
    }

    [Fact]
    public void Cancelling_a_sweep_leaves_jobs_another_unfinished_sweep_still_wants()
    {
        JobSettings[] shared = Farm.Jobs(1);
        _store.CreateSweep(Farm.Sweep("s1", shared));
        _store.CreateSweep(Farm.Sweep("s2", shared));

        _store.CancelSweep("s1");

        Assert.Equal(JobState.Queued, _store.GetJob(shared[0].JobId)!.State);
        Assert.Equal(UnitState.Queued, _store.GetUnit("s2-u0")!.State);
    }

    [Fact]
    public void Progress_counts_jobs_and_units_by_state()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10, 100, 1000)));
        Farm.RunToEnd(_store, "s1-u0");
        string attempt = _store.AssignUnit("s1-u1", "node-a", "node-a/cpu")!;
        _store.MarkUnitRunning("s1-u1", attempt);

        SweepProgress progress = _store.Progress("s1")!;

        Assert.Equal(SweepState.Running, progress.State);
        Assert.Equal(4, progress.JobCount);
        Assert.Equal((1, 1, 2), (progress.Jobs[JobState.Done], progress.Jobs[JobState.Running], progress.Jobs[JobState.Queued]));
        Assert.Equal((1, 1, 2), (progress.Units[UnitState.Done], progress.Units[UnitState.Running], progress.Units[UnitState.Queued]));
        Assert.Equal(0, progress.Units[UnitState.Failed]);
        Assert.Null(_store.Progress("nope"));
    }

    private void AssertEmpty()
    {
        Assert.Empty(_store.ListSweeps());
        Assert.Empty(_store.FindCompletedJobs([Farm.Job(1).JobId]));
        using var db = Farm.Raw(_store.DatabasePath);
        foreach (string table in new[] { "sweeps", "jobs", "sweep_jobs", "units", "unit_jobs", "attempts" })
            Assert.Equal(0L, Farm.Scalar(db, $"SELECT COUNT(*) FROM {table}"));
    }
}

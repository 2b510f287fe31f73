using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Tests.Store;

/// <summary>The calls the dispatcher makes for every unit: cheap (found by index) and still exact.</summary>
public sealed class FarmStoreHotPathTests : IDisposable
{
    private readonly DataFolder _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public void The_dispatch_statements_find_their_rows_by_index_and_never_scan_a_table()
    {
        using (FarmStore setup = _data.OpenStore())
            setup.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10, 100, 1000, 10_000, 100_000)));
        using FarmStore store = _data.OpenStore();
        var opening = store.PreparedStatements().ToHashSet();

        string first = store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        store.MarkUnitRunning("s1-u0", first);
        store.SaveCheckpoint("s1-u0", Farm.Hash("checkpoint"), 10);
        store.RequeueUnit("s1-u0", first, "drain");
        string second = store.AssignUnit("s1-u0", "node-b", "node-b/cpu")!;
        store.RecordJobResult(Farm.Result("s1-u0", second, Farm.Job(1).JobId));
        store.CompleteUnit("s1-u0", second);
        string failing = store.AssignUnit("s1-u1", "node-a", "node-a/cpu")!;
        store.FailUnit("s1-u1", failing, "out of memory");
        store.AbandonUnit("s1-u2", "every node is blocked");
        string[] folded = [FarmStore.NewAttemptId(), FarmStore.NewAttemptId()];
        store.AssignAndRecordUnitsDone([.. new[] { 4, 5 }.Select((unit, i) => new UnitEndToFold($"s1-u{unit}", "node-a", $"node-a/d{i}",
            folded[i], DateTimeOffset.UtcNow, [Farm.Result($"s1-u{unit}", folded[i], Farm.Job(unit == 4 ? 10_000 : 100_000).JobId)]))]);

        var dispatch = store.PreparedStatements().Where(sql => !opening.Contains(sql)).ToList();
        Assert.NotEmpty(dispatch);
        Assert.All(dispatch, sql =>
        {
            // "SCAN json_each" (or jsonb_each) walks a parameter and "SCAN CONSTANT ROW" is a SELECT without FROM,
            // not a table; any other SCAN reads a whole table per call.
            var scans = store.QueryPlan(sql).Where(step => step.StartsWith("SCAN ", StringComparison.Ordinal) &&
                                                           !step.Contains("json_each") && !step.Contains("jsonb_each") &&
                                                           step != "SCAN CONSTANT ROW");
            Assert.True(!scans.Any(), $"{string.Join("; ", scans)} in: {sql}");
        });
    }

    [Fact]
    public void A_batch_that_completes_every_unit_of_a_sweep_settles_it_with_the_last_one()
    {
        using FarmStore store = _data.OpenStore();
        JobSettings[] jobs = Farm.Jobs(1, 10, 100);
        store.CreateSweep(Farm.Sweep("s1", jobs));
        string[] attempts = store.Batch(() => Enumerable.Range(0, 3).Select(i => store.AssignUnit($"s1-u{i}", "node-a", $"node-a/d{i}")!).ToArray());

        UnitChange[] changes = store.Batch(() => Enumerable.Range(0, 3).Select(i =>
        {
            store.RecordJobResult(Farm.Result($"s1-u{i}", attempts[i], jobs[i].JobId));
            UnitChange change = store.CompleteUnit($"s1-u{i}", attempts[i])!;
            // Inside the batch the store already answers with the settled state.
            Assert.Equal(change.Sweep, store.GetSweep("s1")!.State);
            return change;
        }).ToArray());

        Assert.Equal(
            [new UnitChange(UnitState.Done, SweepState.Running), new UnitChange(UnitState.Done, SweepState.Running),
             new UnitChange(UnitState.Done, SweepState.Done)],
            changes);
        SweepRecord sweep = store.GetSweep("s1")!;
        Assert.Equal(SweepState.Done, sweep.State);
        Assert.NotNull(sweep.FinishedAt);
        Assert.All(store.AttemptsOfUnit("s1-u2"), a => Assert.Equal(AttemptOutcome.Done, a.Outcome));
    }

    [Fact]
    public void Completing_a_unit_cancels_its_other_open_attempt_saying_which_one_finished_it()
    {
        using FarmStore store = _data.OpenStore();
        store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10)));
        string first = store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        store.RequeueUnitsOfNode("node-a", "node unreachable");
        string second = store.AssignUnit("s1-u0", "node-b", "node-b/cpu")!;

        Assert.Equal(new UnitChange(UnitState.Done, SweepState.Running), store.CompleteUnit("s1-u0", first));
        // A second report of the same end changes nothing.
        Assert.Equal(new UnitChange(UnitState.Done, SweepState.Running), store.CompleteUnit("s1-u0", second));

        AttemptRecord done = store.GetAttempt(first)!, cancelled = store.GetAttempt(second)!;
        Assert.Equal((AttemptOutcome.Done, (string?)null), (done.Outcome, done.Reason));
        Assert.Equal((AttemptOutcome.Cancelled, $"completed by attempt {first}"), (cancelled.Outcome, cancelled.Reason));
        Assert.NotNull(cancelled.FinishedAt);
        Assert.Equal(JobState.Failed, store.GetJob(Farm.Job(1).JobId)!.State); // finished without its result
        Assert.Equal(JobState.Queued, store.GetJob(Farm.Job(10).JobId)!.State);
    }
}

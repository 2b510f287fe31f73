using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Store;

/// <summary>
/// Many units' assignments and ends written as one (AssignAndRecordUnitsDone) leave the store as the same writes one
/// by one would, and give the same outcomes.
/// </summary>
public sealed class FarmStoreFoldedEndsTests : IDisposable
{
    private readonly DataFolder _together = new(), _oneByOne = new();
    private readonly FarmStore _set, _single;

    // s1: two units of two jobs; s2: two units of one job. Ids fixed, so the two stores can be compared row by row.
    private static readonly JobSettings[] S1Jobs = Farm.Jobs(1, 2, 3, 4), S2Jobs = Farm.Jobs(5, 6);
    private static readonly string[] Attempts = [FarmStore.NewAttemptId(), FarmStore.NewAttemptId(), FarmStore.NewAttemptId()];
    private static readonly DateTimeOffset AssignedAt = DateTimeOffset.UtcNow.AddSeconds(-5);

    public FarmStoreFoldedEndsTests()
    {
        _set = _together.OpenStore();
        _single = _oneByOne.OpenStore();
        foreach (FarmStore store in new[] { _set, _single })
        {
            store.CreateSweep(Farm.Sweep("s1", S1Jobs, perUnit: 2));
            store.CreateSweep(Farm.Sweep("s2", S2Jobs));
            // Job 2 already has a result, from an attempt this store never saw: its second report is a duplicate.
            store.RecordJobResult(Farm.Result("s1-u0", "elsewhere", S1Jobs[1].JobId, "node-z/cpu"));
        }
    }

    public void Dispose()
    {
        _set.Dispose();
        _single.Dispose();
        _together.Dispose();
        _oneByOne.Dispose();
    }

    /// <summary>
    /// s1-u0 answers both its jobs (one a duplicate); s2-u0 its job and an unknown one; s1-u1 only job 3, so job 4
    /// fails and s1, with no unit left, fails with it. s2 still has a queued unit.
    /// </summary>
    private static UnitEndToFold[] Ends() =>
    [
        End("s1-u0", "node-a", "node-a/cpu", Attempts[0], S1Jobs[0], S1Jobs[1]),
        End("s2-u0", "node-b", "node-b/cuda:0", Attempts[1], S2Jobs[0], Farm.Job(42)),
        End("s1-u1", "node-a", "node-a/cuda:1", Attempts[2], S1Jobs[2]),
    ];

    private static UnitEndToFold End(string unit, string node, string device, string attempt, params JobSettings[] jobs) =>
        new(unit, node, device, attempt, AssignedAt, jobs.Select(j => Farm.Result(unit, attempt, j.JobId, device)).ToArray());

    [Fact]
    public void Ends_written_together_leave_the_rows_and_give_the_outcomes_of_ends_written_one_by_one()
    {
        var together = _set.AssignAndRecordUnitsDone(Ends());
        var oneByOne = Ends().Select(_single.AssignAndRecordUnitDone).ToArray();

        Assert.Equal(
        [
            "Recorded,Duplicate s1 Done/Running",
            "Recorded,UnknownJob s2 Done/Running",
            "Recorded s1 Done/Failed", // the sweep settles with its last unit, not before
        ], together.Select(Describe));
        Assert.Equal(oneByOne.Select(Describe), together.Select(Describe));
        Assert.Equal(Rows(_single), Rows(_set));
        Assert.Equal((JobState.Failed, "the unit finished without a result for this job"),
            (_set.GetJob(S1Jobs[3].JobId)!.State, _set.GetJob(S1Jobs[3].JobId)!.FailureReason));
        Assert.Equal("node-z", _set.GetJob(S1Jobs[1].JobId)!.Node); // the duplicate changed nothing
        // Written by the statements for many units, not by the one-unit write.
        Assert.DoesNotContain(_set.PreparedStatements(), sql => sql.Contains("WHERE id = $unit AND state = 'queued'", StringComparison.Ordinal));
    }

    [Fact]
    public void Ends_one_of_which_cannot_be_folded_are_written_one_by_one_with_the_same_outcomes()
    {
        // s2-u0 was handed out behind the dispatcher's back: it is not queued, so its end is no fold.
        foreach (FarmStore store in new[] { _set, _single }) store.AssignUnit("s2-u0", "node-c", "node-c/cpu", "behind-the-back");

        var together = _set.AssignAndRecordUnitsDone(Ends());
        var oneByOne = Ends().Select(_single.AssignAndRecordUnitDone).ToArray();

        Assert.Equal(oneByOne.Select(Describe), together.Select(Describe));
        Assert.Equal(Rows(_single), Rows(_set));
        Assert.Equal(AttemptOutcome.Cancelled, _set.GetAttempt("behind-the-back")!.Outcome);
        Assert.Null(_set.GetAttempt(Attempts[1]));
    }

    [Fact]
    public void Two_ends_of_one_job_are_written_one_by_one_so_that_the_first_result_wins()
    {
        JobSettings shared = Farm.Job(7);
        foreach (FarmStore store in new[] { _set, _single }) store.CreateSweep(Farm.Sweep("s3", [shared, Farm.Job(8)]));
        UnitEndToFold[] ends =
        [
            End("s3-u0", "node-a", "node-a/cpu", Attempts[0], shared),
            End("s3-u1", "node-b", "node-b/cpu", Attempts[1], shared), // a unit that answers another's job, say after a cut
        ];

        var together = _set.AssignAndRecordUnitsDone(ends);
        var oneByOne = ends.Select(_single.AssignAndRecordUnitDone).ToArray();

        Assert.Equal(oneByOne.Select(Describe), together.Select(Describe));
        Assert.Equal([RecordOutcome.Recorded, RecordOutcome.Duplicate], together.Select(o => o.Outcomes.Single()));
        Assert.Equal("node-a", _set.GetJob(shared.JobId)!.Node);
    }

    [Fact]
    public void A_bad_end_fails_the_whole_call_and_leaves_nothing_behind()
    {
        UnitEndToFold[] ends = [.. Ends(), End("s2-u1", "node-a", "node-a/cpu", " ", S2Jobs[1])];

        Assert.ThrowsAny<ArgumentException>(() => _set.AssignAndRecordUnitsDone(ends));

        Assert.All(new[] { "s1-u0", "s1-u1", "s2-u0", "s2-u1" }, unit => Assert.Equal(UnitState.Queued, _set.GetUnit(unit)!.State));
        Assert.Equal(JobState.Queued, _set.GetJob(S1Jobs[0].JobId)!.State);
    }

    private static string Describe(UnitDoneOutcome o) =>
        $"{string.Join(",", o.Outcomes)} {o.SweepId} {o.Change?.Unit}/{o.Change?.Sweep}";

    // A folded attempt started when it was assigned; another one when the store wrote it.
    private static string StartOf(AttemptRecord attempt) =>
        Attempts.Contains(attempt.Id) ? attempt.StartedAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) : "";

    /// <summary>What the writes leave, minus the times of the writing itself (the two stores wrote at other moments).</summary>
    private static List<string> Rows(FarmStore store)
    {
        var rows = new List<string>();
        foreach (string sweep in new[] { "s1", "s2", "s3" })
        {
            if (store.GetSweep(sweep) is not { } record) continue;
            rows.Add($"sweep {sweep} {record.State} finished={record.FinishedAt is not null}");
            foreach (UnitRecord unit in store.UnitsOfSweep(sweep))
            {
                rows.Add($"unit {unit.Unit.UnitId} {unit.State} {unit.Attempts} {unit.Failures} {unit.Node} {unit.Device} {unit.AttemptId}");
                foreach (AttemptRecord attempt in store.AttemptsOfUnit(unit.Unit.UnitId))
                    rows.Add($"attempt {attempt.Id} {attempt.UnitId} {attempt.SweepId} {attempt.Node} {attempt.Device} " +
                             $"{StartOf(attempt)} {attempt.Outcome} {attempt.Reason} finished={attempt.FinishedAt is not null}");
                foreach (JobAtStep job in unit.Unit.Jobs)
                {
                    JobRecord j = store.GetJob(job.JobId)!;
                    rows.Add($"job {j.Id} {j.State} {j.Node} {j.Device} {j.ResultBlob} {j.TraceBlob} {j.FinalLosses} " +
                             $"{j.StartedAt?.ToUnixTimeMilliseconds()} {j.FinishedAt?.ToUnixTimeMilliseconds()} {j.EngineSeconds} {j.BatchSize} {j.FailureReason}");
                }
            }
        }
        return rows;
    }
}

using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StoreFarm = StyleFarm.Coordinator.Tests.Store.Farm;

namespace StyleFarm.Coordinator.Tests.Results;

public sealed class RunSummaryTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void A_sweep_with_every_job_done_prints_one_line_and_exits_0()
    {
        SweepResults results = Sweep(Enumerable.Repeat((JobState.Done, (string?)null), 12).ToArray(),
            finishedAfter: TimeSpan.FromSeconds(184));

        Assert.Equal(["12 of 12 jobs done in 3m04s → runs/demo"], RunSummary.Lines(results, "runs/demo"));
        Assert.Equal(0, RunSummary.ExitCode(results));
    }

    [Fact]
    public void Failed_jobs_are_listed_by_label_grouped_by_reason_and_the_run_exits_1()
    {
        SweepResults results = Sweep(
        [
            (JobState.Done, null), (JobState.Failed, "CUDA out of memory\n  at Engine.Step()"), (JobState.Done, null),
            (JobState.Failed, "loss diverged"), (JobState.Failed, "CUDA out of memory"), (JobState.Failed, null),
        ], finishedAfter: TimeSpan.FromSeconds(42));

        Assert.Equal(
            [
                "2 of 6 jobs done in 42s → runs/demo",
                "4 of 6 jobs failed:",
                "  002_n-2, 005_n-5: CUDA out of memory",
                "  004_n-4: loss diverged",
                "  006_n-6: no reason recorded",
            ],
            RunSummary.Lines(results, "runs/demo"));
        Assert.Equal(1, RunSummary.ExitCode(results));
    }

    [Fact]
    public void Many_jobs_failing_alike_share_one_line_with_a_count_of_the_rest()
    {
        SweepResults results = Sweep(Enumerable.Repeat((JobState.Failed, (string?)"node lost"), 8).ToArray(), finishedAfter: null);

        IReadOnlyList<string> lines = RunSummary.Lines(results, "runs/x", elapsed: TimeSpan.FromHours(1.5));

        Assert.Equal("0 of 8 jobs done in 1h30m00s → runs/x", lines[0]);
        Assert.Equal("  001_n-1, 002_n-2, 003_n-3, 004_n-4, 005_n-5 and 3 more: node lost", lines[2]);
        Assert.Equal(3, lines.Count);
    }

    [Fact]
    public void Cancelled_and_unfinished_jobs_are_counted_and_make_the_exit_code_1()
    {
        SweepResults results = Sweep([(JobState.Done, null), (JobState.Cancelled, null), (JobState.Queued, null)], finishedAfter: null);

        Assert.Equal(["1 of 3 jobs done → runs/x", "1 of 3 jobs cancelled", "1 of 3 jobs not finished yet"],
            RunSummary.Lines(results, "runs/x"));
        Assert.Equal(1, RunSummary.ExitCode(results));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(59.4, "59s")]
    [InlineData(60, "1m00s")]
    [InlineData(3599.6, "1h00m00s")]
    [InlineData(7325, "2h02m05s")]
    public void Durations_read_as_hours_minutes_and_seconds(double seconds, string text) =>
        Assert.Equal(text, RunSummary.Duration(TimeSpan.FromSeconds(seconds)));

    private static SweepResults Sweep((JobState State, string? Reason)[] jobs, TimeSpan? finishedAfter)
    {
        SweepResultRow[] rows = jobs.Select((job, i) => new SweepResultRow(
            i + 1, $"job{i}", $"00{i + 1}_n-{i + 1}", job.State, new Dictionary<string, string> { ["n"] = $"{i + 1}" },
            StoreFarm.Job(i + 1), null, null, null, null, null, null, null, 1, job.Reason, null, null, [])).ToArray();
        return new SweepResults("s1", "demo", finishedAfter is null ? SweepState.Running : SweepState.Done, "name: demo\n",
            Start, Start + finishedAfter, rows, []);
    }
}

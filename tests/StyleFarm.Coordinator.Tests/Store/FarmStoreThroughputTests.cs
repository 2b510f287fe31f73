using System.Diagnostics;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Store;

/// <summary>
/// The store alone under the dispatcher's write pattern: group commits that each assign many one-job units and record
/// their ends as UnitDone does. It prints the time per write (a figure to read, not an assertion; STYLEFARM_STORE_UNITS and
/// STYLEFARM_STORE_BATCH change the run) and checks that every job ends done and the sweep settles.
/// </summary>
public sealed class FarmStoreThroughputTests(ITestOutputHelper output) : IDisposable
{
    private readonly DataFolder _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public void Group_commits_of_whole_unit_lifecycles_finish_every_job_and_settle_the_sweep()
    {
        int units = int.TryParse(Environment.GetEnvironmentVariable("STYLEFARM_STORE_UNITS"), out int n) ? n : 300;
        int batch = int.TryParse(Environment.GetEnvironmentVariable("STYLEFARM_STORE_BATCH"), out int b) ? b : 50;
        using FarmStore store = _data.OpenStore();
        var jobs = Enumerable.Range(1, units).Select(i => Farm.Job(i)).ToArray();
        store.CreateSweep(Farm.Sweep("s1", jobs));

        var assign = new Stopwatch();
        var record = new Stopwatch();
        var total = Stopwatch.StartNew();
        for (int start = 0; start < units; start += batch)
        {
            int end = Math.Min(units, start + batch);
            store.Batch(() =>
            {
                var attempts = new string[end - start];
                assign.Start();
                for (int i = start; i < end; i++)
                    attempts[i - start] = store.AssignUnit($"s1-u{i}", "node-a", $"node-a/d{i % 32}", FarmStore.NewAttemptId())!;
                assign.Stop();
                record.Start();
                for (int i = start; i < end; i++)
                {
                    var result = Farm.Result($"s1-u{i}", attempts[i - start], jobs[i].JobId, $"node-a/d{i % 32}");
                    UnitDoneOutcome done = store.RecordUnitDone($"s1-u{i}", attempts[i - start], [result], complete: true);
                    Assert.Equal(RecordOutcome.Recorded, done.Outcomes[0]);
                }
                record.Stop();
            });
        }
        total.Stop();

        double Per(Stopwatch watch) => watch.Elapsed.TotalMicroseconds / units;
        output.WriteLine($"{units} one-job units in batches of {batch}: {units / total.Elapsed.TotalSeconds:F0} units/s; " +
                         $"per unit: assign {Per(assign):F0} µs, " +
                         $"its end (results and completion, as UnitDone writes them) {Per(record):F0} µs, " +
                         $"commit and the rest {Per(total) - Per(assign) - Per(record):F0} µs");
        SweepProgress progress = store.Progress("s1")!;
        Assert.Equal(SweepState.Done, progress.State);
        Assert.Equal(units, progress.Jobs[JobState.Done]);
        Assert.Equal(units, progress.Units[UnitState.Done]);
    }
}

using System.Text.Json;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Tests.Results;

public sealed class SweepResultsBuilderTests : IDisposable
{
    private readonly ResultsFarm _farm = new();

    public void Dispose() => _farm.Dispose();

    [Fact]
    public void An_unknown_sweep_has_no_results() => Assert.Null(SweepResultsBuilder.FromStore(_farm.Store, "no-such-sweep"));

    [Fact]
    public void Rows_follow_expansion_order_with_each_jobs_outcome_attempts_and_blobs()
    {
        SweepResults results = _farm.Results();

        Assert.Equal((ResultsFarm.SweepId, "demo sweep", SweepState.Running, ResultsFarm.SweepText),
            (results.SweepId, results.Name, results.State, results.FileText));
        Assert.Null(results.FinishedAt);
        Assert.Equal(_farm.Jobs.Select(j => j.JobId), results.Jobs.Select(j => j.JobId));
        Assert.Equal([1, 2, 3, 4], results.Jobs.Select(j => j.Index));
        Assert.Equal([JobState.Done, JobState.Done, JobState.Failed, JobState.Queued], results.Jobs.Select(j => j.State));
        Assert.Equal([1, 2, 2, 0], results.Jobs.Select(j => j.Attempts));

        SweepResultRow second = results.Jobs[1];
        Assert.Equal((_farm.ImageBlobs[second.JobId], _farm.TraceBlobs[second.JobId]), (second.ImageBlob, second.TraceBlob));
        Assert.Equal(new FinalLosses(1.5, 0.5, 0.75, 0.25), second.FinalLosses);
        Assert.Equal(("node-a", "node-a/cuda:0", 12.5, 2), (second.Node, second.Device, second.EngineSeconds, second.BatchSize));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddMinutes(1), second.StartedAt);
        Assert.Equal(_farm.Jobs[1], second.Settings);
        Assert.Equal(["style_weight", "steps"], second.SweptValues.Keys);

        Assert.Equal([new SnapshotBlob(50, _farm.SnapshotBlob)], results.Jobs[0].Snapshots);
        Assert.Equal(ResultsFarm.FailureReason, results.Jobs[2].FailureReason);
        Assert.Null(results.Jobs[3].ImageBlob);
    }

    [Fact]
    public void The_sweeps_failed_attempts_are_listed_with_node_and_reason()
    {
        SweepResults results = _farm.Results();

        Assert.Equal(
            [
                (ResultsFarm.UnitOf(1), "node-b", "worker process crashed"),
                (ResultsFarm.UnitOf(2), "node-a", ResultsFarm.FailureReason),
                (ResultsFarm.UnitOf(2), "node-b", ResultsFarm.FailureReason),
            ],
            results.Failures.Select(f => (f.UnitId, f.Node, f.Reason!)));
        Assert.Equal("node-b/cuda:0", results.Failures[0].Device);
    }

    [Fact]
    public void Web_default_json_writes_states_as_names_and_keeps_diverged_losses()
    {
        // The API may serialize with plain web defaults: the attributes on the records must carry states and NaN.
        var web = new JsonSerializerOptions(JsonSerializerDefaults.Web);

        string json = JsonSerializer.Serialize(_farm.Results(), web);
        SweepResults read = JsonSerializer.Deserialize<SweepResults>(json, web)!;

        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement first = document.RootElement.GetProperty("jobs")[0];
        Assert.Equal("running", document.RootElement.GetProperty("state").GetString());
        Assert.Equal("done", first.GetProperty("state").GetString());
        Assert.Equal("NaN", first.GetProperty("finalLosses").GetProperty("tv").GetString());
        Assert.Equal("1e5", first.GetProperty("sweptValues").GetProperty("style_weight").GetString());
        Assert.False(first.TryGetProperty("files", out _));
        Assert.True(double.IsNaN(read.Jobs[0].FinalLosses!.Tv));
        Assert.Equal(JobState.Failed, read.Jobs[2].State);
    }
}

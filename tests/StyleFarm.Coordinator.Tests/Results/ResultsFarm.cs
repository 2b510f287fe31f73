using System.Globalization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Tests.Store;
using StyleFarm.Engine.Imaging;
using StyleFarm.Engine.Runs;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;
using StoreFarm = StyleFarm.Coordinator.Tests.Store.Farm;

namespace StyleFarm.Coordinator.Tests.Results;

/// <summary>
/// A stored sweep of style_weight {1e5, 3} × steps {100, 200}, one job per unit, played out with real blobs:
/// job 1 done first time (with a snapshot at step 50 and a diverged tv loss), job 2 done on its second attempt
/// after a crash, job 3 failed for good, job 4 still queued.
/// </summary>
internal sealed class ResultsFarm : IDisposable
{
    public const string SweepId = "sweep1";
    public const string FailureReason = "CUDA out of memory, tried to allocate \"2 GiB\"\nat step 7";

    private readonly DataFolder _data = new();

    public ResultsFarm()
    {
        Store = _data.OpenStore();
        Blobs = new BlobStore(_data.Path);
        Jobs = [Job(1e5, 100), Job(1e5, 200), Job(3, 100), Job(3, 200)];
        string[] weightsAsWritten = ["1e5", "1e5", "3", "3"];
        NewSweepJob[] entries = Jobs.Select((j, i) => new NewSweepJob(j, new Dictionary<string, string>
        {
            ["style_weight"] = weightsAsWritten[i],
            ["steps"] = j.Steps.ToString(CultureInfo.InvariantCulture),
        })).ToArray();
        WorkUnit[] units = Jobs.Select((j, i) => StoreFarm.Unit(UnitOf(i), SweepId, 50, [j])).ToArray();
        Store.CreateSweep(new NewSweep(SweepId, "demo sweep", SweepText, 50, Retries: 1, entries, units));

        // Job 1: done at once, with a snapshot on the way.
        string attempt = Start(0, "node-a");
        SnapshotBlob = Blobs.Put(Png(40));
        Store.AddSnapshot(UnitOf(0), "v0", 50, SnapshotBlob);
        Finish(0, attempt, "node-a", new LossValues(2.5, 1.25, 1.0, double.NaN));

        // Job 2: its first node crashes, the second finishes it.
        Store.FailUnit(UnitOf(1), Start(1, "node-b"), "worker process crashed");
        Finish(1, Start(1, "node-a"), "node-a", new LossValues(1.5, 0.5, 0.75, 0.25));

        // Job 3: fails on both tries (retries: 1).
        Store.FailUnit(UnitOf(2), Start(2, "node-a"), FailureReason);
        Store.FailUnit(UnitOf(2), Start(2, "node-b"), FailureReason);
    }

    public const string SweepText = "name: demo sweep\nsweep:\n  parameters:\n    style_weight: [1e5, 3]\n    steps: [100, 200]\n";

    public FarmStore Store { get; }

    public BlobStore Blobs { get; }

    public JobSettings[] Jobs { get; }

    public string SnapshotBlob { get; private set; } = "";

    public Dictionary<string, string> ImageBlobs { get; } = [];

    public Dictionary<string, string> TraceBlobs { get; } = [];

    public string NewRunFolder() => Path.Combine(_data.Path, "runs", Guid.NewGuid().ToString("N"));

    public SweepResults Results() => SweepResultsBuilder.FromStore(Store, SweepId)!;

    public static string UnitOf(int job) => $"{SweepId}-u{job}";

    /// <summary>A blob reader over the store that counts its calls.</summary>
    public CountingReader Reader() => new(RunFolderWriter.ReadFrom(Blobs));

    public void Dispose()
    {
        Store.Dispose();
        _data.Dispose();
    }

    /// <summary>A small PNG of one grey level, as the engine writes them.</summary>
    public static byte[] Png(byte shade)
    {
        using var image = new Image<Rgb24>(8, 6, new Rgb24(shade, (byte)(255 - shade), 30));
        return ImageWriter.EncodePng(image);
    }

    private static JobSettings Job(double styleWeight, int steps) => StoreFarm.Job(styleWeight, steps);

    private string Start(int job, string node)
    {
        string attempt = Store.AssignUnit(UnitOf(job), node, $"{node}/cuda:0")!;
        Assert.True(Store.MarkUnitRunning(UnitOf(job), attempt));
        return attempt;
    }

    private void Finish(int job, string attempt, string node, LossValues losses)
    {
        string jobId = Jobs[job].JobId;
        var trace = new LossTrace(["layer1", "layer2"]);
        trace.Add(new LossRow(0, 9.5, 1, [4, 4.5], 0.1));
        trace.Add(new LossRow(1, losses.Total, losses.Content, [0.5, 0.5], losses.Tv));
        ImageBlobs[jobId] = Blobs.Put(Png((byte)(100 + job)));
        TraceBlobs[jobId] = Blobs.Put(System.Text.Encoding.UTF8.GetBytes(trace.ToCsv()));
        Store.RecordJobResult(new JobResult(UnitOf(job), attempt, jobId, $"{node}/cuda:0", ImageBlobs[jobId], TraceBlobs[jobId],
            losses, new JobTimings(DateTimeOffset.UnixEpoch.AddMinutes(job), DateTimeOffset.UnixEpoch.AddMinutes(job + 1), 12.5, 2)));
        Store.CompleteUnit(UnitOf(job), attempt);
    }
}

internal sealed class CountingReader(Func<string, CancellationToken, Task<byte[]>> inner)
{
    private int _calls;

    public int Calls => _calls;

    public Task<byte[]> Read(string hash, CancellationToken ct)
    {
        Interlocked.Increment(ref _calls);
        return inner(hash, ct);
    }
}

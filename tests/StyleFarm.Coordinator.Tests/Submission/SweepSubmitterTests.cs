using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Coordinator.Tests.Sweeps;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Submission;

public sealed class SweepSubmitterTests : IDisposable
{
    private const long DeviceMemory = 8L << 30;
    private readonly SweepFolder _folder = new();
    private readonly string _data = Directory.CreateTempSubdirectory("stylefarm-submit-").FullName;

    public void Dispose()
    {
        _folder.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public void ASweepIsStoredWithItsImagesAsBlobsAndItsJobsFusedIntoUnits()
    {
        ExpandedSweep sweep = DesignExample();
        using var store = new FarmStore(_data);
        var blobs = new BlobStore(_data);

        SubmittedSweep submitted = new SweepSubmitter(store, blobs, new FusionPlanner(), DeviceMemory).Submit(sweep, "text");

        Assert.Equal(9, submitted.Jobs);
        Assert.Equal(0, submitted.ReusedJobs);
        WorkUnit unit = Assert.Single(submitted.Units);
        Assert.Equal(SweepState.Queued, store.GetSweep(submitted.Sweep.Id)!.State);
        Assert.All(sweep.Images.Keys, hash => Assert.True(blobs.Exists(hash)));
        Assert.Equal(File.ReadAllBytes(sweep.Images[unit.Shared.ContentImage]), blobs.Read(unit.Shared.ContentImage));
    }

    [Fact]
    public void ResubmittingAFinishedSweepRunsNothing()
    {
        ExpandedSweep sweep = DesignExample();
        using var store = new FarmStore(_data);
        var blobs = new BlobStore(_data);
        var submitter = new SweepSubmitter(store, blobs, new FusionPlanner(), DeviceMemory);
        SubmittedSweep first = submitter.Submit(sweep, "text");
        CompleteEveryUnit(store, blobs, first.Units);

        SubmittedSweep again = submitter.Submit(sweep, "text");

        Assert.Empty(again.Units);
        Assert.Equal(9, again.ReusedJobs);
        Assert.Equal(SweepState.Done, again.Sweep.State);
    }

    private ExpandedSweep DesignExample()
    {
        _folder.Image("content.png", shade: 90, width: 64, height: 48);
        _folder.Image("style.png", shade: 200, width: 64, height: 48);
        string file = _folder.Write("sweep.yaml", """
            name: design-example
            content: content.png
            style: style.png
            base: { size: 64 }
            sweep:
              method: grid
              parameters:
                style_weight: [1, 10, 100]
                steps: [100, 200, 400]
            """);
        return SweepLoader.Load(file);
    }

    /// <summary>Plays a device that finishes every unit: one attempt each, every job's result, then done.</summary>
    private static void CompleteEveryUnit(FarmStore store, BlobStore blobs, IEnumerable<WorkUnit> units)
    {
        string image = blobs.Put(new byte[] { 1, 2, 3 }), trace = blobs.Put(new byte[] { 4, 5 });
        foreach (WorkUnit unit in units)
        {
            string attempt = store.AssignUnit(unit.UnitId, "node-a", "node-a/cpu")!;
            store.MarkUnitRunning(unit.UnitId, attempt);
            foreach (JobAtStep job in unit.Jobs)
                store.RecordJobResult(new JobResult(unit.UnitId, attempt, job.JobId, "node-a/cpu", image, trace,
                    new LossValues(1, 0.5, 0.4, 0.1), new JobTimings(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1, 3)));
            store.CompleteUnit(unit.UnitId, attempt);
        }
    }
}

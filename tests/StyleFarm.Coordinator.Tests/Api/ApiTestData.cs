using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Coordinator.Tests.Sweeps;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Api;

/// <summary>Sweeps, nodes and finished work for the API tests.</summary>
internal static class ApiTestData
{
    public const string SweepYaml = """
        name: api-demo
        content: content.png
        style: style.png
        base: { size: 32, save_every: 50 }
        sweep:
          method: grid
          parameters:
            style_weight: [1, 10, 100]
            steps: [50, 100]
        """;

    /// <summary>The sweep file above, with its two images, loaded as `stylefarm submit` loads it.</summary>
    public static ExpandedSweep Load(SweepFolder folder, out string path)
    {
        folder.WithImages();
        path = folder.Write("sweep.yaml", SweepYaml);
        return SweepLoader.Load(path);
    }

    public static async Task<SubmitSweepResponse> SubmitAsync(ApiHost api, SweepFolder folder)
    {
        ExpandedSweep sweep = Load(folder, out string path);
        return await api.Client.SubmitSweepAsync(sweep, "sweep.yaml", File.ReadAllText(path));
    }

    public static NodeView Node(string nodeId, string state = "up", params DeviceView[] devices) =>
        new(nodeId, "host-" + nodeId, $"akka.tcp://stylefarm@127.0.0.1:4053", state, DateTimeOffset.UnixEpoch, devices);

    public static DeviceView Device(string nodeId, string device, long freeBytes, string state = "idle") =>
        new(DeviceIds.Compose(nodeId, device), device, state, null, null, 0, 0, 0, 0, 0, freeBytes, freeBytes * 2, null);

    /// <summary>Plays a device finishing every unit of the sweep: real image and trace blobs, snapshots at save_every.</summary>
    public static void CompleteEveryUnit(FarmStore store, BlobStore blobs, string sweepId, byte[] image)
    {
        string imageBlob = blobs.Put(image), traceBlob = blobs.Put("step,total\n1,2\n"u8.ToArray());
        foreach (UnitRecord unit in store.UnitsOfSweep(sweepId))
        {
            string attempt = store.AssignUnit(unit.UnitId, "node-a", "node-a/cpu")!;
            store.MarkUnitRunning(unit.UnitId, attempt);
            foreach (UnitVariant variant in unit.Unit.Variants)
                store.AddSnapshot(unit.UnitId, variant.VariantId, 50, imageBlob);
            foreach (JobAtStep job in unit.Unit.Jobs)
                store.RecordJobResult(new JobResult(unit.UnitId, attempt, job.JobId, "node-a/cpu", imageBlob, traceBlob,
                    new LossValues(1, 0.5, 0.4, 0.1), new JobTimings(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(3), 3, 3)));
            store.CompleteUnit(unit.UnitId, attempt);
        }
    }
}

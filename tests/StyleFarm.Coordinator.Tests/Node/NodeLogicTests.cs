using StyleFarm.GpuNode.Blobs;
using StyleFarm.GpuNode.Devices;
using StyleFarm.GpuNode.Node;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Node;

public sealed class NodeLogicTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("stylefarm-node-cache-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_throttle_lets_one_report_through_per_interval_holds_the_latest_and_always_passes_the_last_step()
    {
        var throttle = new ProgressThrottle<string>(TimeSpan.FromMilliseconds(250));
        var t0 = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        Assert.Equal("step 1", throttle.Offer("step 1", false, t0, out _));
        Assert.Null(throttle.Offer("step 2", false, t0.AddMilliseconds(100), out var flushIn));
        Assert.Equal(TimeSpan.FromMilliseconds(150), flushIn);
        Assert.Null(throttle.Offer("step 3", false, t0.AddMilliseconds(200), out _));
        Assert.Equal("step 3", throttle.Held);
        Assert.Equal("step 3", throttle.Flush(t0.AddMilliseconds(250)));
        Assert.Null(throttle.Flush(t0.AddMilliseconds(260)));
        Assert.Null(throttle.Offer("step 4", false, t0.AddMilliseconds(300), out _));
        Assert.Equal("step 5", throttle.Offer("step 5", true, t0.AddMilliseconds(310), out _));
        Assert.Null(throttle.Held);
        Assert.Equal("step 6", throttle.Offer("step 6", false, t0.AddMilliseconds(600), out _));
    }

    [Fact]
    public void A_report_goes_only_once_every_blob_it_names_is_stored()
    {
        var reports = new BlobGatedReports();
        var first = new SnapshotReady("u", "a", "v", 10, "image");
        var second = new UnitCheckpointed("u", "a", 10, "checkpoint");
        reports.Add(first, ["image", "trace"]);
        reports.Add(second, ["checkpoint", "image"]);

        Assert.Empty(reports.BlobStored("image"));
        Assert.True(reports.Needs("trace"));
        Assert.Equal([second], reports.BlobStored("checkpoint"));
        Assert.Equal([first], reports.BlobStored("trace"));
        Assert.Equal(0, reports.Count);
    }

    [Fact]
    public void The_blob_cache_trusts_a_file_only_when_it_hashes_to_its_name_and_removes_a_damaged_one()
    {
        var cache = new NodeBlobCache(_folder);
        byte[] bytes = [1, 2, 3, 4];
        var hash = BlobHash.Of(bytes);
        Assert.False(cache.Contains(hash));
        Assert.Throws<BlobIntegrityException>(() => cache.Write(hash, [9, 9]));

        cache.Write(hash, bytes);
        Assert.True(cache.Contains(hash));
        Assert.Equal(bytes, cache.Read(hash));

        // Another process (a fresh cache over the same folder) meets a damaged file: it is not trusted, and goes.
        File.WriteAllBytes(cache.PathOf(hash), [7, 7, 7]);
        var fresh = new NodeBlobCache(_folder);
        Assert.False(fresh.Contains(hash));
        Assert.False(File.Exists(fresh.PathOf(hash)));
    }

    [Fact]
    public void A_weights_blob_is_reached_through_a_path_with_the_extension_of_its_format()
    {
        var cache = new NodeBlobCache(_folder);
        var safetensors = "\u0002\0\0\0\0\0\0\0{}"u8.ToArray();
        var pth = "PK\u0003\u0004 a zip"u8.ToArray();
        cache.Write(BlobHash.Of(safetensors), safetensors);
        cache.Write(BlobHash.Of(pth), pth);

        var safetensorsPath = cache.WeightsFile(BlobHash.Of(safetensors));
        Assert.EndsWith(".safetensors", safetensorsPath);
        Assert.Equal(safetensors, File.ReadAllBytes(safetensorsPath));
        Assert.EndsWith(".pth", cache.WeightsFile(BlobHash.Of(pth)));
    }

    [Fact]
    public void Cpu_memory_comes_from_MemAvailable_and_MemTotal()
    {
        var reading = DeviceMemory.ParseMeminfo("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n");
        Assert.Equal(new MemoryReading(8_000_000L * 1024, 16_000_000L * 1024), reading);
        Assert.Null(DeviceMemory.ParseMeminfo("MemTotal: 5 kB\n"));
        Assert.True(DeviceMemory.Of("cpu").FreeBytes > 0);
        Assert.Equal(new MemoryReading(0, 0), DeviceMemory.Of("cuda:0"));
    }

    [Fact]
    public void Node_settings_name_every_problem()
    {
        var settings = new GpuNodeSettings { NodeId = "a/b", Devices = ["cuda:0", "gpu", "cuda:0"], Threads = -1 };
        var problems = settings.Problems();
        Assert.Contains(problems, p => p.Contains("'a/b'"));
        Assert.Contains(problems, p => p.Contains("'gpu'"));
        Assert.Contains(problems, p => p.Contains("given twice"));
        Assert.Contains(problems, p => p.Contains("Threads"));
        Assert.Empty(new GpuNodeSettings { NodeId = "node-1", Devices = ["cpu", "cuda:1"] }.Problems());
    }

    [Fact]
    public void Cpu_may_run_several_workers_each_with_its_own_name_and_a_share_of_the_cores()
    {
        var settings = new GpuNodeSettings { NodeId = "node-1", Devices = ["cpu", "cuda:0", "cpu", "cpu"] };
        Assert.Empty(settings.Problems());
        Assert.Equal([("cpu", "cpu"), ("cuda:0", "cuda:0"), ("cpu-2", "cpu"), ("cpu-3", "cpu")], settings.DeviceSlots());
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 3), settings.EffectiveThreads);
        Assert.Equal(5, (settings with { Threads = 5 }).EffectiveThreads);
        Assert.Equal(0, new GpuNodeSettings { NodeId = "n", Devices = ["cpu"] }.EffectiveThreads);
    }
}

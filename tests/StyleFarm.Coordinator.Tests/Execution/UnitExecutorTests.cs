using System.Security.Cryptography;
using SixLabors.ImageSharp;
using StyleFarm.Engine.Imaging;
using StyleFarm.Engine.Networks.ResNet18;
using StyleFarm.GpuNode.Execution;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;
using static TorchSharp.torch;

namespace StyleFarm.Coordinator.Tests.Execution;

public sealed class UnitExecutorTests : IDisposable
{
    private readonly Dictionary<string, byte[]> _blobs = [];
    private readonly FeatureNetworkCache _networks;
    private readonly string _cache = Directory.CreateTempSubdirectory("stylefarm-executor-").FullName;

    public UnitExecutorTests()
    {
        _networks = new FeatureNetworkCache(CPU, hash => throw new InvalidOperationException($"no weights blob {hash} in this test"),
            (_, _, device) => ResNet18Network.LoadPretrained(device, cacheDirectory: _cache));
    }

    public void Dispose()
    {
        _networks.Dispose();
        Directory.Delete(_cache, recursive: true);
    }

    [Fact]
    public void EveryJobOfAUnitComesOutAtItsStepCount()
    {
        WorkUnit unit = DemoUnit(saveEvery: 2);
        var done = new List<JobOutput>();
        var snapshots = new List<(string, int)>();
        var hooks = new ExecutionHooks { OnJobDone = done.Add, OnSnapshot = (v, step, _) => snapshots.Add((v.VariantId, step)) };
        new UnitExecutor(_networks, Blob).Execute(unit, null, hooks, CancellationToken.None);

        Assert.Equal(unit.Jobs.Select(j => (j.JobId, j.Steps)).Order(), done.Select(d => (d.JobId, d.Steps)).Order());
        foreach (JobOutput job in done)
        {
            var info = Image.Identify(job.Png);
            Assert.Equal((64, 32), (info.Width, info.Height));
            Assert.Equal(job.Steps + 1, job.TraceCsv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
            Assert.Equal(job.Steps, job.FinalLosses!.Step);
        }
        Assert.Contains(("a", 2), snapshots);
        Assert.Contains(("b", 4), snapshots);
    }

    [Fact]
    public void AUnitResumedFromItsCheckpointEndsAsIfNeverStopped()
    {
        WorkUnit unit = DemoUnit(saveEvery: 0);
        var straight = new Dictionary<string, byte[]>();
        new UnitExecutor(_networks, Blob).Execute(unit, null, new ExecutionHooks { OnJobDone = j => straight[j.JobId] = j.Png }, CancellationToken.None);

        byte[]? checkpoint = null;
        using var cancel = new CancellationTokenSource();
        var first = new Dictionary<string, byte[]>();
        var stopAtThree = new ExecutionHooks
        {
            CheckpointEvery = 3,
            OnCheckpoint = (_, bytes) => { checkpoint = bytes; cancel.Cancel(); },
            OnJobDone = j => first[j.JobId] = j.Png,
        };
        Assert.Throws<OperationCanceledException>(() => new UnitExecutor(_networks, Blob).Execute(unit, null, stopAtThree, cancel.Token));

        var resumed = new Dictionary<string, byte[]>(first);
        new UnitExecutor(_networks, Blob).Execute(unit, checkpoint, new ExecutionHooks { OnJobDone = j => resumed[j.JobId] = j.Png }, CancellationToken.None);
        Assert.Equal(straight.Keys.Order(), resumed.Keys.Order());
        foreach (var (job, png) in straight) Assert.Equal(png, resumed[job]);
    }

    private byte[] Blob(string hash) => _blobs[hash];

    private string AddBlob(byte[] bytes)
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        _blobs[hash] = bytes;
        return hash;
    }

    /// <summary>Two variants: "a" read at 3 and 6 steps, "b" at 5, on the demo images at 64 px.</summary>
    private WorkUnit DemoUnit(int saveEvery)
    {
        using var scene = DemoImages.Scene(128, 64);
        using var texture = DemoImages.PainterlyTexture(128, 64);
        string content = AddBlob(ImageWriter.EncodePng(scene)), style = AddBlob(ImageWriter.EncodePng(texture));
        var defaults = ResNet18Network.DefaultSettings;
        StyleLayerWeight[] layers = defaults.StyleLayers.Select(kv => new StyleLayerWeight(kv.Key, kv.Value)).ToArray();
        JobSettings Job(double styleWeight, int steps) => new(
            "resnet18", null, 64, steps, 1, styleWeight, 0, 0.03, "adam", "content", 0, saveEvery,
            defaults.ContentLayer, layers, content, style);

        JobSettings a3 = Job(10, 3), a6 = Job(10, 6), b5 = Job(30, 5);
        UnitVariant Variant(string id, JobSettings settings, params JobSettings[] jobs) => new(
            id, settings.ContentWeight, settings.StyleWeight, settings.TvWeight, settings.LearningRate, layers,
            jobs.Select(j => new JobAtStep(j.JobId, j.Steps)).ToArray());
        return new WorkUnit("unit-1", "sweep-1", 50, a3, [Variant("a", a3, a3, a6), Variant("b", b5, b5)]);
    }
}

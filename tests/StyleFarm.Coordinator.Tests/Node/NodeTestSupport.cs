using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit;
using StyleFarm.Engine.Imaging;
using StyleFarm.Engine.Networks.ResNet18;
using StyleFarm.GpuNode.Execution;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Node;

/// <summary>Plain TestKit settings for the node's actors: every message serialized, StyleFarm messages by the wire serializer.</summary>
public static class NodeTestConfig
{
    public const string Hocon = """
        akka.loglevel = WARNING
        akka.actor.serialize-messages = on
        akka.actor.serializers.stylefarm-hyperion = "StyleFarm.Cluster.StyleFarmWireSerializer, StyleFarm.Cluster"
        akka.actor.serialization-bindings {
          "StyleFarm.Messages.IStyleFarmMessage, StyleFarm.Messages" = stylefarm-hyperion
        }
        akka.actor.serialization-identifiers {
          "StyleFarm.Cluster.StyleFarmWireSerializer, StyleFarm.Cluster" = 7301
        }
        """;
}

/// <summary>
/// A TestProbe playing the coordinator: it answers RegisterDevice, serves the blobs it holds to downloads, and
/// pulls every offered blob to completion (as the SweepManager and the blob actor would). The probe still receives
/// every message, so a test expects the protocol messages and ignores the blob traffic.
/// </summary>
public sealed class FakeCoordinator
{
    private readonly ConcurrentDictionary<string, BlobAssembler> _assembling = new();

    public FakeCoordinator(TestKitBase kit)
    {
        Probe = kit.CreateTestProbe("coordinator");
        Probe.IgnoreMessages(m => m is BlobChunkRequest or BlobChunk or BlobOffer || (m is RegisterDevice && AnswerRegistration));
        Probe.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            Handle(sender, message);
            return AutoPilot.KeepRunning;
        }));
    }

    public TestProbe Probe { get; }

    public IActorRef Ref => Probe.Ref;

    /// <summary>Blobs a device may download.</summary>
    public ConcurrentDictionary<string, byte[]> Served { get; } = new();

    /// <summary>Blobs devices uploaded, complete and hash-checked.</summary>
    public ConcurrentDictionary<string, byte[]> Uploaded { get; } = new();

    public int ChunkRequestsServed;

    public int OffersReceived;

    /// <summary>Answer RegisterDevice with DeviceRegistered (from the probe).</summary>
    public bool AnswerRegistration { get; set; } = true;

    public string Serve(byte[] bytes)
    {
        var hash = BlobHash.Of(bytes);
        Served[hash] = bytes;
        return hash;
    }

    private void Handle(IActorRef sender, object message)
    {
        if (message is BlobOffer)
            Interlocked.Increment(ref OffersReceived);
        switch (message)
        {
            case RegisterDevice register when AnswerRegistration:
                sender.Tell(new DeviceRegistered(register.DeviceId), Probe.Ref);
                break;
            case BlobChunkRequest request:
                Interlocked.Increment(ref ChunkRequestsServed);
                sender.Tell(Served.TryGetValue(request.Hash, out var bytes)
                    ? BlobChunker.Serve(request, bytes)
                    : new BlobUnavailable(request.Hash, "unknown blob"), Probe.Ref);
                break;
            case BlobOffer offer when Uploaded.ContainsKey(offer.Hash):
                sender.Tell(new BlobComplete(offer.Hash, true, null), Probe.Ref);
                break;
            case BlobOffer offer:
                var assembler = _assembling[offer.Hash] = new BlobAssembler(offer.Hash, offer.Length);
                foreach (var request in assembler.MissingRequests())
                    sender.Tell(request, Probe.Ref);
                if (offer.Length == 0)
                    Complete(sender, assembler);
                break;
            case BlobChunk chunk when _assembling.TryGetValue(chunk.Hash, out var assembling):
                assembling.Accept(chunk);
                if (assembling.IsComplete)
                    Complete(sender, assembling);
                break;
        }
    }

    private void Complete(IActorRef sender, BlobAssembler assembler)
    {
        Uploaded[assembler.Hash] = assembler.Complete();
        _assembling.TryRemove(assembler.Hash, out _);
        sender.Tell(new BlobComplete(assembler.Hash, true, null), Probe.Ref);
    }
}

/// <summary>Work units for the node tests.</summary>
public static class NodeUnits
{
    /// <summary>
    /// A resnet18 unit on the demo images at 64×32 px, served by <paramref name="coordinator"/>: variant "a" read at
    /// <paramref name="aSteps"/>, variant "b" at <paramref name="bSteps"/>.
    /// </summary>
    public static WorkUnit Demo(FakeCoordinator coordinator, int[] aSteps, int[] bSteps, int saveEvery = 0, string unitId = "unit-1")
    {
        using var scene = DemoImages.Scene(128, 64);
        using var texture = DemoImages.PainterlyTexture(128, 64);
        string content = coordinator.Serve(ImageWriter.EncodePng(scene)), style = coordinator.Serve(ImageWriter.EncodePng(texture));
        var defaults = ResNet18Network.DefaultSettings;
        StyleLayerWeight[] layers = defaults.StyleLayers.Select(kv => new StyleLayerWeight(kv.Key, kv.Value)).ToArray();
        JobSettings Job(double styleWeight, int steps) => new(
            "resnet18", null, 64, steps, 1, styleWeight, 0, 0.03, "adam", "content", 0, saveEvery,
            defaults.ContentLayer, layers, content, style);
        UnitVariant Variant(string id, double styleWeight, int[] steps)
        {
            var jobs = steps.Select(s => Job(styleWeight, s)).ToArray();
            return new UnitVariant(id, 1, styleWeight, 0, 0.03, layers, jobs.Select(j => new JobAtStep(j.JobId, j.Steps)).ToArray());
        }
        return new WorkUnit(unitId, "sweep-1", 50, Job(10, aSteps[0]), [Variant("a", 10, aSteps), Variant("b", 30, bSteps)]);
    }

    /// <summary>A unit whose images are arbitrary bytes (for runners that never decode them), one job per variant.</summary>
    public static WorkUnit Opaque(FakeCoordinator coordinator, string unitId, int steps = 10)
    {
        string content = coordinator.Serve(Bytes("content", 40_000)), style = coordinator.Serve(Bytes("style", 5_000));
        var layers = new[] { new StyleLayerWeight("layer1", 1) };
        var job = new JobSettings("resnet18", null, 64, steps, 1, 10, 0, 0.03, "adam", "content", 0, 0, "layer3", layers, content, style);
        return new WorkUnit(unitId, "sweep-1", 50, job, [new UnitVariant("a", 1, 10, 0, 0.03, layers, [new JobAtStep(job.JobId, steps)])]);
    }

    private static byte[] Bytes(string seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed.Length).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>A runner that throws as soon as it starts.</summary>
public sealed class ThrowingRunner(string message) : IUnitRunner
{
    public void Run(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel) =>
        throw new InvalidOperationException(message);

    public void Dispose()
    {
    }
}

/// <summary>
/// A runner that holds every unit until <see cref="Release"/> (then finishes its jobs with the no-op image) or
/// until cancelled (then checkpoints, if asked to, with recognisable bytes, and throws as the engine does).
/// </summary>
public sealed class GatedRunner : IUnitRunner
{
    private readonly SemaphoreSlim _gate = new(0);

    public static readonly byte[] CheckpointBytes = "checkpoint at step 7"u8.ToArray();

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.Release();

    public void Run(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel)
    {
        Started.TrySetResult();
        try
        {
            _gate.Wait(cancel);
        }
        catch (OperationCanceledException)
        {
            if (hooks.CheckpointOnCancel)
                hooks.OnCheckpoint?.Invoke(7, CheckpointBytes);
            throw;
        }
        new NoOpUnitRunner().Run(unit, resumeCheckpoint, hooks, cancel);
    }

    public void Dispose() => _gate.Dispose();
}

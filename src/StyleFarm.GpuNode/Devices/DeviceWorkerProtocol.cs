using Akka.Actor;
using StyleFarm.Engine.Runs;
using StyleFarm.GpuNode.Blobs;
using StyleFarm.GpuNode.Execution;
using StyleFarm.Messages.Nodes;

namespace StyleFarm.GpuNode.Devices;

/// <summary>How long a DeviceWorker waits before it asks, offers or reports again.</summary>
public sealed record DeviceWorkerTimings
{
    /// <summary>RegisterDevice is repeated this often until DeviceRegistered.</summary>
    public TimeSpan RegisterRetry { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>RequestWork unanswered this long is asked again.</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>After NoWork, the device asks again this late even without WorkAvailable (a lost nudge).</summary>
    public TimeSpan NoWorkRepoll { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>JobResult and HandBackUnit are repeated this often until acknowledged.</summary>
    public TimeSpan ResendInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How many times a report is repeated to a live SweepManager before the device gives up on its acknowledgement.
    /// Repeats wait while the device has no SweepManager (a coordinator restarting), however long that takes.
    /// </summary>
    public int MaxResends { get; init; } = 20;

    /// <summary>At most one UnitProgress per unit this often (the last step always goes).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>What a DeviceWorker is made of.</summary>
/// <param name="NodeId">The node's id (no '/').</param>
/// <param name="Device">The engine's device name: cpu, cuda:0.</param>
/// <param name="SweepManager">Where every message to the coordinator goes: the SweepManager singleton proxy.</param>
/// <param name="Blobs">The node's blob cache.</param>
/// <param name="RunnerFactory">Makes the device's runner (on its engine thread, at the first unit).</param>
/// <param name="Threads">torch CPU threads (0: torch's default).</param>
/// <param name="Report">Where one-line notices go (a unit started or ended); null: the log only.</param>
public sealed record DeviceWorkerSetup(
    string NodeId,
    string Device,
    IActorRef SweepManager,
    NodeBlobCache Blobs,
    Func<UnitRunnerContext, IUnitRunner> RunnerFactory,
    int Threads = 0,
    Action<string>? Report = null)
{
    /// <summary>The device's name within its node when the node runs several workers on one engine device
    /// (<c>cpu</c>, <c>cpu-2</c>); null: the engine device's name.</summary>
    public string? Slot { get; init; }

    public string DeviceId => DeviceIds.Compose(NodeId, Slot ?? Device);

    public DeviceWorkerTimings Timings { get; init; } = new();
}

/// <summary>
/// NodeAgent → DeviceWorker: stop asking for work. With <paramref name="HandBack"/> the running unit is cancelled,
/// checkpointed and handed back; without, it finishes. The worker answers <see cref="DeviceDrained"/> once idle.
/// </summary>
public sealed record DrainDevice(bool HandBack) : INoSerializationVerificationNeeded;

/// <summary>DeviceWorker → NodeAgent: this device holds no unit and asks for none.</summary>
public sealed record DeviceDrained(string DeviceId) : INoSerializationVerificationNeeded;

// Engine thread → DeviceWorker, each tagged with the attempt it belongs to.
internal sealed record StepReached(string AttemptId, StepProgress Progress) : INoSerializationVerificationNeeded;

internal sealed record SnapshotTaken(string AttemptId, string VariantId, int Step, string Hash, byte[] Png) : INoSerializationVerificationNeeded;

internal sealed record CheckpointTaken(string AttemptId, int Step, string Hash, byte[] Bytes) : INoSerializationVerificationNeeded;

internal sealed record JobDone(
    string AttemptId, JobOutput Output, string ImageHash, byte[] Trace, string TraceHash, DateTimeOffset FinishedAt)
    : INoSerializationVerificationNeeded;

internal sealed record RunEnded(string AttemptId, TimeSpan Elapsed, Exception? Error) : INoSerializationVerificationNeeded;

internal sealed class WorkerTick : INoSerializationVerificationNeeded
{
    public static readonly WorkerTick Register = new(), Ask = new(), FlushProgress = new(), Resend = new(), ResendDone = new();
}

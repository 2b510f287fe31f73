namespace StyleFarm.Messages.Nodes;

/// <summary>
/// Device ids name a device on a node: <c>node-a/cuda:0</c>, <c>node-a/cpu</c>. A node id never contains '/'.
/// </summary>
public static class DeviceIds
{
    public static string Compose(string nodeId, string device)
    {
        if (string.IsNullOrWhiteSpace(nodeId) || nodeId.Contains('/'))
            throw new ArgumentException($"A node id must be non-empty and without '/': '{nodeId}'.", nameof(nodeId));
        if (string.IsNullOrWhiteSpace(device) || device.Contains('/'))
            throw new ArgumentException($"A device must be non-empty and without '/': '{device}'.", nameof(device));
        return $"{nodeId}/{device}";
    }

    public static bool TrySplit(string deviceId, out string nodeId, out string device)
    {
        var slash = deviceId.IndexOf('/', StringComparison.Ordinal);
        var ok = slash > 0 && slash < deviceId.Length - 1 && deviceId.IndexOf('/', slash + 1) < 0;
        nodeId = ok ? deviceId[..slash] : "";
        device = ok ? deviceId[(slash + 1)..] : "";
        return ok;
    }
}

/// <summary>
/// NodeAgent → coordinator, once the node is Up in the cluster (and again after the coordinator comes back): who
/// the node is and which devices it runs. A coordinator refuses (answers <see cref="DrainNode"/> with Now) a node
/// whose <paramref name="ProtocolVersion"/> or <paramref name="SettingsFingerprint"/> (a hash of the cluster
/// settings every node must share and of the wire types) differs from its own.
/// </summary>
public sealed record NodeJoined(string NodeId, string HostName, int ProtocolVersion, string SettingsFingerprint, string[] DeviceIds) : IStyleFarmMessage;

/// <summary>
/// DeviceWorker → coordinator (Dispatcher), when the worker starts: the sender is the worker's actor, which the
/// coordinator watches and sends <see cref="Work.AssignUnit"/>, <see cref="Work.WorkAvailable"/> and
/// <see cref="Work.CancelUnit"/> to. Idempotent: a worker sends it again after a coordinator restart.
/// </summary>
/// <param name="DeviceId">As <see cref="DeviceIds.Compose"/> makes it, e.g. <c>node-a/cuda:0</c>.</param>
/// <param name="Device">The engine's device name: <c>cpu</c>, <c>cuda:0</c>.</param>
public sealed record RegisterDevice(string DeviceId, string Device, long FreeMemoryBytes, long TotalMemoryBytes) : IStyleFarmMessage;

/// <summary>
/// Coordinator → NodeAgent: leave the farm. With <paramref name="Now"/> false every device finishes its unit and
/// then stops asking for work; with it true (and on SIGTERM) every device checkpoints its unit and hands it back
/// with <see cref="Work.HandBackUnit"/>. Then the node answers <see cref="NodeDrained"/> and leaves the cluster.
/// </summary>
public sealed record DrainNode(string NodeId, bool Now) : IStyleFarmMessage;

/// <summary>
/// NodeAgent → coordinator: every unit of this node is finished or handed back (and acknowledged); the node leaves
/// the cluster next, through CoordinatedShutdown.
/// </summary>
public sealed record NodeDrained(string NodeId) : IStyleFarmMessage;

/// <summary>Coordinator → NodeAgent, the answer to an accepted <see cref="NodeJoined"/>.</summary>
public sealed record NodeAccepted(string NodeId) : IStyleFarmMessage;

/// <summary>
/// Coordinator → DeviceWorker, the answer to <see cref="RegisterDevice"/>. Its sender is the SweepManager itself
/// (not the singleton proxy): the worker watches it, and registers again when it dies (a coordinator restart).
/// </summary>
public sealed record DeviceRegistered(string DeviceId) : IStyleFarmMessage;

/// <summary>
/// Client (HTTP API, CLI) → SweepManager: drain <paramref name="NodeId"/> (see <see cref="DrainNode"/>); answered by
/// <see cref="NodeControlAck"/> once the coordinator has told the node.
/// </summary>
public sealed record RequestDrain(string NodeId, bool Now) : IStyleFarmMessage;

/// <summary>SweepManager → client: whether a node command was applied, and why not (unknown node, already gone).</summary>
public sealed record NodeControlAck(string NodeId, string Command, bool Applied, string? Error) : IStyleFarmMessage;

/// <summary>Client → SweepManager: the farm's nodes and devices as the coordinator sees them now; answered by <see cref="FarmNodes"/>.</summary>
public sealed record GetFarmNodes : IStyleFarmMessage
{
    public static GetFarmNodes Instance { get; } = new();
}

/// <summary>One device as the coordinator sees it.</summary>
/// <param name="State">idle, running, draining or gone.</param>
/// <param name="StepsPerSecond">The running unit's recent speed (0 when idle).</param>
/// <param name="LastLosses">The first variant's losses at <paramref name="Step"/>, if the unit reported any.</param>
public sealed record DeviceView(
    string DeviceId,
    string Device,
    string State,
    string? UnitId,
    string? SweepId,
    int Step,
    int MaxSteps,
    double StepsPerSecond,
    int JobsDone,
    int Failures,
    long FreeMemoryBytes,
    long TotalMemoryBytes,
    Work.LossValues? LastLosses) : IStyleFarmMessage;

/// <summary>One node as the coordinator sees it.</summary>
/// <param name="State">up, draining, unreachable or gone.</param>
/// <param name="Address">The node's cluster address (akka.tcp://stylefarm@host:port).</param>
public sealed record NodeView(string NodeId, string HostName, string Address, string State, DateTimeOffset JoinedAt, DeviceView[] Devices) : IStyleFarmMessage;

/// <summary>SweepManager → client: every node it knows, in join order (gone nodes stay listed for a while).</summary>
public sealed record FarmNodes(NodeView[] Nodes) : IStyleFarmMessage;

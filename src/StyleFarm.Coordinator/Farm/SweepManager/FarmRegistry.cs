using Akka.Actor;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Farm.SweepManager;

public enum FarmNodeState { Up, Draining, Unreachable, Gone }

/// <summary>A node as the coordinator knows it (its agent, where it lives, its devices).</summary>
internal sealed class FarmNode(string nodeId, string hostName, Address address, IActorRef agent, DateTimeOffset joinedAt, long order)
{
    public string NodeId { get; } = nodeId;
    public string HostName { get; set; } = hostName;
    public Address Address { get; set; } = address;
    public IActorRef Agent { get; set; } = agent;
    public FarmNodeState State { get; set; } = FarmNodeState.Up;
    public DateTimeOffset JoinedAt { get; set; } = joinedAt;
    public DateTimeOffset? GoneAt { get; set; }
    public long Order { get; set; } = order;

    /// <summary>Whether its devices may get work.</summary>
    public bool TakesWork => State == FarmNodeState.Up;
}

/// <summary>A device's worker and its live view (what it runs, how fast, its last losses).</summary>
internal sealed class FarmDevice(string deviceId, string device, string nodeId, IActorRef worker)
{
    public string DeviceId { get; } = deviceId;
    public string Device { get; set; } = device;
    public string NodeId { get; } = nodeId;
    public IActorRef Worker { get; set; } = worker;
    public bool Gone { get; set; }
    public long FreeMemoryBytes { get; set; }
    public long TotalMemoryBytes { get; set; }
    public string? UnitId { get; private set; }
    public string? SweepId { get; private set; }
    public int Step { get; private set; }
    public int MaxSteps { get; private set; }
    public double StepsPerSecond { get; private set; }
    public int JobsDone { get; set; }
    public int Failures { get; set; }
    public LossValues? LastLosses { get; private set; }
    private DateTimeOffset _sampledAt;
    private int _sampledStep;

    public void Start(WorkUnit unit, int fromStep, DateTimeOffset now)
    {
        UnitId = unit.UnitId;
        SweepId = unit.SweepId;
        MaxSteps = unit.MaxSteps;
        Step = fromStep;
        StepsPerSecond = 0;
        LastLosses = null;
        _sampledAt = now;
        _sampledStep = fromStep;
    }

    /// <summary>Takes a progress report; the speed is smoothed so that a report arriving late does not make it jump.</summary>
    public void Progress(int step, LossValues? losses, DateTimeOffset now)
    {
        double seconds = (now - _sampledAt).TotalSeconds;
        if (seconds > 0 && step > _sampledStep)
        {
            double rate = (step - _sampledStep) / seconds;
            StepsPerSecond = StepsPerSecond == 0 ? rate : 0.7 * StepsPerSecond + 0.3 * rate;
        }
        _sampledAt = now;
        _sampledStep = step;
        Step = step;
        if (losses is not null) LastLosses = losses;
    }

    /// <summary>The device no longer runs <paramref name="unitId"/> (null: whatever it ran).</summary>
    public bool End(string? unitId = null)
    {
        if (UnitId is null || (unitId is not null && unitId != UnitId)) return false;
        UnitId = null;
        SweepId = null;
        Step = 0;
        MaxSteps = 0;
        StepsPerSecond = 0;
        return true;
    }
}

/// <summary>
/// The nodes and devices of the farm as the SweepManager sees them, the devices waiting for work, and the views the
/// clients get. Plain state, owned by one actor.
/// </summary>
internal sealed class FarmRegistry
{
    private readonly Dictionary<string, FarmNode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FarmDevice> _devices = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, FarmDevice> _byWorker = [];
    private readonly HashSet<string> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private long _joins;

    public FarmNode? Node(string nodeId) => _nodes.GetValueOrDefault(nodeId);

    public FarmDevice? Device(string deviceId) => _devices.GetValueOrDefault(deviceId);

    public FarmDevice? DeviceOf(IActorRef worker) => _byWorker.GetValueOrDefault(worker);

    public FarmNode? NodeOfAgent(IActorRef agent) =>
        _nodes.Values.FirstOrDefault(n => n.State != FarmNodeState.Gone && n.Agent.Equals(agent));

    /// <summary>The nodes (not yet gone) that live at a cluster address.</summary>
    public IReadOnlyList<FarmNode> NodesAt(Address address) =>
        _nodes.Values.Where(n => n.State != FarmNodeState.Gone && n.Address == address).ToArray();

    public IEnumerable<FarmDevice> DevicesOf(string nodeId) => _devices.Values.Where(d => d.NodeId == nodeId);

    /// <summary>Nodes that take work and have a live device: the ones that could run a unit now.</summary>
    public IReadOnlyList<string> WorkingNodes() =>
        _nodes.Values.Where(n => n.TakesWork && DevicesOf(n.NodeId).Any(d => !d.Gone)).Select(n => n.NodeId).ToArray();

    /// <summary>A node joined, or joined again (a restarted node, or the agent after a coordinator restart).</summary>
    public FarmNode Join(string nodeId, string hostName, Address address, IActorRef agent, DateTimeOffset now)
    {
        if (_nodes.TryGetValue(nodeId, out FarmNode? node))
        {
            node.HostName = hostName;
            node.Address = address;
            node.Agent = agent;
            if (node.State == FarmNodeState.Gone)
            {
                node.JoinedAt = now;
                node.Order = ++_joins;
            }
            node.State = FarmNodeState.Up;
            node.GoneAt = null;
        }
        else
        {
            node = _nodes[nodeId] = new FarmNode(nodeId, hostName, address, agent, now, ++_joins);
        }
        Changed(nodeId);
        return node;
    }

    /// <summary>
    /// A worker registered its device; returns the device and the worker that had it before, if another one did
    /// (the old one is gone: its unit must be requeued).
    /// </summary>
    public (FarmDevice Device, IActorRef? Replaced) Register(RegisterDevice message, string nodeId, IActorRef worker)
    {
        IActorRef? replaced = null;
        if (_devices.TryGetValue(message.DeviceId, out FarmDevice? device))
        {
            if (!device.Worker.Equals(worker))
            {
                _byWorker.Remove(device.Worker);
                replaced = device.Gone ? null : device.Worker;
                device.Worker = worker;
            }
            device.Device = message.Device;
            device.Gone = false;
        }
        else
        {
            device = _devices[message.DeviceId] = new FarmDevice(message.DeviceId, message.Device, nodeId, worker);
        }
        device.FreeMemoryBytes = message.FreeMemoryBytes;
        device.TotalMemoryBytes = message.TotalMemoryBytes;
        _byWorker[worker] = device;
        Changed(nodeId);
        return (device, replaced);
    }

    public void DeviceGone(FarmDevice device)
    {
        device.Gone = true;
        device.End();
        _byWorker.Remove(device.Worker);
        _waiting.Remove(device.DeviceId);
        Changed(device.NodeId);
    }

    public void SetState(FarmNode node, FarmNodeState state, DateTimeOffset now)
    {
        node.State = state;
        if (state == FarmNodeState.Gone) node.GoneAt = now;
        if (!node.TakesWork)
            foreach (FarmDevice device in DevicesOf(node.NodeId))
                _waiting.Remove(device.DeviceId);
        Changed(node.NodeId);
    }

    // ---- devices waiting for work ----

    public void Waiting(FarmDevice device) => _waiting.Add(device.DeviceId);

    /// <summary>The workers of the waiting devices, which are waiting no more.</summary>
    public IReadOnlyList<IActorRef> TakeWaiting()
    {
        IActorRef[] workers = _waiting.Select(id => _devices.GetValueOrDefault(id)).Where(d => d is { Gone: false })
            .Select(d => d!.Worker).ToArray();
        _waiting.Clear();
        return workers;
    }

    public int WaitingCount => _waiting.Count;

    // ---- views ----

    /// <summary>Notes that a node's view changed; <see cref="TakeChanged"/> collects them for one NodeChanged each.</summary>
    public void Changed(string nodeId) => _changed.Add(nodeId);

    public IReadOnlyList<NodeView> TakeChanged(DateTimeOffset now)
    {
        if (_changed.Count == 0) return [];
        NodeView[] views = _changed.Select(id => _nodes.GetValueOrDefault(id)).Where(n => n is not null)
            .Select(n => View(n!)).ToArray();
        _changed.Clear();
        return views;
    }

    /// <summary>Every node in join order; nodes gone longer than <paramref name="forgetAfter"/> are dropped first.</summary>
    public NodeView[] Views(DateTimeOffset now, TimeSpan forgetAfter)
    {
        foreach (FarmNode old in _nodes.Values.Where(n => n.GoneAt is { } gone && now - gone > forgetAfter).ToArray())
        {
            _nodes.Remove(old.NodeId);
            foreach (FarmDevice device in DevicesOf(old.NodeId).ToArray())
            {
                _devices.Remove(device.DeviceId);
                _byWorker.Remove(device.Worker);
            }
        }
        return _nodes.Values.OrderBy(n => n.Order).Select(View).ToArray();
    }

    private NodeView View(FarmNode node) => new(
        node.NodeId,
        node.HostName,
        node.Address.ToString(),
        node.State.ToString().ToLowerInvariant(),
        node.JoinedAt,
        DevicesOf(node.NodeId).OrderBy(d => d.DeviceId, StringComparer.Ordinal).Select(d => View(node, d)).ToArray());

    private static DeviceView View(FarmNode node, FarmDevice d) => new(
        d.DeviceId,
        d.Device,
        d.Gone || node.State == FarmNodeState.Gone ? "gone"
        : node.State == FarmNodeState.Draining ? "draining"
        : d.UnitId is not null ? "running" : "idle",
        d.UnitId,
        d.SweepId,
        d.Step,
        d.MaxSteps,
        d.StepsPerSecond,
        d.JobsDone,
        d.Failures,
        d.FreeMemoryBytes,
        d.TotalMemoryBytes,
        d.LastLosses);
}

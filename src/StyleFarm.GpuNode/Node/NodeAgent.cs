using Akka.Actor;
using Akka.Event;
using StyleFarm.Cluster;
using StyleFarm.GpuNode.Blobs;
using StyleFarm.GpuNode.Devices;
using StyleFarm.Messages;
using StyleFarm.Messages.Nodes;

namespace StyleFarm.GpuNode.Node;

/// <summary>CoordinatedShutdown reason: the node drained (DrainNode) and leaves; the process exits 0.</summary>
public sealed class NodeDrainedReason : CoordinatedShutdown.Reason
{
    public static readonly NodeDrainedReason Instance = new();

    private NodeDrainedReason()
    {
    }

    public override int ExitCode => 0;
}

/// <summary>CoordinatedShutdown reason: the coordinator refused the node (protocol or settings differ); the process exits non-zero.</summary>
public sealed class NodeRefusedReason : CoordinatedShutdown.Reason
{
    public static readonly NodeRefusedReason Instance = new();

    private NodeRefusedReason()
    {
    }

    public override int ExitCode => 1;
}

/// <summary>CoordinatedShutdown's task → NodeAgent: hand every unit back now; answered by <see cref="NodeAgentDrained"/>.</summary>
public sealed class DrainForShutdown : INoSerializationVerificationNeeded
{
    public static readonly DrainForShutdown Instance = new();
}

/// <summary>NodeAgent → whoever asked <see cref="DrainForShutdown"/>: no device holds a unit.</summary>
public sealed class NodeAgentDrained : INoSerializationVerificationNeeded
{
    public static readonly NodeAgentDrained Instance = new();
}

/// <summary>
/// The node in the farm: once its cluster member is Up it announces itself (NodeJoined, repeated until
/// NodeAccepted, and again whenever the SweepManager that accepted it dies), starts a DeviceWorker per device, and
/// drains on request: DrainNode(Now: false) lets every unit finish, DrainNode(Now: true) and SIGTERM hand every
/// unit back; then it reports NodeDrained and leaves the cluster.
/// </summary>
public sealed class NodeAgent : ReceiveActor, IWithTimers
{
    private readonly GpuNodeSettings _settings;
    private readonly IActorRef _sweepManager;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _workers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _drained = new(StringComparer.Ordinal);
    private readonly List<IActorRef> _waitingForDrain = [];
    private IActorRef? _acceptedBy;
    private bool _accepted;
    private bool _draining;
    private bool _handingBack;
    private bool _leaveAfterDrain;
    private bool _reportedDrained;
    private bool _left;

    public NodeAgent(GpuNodeSettings settings, IActorRef sweepManager)
    {
        _settings = settings;
        _sweepManager = sweepManager;

        Receive<MemberIsUp>(_ => Join());
        Receive<JoinTick>(_ => { if (_acceptedBy is null && !_left) SendJoined(); });
        Receive<NodeAccepted>(OnAccepted);
        Receive<Terminated>(t => t.ActorRef.Equals(_acceptedBy), _ =>
        {
            _log.Warning("The SweepManager that accepted {0} is gone; announcing the node again", _settings.NodeId);
            _acceptedBy = null;
            Join();
        });
        Receive<DrainNode>(OnDrainNode);
        Receive<DrainForShutdown>(_ =>
        {
            _waitingForDrain.Add(Sender);
            StartDrain(handBack: true, leaveAfter: false);
        });
        Receive<DeviceDrained>(d =>
        {
            _drained.Add(d.DeviceId);
            CheckDrained();
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(GpuNodeSettings settings, IActorRef sweepManager) =>
        Akka.Actor.Props.Create(() => new NodeAgent(settings, sweepManager));

    private IEnumerable<string> DeviceIdsOfNode => _settings.DeviceSlots().Select(d => DeviceIds.Compose(_settings.NodeId, d.Slot));

    protected override void PreStart()
    {
        var self = Self;
        // The coordinator answers a node only once the node is a cluster member (the proxy needs the cluster).
        Akka.Cluster.Cluster.Get(Context.System).RegisterOnMemberUp(() => self.Tell(MemberIsUp.Instance));
    }

    private void Join()
    {
        if (_left)
            return;
        SendJoined();
        Timers.StartPeriodicTimer(JoinTick.Instance, JoinTick.Instance, _settings.JoinRetry);
    }

    private void SendJoined() =>
        _sweepManager.Tell(new NodeJoined(_settings.NodeId, _settings.HostName, WireLimits.ProtocolVersion,
            StyleFarmClusterSetup.SettingsFingerprint(Context.System), DeviceIdsOfNode.ToArray()));

    private void OnAccepted(NodeAccepted accepted)
    {
        Timers.Cancel(JoinTick.Instance);
        // The sender is the SweepManager itself: its death means a coordinator restart.
        if (!Sender.Equals(_acceptedBy))
        {
            if (_acceptedBy is not null)
                Context.Unwatch(_acceptedBy);
            _acceptedBy = Sender;
            Context.Watch(Sender);
        }
        if (_accepted)
            return;
        _accepted = true;
        Notice($"node {_settings.NodeId} joined the farm with {string.Join(", ", _settings.Devices)}");
        StartWorkers();
        if (_draining)
            foreach (var worker in _workers.Values)
                worker.Tell(new DrainDevice(_handingBack));
    }

    private void StartWorkers()
    {
        var blobs = new NodeBlobCache(_settings.BlobCacheFolder);
        var runners = _settings.ResolveRunnerFactory();
        foreach (var (slot, device) in _settings.DeviceSlots())
        {
            var setup = new DeviceWorkerSetup(_settings.NodeId, device, _sweepManager, blobs, runners, _settings.EffectiveThreads, _settings.Report)
            {
                Timings = _settings.WorkerTimings,
                Slot = slot,
            };
            _workers[setup.DeviceId] = Context.ActorOf(DeviceWorker.Props(setup), "device-" + slot.Replace(':', '-'));
        }
    }

    private void OnDrainNode(DrainNode drain)
    {
        if (drain.Now && !_accepted)
        {
            // The coordinator's answer to a NodeJoined it cannot accept.
            var why = $"the coordinator refused node {_settings.NodeId}: its protocol version ({WireLimits.ProtocolVersion}) or cluster " +
                      $"settings (fingerprint {StyleFarmClusterSetup.SettingsFingerprint(Context.System)[..12]}…) differ from the coordinator's";
            _log.Error(why);
            _settings.Report?.Invoke(why);
            Leave(NodeRefusedReason.Instance);
            return;
        }
        Notice(drain.Now
            ? $"node {_settings.NodeId} is draining now: handing its units back"
            : $"node {_settings.NodeId} is draining: finishing its units");
        StartDrain(handBack: drain.Now, leaveAfter: true);
    }

    private void StartDrain(bool handBack, bool leaveAfter)
    {
        _leaveAfterDrain |= leaveAfter;
        var escalate = handBack && !_handingBack;
        if (_draining && !escalate)
        {
            CheckDrained();
            return;
        }
        _draining = true;
        _handingBack |= handBack;
        Timers.Cancel(JoinTick.Instance);
        foreach (var worker in _workers.Values)
            worker.Tell(new DrainDevice(_handingBack));
        CheckDrained();
    }

    private void CheckDrained()
    {
        if (!_draining || _workers.Keys.Any(id => !_drained.Contains(id)))
            return;
        if (_accepted && !_reportedDrained)
        {
            _reportedDrained = true;
            _sweepManager.Tell(new NodeDrained(_settings.NodeId));
        }
        foreach (var waiting in _waitingForDrain)
            waiting.Tell(NodeAgentDrained.Instance);
        _waitingForDrain.Clear();
        if (_leaveAfterDrain && !_left)
        {
            Notice($"node {_settings.NodeId} drained; leaving the farm");
            Leave(NodeDrainedReason.Instance);
        }
    }

    private void Leave(CoordinatedShutdown.Reason reason)
    {
        _left = true;
        Timers.Cancel(JoinTick.Instance);
        CoordinatedShutdown.Get(Context.System).Run(reason);
    }

    private void Notice(string line)
    {
        _log.Info(line);
        _settings.Report?.Invoke(line);
    }

    private sealed class MemberIsUp : INoSerializationVerificationNeeded
    {
        public static readonly MemberIsUp Instance = new();
    }

    private sealed class JoinTick : INoSerializationVerificationNeeded
    {
        public static readonly JoinTick Instance = new();
    }
}

using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Farm.Blobs;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;
using StyleFarm.Messages.Work;
using SweepState = StyleFarm.Coordinator.Store.SweepState;

namespace StyleFarm.Coordinator.Farm.SweepManager;

/// <summary>
/// The coordinator's cluster singleton: owns the queue of every unfinished sweep, hands units to the devices that
/// pull work (<see cref="SchedulingPolicy"/> decides which), checks every report against the unit's current attempt,
/// requeues the units of devices and nodes that are lost, and answers the clients' sweep and node commands.
/// <para>Every state change is written to the <see cref="FarmStore"/> before anything that depends on it is sent:
/// changes are queued in a <see cref="GroupCommit"/> and committed together, one fsync for a whole mailbox of
/// messages (under load, for everything that queued while the previous batch committed), with the replies sent
/// after the commit. The in-memory policy changes at once, so the next message
/// already sees the new state.</para>
/// <para>Blob messages are forwarded to its child <see cref="BlobStoreActor"/>, which answers the worker directly.</para>
/// </summary>
public sealed class SweepManager : ReceiveActor, IWithTimers
{
    private const string NudgeTimer = "nudge-waiting";
    private static readonly HashSet<SweepState> Finished = [SweepState.Done, SweepState.Failed, SweepState.Cancelled];

    private readonly FarmStore _store;
    private readonly BlobStore _blobs;
    private readonly SweepManagerSettings _settings;
    private readonly SchedulingPolicy _policy;
    private readonly GroupCommit _commit;
    private readonly FarmRegistry _farm = new();
    private readonly UnitBook _units = new();
    private readonly Dictionary<string, ActiveSweep> _sweeps = new(StringComparer.Ordinal);
    // Attempts whose UnitDone waits for its commit: a repeat of it then adds nothing but a write.
    private readonly HashSet<string> _endsBeingWritten = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _fingerprint;
    private IActorRef _blobActor = ActorRefs.Nobody;
    private Address _selfAddress = Address.AllSystems;
    private bool _flushScheduled;

    public SweepManager(FarmStore store, BlobStore blobs, FusionPlanner planner, SweepManagerSettings settings)
    {
        _store = store;
        _blobs = blobs;
        _settings = settings;
        _policy = new SchedulingPolicy(planner, settings.SplitUnitsToFit);
        IActorRef self = Self;
        _commit = new GroupCommit(store, message => self.Tell(message));
        _fingerprint = StyleFarmClusterSetup.SettingsFingerprint(Context.System);

        // Nodes and devices
        Receive<NodeJoined>(OnNodeJoined);
        Receive<RegisterDevice>(OnRegisterDevice);
        Receive<RequestDrain>(OnRequestDrain);
        Receive<NodeDrained>(m => NodeGone(m.NodeId, "drained"));
        Receive<GetFarmNodes>(_ => Sender.Tell(new FarmNodes(_farm.Views(DateTimeOffset.UtcNow, _settings.ForgetGoneNodesAfter))));
        Receive<Terminated>(OnTerminated);
        Receive<ClusterEvent.UnreachableMember>(m => OnUnreachable(m.Member.Address));
        Receive<ClusterEvent.ReachableMember>(m => OnReachable(m.Member.Address));
        Receive<ClusterEvent.MemberRemoved>(m => OnRemoved(m.Member.Address));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });

        // Work
        Receive<RequestWork>(OnRequestWork);
        Receive<UnitProgress>(OnUnitProgress);
        Receive<SnapshotReady>(OnSnapshotReady);
        Receive<UnitCheckpointed>(OnUnitCheckpointed);
        Receive<JobResult>(OnJobResult);
        Receive<UnitFinished>(OnUnitFinished);
        Receive<UnitDone>(OnUnitDone);
        Receive<UnitFailed>(OnUnitFailed);
        Receive<HandBackUnit>(OnHandBack);

        // Sweeps
        Receive<SweepSubmitted>(OnSweepSubmitted);
        Receive<PauseSweep>(OnPause);
        Receive<ResumeSweep>(OnResume);
        Receive<CancelSweep>(OnCancel);

        // Blobs go to the child, which answers the sender itself.
        Receive<BlobOffer>(m => _blobActor.Forward(m));
        Receive<BlobChunk>(m => _blobActor.Forward(m));
        Receive<BlobChunkRequest>(m => _blobActor.Forward(m));
        Receive<BlobComplete>(m => _blobActor.Forward(m));

        // Group commit
        Receive<FlushWrites>(_ => StartCommit());
        Receive<GroupCommit.Committed>(OnCommitted);
        Receive<Status.Failure>(f => throw new InvalidOperationException(
            "The farm store could not commit; the SweepManager restarts from what is stored.", f.Cause));
        Receive<NudgeWaiting>(_ =>
        {
            if (_policy.PendingCount > 0) NotifyWaiting();
        });
    }

    public static Props Props(FarmStore store, BlobStore blobs, FusionPlanner planner, SweepManagerSettings settings) =>
        Akka.Actor.Props.Create(() => new SweepManager(store, blobs, planner, settings));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _blobActor = Context.ActorOf(BlobStoreActor.Props(_blobs, _settings), "blobs");
        if (_settings.WatchClusterMembership)
        {
            var cluster = Akka.Cluster.Cluster.Get(Context.System);
            _selfAddress = cluster.SelfAddress;
            cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        }
        else
        {
            _selfAddress = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress;
        }
        Recover();
        Timers.StartPeriodicTimer(NudgeTimer, NudgeWaiting.Instance, _settings.NudgeWaitingDevicesEvery);
    }

    protected override void PostStop()
    {
        if (_settings.WatchClusterMembership) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        // Queued writes were never acknowledged, so dropping them loses nothing anyone was told; the batch in
        // flight must finish before the store may close.
        _commit.Close(TimeSpan.FromSeconds(10));
    }

    // ---- startup ----

    private void Recover()
    {
        IReadOnlyList<UnfinishedSweep> unfinished = _store.RecoverOnStartup();
        foreach (UnfinishedSweep sweep in unfinished)
        {
            // Failures by node are replayed so that a node blocked before the restart stays blocked.
            _policy.AddSweep(sweep.Sweep.Id, sweep.Sweep.Priority, sweep.Sweep.Retries);
            foreach (NodeAttempts node in _store.AttemptsByNode(sweep.Sweep.Id))
                for (int i = 0; i < node.Failed; i++)
                    _policy.RecordFailure(sweep.Sweep.Id, node.Node);
            Load(sweep.Sweep, sweep.Units, registered: true);
        }
        _log.Info("SweepManager started: {0} unfinished sweeps, {1} units queued", unfinished.Count, _policy.PendingCount);
    }

    /// <summary>Puts a stored sweep and its queued units into the policy, in stored order, with their history.</summary>
    private void Load(SweepRecord sweep, IEnumerable<UnitRecord> units, bool registered = false)
    {
        if (!registered) _policy.AddSweep(sweep.Id, sweep.Priority, sweep.Retries);
        _sweeps[sweep.Id] = new ActiveSweep { Paused = sweep.State == SweepState.Paused };
        if (sweep.State == SweepState.Paused) _policy.Pause(sweep.Id);
        foreach (UnitRecord unit in units.Where(u => u.State == UnitState.Queued))
        {
            _policy.Enqueue(unit.Unit, unit.Failures, unit.FailedOn, unit.FailureReason, hasRun: unit.Attempts > 0);
            _units.Advance(unit.Unit, unit.Checkpoint);
        }
    }

    // ---- nodes and devices ----

    private void OnNodeJoined(NodeJoined m)
    {
        string? refusal =
            m.ProtocolVersion != WireLimits.ProtocolVersion
                ? $"it speaks protocol {m.ProtocolVersion}, this coordinator {WireLimits.ProtocolVersion}"
            : m.SettingsFingerprint != _fingerprint
                ? "its cluster settings or wire types differ from the coordinator's (settings fingerprint mismatch); run the same StyleFarm build and settings on every node"
            : string.IsNullOrWhiteSpace(m.NodeId) || m.NodeId.Contains('/')
                ? $"its node id '{m.NodeId}' is empty or contains '/'"
            : null;
        if (refusal is not null)
        {
            _log.Warning("Refused node {0} ({1}): {2}", m.NodeId, m.HostName, refusal);
            Sender.Tell(new DrainNode(m.NodeId, Now: true));
            return;
        }
        FarmNode node = _farm.Join(m.NodeId, m.HostName, AddressOf(Sender), Sender, DateTimeOffset.UtcNow);
        Context.Watch(Sender);
        Sender.Tell(new NodeAccepted(m.NodeId));
        _log.Info("Node {0} ({1}) joined at {2} with {3} devices", m.NodeId, m.HostName, node.Address, m.DeviceIds.Length);
        PublishNodeChanges();
        NotifyWaiting(); // its devices may have asked before it joined
    }

    private void OnRegisterDevice(RegisterDevice m)
    {
        if (!DeviceIds.TrySplit(m.DeviceId, out string nodeId, out _))
        {
            _log.Warning("Ignored a device registration with a malformed id '{0}' from {1}", m.DeviceId, Sender);
            return;
        }
        (FarmDevice device, IActorRef? replaced) = _farm.Register(m, nodeId, Sender);
        Context.Watch(Sender);
        if (replaced is not null)
        {
            // A new worker for the device: whatever the old one held is lost with it.
            Context.Unwatch(replaced);
            if (_units.HeldByDevice(device.DeviceId) is { } held) Requeue(held, "the device's worker was replaced");
        }
        Sender.Tell(new DeviceRegistered(m.DeviceId), Self);
        PublishNodeChanges();
    }

    private void OnRequestDrain(RequestDrain m)
    {
        FarmNode? node = _farm.Node(m.NodeId);
        if (node is null || node.State == FarmNodeState.Gone)
        {
            Sender.Tell(new NodeControlAck(m.NodeId, "drain", false, node is null ? $"unknown node '{m.NodeId}'" : $"node '{m.NodeId}' has left"));
            return;
        }
        node.Agent.Tell(new DrainNode(m.NodeId, m.Now));
        _farm.SetState(node, FarmNodeState.Draining, DateTimeOffset.UtcNow);
        _log.Info("Draining node {0} ({1})", m.NodeId, m.Now ? "now: units hand back" : "after its units");
        Sender.Tell(new NodeControlAck(m.NodeId, "drain", true, null));
        PublishNodeChanges();
    }

    private void OnTerminated(Terminated m)
    {
        if (_farm.DeviceOf(m.ActorRef) is { } device)
        {
            _log.Info("Worker of device {0} stopped", device.DeviceId);
            DeviceLost(device, "the device's worker stopped");
            PublishNodeChanges();
            CheckBlockedSweeps();
        }
        else if (_farm.NodeOfAgent(m.ActorRef) is { } node)
        {
            NodeGone(node.NodeId, "its agent stopped");
        }
    }

    private void OnUnreachable(Address address)
    {
        foreach (FarmNode node in _farm.NodesAt(address))
        {
            _log.Warning("Node {0} at {1} is unreachable; its units are requeued from their last checkpoints", node.NodeId, address);
            _farm.SetState(node, FarmNodeState.Unreachable, DateTimeOffset.UtcNow);
            foreach (HeldUnit held in _units.HeldOnNode(node.NodeId))
            {
                Requeue(held, $"node {node.NodeId} became unreachable");
                // Should the node come back, its worker drops the unit, which by then runs elsewhere.
                held.Worker.Tell(new CancelUnit(held.UnitId, held.AttemptId, HandBack: false, "the unit was reassigned: this node was unreachable"));
            }
        }
        PublishNodeChanges();
        CheckBlockedSweeps();
    }

    private void OnReachable(Address address)
    {
        foreach (FarmNode node in _farm.NodesAt(address).Where(n => n.State == FarmNodeState.Unreachable))
        {
            _log.Info("Node {0} is reachable again", node.NodeId);
            _farm.SetState(node, FarmNodeState.Up, DateTimeOffset.UtcNow);
        }
        PublishNodeChanges();
        NotifyWaiting();
    }

    private void OnRemoved(Address address)
    {
        foreach (FarmNode node in _farm.NodesAt(address)) NodeGone(node.NodeId, "it left the cluster");
    }

    private void NodeGone(string nodeId, string reason)
    {
        FarmNode? node = _farm.Node(nodeId);
        if (node is null || node.State == FarmNodeState.Gone) return;
        _log.Info("Node {0} is gone: {1}", nodeId, reason);
        foreach (FarmDevice device in _farm.DevicesOf(nodeId).Where(d => !d.Gone).ToArray()) DeviceLost(device, $"node {nodeId} is gone: {reason}");
        _farm.SetState(node, FarmNodeState.Gone, DateTimeOffset.UtcNow);
        Context.Unwatch(node.Agent);
        PublishNodeChanges();
        CheckBlockedSweeps();
    }

    private void DeviceLost(FarmDevice device, string reason)
    {
        if (_units.HeldByDevice(device.DeviceId) is { } held) Requeue(held, reason);
        Context.Unwatch(device.Worker);
        _farm.DeviceGone(device);
    }

    // ---- work ----

    private void OnRequestWork(RequestWork m)
    {
        FarmDevice? device = _farm.Device(m.DeviceId);
        if (device is null || device.Gone || !device.Worker.Equals(Sender))
        {
            // Not registered (yet, or any more): it registers first, and then it asks again.
            Sender.Tell(NoWork.Instance);
            return;
        }
        FarmNode? node = _farm.Node(device.NodeId);
        if (node is null || !node.TakesWork)
        {
            Sender.Tell(NoWork.Instance);
            // A node not yet joined (or unreachable for a moment) may take work soon; a draining one never again.
            if (node is null || node.State == FarmNodeState.Unreachable) _farm.Waiting(device);
            return;
        }
        if (m.FreeMemoryBytes > 0) device.FreeMemoryBytes = m.FreeMemoryBytes;
        // A device asking while it holds a unit has dropped it (a restarted worker): requeue it first.
        if (_units.HeldByDevice(device.DeviceId) is { } dropped) Requeue(dropped, "the device asked for work while holding it");

        Assignment? assignment = _policy.Next(new WorkRequest(node.NodeId, device.DeviceId, m.FreeMemoryBytes > 0 ? m.FreeMemoryBytes : null));
        if (assignment is null)
        {
            Sender.Tell(NoWork.Instance);
            _farm.Waiting(device);
            return;
        }
        Dispatch(assignment, node, device);
    }

    /// <summary>
    /// Sends the unit at once and stores the assignment in the next commit, ahead of any later report about it. It
    /// need not be durable first: a coordinator that restarts requeues every unit it had handed out anyway, and a
    /// result from an attempt the store never saw is still recorded by its job.
    /// </summary>
    private void Dispatch(Assignment assignment, FarmNode node, FarmDevice device)
    {
        WorkUnit unit = assignment.Unit;
        UnitSplit? split = assignment.Split;
        string attemptId = FarmStore.NewAttemptId();
        HeldUnit held = _units.Hold(unit, attemptId, node.NodeId, device.DeviceId, device.Worker);
        if (split is not null) held.Resume = null; // parts of a cut unit start afresh (the policy cuts only units that never ran)
        device.Start(unit, held.Resume?.Step ?? 0, DateTimeOffset.UtcNow);
        _farm.Changed(node.NodeId);
        string nodeId = node.NodeId, deviceId = device.DeviceId;
        held.Worker.Tell(new AssignUnit(attemptId, unit, held.Resume, _settings.CheckpointEverySteps), Self);
        Publish(new UnitAssigned(unit.SweepId, unit.UnitId, deviceId, attemptId, unit.Jobs.Count(), unit));
        GroupCommit.PendingWrite assignWrite = Persist(store =>
        {
            if (split is not null && !store.SplitUnit(split.Original.UnitId, split.Parts)) return null;
            return store.AssignUnit(unit.UnitId, nodeId, deviceId, attemptId);
        }, (result, error) =>
        {
            held.AssignWrite = null;
            if (result is string || !_units.IsCurrent(held)) return;
            // The store had the unit in another state (it was not queued there, or its sweep stopped): the device
            // drops it, and the queue forgets it rather than hand it out again.
            _log.Error(error, "The store refused to hand out unit {0} of sweep {1}; it is dropped from the queue", unit.UnitId, unit.SweepId);
            EndHold(held);
            _policy.Completed(unit.UnitId);
            held.Worker.Tell(new CancelUnit(unit.UnitId, attemptId, HandBack: false, "the farm's store refused the assignment"));
        });
        // The assignment of a cut unit's part also stores the cut: it is never folded into the part's end.
        if (split is null) held.AssignWrite = assignWrite;
    }

    private void OnUnitProgress(UnitProgress m)
    {
        if (Current(m.UnitId, m.AttemptId, m) is not { } held) return;
        if (!held.Started)
        {
            held.Started = true;
            Persist(store => store.MarkUnitRunning(m.UnitId, m.AttemptId));
        }
        if (_farm.Device(held.DeviceId) is { } device)
        {
            device.Progress(m.Step, m.Losses is { Length: > 0 } ? m.Losses[0].Losses : null, DateTimeOffset.UtcNow);
            Publish(new UnitProgressed(held.SweepId, held.UnitId, held.DeviceId, m.Step, held.Unit.MaxSteps, m.Losses ?? []));
        }
    }

    private void OnSnapshotReady(SnapshotReady m)
    {
        if (Current(m.UnitId, m.AttemptId, m) is not { } held) return;
        if (!HasBlob(m.ImageBlob, m)) return;
        // For the Dashboard: the snapshot's jobs, as the store files it (every job of the variant running that far).
        string[] jobIds = held.Unit.Variants.Where(v => v.VariantId == m.VariantId)
            .SelectMany(v => v.Jobs).Where(j => j.Steps >= m.Step).Select(j => j.JobId).ToArray();
        Persist(store => store.AddSnapshot(m.UnitId, m.VariantId, m.Step, m.ImageBlob), (_, error) =>
        {
            if (error is null) Publish(new SnapshotStored(held.SweepId, m.UnitId, m.VariantId, jobIds, m.Step, m.ImageBlob));
            else _log.Error(error, "Could not store a snapshot of unit {0}", m.UnitId);
        });
    }

    private void OnUnitCheckpointed(UnitCheckpointed m)
    {
        if (Current(m.UnitId, m.AttemptId, m) is not { } held) return;
        if (!HasBlob(m.CheckpointBlob, m)) return;
        var point = new ResumePoint(m.CheckpointBlob, m.Step);
        if (held.Resume is null || held.Resume.Step < m.Step) held.Resume = point;
        _units.Advance(held.Unit, point);
        Persist(store => store.SaveCheckpoint(m.UnitId, m.CheckpointBlob, m.Step));
    }

    private void OnJobResult(JobResult m)
    {
        // Recorded whichever attempt delivers it (stale ones too): the result is the same job's.
        if (!HasBlobs(m)) return; // the worker repeats it once they are here
        IActorRef replyTo = Sender;
        string? knownSweep = _units.Current(m.UnitId, m.AttemptId)?.SweepId;
        Persist(store =>
        {
            RecordOutcome outcome = store.RecordJobResult(m);
            return (outcome, SweepId: knownSweep ?? store.GetUnit(m.UnitId)?.SweepId);
        }, (result, error) =>
        {
            if (error is not null)
            {
                _log.Error(error, "Could not record the result of job {0}; the worker will send it again", m.JobId);
                return;
            }
            var (outcome, sweepId) = ((RecordOutcome, string?))result!;
            replyTo.Tell(new ResultStored(m.UnitId, m.AttemptId, m.JobId));
            AfterResultWritten(m, outcome, sweepId);
        });
    }

    private void OnUnitFinished(UnitFinished m)
    {
        if (Current(m.UnitId, m.AttemptId, m) is not { } held) return;
        Completed(held);
        Persist(store => store.CompleteUnit(m.UnitId, m.AttemptId), (result, error) =>
        {
            if (error is not null) _log.Error(error, "Could not complete unit {0}", m.UnitId);
            else Publish(new UnitCompleted(held.SweepId, held.UnitId, held.DeviceId)); // for the Dashboard
            SettleIfEnded(held.SweepId, result as UnitChange);
        });
    }

    /// <summary>
    /// A unit's results and its end in one message: recorded and completed in one write, answered once durable. The
    /// device asked for its next unit right behind it, so that assignment usually joins the same commit.
    /// </summary>
    private void OnUnitDone(UnitDone m)
    {
        // Repeated while the first is still being written (a loaded store's commits outlast the worker's resend
        // interval): that write's answer goes to the same worker. Writing the repeat too only slows the store further.
        if (_endsBeingWritten.Contains(m.AttemptId)) return;
        JobResult[] results = m.Results ?? [];
        if (!results.All(HasBlobs)) return; // the worker repeats it
        IActorRef replyTo = Sender;
        _endsBeingWritten.Add(m.AttemptId);
        HeldUnit? held = Current(m.UnitId, m.AttemptId, m);
        if (held is not null) Completed(held);
        bool complete = held is not null;
        Action<object?, Exception?> then = (result, error) =>
        {
            _endsBeingWritten.Remove(m.AttemptId);
            if (error is not null)
            {
                _log.Error(error, "Could not record the end of unit {0}; the worker will send it again", m.UnitId);
                return;
            }
            var done = (UnitDoneOutcome)result!;
            replyTo.Tell(new UnitDoneStored(m.UnitId, m.AttemptId));
            for (int i = 0; i < results.Length; i++) AfterResultWritten(results[i], done.Outcomes[i], done.SweepId);
            if (held is null) return;
            Publish(new UnitCompleted(held.SweepId, held.UnitId, held.DeviceId)); // for the Dashboard
            SettleIfEnded(held.SweepId, done.Change);
        };
        // A short unit under load ends before its assignment was committed: the two become one write, and the ends
        // so folded that meet in a commit are written together (UnitEndFolds).
        if (held is { AssignWrite: { } assign } && _commit.TryDrop(assign, held.AttemptId))
        {
            var end = new UnitEndToFold(held.UnitId, held.NodeId, held.DeviceId, held.AttemptId, held.AssignedAt, results);
            Persist(store => store.AssignAndRecordUnitDone(end), then, UnitEndFolds, end);
        }
        else Persist(store => store.RecordUnitDone(m.UnitId, m.AttemptId, results, complete), then);
    }

    private static readonly GroupCommit.WriteGroup UnitEndFolds =
        GroupCommit.WriteGroup.Of<UnitEndToFold, UnitDoneOutcome>((store, ends) => store.AssignAndRecordUnitsDone(ends));

    /// <summary>The held unit ran to its end: nothing holds, queues or resumes it any more.</summary>
    private void Completed(HeldUnit held)
    {
        EndHold(held);
        _policy.Completed(held.UnitId);
        _units.Forget(held.UnitId);
    }

    /// <summary>After a result's write: counted for its device and told to the Dashboard when it was the job's first.</summary>
    private void AfterResultWritten(JobResult result, RecordOutcome outcome, string? sweepId)
    {
        if (outcome == RecordOutcome.UnknownJob) _log.Warning("Result for unknown job {0} (unit {1}) ignored", result.JobId, result.UnitId);
        if (outcome != RecordOutcome.Recorded) return;
        if (_farm.Device(result.DeviceId) is { } device)
        {
            device.JobsDone++;
            _farm.Changed(device.NodeId);
        }
        Publish(new JobRecorded(sweepId ?? "", result.JobId, result.DeviceId));
    }

    private void OnUnitFailed(UnitFailed m)
    {
        if (Current(m.UnitId, m.AttemptId, m) is not { } held) return;
        string reason = WireLimits.Clip(string.IsNullOrWhiteSpace(m.Reason) ? "the unit failed (no reason given)" : m.Reason);
        EndHold(held);
        if (_farm.Device(held.DeviceId) is { } device) device.Failures++;
        FailureOutcome? outcome = _policy.Failed(held.UnitId, held.NodeId, reason);
        _log.Warning("Unit {0} failed on {1} at step {2} ({3}): {4}", held.UnitId, held.DeviceId, m.Step,
            outcome?.Verdict.ToString() ?? "unknown to the queue", reason);
        if (outcome?.NodeBlocked == true)
            _log.Warning("Node {0} is blocked for sweep {1} after {2} failures", held.NodeId, held.SweepId, SchedulingPolicy.BlockAfterFailures);
        Persist(store => store.FailUnit(m.UnitId, m.AttemptId, reason), (result, error) =>
        {
            if (error is not null) _log.Error(error, "Could not record the failure of unit {0}", m.UnitId);
            if (result is not UnitChange change) return;
            bool queued = outcome?.Verdict == FailureVerdict.Retry;
            // The store counts retries too; should the two ever disagree, the store's word stands.
            if (queued && change.Unit == UnitState.Failed) _policy.Completed(held.UnitId);
            if (!queued && change.Unit == UnitState.Queued && _sweeps.ContainsKey(held.SweepId))
            {
                _policy.Enqueue(held.Unit, outcome?.Failures ?? 1, [held.NodeId], reason, hasRun: true);
                NotifyWaiting();
            }
            if (change.Unit == UnitState.Failed)
            {
                _units.Forget(held.UnitId);
                Publish(new JobsFailed(held.SweepId, held.Unit.Jobs.Select(j => j.JobId).ToArray(), reason));
            }
            SettleIfEnded(held.SweepId, change);
        });
        if (outcome?.Verdict == FailureVerdict.Retry)
        {
            Publish(new UnitRequeued(held.SweepId, held.UnitId, held.DeviceId, reason));
            NotifyWaiting();
        }
        CheckBlocked(held.SweepId);
    }

    private void OnHandBack(HandBackUnit m)
    {
        IActorRef replyTo = Sender;
        ResumePoint? resume = m.Resume is { } point && HasBlob(point.CheckpointBlob, m) ? point : null;
        string reason = WireLimits.Clip(string.IsNullOrWhiteSpace(m.Reason) ? "handed back" : m.Reason);
        HeldUnit? held = _units.Current(m.UnitId, m.AttemptId);
        if (held is not null)
        {
            held.Resume = resume is not null && (held.Resume is null || held.Resume.Step < resume.Step) ? resume : held.Resume;
            Requeue(held, reason, resume);
        }
        else
        {
            // Stale (reassigned, cancelled): the store still keeps a newer checkpoint; the device is free either way.
            if (_farm.Device(m.DeviceId) is { } device && device.End(m.UnitId)) _farm.Changed(device.NodeId);
            if (resume is not null)
            {
                Persist(store => store.RequeueUnit(m.UnitId, m.AttemptId, reason, resume));
                if (!_units.IsHeld(m.UnitId)) _units.AdvanceKnown(m.UnitId, resume);
            }
        }
        Persist(_ => null, (_, _) => replyTo.Tell(new HandBackAccepted(m.UnitId, m.AttemptId)));
    }

    /// <summary>Puts a held unit back in the queue (no failure counted): store, policy, book, device view, waiters.</summary>
    private void Requeue(HeldUnit held, string reason, ResumePoint? checkpoint = null)
    {
        EndHold(held);
        bool queued = _policy.Released(held.UnitId);
        if (queued) _units.Advance(held.Unit, held.Resume);
        Persist(store => store.RequeueUnit(held.UnitId, held.AttemptId, reason, checkpoint));
        if (!queued) return;
        _log.Info("Unit {0} requeued from step {1}: {2}", held.UnitId, held.Resume?.Step ?? 0, reason);
        Publish(new UnitRequeued(held.SweepId, held.UnitId, held.DeviceId, reason));
        NotifyWaiting();
        CheckBlocked(held.SweepId);
    }

    private void EndHold(HeldUnit held)
    {
        _units.Release(held);
        if (_farm.Device(held.DeviceId) is { } device && device.End(held.UnitId)) _farm.Changed(device.NodeId);
    }

    /// <summary>The holding a report is about, or null (and a debug line) when its attempt is stale.</summary>
    private HeldUnit? Current(string unitId, string attemptId, object report)
    {
        HeldUnit? held = _units.Current(unitId, attemptId);
        if (held is null) _log.Debug("Dropped {0} of unit {1}: attempt {2} no longer holds it", report.GetType().Name, unitId, attemptId);
        return held;
    }

    private bool HasBlobs(JobResult result) => HasBlob(result.ImageBlob, result) && HasBlob(result.TraceBlob, result);

    private bool HasBlob(string hash, object report)
    {
        if (BlobHash.IsValid(hash) && _blobs.Exists(hash)) return true;
        _log.Warning("Ignored {0}: blob {1} is not in the blob store (it is uploaded before it is named)", report.GetType().Name, hash);
        return false;
    }

    // ---- sweeps ----

    private void OnSweepSubmitted(SweepSubmitted m)
    {
        if (_sweeps.ContainsKey(m.SweepId))
        {
            Sender.Tell(new SweepControlAck(m.SweepId, "submit", true, null));
            return;
        }
        SweepRecord? sweep = _store.GetSweep(m.SweepId);
        if (sweep is null)
        {
            Sender.Tell(new SweepControlAck(m.SweepId, "submit", false, $"unknown sweep '{m.SweepId}'"));
            return;
        }
        Sender.Tell(new SweepControlAck(m.SweepId, "submit", true, null));
        if (sweep.IsFinished)
        {
            // E.g. every job was done before: nothing to run, but whoever waits for the end hears of it.
            Publish(new SweepEnded(sweep.Id, sweep.State));
            return;
        }
        Load(sweep, _store.QueuedUnitsToLoad(sweep.Id));
        _log.Info("Sweep {0} ({1}) queued: {2} units", sweep.Id, sweep.Name, _policy.PendingOf(sweep.Id).Count);
        Publish(new SweepQueued(sweep.Id, sweep.Name)); // for the Dashboard, which reads the sweep from the store
        NotifyWaiting();
    }

    private void OnPause(PauseSweep m)
    {
        IActorRef replyTo = Sender;
        if (_sweeps.TryGetValue(m.SweepId, out ActiveSweep? active))
        {
            active.Paused = true;
            _policy.Pause(m.SweepId);
        }
        Persist(store => store.PauseSweep(m.SweepId), (result, error) =>
        {
            var state = result as SweepState?;
            if (state != SweepState.Paused)
            {
                replyTo.Tell(new SweepControlAck(m.SweepId, "pause", false, ControlError(m.SweepId, state, error, "paused")));
                return;
            }
            replyTo.Tell(new SweepControlAck(m.SweepId, "pause", true, null));
            // Running units checkpoint and come back with HandBackUnit; they wait in the queue until resumed.
            foreach (HeldUnit held in _units.HeldOfSweep(m.SweepId))
                held.Worker.Tell(new CancelUnit(held.UnitId, held.AttemptId, HandBack: true, "paused"));
        });
    }

    private void OnResume(ResumeSweep m)
    {
        IActorRef replyTo = Sender;
        if (_sweeps.TryGetValue(m.SweepId, out ActiveSweep? active))
        {
            active.Paused = false;
            _policy.Resume(m.SweepId);
        }
        Persist(store => store.ResumeSweep(m.SweepId), (result, error) =>
        {
            var state = result as SweepState?;
            bool applied = state is SweepState.Queued or SweepState.Running;
            replyTo.Tell(new SweepControlAck(m.SweepId, "resume", applied, applied ? null : ControlError(m.SweepId, state, error, "resumed")));
            if (applied) NotifyWaiting();
        });
        NotifyWaiting();
    }

    private void OnCancel(CancelSweep m)
    {
        IActorRef replyTo = Sender;
        IReadOnlyList<HeldUnit> stopped = [];
        if (_sweeps.TryGetValue(m.SweepId, out ActiveSweep? active))
        {
            active.Cancelled = true;
            _policy.Cancel(m.SweepId);
            stopped = _units.HeldOfSweep(m.SweepId);
            foreach (HeldUnit held in stopped) EndHold(held); // their later reports are stale
        }
        Persist(store => store.CancelSweep(m.SweepId), (result, error) =>
        {
            var state = result as SweepState?;
            if (state != SweepState.Cancelled)
            {
                replyTo.Tell(new SweepControlAck(m.SweepId, "cancel", false, ControlError(m.SweepId, state, error, "cancelled")));
                return;
            }
            replyTo.Tell(new SweepControlAck(m.SweepId, "cancel", true, null));
            foreach (HeldUnit held in stopped)
                held.Worker.Tell(new CancelUnit(held.UnitId, held.AttemptId, HandBack: false, "cancelled"));
            EndSweep(m.SweepId, SweepState.Cancelled);
        });
    }

    private static string ControlError(string sweepId, SweepState? state, Exception? error, string verb) =>
        error is not null ? $"the store failed: {error.Message}"
        : state is null ? $"unknown sweep '{sweepId}'"
        : $"sweep '{sweepId}' is {state.Value.ToString().ToLowerInvariant()} and cannot be {verb}";

    private void SettleIfEnded(string sweepId, UnitChange? change)
    {
        if (change is not null && Finished.Contains(change.Sweep)) EndSweep(sweepId, change.Sweep);
    }

    private void EndSweep(string sweepId, SweepState state)
    {
        if (!_sweeps.Remove(sweepId)) return;
        _policy.RemoveSweep(sweepId);
        _units.ForgetSweep(sweepId);
        _log.Info("Sweep {0} ended: {1}", sweepId, state);
        Publish(new SweepEnded(sweepId, state));
    }

    /// <summary>
    /// A sweep whose queued units no live node may run (every one is blocked for it) would wait forever: its
    /// queued units fail, saying why. Paused sweeps wait; a farm with no node yet waits for one.
    /// </summary>
    private void CheckBlocked(string sweepId)
    {
        if (!_sweeps.TryGetValue(sweepId, out ActiveSweep? sweep) || sweep.Paused || sweep.Cancelled) return;
        IReadOnlyList<string> nodes = _farm.WorkingNodes();
        if (nodes.Count == 0 || !nodes.All(n => _policy.IsBlocked(sweepId, n))) return;
        IReadOnlyList<QueuedUnit> pending = _policy.PendingOf(sweepId);
        if (pending.Count == 0) return;
        foreach (QueuedUnit queued in pending)
        {
            WorkUnit unit = queued.Unit;
            string reason = WireLimits.Clip(
                $"every node that could run it ({string.Join(", ", nodes)}) is blocked for this sweep after " +
                $"{SchedulingPolicy.BlockAfterFailures} failures; last failure: {queued.LastFailure ?? "none recorded"}");
            _policy.Completed(unit.UnitId);
            _units.Forget(unit.UnitId);
            Persist(store => store.AbandonUnit(unit.UnitId, reason), (result, error) =>
            {
                if (error is not null) _log.Error(error, "Could not fail unit {0}", unit.UnitId);
                Publish(new JobsFailed(sweepId, unit.Jobs.Select(j => j.JobId).ToArray(), reason));
                SettleIfEnded(sweepId, result as UnitChange);
            });
        }
        _log.Warning("Sweep {0}: {1} units failed, every node is blocked for it", sweepId, pending.Count);
    }

    private void CheckBlockedSweeps()
    {
        foreach (string sweepId in _sweeps.Keys.ToArray()) CheckBlocked(sweepId);
    }

    // ---- plumbing ----

    /// <summary>Queues a store write; <paramref name="then"/> runs on this actor after it committed.</summary>
    private GroupCommit.PendingWrite Persist(Func<FarmStore, object?> write, Action<object?, Exception?>? then = null,
        GroupCommit.WriteGroup? group = null, object? item = null)
    {
        if (!_commit.Add(write, then ?? LogFailure, out GroupCommit.PendingWrite queued, group, item) || _flushScheduled) return queued;
        _flushScheduled = true;
        // Behind whatever is in the mailbox now: those messages join this batch.
        Self.Tell(FlushWrites.Instance);
        return queued;
    }

    private void LogFailure(object? result, Exception? error)
    {
        if (error is not null) _log.Error(error, "A farm store write failed");
    }

    private void StartCommit()
    {
        _flushScheduled = false;
        _commit.Start();
    }

    private void OnCommitted(GroupCommit.Committed batch)
    {
        GroupCommit.Finish(batch);
        PublishNodeChanges();
    }

    private void NotifyWaiting()
    {
        foreach (IActorRef worker in _farm.TakeWaiting()) worker.Tell(WorkAvailable.Instance);
    }

    private void PublishNodeChanges()
    {
        foreach (NodeView view in _farm.TakeChanged(DateTimeOffset.UtcNow)) Publish(new NodeChanged(view));
    }

    private void Publish(IFarmEvent e) => Context.System.EventStream.Publish(e);

    private Address AddressOf(IActorRef actor) => actor.Path.Address.HasLocalScope ? _selfAddress : actor.Path.Address;

    private sealed class ActiveSweep
    {
        public bool Paused { get; set; }
        public bool Cancelled { get; set; }
    }

    private sealed class FlushWrites : INoSerializationVerificationNeeded
    {
        public static readonly FlushWrites Instance = new();
    }

    private sealed class NudgeWaiting : INoSerializationVerificationNeeded
    {
        public static readonly NudgeWaiting Instance = new();
    }
}

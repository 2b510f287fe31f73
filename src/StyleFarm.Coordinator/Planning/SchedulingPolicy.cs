using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Planning;

/// <summary>
/// Decides which queued unit an idle device gets, and what happens when a unit fails. A plain, single-threaded
/// class: the dispatcher actor calls it from its message handler and owns persistence (it writes each decision to
/// the store before acting on it, and after a restart replays sweeps, queued units and failures into a new policy).
/// <para>Order, for a device on node N:</para>
/// <list type="number">
/// <item>sweeps paused, cancelled, or that have blocked N are skipped;</item>
/// <item>highest sweep priority first;</item>
/// <item>among sweeps of equal priority, the one served least recently first, so concurrent sweeps take turns;</item>
/// <item>within a sweep, the oldest unit first (a retried or split unit keeps its place);</item>
/// <item>a unit too big for the device's free memory is cut to fit when one of its variants fits and it has never
/// run (a checkpoint belongs to the whole unit), else skipped;</item>
/// <item>a unit that already failed on N goes to N only when nothing else is left for it, so retries prefer other nodes
/// (and a farm of one node still retries).</item>
/// </list>
/// </summary>
public sealed class SchedulingPolicy
{
    /// <summary>A sweep's retries unless it says otherwise: a unit runs at most 1 + retries times.</summary>
    public const int DefaultRetries = 3;

    /// <summary>Failures of a sweep's units on one node after which that node gets no more of the sweep's work.</summary>
    public const int BlockAfterFailures = 3;

    private readonly FusionPlanner _planner;
    private readonly bool _splitToFit;
    private readonly Dictionary<string, SweepState> _sweeps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _units = new(StringComparer.Ordinal);
    private long _registered;
    private long _enqueued;
    private long _served;

    /// <param name="planner">Sizes units against a device's free memory and cuts those too big.</param>
    /// <param name="splitToFit">False to only skip units too big for a device, never cut them.</param>
    public SchedulingPolicy(FusionPlanner? planner = null, bool splitToFit = true)
    {
        _planner = planner ?? new FusionPlanner();
        _splitToFit = splitToFit;
    }

    public int PendingCount => _sweeps.Values.Sum(s => s.Pending.Count);

    // ---- sweeps ----

    /// <summary>Registers a sweep, or updates its priority and retries.</summary>
    public void AddSweep(string sweepId, int priority, int retries = DefaultRetries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retries);
        if (_sweeps.TryGetValue(sweepId, out SweepState? sweep))
        {
            sweep.Priority = priority;
            sweep.Retries = retries;
            return;
        }
        _sweeps[sweepId] = new SweepState(sweepId, priority, retries, ++_registered);
    }

    public void Pause(string sweepId) => Sweep(sweepId).Paused = true;

    public void Resume(string sweepId) => Sweep(sweepId).Paused = false;

    /// <summary>
    /// Drops the sweep's queued units and returns its running ones, for the caller to stop. Whatever those report
    /// later (done, failed, handed back) is forgotten; nothing of the sweep is queued again.
    /// </summary>
    public IReadOnlyList<WorkUnit> Cancel(string sweepId)
    {
        SweepState sweep = Sweep(sweepId);
        sweep.Cancelled = true;
        foreach (Entry entry in sweep.Pending) _units.Remove(entry.Unit.UnitId);
        sweep.Pending.Clear();
        return RunningEntries(sweep).Select(e => e.Unit).ToArray();
    }

    /// <summary>Forgets a sweep and all its units (when it has finished, or was cancelled and its units stopped).</summary>
    public void RemoveSweep(string sweepId)
    {
        if (!_sweeps.Remove(sweepId, out SweepState? sweep)) return;
        foreach (Entry entry in sweep.Pending.Concat(sweep.Running)) _units.Remove(entry.Unit.UnitId);
    }

    /// <summary>True when the sweep has nothing queued and nothing running.</summary>
    public bool IsIdle(string sweepId) => Sweep(sweepId) is { Pending.Count: 0, Running.Count: 0 };

    // ---- the queue ----

    /// <summary>
    /// Queues a unit of a registered sweep behind the sweep's older units. After a restart, enqueue in the stored
    /// order and pass each unit's failures so far, and <paramref name="hasRun"/> for a unit that ran before (it may
    /// have a checkpoint, so it is never cut). Returns false, and queues nothing, for a unit already known or a
    /// cancelled sweep.
    /// </summary>
    public bool Enqueue(WorkUnit unit, int failures = 0, IEnumerable<string>? failedOn = null, string? lastFailure = null,
        bool hasRun = false)
    {
        SweepState sweep = Sweep(unit.SweepId);
        if (sweep.Cancelled || _units.ContainsKey(unit.UnitId)) return false;
        long order = ++_enqueued;
        var entry = new Entry(unit, sweep, age: order, tiebreak: order, _planner.EstimateFor(unit.Shared))
        {
            Failures = failures,
            LastFailure = lastFailure,
            HasRun = hasRun,
        };
        entry.FailedOn.UnionWith(failedOn ?? []);
        Add(entry);
        return true;
    }

    /// <summary>The unit this device should run next, or null when nothing suits it.</summary>
    public Assignment? Next(WorkRequest request)
    {
        Entry? chosen = null, failedHere = null;
        foreach (Entry entry in Candidates(request.NodeId))
        {
            if (!CanServe(entry, request)) continue;
            if (!entry.FailedOn.Contains(request.NodeId))
            {
                chosen = entry;
                break;
            }
            failedHere ??= entry;
        }
        // Assigned after the loop: assigning changes the queue being enumerated.
        chosen ??= failedHere;
        return chosen is null ? null : Assign(chosen, request);
    }

    /// <summary>The unit ran to its end. False when the policy did not know it (e.g. its sweep was removed).</summary>
    public bool Completed(string unitId)
    {
        if (!_units.TryGetValue(unitId, out Entry? entry)) return false;
        Remove(entry);
        return true;
    }

    /// <summary>
    /// The unit failed on a node with this reason: counts a failure of the sweep on that node (see
    /// <see cref="RecordFailure"/>) and queues the unit again at its old place, or gives up once the sweep's retries
    /// are used up. Null when the policy did not know the unit.
    /// </summary>
    public FailureOutcome? Failed(string unitId, string nodeId, string reason)
    {
        if (!_units.TryGetValue(unitId, out Entry? entry)) return null;
        SweepState sweep = entry.Sweep;
        if (sweep.Cancelled)
        {
            Remove(entry);
            return new FailureOutcome(FailureVerdict.Dropped, entry.Unit, entry.Failures, reason, NodeBlocked: false);
        }
        bool blocked = RecordFailure(sweep.Id, nodeId);
        entry.Failures++;
        entry.FailedOn.Add(nodeId);
        entry.LastFailure = reason;
        if (entry.Failures > sweep.Retries)
        {
            Remove(entry);
            return new FailureOutcome(FailureVerdict.GiveUp, entry.Unit, entry.Failures, reason, blocked);
        }
        Requeue(entry);
        return new FailureOutcome(FailureVerdict.Retry, entry.Unit, entry.Failures, reason, blocked);
    }

    /// <summary>
    /// A running unit handed back without failing (drain, a node lost, a device stopped): it goes back to its old
    /// place, and no failure counts. False when it was not running, or its sweep was cancelled (then it is forgotten).
    /// </summary>
    public bool Released(string unitId)
    {
        if (!_units.TryGetValue(unitId, out Entry? entry) || entry.RunningOn is null) return false;
        if (entry.Sweep.Cancelled)
        {
            Remove(entry);
            return false;
        }
        Requeue(entry);
        return true;
    }

    /// <summary>A node left or became unreachable: its running units go back to the queue. Returns them.</summary>
    public IReadOnlyList<WorkUnit> NodeLeft(string nodeId)
    {
        Entry[] lost = _sweeps.Values.SelectMany(s => s.Running).Where(e => e.RunningOn?.NodeId == nodeId).ToArray();
        return lost.Where(e => Released(e.Unit.UnitId)).Select(e => e.Unit).ToArray();
    }

    // ---- failures by node ----

    /// <summary>
    /// Counts one failure of the sweep's work on the node; returns true when this one blocks the node for the sweep
    /// (the <see cref="BlockAfterFailures"/>th). <see cref="Failed"/> calls it; a restarted actor replays stored
    /// failures through it.
    /// </summary>
    public bool RecordFailure(string sweepId, string nodeId)
    {
        SweepState sweep = Sweep(sweepId);
        int count = sweep.FailuresByNode[nodeId] = sweep.FailuresByNode.GetValueOrDefault(nodeId) + 1;
        return count >= BlockAfterFailures && sweep.Blocked.Add(nodeId);
    }

    public bool IsBlocked(string sweepId, string nodeId) => Sweep(sweepId).Blocked.Contains(nodeId);

    public IReadOnlyCollection<string> BlockedNodes(string sweepId) => Sweep(sweepId).Blocked.Order(StringComparer.Ordinal).ToArray();

    // ---- queries ----

    /// <summary>The sweep's queued units in the order the policy would hand them out (ignoring devices).</summary>
    public IReadOnlyList<QueuedUnit> PendingOf(string sweepId) => Sweep(sweepId).Pending.Select(View).ToArray();

    public IReadOnlyList<QueuedUnit> RunningOf(string sweepId) => RunningEntries(Sweep(sweepId)).Select(View).ToArray();

    // ---- internals ----

    private sealed class SweepState(string id, int priority, int retries, long registered)
    {
        public string Id { get; } = id;
        public int Priority { get; set; } = priority;
        public int Retries { get; set; } = retries;

        /// <summary>Registration order: the tiebreak among equal priorities that have been served equally.</summary>
        public long Registered { get; } = registered;

        /// <summary>When the sweep last got a device (0: never), for taking turns among equal priorities.</summary>
        public long LastServed { get; set; }

        public bool Paused { get; set; }
        public bool Cancelled { get; set; }
        public Dictionary<string, int> FailuresByNode { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Blocked { get; } = new(StringComparer.Ordinal);
        public SortedSet<Entry> Pending { get; } = new(QueueOrder.Instance);
        public HashSet<Entry> Running { get; } = [];
    }

    private sealed class Entry(WorkUnit unit, SweepState sweep, long age, long tiebreak, MemoryEstimate memory)
    {
        public WorkUnit Unit { get; } = unit;
        public SweepState Sweep { get; } = sweep;

        /// <summary>When the unit (or the unit it was cut from) was first queued: its place in the sweep's queue.</summary>
        public long Age { get; } = age;

        /// <summary>Orders parts of one cut unit, which share its age.</summary>
        public long Tiebreak { get; } = tiebreak;

        public MemoryEstimate Memory { get; } = memory;
        public long Bytes { get; } = memory.BytesFor(unit.Variants.Length);
        public int Failures { get; set; }
        public HashSet<string> FailedOn { get; } = new(StringComparer.Ordinal);
        public string? LastFailure { get; set; }
        public (string NodeId, string DeviceId)? RunningOn { get; set; }

        /// <summary>Set once the unit has been handed out: from then on it may have a checkpoint of the whole unit.</summary>
        public bool HasRun { get; set; }
    }

    private sealed class QueueOrder : IComparer<Entry>
    {
        public static readonly QueueOrder Instance = new();

        public int Compare(Entry? x, Entry? y) =>
            ReferenceEquals(x, y) ? 0
            : x is null ? -1
            : y is null ? 1
            : (x.Age, x.Tiebreak).CompareTo((y.Age, y.Tiebreak)) is var c and not 0 ? c
            : string.CompareOrdinal(x.Unit.UnitId, y.Unit.UnitId);
    }

    private SweepState Sweep(string sweepId) => _sweeps.TryGetValue(sweepId, out SweepState? sweep)
        ? sweep
        : throw new InvalidOperationException($"sweep {sweepId} is not registered with the scheduling policy (AddSweep first)");

    /// <summary>Queued units a node may take, in hand-out order (see the class summary).</summary>
    private IEnumerable<Entry> Candidates(string nodeId) =>
        _sweeps.Values
            .Where(s => !s.Paused && !s.Cancelled && s.Pending.Count > 0 && !s.Blocked.Contains(nodeId))
            .OrderByDescending(s => s.Priority).ThenBy(s => s.LastServed).ThenBy(s => s.Registered)
            .SelectMany(s => s.Pending);

    private bool Fits(Entry entry, WorkRequest request) => request.FreeBytes is not { } free || entry.Bytes <= free;

    private bool CanServe(Entry entry, WorkRequest request) =>
        Fits(entry, request) || (_splitToFit && !entry.HasRun && entry.Memory.MaxVariants(request.FreeBytes!.Value) > 0);

    private Assignment Assign(Entry entry, WorkRequest request)
    {
        UnitSplit? split = null;
        if (!Fits(entry, request))
        {
            (entry, split) = Cut(entry, request.FreeBytes!.Value);
        }
        entry.Sweep.Pending.Remove(entry);
        entry.Sweep.Running.Add(entry);
        entry.RunningOn = (request.NodeId, request.DeviceId);
        entry.HasRun = true;
        entry.Sweep.LastServed = ++_served;
        return new Assignment(entry.Unit, request.NodeId, request.DeviceId, entry.Failures, split);
    }

    /// <summary>Replaces a queued unit by parts that fit; the parts keep its place, failures and history.</summary>
    private (Entry First, UnitSplit Split) Cut(Entry entry, long freeBytes)
    {
        IReadOnlyList<WorkUnit> parts = _planner.Split(entry.Unit, entry.Memory.MaxVariants(freeBytes));
        Remove(entry);
        Entry[] added = parts.Select(part => new Entry(part, entry.Sweep, entry.Age, ++_enqueued, entry.Memory)
        {
            Failures = entry.Failures,
            LastFailure = entry.LastFailure,
        }).ToArray();
        foreach (Entry part in added)
        {
            part.FailedOn.UnionWith(entry.FailedOn);
            Add(part);
        }
        return (added[0], new UnitSplit(entry.Unit, parts));
    }

    private void Add(Entry entry)
    {
        _units[entry.Unit.UnitId] = entry;
        entry.Sweep.Pending.Add(entry);
    }

    private static void Requeue(Entry entry)
    {
        entry.RunningOn = null;
        entry.Sweep.Running.Remove(entry);
        entry.Sweep.Pending.Add(entry);
    }

    private void Remove(Entry entry)
    {
        entry.Sweep.Pending.Remove(entry);
        entry.Sweep.Running.Remove(entry);
        _units.Remove(entry.Unit.UnitId);
    }

    private static IEnumerable<Entry> RunningEntries(SweepState sweep) => sweep.Running.Order(QueueOrder.Instance);

    private static QueuedUnit View(Entry e) =>
        new(e.Unit, e.Failures, e.FailedOn.Order(StringComparer.Ordinal).ToArray(), e.LastFailure, e.RunningOn);
}

using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Dashboard;

/// <summary>How much of the past the dashboard keeps.</summary>
public sealed record DashboardLimits
{
    public static readonly DashboardLimits Default = new();

    /// <summary>Sweeps that ended, kept in the view (newest first).</summary>
    public int EndedSweeps { get; init; } = 20;

    /// <summary>
    /// Running units listed in the view, longest running first (and their jobs); the rest are counted. Devices run
    /// a unit each, but a store whose commits lag shows thousands running: every unit that ended since.
    /// </summary>
    public int ListedUnits { get; init; } = 256;

    /// <summary>Jobs that ended, kept in the view after the running ones (newest first).</summary>
    public int EndedJobs { get; init; } = 100;

    public int Failures { get; init; } = 50;

    /// <summary>How many recent job results a sweep's throughput (and so its ETA) is measured over.</summary>
    public int ThroughputWindow { get; init; } = 64;
}

public enum UnitTimingKind { Wait, Run }

/// <summary>How long a unit waited in the queue (queued → assigned) or ran (assigned → completed).</summary>
public readonly record struct UnitTiming(UnitTimingKind Kind, TimeSpan Duration);

/// <summary>
/// The dashboard's state: every <see cref="IFarmEvent"/> folded into sweeps, units, jobs, nodes and failures, and
/// seeds from the store merged in. Plain and single-threaded (the Dashboard actor owns it); time comes in with each
/// call, so tests choose it.
/// <para>Events and seeds may arrive in any order (a seed is read while events go on), so every merge is idempotent:
/// job results are sets, a unit that ended stays ended, and what an event said wins over an older seed.</para>
/// <para>What it lacks (a sweep or unit it heard of but never read) it lists in <see cref="TakeMissingSweeps"/>
/// and <see cref="TakeMissingUnits"/>, for the actor to read from the store.</para>
/// </summary>
public sealed class DashboardState(DashboardLimits? limits = null)
{
    private readonly DashboardLimits _limits = limits ?? DashboardLimits.Default;
    private readonly Dictionary<string, SweepEntry> _sweeps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnitEntry> _units = new(StringComparer.Ordinal);
    // The running units among _units: a view walks these few, not every queued unit of a big sweep.
    private readonly HashSet<UnitEntry> _running = [];
    private readonly Dictionary<string, JobEntry> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NodeView> _nodes = new(StringComparer.Ordinal);
    private readonly List<string> _nodeOrder = [];
    private readonly Dictionary<string, DeviceLive> _devices = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _endedJobs = new();
    private readonly List<DashboardFailure> _failures = [];
    private readonly HashSet<string> _seededAttempts = new(StringComparer.Ordinal);
    private readonly HashSet<string> _missingSweeps = new(StringComparer.Ordinal);
    private readonly HashSet<string> _missingUnits = new(StringComparer.Ordinal);
    private readonly List<UnitTiming> _timings = [];
    private long _order;

    /// <summary>Grows with every change; a view carries it.</summary>
    public long Version { get; private set; }

    // ---- events ----

    /// <summary>Folds one event in, as of <paramref name="at"/>; returns whether the view changed.</summary>
    public bool Apply(IFarmEvent e, DateTimeOffset at)
    {
        bool changed = e switch
        {
            SweepQueued q => OnSweepQueued(q, at),
            UnitAssigned a => OnUnitAssigned(a, at),
            UnitProgressed p => OnUnitProgressed(p, at),
            UnitRequeued r => OnUnitRequeued(r, at),
            UnitCompleted c => OnUnitCompleted(c, at),
            JobRecorded r => OnJobRecorded(r, at),
            JobsFailed f => OnJobsFailed(f, at),
            SnapshotStored s => OnSnapshotStored(s),
            SweepEnded s => OnSweepEnded(s.SweepId, s.State, at),
            NodeChanged n => OnNodeChanged(n.Node),
            _ => false,
        };
        if (changed) Version++;
        return changed;
    }

    private bool OnSweepQueued(SweepQueued e, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(e.SweepId, at);
        sweep.Name = e.Name;
        _missingSweeps.Add(e.SweepId); // read it even if known: its job counts are new
        return true;
    }

    private bool OnUnitAssigned(UnitAssigned e, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(e.SweepId, at);
        if (sweep.IsEnded || sweep.EndedUnits.Contains(e.UnitId)) return false;
        sweep.ObservedFrom ??= at;
        if (sweep.State == SweepState.Queued) sweep.State = SweepState.Running;
        UnitEntry unit = Unit(sweep, e.UnitId, e.Jobs, e.Unit);
        if (unit.QueuedAt is { } queued) _timings.Add(new UnitTiming(UnitTimingKind.Wait, Positive(at - queued)));
        unit.Running = true;
        unit.QueuedAt = null;
        unit.AssignedAt = at;
        unit.DeviceId = e.DeviceId;
        foreach (JobEntry job in JobsOf(unit).Where(j => j.State is JobState.Queued or JobState.Running))
        {
            job.State = JobState.Running;
            job.DeviceId = e.DeviceId;
        }
        Device(e.DeviceId).Start(unit.UnitId, unit.SweepId, unit.Step, unit.MaxSteps, at);
        return true;
    }

    private bool OnUnitProgressed(UnitProgressed e, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(e.SweepId, at);
        if (sweep.IsEnded || sweep.EndedUnits.Contains(e.UnitId)) return false;
        sweep.ObservedFrom ??= at;
        UnitEntry unit = Unit(sweep, e.UnitId, jobs: 0);
        unit.Running = true;
        unit.QueuedAt = null;
        unit.DeviceId = e.DeviceId;
        unit.Step = e.Step;
        unit.MaxSteps = e.MaxSteps;
        if (e.Losses.Length > 0) unit.Losses = e.Losses;
        foreach (VariantLosses variant in e.Losses)
            foreach (JobEntry job in JobsOf(unit).Where(j => j.VariantId == variant.VariantId && j.State != JobState.Done))
            {
                job.Step = Math.Min(e.Step, job.Steps);
                job.Losses = variant.Losses;
            }
        DeviceLive device = Device(e.DeviceId);
        if (device.UnitId != e.UnitId) device.Start(e.UnitId, e.SweepId, e.Step, e.MaxSteps, at);
        device.Progress(e.Step, e.MaxSteps, e.Losses.FirstOrDefault()?.Losses, at);
        return true;
    }

    private bool OnUnitRequeued(UnitRequeued e, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(e.SweepId, at);
        AddFailure(new DashboardFailure(at, "requeued", e.SweepId, e.UnitId, e.DeviceId,
            _units.GetValueOrDefault(e.UnitId)?.Jobs ?? 0, e.Reason));
        if (!sweep.IsEnded && !sweep.EndedUnits.Contains(e.UnitId))
        {
            UnitEntry unit = Unit(sweep, e.UnitId, jobs: 0);
            unit.Running = false;
            unit.QueuedAt = at;
            unit.AssignedAt = null;
            unit.DeviceId = null;
            foreach (JobEntry job in JobsOf(unit).Where(j => j.State == JobState.Running)) job.State = JobState.Queued;
        }
        ReleaseDevice(e.DeviceId, e.UnitId);
        return true;
    }

    private bool OnUnitCompleted(UnitCompleted e, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(e.SweepId, at);
        if (_units.GetValueOrDefault(e.UnitId) is { AssignedAt: { } assigned })
            _timings.Add(new UnitTiming(UnitTimingKind.Run, Positive(at - assigned)));
        EndUnit(sweep, e.UnitId);
        ReleaseDevice(e.DeviceId, e.UnitId);
        return true;
    }

    private bool OnJobRecorded(JobRecorded e, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(e.SweepId, at);
        if (sweep.Done.Add(e.JobId))
        {
            sweep.ObservedFrom ??= at;
            sweep.Recent.Enqueue(at);
            while (sweep.Recent.Count > _limits.ThroughputWindow) sweep.Recent.Dequeue();
        }
        sweep.Failed.Remove(e.JobId); // a late result of a job given up on still counts
        JobEntry job = Job(e.JobId, e.SweepId);
        job.State = JobState.Done;
        job.Step = job.Steps;
        job.DeviceId = e.DeviceId;
        Ended(job, at);
        return true;
    }

    private bool OnJobsFailed(JobsFailed e, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(e.SweepId, at);
        var units = new HashSet<string>(StringComparer.Ordinal);
        foreach (string jobId in e.JobIds)
        {
            if (sweep.Done.Contains(jobId)) continue;
            sweep.Failed.Add(jobId);
            JobEntry job = Job(jobId, e.SweepId);
            job.State = JobState.Failed;
            if (job.UnitId is not null) units.Add(job.UnitId);
            Ended(job, at);
        }
        // The unit that answered these jobs is finished for good.
        foreach (string unitId in units)
        {
            string? deviceId = _units.GetValueOrDefault(unitId)?.DeviceId;
            EndUnit(sweep, unitId);
            if (deviceId is not null) ReleaseDevice(deviceId, unitId);
        }
        AddFailure(new DashboardFailure(at, "failed", e.SweepId, units.Count == 1 ? units.First() : null, null, e.JobIds.Count, e.Reason));
        return true;
    }

    private bool OnSnapshotStored(SnapshotStored e)
    {
        bool changed = false;
        foreach (string jobId in e.JobIds)
        {
            if (!_jobs.TryGetValue(jobId, out JobEntry? job) || job.SnapshotStep > e.Step) continue;
            job.SnapshotStep = e.Step;
            job.SnapshotBlob = e.Blob;
            changed = true;
        }
        return changed;
    }

    private bool OnSweepEnded(string sweepId, SweepState state, DateTimeOffset at)
    {
        SweepEntry sweep = Sweep(sweepId, at);
        if (sweep.IsEnded && sweep.State == state) return false;
        sweep.State = state;
        sweep.EndedAt ??= at;
        foreach (UnitEntry unit in _units.Values.Where(u => u.SweepId == sweepId).ToArray())
        {
            if (unit.DeviceId is not null) ReleaseDevice(unit.DeviceId, unit.UnitId);
            EndUnit(sweep, unit.UnitId);
        }
        foreach (JobEntry job in _jobs.Values.Where(j => j.SweepId == sweepId && j.State is JobState.Queued or JobState.Running).ToArray())
        {
            if (state != SweepState.Cancelled) continue;
            job.State = JobState.Cancelled;
            sweep.Cancelled.Add(job.JobId);
            Ended(job, at);
        }
        ForgetQuietJobs(sweepId);
        PruneEndedSweeps();
        return true;
    }

    private bool OnNodeChanged(NodeView node)
    {
        if (!_nodes.ContainsKey(node.NodeId)) _nodeOrder.Add(node.NodeId);
        _nodes[node.NodeId] = node;
        // The SweepManager's view says which unit a device runs; the progress reports say how far and how fast.
        foreach (DeviceView device in node.Devices)
        {
            DeviceLive live = Device(device.DeviceId);
            if (device.UnitId is null) live.Clear();
            else if (live.UnitId != device.UnitId) live.Take(device);
        }
        return true;
    }

    // ---- seeds from the store ----

    /// <summary>Merges what the store says of a sweep (read as of about <paramref name="at"/>).</summary>
    public void Seed(SweepSeed seed, DateTimeOffset at)
    {
        SweepRecord record = seed.Sweep;
        SweepEntry sweep = Sweep(record.Id, at);
        _missingSweeps.Remove(record.Id);
        sweep.Name = record.Name;
        sweep.CreatedAt = record.CreatedAt;
        sweep.Seeded = true;
        foreach ((string jobId, JobState state) in seed.JobStates)
        {
            sweep.AllJobs.Add(jobId);
            if (state == JobState.Done) sweep.Done.Add(jobId);
            else if (state == JobState.Failed && !sweep.Done.Contains(jobId)) sweep.Failed.Add(jobId);
            else if (state == JobState.Cancelled && !sweep.Done.Contains(jobId)) sweep.Cancelled.Add(jobId);
        }
        foreach (UnitRecord unit in seed.Units) SeedUnit(unit, seed.JobStates, at);
        foreach (QueuedUnitSize queued in seed.QueuedUnits) SeedQueuedUnit(sweep, queued, at);
        // Units heard of but not in the seed were made after it was read (parts of a split unit): read them too.
        var seeded = seed.QueuedUnits.Select(q => q.UnitId).ToHashSet(StringComparer.Ordinal);
        foreach (UnitEntry unit in _units.Values.Where(u => u.SweepId == record.Id && u.Unit is null && !seeded.Contains(u.UnitId)))
            _missingUnits.Add(unit.UnitId);
        foreach (AttemptRecord failure in seed.Failures.Where(f => _seededAttempts.Add(f.Id)))
            AddFailure(new DashboardFailure(failure.FinishedAt ?? failure.StartedAt, "failed", failure.SweepId, failure.UnitId,
                failure.Device, _units.GetValueOrDefault(failure.UnitId)?.Jobs ?? 0, failure.Reason ?? "no reason given"));
        if (record.IsFinished) OnSweepEnded(record.Id, record.State, record.FinishedAt ?? at);
        else if (!sweep.IsEnded && !(sweep.State == SweepState.Running && record.State == SweepState.Queued)) sweep.State = record.State;
        Version++;
    }

    /// <summary>Merges what the store says of one unit (one heard of in an event before its sweep's seed knew it).</summary>
    public void Seed(UnitRecord unit, DateTimeOffset at)
    {
        SeedUnit(unit, null, at);
        Version++;
    }

    private void SeedUnit(UnitRecord record, IReadOnlyDictionary<string, JobState>? jobStates, DateTimeOffset at)
    {
        _missingUnits.Remove(record.UnitId);
        SweepEntry sweep = Sweep(record.SweepId, at);
        if (sweep.IsEnded || sweep.EndedUnits.Contains(record.UnitId)) return;
        bool known = _units.TryGetValue(record.UnitId, out UnitEntry? unit);
        if (!known)
        {
            if (record.State is not (UnitState.Queued or UnitState.Assigned or UnitState.Running)) return;
            bool running = record.State != UnitState.Queued;
            unit = _units[record.UnitId] = new UnitEntry(record.UnitId, sweep, _running)
            {
                Running = running,
                DeviceId = running ? record.Device : null,
                QueuedAt = running ? null : at,
                Step = record.Checkpoint?.Step ?? 0,
            };
            if (running) sweep.ObservedFrom ??= at;
        }
        AttachPlan(unit!, record.Unit, jobStates);
    }

    /// <summary>A queued unit of a seed: counted now, its plan read or told once it runs.</summary>
    private void SeedQueuedUnit(SweepEntry sweep, QueuedUnitSize queued, DateTimeOffset at)
    {
        if (sweep.IsEnded || sweep.EndedUnits.Contains(queued.UnitId) || _units.ContainsKey(queued.UnitId)) return;
        _units[queued.UnitId] = new UnitEntry(queued.UnitId, sweep, _running)
        {
            Jobs = queued.Jobs,
            QueuedAt = at,
            Step = queued.CheckpointStep,
        };
    }

    /// <summary>The unit's plan: its size, and its jobs' entries (a job's stored or reported end stays).</summary>
    private void AttachPlan(UnitEntry unit, WorkUnit plan, IReadOnlyDictionary<string, JobState>? jobStates)
    {
        unit.Unit = plan;
        unit.Jobs = plan.Jobs.Count();
        unit.MaxSteps = plan.MaxSteps;
        foreach (UnitVariant variant in plan.Variants)
            foreach (JobAtStep jobAtStep in variant.Jobs)
            {
                JobEntry job = Job(jobAtStep.JobId, unit.SweepId);
                job.UnitId = unit.UnitId;
                job.VariantId = variant.VariantId;
                job.Steps = jobAtStep.Steps;
                if (job.State is JobState.Done or JobState.Failed) continue;
                JobState stored = jobStates?.GetValueOrDefault(jobAtStep.JobId, JobState.Queued) ?? JobState.Queued;
                job.State = stored is JobState.Done or JobState.Failed or JobState.Cancelled ? stored
                    : unit.Running ? JobState.Running : JobState.Queued;
                job.Step = Math.Min(unit.Step, job.Steps);
                if (unit.Running) job.DeviceId = unit.DeviceId;
            }
    }

    /// <summary>Merges the SweepManager's node list (asked once at startup): nodes an event told of already stay as they are.</summary>
    public void Seed(FarmNodes nodes)
    {
        foreach (NodeView node in nodes.Nodes.Where(n => !_nodes.ContainsKey(n.NodeId))) OnNodeChanged(node);
        Version++;
    }

    /// <summary>Sweeps heard of but never read from the store; the caller reads them and calls <see cref="Seed(SweepSeed, DateTimeOffset)"/>.</summary>
    public IReadOnlyList<string> TakeMissingSweeps() => Take(_missingSweeps);

    /// <summary>Units heard of but never read from the store; the caller reads them and calls <see cref="Seed(UnitRecord, DateTimeOffset)"/>.</summary>
    public IReadOnlyList<string> TakeMissingUnits() => Take(_missingUnits);

    /// <summary>Units' waits and runs measured since the last call (for the metrics' histograms).</summary>
    public IReadOnlyList<UnitTiming> TakeTimings()
    {
        if (_timings.Count == 0) return [];
        UnitTiming[] timings = _timings.ToArray();
        _timings.Clear();
        return timings;
    }

    private static string[] Take(HashSet<string> set)
    {
        string[] items = set.ToArray();
        set.Clear();
        return items;
    }

    // ---- the view ----

    public DashboardView View(DateTimeOffset now)
    {
        UnitEntry[] running = _running.OrderBy(u => u.AssignedAt ?? DateTimeOffset.MinValue)
            .ThenBy(u => u.UnitId, StringComparer.Ordinal).Take(_limits.ListedUnits).ToArray();
        var runningJobsBySweep = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (UnitEntry unit in _running)
            runningJobsBySweep[unit.SweepId] = runningJobsBySweep.GetValueOrDefault(unit.SweepId) +
                                               (unit.Unit is null ? unit.Jobs : JobsOf(unit).Count(j => j.State == JobState.Running));
        DashboardSweep[] sweeps = _sweeps.Values.Where(s => !s.IsEnded).OrderBy(s => s.CreatedAt ?? DateTimeOffset.MaxValue).ThenBy(s => s.Order)
            .Concat(_sweeps.Values.Where(s => s.IsEnded).OrderByDescending(s => s.EndedAt).ThenByDescending(s => s.Order))
            .Select(s => View(s, runningJobsBySweep.GetValueOrDefault(s.Id), now))
            .ToArray();
        DashboardUnit[] units = running.Select(u => new DashboardUnit(u.UnitId, u.SweepId, u.DeviceId, u.Jobs, u.Step, u.MaxSteps,
            u.AssignedAt, u.Losses)).ToArray();
        IEnumerable<JobEntry> runningJobs = running.SelectMany(JobsOf).Where(j => j.State == JobState.Running);
        IEnumerable<JobEntry> endedJobs = _endedJobs.Reverse().Select(id => _jobs.GetValueOrDefault(id)).Where(j => j is not null)
            .Select(j => j!).Take(_limits.EndedJobs);
        DashboardJob[] jobs = runningJobs.Concat(endedJobs).Select(View).ToArray();
        DashboardNode[] nodes = _nodeOrder.Select(id => _nodes[id]).Select(View).ToArray();
        return new DashboardView(now, Version, sweeps, units, jobs, nodes, _units.Count - _running.Count, _running.Count, _failures.ToArray());
    }

    private DashboardSweep View(SweepEntry s, int runningJobs, DateTimeOffset now)
    {
        int done = s.Done.Count, failed = s.Failed.Count, cancelled = s.Cancelled.Count;
        int total = s.Seeded ? Math.Max(s.AllJobs.Count, done + failed + cancelled) : done + failed + cancelled + runningJobs;
        if (s.State == SweepState.Cancelled) cancelled = Math.Max(cancelled, total - done - failed);
        runningJobs = s.IsEnded ? 0 : Math.Min(runningJobs, Math.Max(0, total - done - failed - cancelled));
        int queued = s.IsEnded ? 0 : Math.Max(0, total - done - failed - cancelled - runningJobs);
        double? rate = s.IsEnded ? null : s.JobsPerSecond(now, _limits.ThroughputWindow);
        int remaining = Math.Max(0, total - done - failed - cancelled);
        // Until the sweep's jobs are read from the store, its total (and so its ETA) is unknown, not zero.
        double? eta = s.IsEnded || !s.Seeded ? null : remaining == 0 ? 0 : rate is > 0 ? remaining / rate.Value : null;
        return new DashboardSweep(s.Id, s.Name, s.State, total, done, failed, cancelled, runningJobs, queued,
            s.QueuedUnits, s.RunningUnits, rate, eta, s.EndedAt);
    }

    private static DashboardJob View(JobEntry j) =>
        new(j.JobId, j.SweepId, j.UnitId, j.VariantId, j.State, j.Step, j.Steps, j.Losses, j.SnapshotStep, j.SnapshotBlob, j.DeviceId, j.EndedAt);

    /// <summary>
    /// A node as the SweepManager last described it, its devices' units as the events since tell: the SweepManager
    /// publishes a node's view only when the node changes, so steps, speed and losses come from the progress reports.
    /// </summary>
    private DashboardNode View(NodeView node) => new(node.NodeId, node.HostName, node.State, node.Devices.Select(d =>
        _devices.GetValueOrDefault(d.DeviceId) is { UnitId: { } unitId } live
            ? new DashboardDevice(d.DeviceId, d.Device, d.State == "idle" ? "running" : d.State, unitId, live.SweepId, live.Step,
                live.MaxSteps, live.StepsPerSecond, d.JobsDone, d.Failures, live.Losses ?? d.LastLosses)
            : new DashboardDevice(d.DeviceId, d.Device, d.State == "running" ? "idle" : d.State, null, null, 0, 0, 0, d.JobsDone,
                d.Failures, d.LastLosses)).ToArray());

    // ---- plumbing ----

    private SweepEntry Sweep(string sweepId, DateTimeOffset at)
    {
        if (_sweeps.TryGetValue(sweepId, out SweepEntry? sweep)) return sweep;
        _missingSweeps.Add(sweepId);
        return _sweeps[sweepId] = new SweepEntry(sweepId, ++_order) { FirstSeen = at };
    }

    /// <summary>
    /// The unit, made when an event names one the dashboard never saw. Its plan comes with the event when it has
    /// one; otherwise the unit is listed as missing, to be read (an unread sweep's seed brings its units).
    /// </summary>
    private UnitEntry Unit(SweepEntry sweep, string unitId, int jobs, WorkUnit? plan = null)
    {
        if (!_units.TryGetValue(unitId, out UnitEntry? unit)) unit = _units[unitId] = new UnitEntry(unitId, sweep, _running);
        if (unit.Unit is null && plan is not null) AttachPlan(unit, plan, jobStates: null);
        if (unit.Unit is null && sweep.Seeded) _missingUnits.Add(unitId);
        if (jobs > 0 && unit.Unit is null) unit.Jobs = jobs;
        return unit;
    }

    private JobEntry Job(string jobId, string sweepId)
    {
        if (!_jobs.TryGetValue(jobId, out JobEntry? job)) job = _jobs[jobId] = new JobEntry(jobId, sweepId);
        return job;
    }

    private IEnumerable<JobEntry> JobsOf(UnitEntry unit) =>
        unit.Unit is null ? [] : unit.Unit.Jobs.Select(j => _jobs.GetValueOrDefault(j.JobId)).Where(j => j is not null).Select(j => j!);

    private DeviceLive Device(string deviceId)
    {
        if (!_devices.TryGetValue(deviceId, out DeviceLive? device)) device = _devices[deviceId] = new DeviceLive();
        return device;
    }

    private void ReleaseDevice(string deviceId, string unitId)
    {
        if (_devices.TryGetValue(deviceId, out DeviceLive? device) && device.UnitId == unitId) device.Clear();
    }

    private void EndUnit(SweepEntry sweep, string unitId)
    {
        sweep.EndedUnits.Add(unitId);
        if (_units.Remove(unitId, out UnitEntry? unit)) unit.Forget();
        _missingUnits.Remove(unitId);
    }

    private void Ended(JobEntry job, DateTimeOffset at)
    {
        job.EndedAt = at;
        _endedJobs.Remove(job.JobId);
        _endedJobs.AddLast(job.JobId);
        while (_endedJobs.Count > _limits.EndedJobs)
        {
            string old = _endedJobs.First!.Value;
            _endedJobs.RemoveFirst();
            // A job that is no longer listed and whose sweep has ended is of no more use.
            if (_jobs.GetValueOrDefault(old) is { } j && _sweeps.GetValueOrDefault(j.SweepId) is not { IsEnded: false }) _jobs.Remove(old);
        }
    }

    /// <summary>An ended sweep's jobs are kept only while the view lists them.</summary>
    private void ForgetQuietJobs(string sweepId)
    {
        var listed = new HashSet<string>(_endedJobs, StringComparer.Ordinal);
        foreach (JobEntry job in _jobs.Values.Where(j => j.SweepId == sweepId && !listed.Contains(j.JobId)).ToArray()) _jobs.Remove(job.JobId);
    }

    private void PruneEndedSweeps()
    {
        foreach (SweepEntry old in _sweeps.Values.Where(s => s.IsEnded).OrderByDescending(s => s.EndedAt).ThenByDescending(s => s.Order)
                     .Skip(_limits.EndedSweeps).ToArray())
        {
            _sweeps.Remove(old.Id);
            _missingSweeps.Remove(old.Id);
            foreach (JobEntry job in _jobs.Values.Where(j => j.SweepId == old.Id).ToArray()) _jobs.Remove(job.JobId);
        }
    }

    private void AddFailure(DashboardFailure failure)
    {
        int at = _failures.FindLastIndex(f => f.At <= failure.At) + 1;
        _failures.Insert(at, failure);
        if (_failures.Count > _limits.Failures) _failures.RemoveRange(0, _failures.Count - _limits.Failures);
    }

    private static TimeSpan Positive(TimeSpan span) => span < TimeSpan.Zero ? TimeSpan.Zero : span;

    private sealed class SweepEntry(string id, long order)
    {
        public string Id { get; } = id;
        public long Order { get; } = order;
        public string Name { get; set; } = id;
        public SweepState State { get; set; } = SweepState.Queued;
        public bool Seeded { get; set; }
        public DateTimeOffset FirstSeen { get; init; }
        public DateTimeOffset? CreatedAt { get; set; }
        public DateTimeOffset? EndedAt { get; set; }

        /// <summary>Since when the dashboard has watched the sweep run: the start of its throughput measure.</summary>
        public DateTimeOffset? ObservedFrom { get; set; }

        public HashSet<string> AllJobs { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Done { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Failed { get; } = new(StringComparer.Ordinal);
        public HashSet<string> Cancelled { get; } = new(StringComparer.Ordinal);
        public HashSet<string> EndedUnits { get; } = new(StringComparer.Ordinal);

        /// <summary>Its tracked units that wait, and that run (kept by <see cref="UnitEntry"/>).</summary>
        public int QueuedUnits { get; set; }
        public int RunningUnits { get; set; }

        /// <summary>When its most recent job results were recorded, oldest first.</summary>
        public Queue<DateTimeOffset> Recent { get; } = new();

        public bool IsEnded => State is SweepState.Done or SweepState.Failed or SweepState.Cancelled;

        /// <summary>
        /// Results per second: those seen since <see cref="ObservedFrom"/> over the time since, or, once the window
        /// is full, the window's over its span up to now (so a stalled sweep's rate falls, and its ETA grows).
        /// </summary>
        public double? JobsPerSecond(DateTimeOffset now, int window)
        {
            if (Recent.Count == 0 || ObservedFrom is not { } from) return null;
            int count = Recent.Count;
            if (count >= window)
            {
                from = Recent.Peek();
                count--;
            }
            double seconds = (now - from).TotalSeconds;
            return seconds > 0 && count > 0 ? count / seconds : null;
        }
    }

    /// <summary>A unit the dashboard tracks; it keeps its sweep's unit counts and the state's running set up to date.</summary>
    private sealed class UnitEntry
    {
        private readonly SweepEntry _sweep;
        private readonly HashSet<UnitEntry> _runningSet;
        private bool _running;

        public UnitEntry(string unitId, SweepEntry sweep, HashSet<UnitEntry> runningSet)
        {
            UnitId = unitId;
            _sweep = sweep;
            _runningSet = runningSet;
            sweep.QueuedUnits++;
        }

        public string UnitId { get; }
        public string SweepId => _sweep.Id;
        public WorkUnit? Unit { get; set; }

        public bool Running
        {
            get => _running;
            set
            {
                if (_running == value) return;
                _running = value;
                _sweep.RunningUnits += value ? 1 : -1;
                _sweep.QueuedUnits -= value ? 1 : -1;
                if (value) _runningSet.Add(this);
                else _runningSet.Remove(this);
            }
        }

        /// <summary>The unit ended or was dropped: it counts no more.</summary>
        public void Forget()
        {
            Running = false;
            _sweep.QueuedUnits--;
        }

        public string? DeviceId { get; set; }
        public int Jobs { get; set; }
        public int Step { get; set; }
        public int MaxSteps { get; set; }
        public DateTimeOffset? QueuedAt { get; set; }
        public DateTimeOffset? AssignedAt { get; set; }
        public VariantLosses[] Losses { get; set; } = [];
    }

    private sealed class JobEntry(string jobId, string sweepId)
    {
        public string JobId { get; } = jobId;
        public string SweepId { get; } = sweepId;
        public string? UnitId { get; set; }
        public string? VariantId { get; set; }
        public JobState State { get; set; } = JobState.Queued;
        public int Step { get; set; }
        public int Steps { get; set; }
        public LossValues? Losses { get; set; }
        public int? SnapshotStep { get; set; }
        public string? SnapshotBlob { get; set; }
        public string? DeviceId { get; set; }
        public DateTimeOffset? EndedAt { get; set; }
    }

    /// <summary>A device's unit as its progress reports tell it: step, speed (smoothed as FarmDevice does), losses.</summary>
    private sealed class DeviceLive
    {
        private DateTimeOffset _sampledAt;
        private int _sampledStep;

        public string? UnitId { get; private set; }
        public string? SweepId { get; private set; }
        public int Step { get; private set; }
        public int MaxSteps { get; private set; }
        public double StepsPerSecond { get; private set; }
        public LossValues? Losses { get; private set; }

        public void Start(string unitId, string sweepId, int step, int maxSteps, DateTimeOffset at)
        {
            UnitId = unitId;
            SweepId = sweepId;
            Step = _sampledStep = step;
            MaxSteps = maxSteps;
            StepsPerSecond = 0;
            Losses = null;
            _sampledAt = at;
        }

        public void Take(DeviceView view)
        {
            UnitId = view.UnitId;
            SweepId = view.SweepId;
            Step = _sampledStep = view.Step;
            MaxSteps = view.MaxSteps;
            StepsPerSecond = view.StepsPerSecond;
            Losses = view.LastLosses;
            _sampledAt = DateTimeOffset.MinValue; // the next report starts a fresh sample
        }

        public void Progress(int step, int maxSteps, LossValues? losses, DateTimeOffset at)
        {
            double seconds = (at - _sampledAt).TotalSeconds;
            if (_sampledAt != DateTimeOffset.MinValue && seconds > 0 && step > _sampledStep)
            {
                double rate = (step - _sampledStep) / seconds;
                StepsPerSecond = StepsPerSecond == 0 ? rate : 0.7 * StepsPerSecond + 0.3 * rate;
            }
            _sampledAt = at;
            _sampledStep = step;
            Step = step;
            MaxSteps = maxSteps;
            if (losses is not null) Losses = losses;
        }

        public void Clear()
        {
            UnitId = SweepId = null;
            Step = MaxSteps = 0;
            StepsPerSecond = 0;
            Losses = null;
        }
    }
}

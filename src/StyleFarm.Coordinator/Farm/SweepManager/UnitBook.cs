using Akka.Actor;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Farm.SweepManager;

/// <summary>A unit handed to a device under one attempt.</summary>
internal sealed class HeldUnit(WorkUnit unit, string attemptId, string nodeId, string deviceId, IActorRef worker, ResumePoint? resume)
{
    public WorkUnit Unit { get; } = unit;
    public string UnitId => Unit.UnitId;
    public string SweepId => Unit.SweepId;
    public string AttemptId { get; } = attemptId;
    public string NodeId { get; } = nodeId;
    public string DeviceId { get; } = deviceId;
    public IActorRef Worker { get; } = worker;
    public ResumePoint? Resume { get; set; } = resume;

    /// <summary>The first progress report came (the store marks the unit running once).</summary>
    public bool Started { get; set; }

    /// <summary>When it was handed out.</summary>
    public DateTimeOffset AssignedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>The store write of its assignment while no commit has taken it (the unit's end may fold it in).</summary>
    public GroupCommit.PendingWrite? AssignWrite { get; set; }
}

/// <summary>
/// Which attempt holds which unit (reports of any other attempt are stale), and where each unfinished unit resumes.
/// Plain state, owned by one actor.
/// </summary>
internal sealed class UnitBook
{
    private readonly Dictionary<string, HeldUnit> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HeldUnit> _byDevice = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string SweepId, ResumePoint Point)> _resume = new(StringComparer.Ordinal);

    public int HeldCount => _held.Count;

    public HeldUnit Hold(WorkUnit unit, string attemptId, string nodeId, string deviceId, IActorRef worker)
    {
        var held = new HeldUnit(unit, attemptId, nodeId, deviceId, worker, ResumeOf(unit.UnitId));
        _held[unit.UnitId] = held;
        _byDevice[deviceId] = held;
        return held;
    }

    /// <summary>The holding of <paramref name="unitId"/> if <paramref name="attemptId"/> is its current attempt; null when stale.</summary>
    public HeldUnit? Current(string unitId, string attemptId) =>
        _held.TryGetValue(unitId, out HeldUnit? held) && held.AttemptId == attemptId ? held : null;

    public bool IsCurrent(HeldUnit held) => _held.TryGetValue(held.UnitId, out HeldUnit? now) && ReferenceEquals(now, held);

    /// <summary>The attempt no longer holds the unit: its later reports are stale.</summary>
    public void Release(HeldUnit held)
    {
        if (IsCurrent(held)) _held.Remove(held.UnitId);
        if (_byDevice.TryGetValue(held.DeviceId, out HeldUnit? onDevice) && ReferenceEquals(onDevice, held))
            _byDevice.Remove(held.DeviceId);
    }

    public IReadOnlyList<HeldUnit> HeldOnNode(string nodeId) => _held.Values.Where(h => h.NodeId == nodeId).ToArray();

    public IReadOnlyList<HeldUnit> HeldOfSweep(string sweepId) => _held.Values.Where(h => h.SweepId == sweepId).ToArray();

    public HeldUnit? HeldByDevice(string deviceId) => _byDevice.GetValueOrDefault(deviceId);

    public ResumePoint? ResumeOf(string unitId) => _resume.TryGetValue(unitId, out var known) ? known.Point : null;

    /// <summary>Keeps <paramref name="point"/> as where the unit resumes, if it is further than what was kept.</summary>
    public bool Advance(WorkUnit unit, ResumePoint? point)
    {
        if (point is null || (_resume.TryGetValue(unit.UnitId, out var known) && known.Point.Step >= point.Step)) return false;
        _resume[unit.UnitId] = (unit.SweepId, point);
        return true;
    }

    /// <summary>As <see cref="Advance"/> for a unit that already has a resume point (its sweep is known from it).</summary>
    public void AdvanceKnown(string unitId, ResumePoint point)
    {
        if (_resume.TryGetValue(unitId, out var known) && known.Point.Step < point.Step) _resume[unitId] = (known.SweepId, point);
    }

    public bool IsHeld(string unitId) => _held.ContainsKey(unitId);

    /// <summary>The unit finished, failed for good or was cancelled: nothing resumes it.</summary>
    public void Forget(string unitId) => _resume.Remove(unitId);

    public void ForgetSweep(string sweepId)
    {
        foreach (string unitId in _resume.Where(r => r.Value.SweepId == sweepId).Select(r => r.Key).ToArray()) _resume.Remove(unitId);
        foreach (HeldUnit held in HeldOfSweep(sweepId)) Release(held);
    }
}

using Microsoft.Data.Sqlite;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Store;

public sealed partial class FarmStore
{
    // A unit that never failed has no failed attempt to look for (nearly every unit a sweep loads).
    private const string UnitSelect = """
        SELECT us.unit_json, u.state, u.attempt_id, u.node, u.device, u.checkpoint_blob, u.checkpoint_step,
               u.attempts, u.failures, u.failure_reason,
               CASE WHEN u.failures = 0 THEN '[]' ELSE (SELECT json_group_array(node) FROM (
                    SELECT DISTINCT a.node FROM attempts a WHERE a.unit_id = u.id AND a.outcome = 'failed' ORDER BY a.node)
               ) END AS failed_on
        FROM units u JOIN unit_specs us ON us.unit_id = u.id
        """;
    private const string HeldBy = "state IN ('assigned', 'running') AND attempt_id = $attempt";
    private static readonly string QueuedOrRunningJobs = StateList(JobState.Queued, JobState.Running);
    private static readonly string QueuedJobs = StateList(JobState.Queued);
    private static readonly string RunningJobs = StateList(JobState.Running);

    /// <summary>
    /// What CompleteUnit needs after the unit ended, in one statement: its sweep and the sweep's state, whether any of its
    /// jobs lack a result (<c>+state</c>: found by the unit's job ids, not by walking jobs_state), and whether the sweep
    /// has no open unit left.
    /// </summary>
    private static readonly string EndedUnitFacts = $"""
        SELECT u.sweep_id, s.state,
               EXISTS (SELECT 1 FROM unit_jobs uj JOIN jobs j ON j.id = uj.job_id
                       WHERE uj.unit_id = u.id AND +j.state IN ('queued', 'running')) AS unfinished_jobs,
               {NoOpenUnitIn("u.sweep_id")} AS idle
        FROM units u JOIN sweeps s ON s.id = u.sweep_id WHERE u.id = $unit
        """;

    public UnitRecord? GetUnit(string unitId) => Read(() => UnitOrNull(unitId));

    /// <summary>A sweep's units in planned order (split units included, followed by their parts).</summary>
    public IReadOnlyList<UnitRecord> UnitsOfSweep(string sweepId) => Read(() =>
        Query($"{UnitSelect} WHERE u.sweep_id = $sweep ORDER BY u.seq, u.rowid", ReadUnit, ("$sweep", sweepId)));

    /// <summary>A sweep's units that are assigned or running, with their plans.</summary>
    public IReadOnlyList<UnitRecord> RunningUnitsOfSweep(string sweepId) => Read(() => Query(
        $"{UnitSelect} WHERE u.sweep_id = $sweep AND u.state IN ('assigned', 'running') ORDER BY u.seq, u.rowid", ReadUnit, ("$sweep", sweepId)));

    /// <summary>A sweep's queued units in order, by size only (no plan is read).</summary>
    public IReadOnlyList<QueuedUnitSize> QueuedUnitSizes(string sweepId) => Read(() => Query("""
        SELECT u.id, u.checkpoint_step, (SELECT COUNT(*) FROM unit_jobs uj WHERE uj.unit_id = u.id) AS jobs
        FROM units u WHERE u.sweep_id = $sweep AND u.state = 'queued' ORDER BY u.seq, u.rowid
        """, r => new QueuedUnitSize(r.Text("id"), r.Int("jobs"), r.IntOrNull("checkpoint_step") ?? 0), ("$sweep", sweepId)));

    public AttemptRecord? GetAttempt(string attemptId) => Read(() => AttemptOrNull(attemptId));

    /// <summary>
    /// Hands a queued unit to a device and returns the new attempt's id, which every report about this run carries.
    /// Null when the unit is not queued or its sweep is paused or finished: the dispatcher then does not send it.
    /// </summary>
    public string? AssignUnit(string unitId, string node, string device) =>
        AssignUnit(unitId, node, device, NewAttemptId());

    /// <summary>
    /// As <see cref="AssignUnit(string, string, string)"/> with an attempt id the caller made (<see cref="NewAttemptId"/>),
    /// so that a dispatcher that commits in groups can name the attempt (e.g. requeue it) before the commit.
    /// </summary>
    public string? AssignUnit(string unitId, string node, string device, string attemptId) => Write(() =>
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(attemptId);
        long now = Now();
        // RETURNING hands back the sweep, so the next two statements need not look the unit up again.
        string? sweepId = Scalar<string>("""
            UPDATE units SET state = 'assigned', attempt_id = $attempt, node = $node, device = $device,
                             attempts = attempts + 1, updated_at = $now
            WHERE id = $unit AND state = 'queued'
              AND (SELECT state FROM sweeps WHERE id = units.sweep_id) IN ('queued', 'running')
            RETURNING sweep_id
            """, ("$unit", unitId), ("$attempt", attemptId), ("$node", node), ("$device", device), ("$now", now));
        if (sweepId is null) return null;
        Execute("""
            INSERT INTO attempts (id, unit_id, sweep_id, node, device, started_at)
            VALUES ($attempt, $unit, $sweep, $node, $device, $now)
            """, ("$attempt", attemptId), ("$unit", unitId), ("$sweep", sweepId), ("$node", node), ("$device", device), ("$now", now));
        MarkSweepRunning(sweepId);
        return attemptId;
    });

    /// <summary>A queued sweep runs once a unit of it was handed out.</summary>
    private void MarkSweepRunning(string sweepId) =>
        Execute("UPDATE sweeps SET state = 'running' WHERE id = $sweep AND state = 'queued'", ("$sweep", sweepId));

    /// <summary>
    /// A fresh attempt id (32 hex digits). Time-ordered (UUID v7), so new attempts go at the end of the attempts'
    /// id index instead of dirtying a random page of it in every commit.
    /// </summary>
    public static string NewAttemptId() => Guid.CreateVersion7().ToString("N");

    /// <summary>
    /// Fails a queued unit that no node may run (every live node is blocked for its sweep): its unfinished jobs
    /// fail with <paramref name="reason"/> and its sweep settles. A unit that is not queued is left as it is. Null if
    /// the unit is unknown.
    /// </summary>
    public UnitChange? AbandonUnit(string unitId, string reason) => Write(() =>
    {
        long now = Now();
        int changed = Execute("""
            UPDATE units SET state = 'failed', failure_reason = $reason, updated_at = $now
            WHERE id = $unit AND state = 'queued'
            """, ("$unit", unitId), ("$reason", reason), ("$now", now));
        if (changed == 1)
        {
            MoveUnitJobs(unitId, JobState.Failed, QueuedOrRunningJobs, reason);
            SettleSweep(SweepOfUnit(unitId), now);
        }
        return ChangeOf(unitId);
    });

    /// <summary>The attempt holding the unit started running it; the unit's unfinished jobs become running.</summary>
    public bool MarkUnitRunning(string unitId, string attemptId) => Write(() =>
    {
        int changed = Execute($"UPDATE units SET state = 'running', updated_at = $now WHERE id = $unit AND {HeldBy}",
            ("$unit", unitId), ("$attempt", attemptId), ("$now", Now()));
        if (changed == 0) return false;
        MoveUnitJobs(unitId, JobState.Running, QueuedJobs, reason: null);
        return true;
    });

    /// <summary>
    /// Keeps the unit's newest checkpoint (the blob must already be stored). Accepted from any attempt, even one
    /// the unit was taken from: the run is deterministic, so a later step is progress whoever made it.
    /// </summary>
    public bool SaveCheckpoint(string unitId, string checkpointBlob, int step)
    {
        BlobAddress.Require(checkpointBlob, nameof(checkpointBlob));
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return Write(() => StoreCheckpoint(unitId, new ResumePoint(checkpointBlob, step), Now()));
    }

    /// <summary>
    /// The attempt hands the unit back (drain, SIGTERM, pause, cancel of the attempt) with the checkpoint to resume
    /// from, if any: the unit waits for another device. A hand-back does not count as a failure. False when the
    /// attempt no longer holds the unit (its checkpoint is still kept if newer).
    /// </summary>
    public bool RequeueUnit(string unitId, string attemptId, string reason, ResumePoint? checkpoint = null)
    {
        if (checkpoint is not null) BlobAddress.Require(checkpoint.CheckpointBlob, nameof(checkpoint));
        return Write(() =>
        {
            long now = Now();
            if (checkpoint is not null) StoreCheckpoint(unitId, checkpoint, now);
            return RequeueHeldUnit(unitId, attemptId, reason, now);
        });
    }

    /// <summary>A node left or was downed: every unit it held is requeued from its checkpoint, and returned.</summary>
    public IReadOnlyList<UnitRecord> RequeueUnitsOfNode(string node, string reason) => Write(() =>
    {
        long now = Now();
        var held = Query("SELECT id, attempt_id FROM units WHERE node = $node AND state IN ('assigned', 'running')",
            r => (Unit: r.Text("id"), Attempt: r.Text("attempt_id")), ("$node", node));
        foreach (var (unit, attempt) in held) RequeueHeldUnit(unit, attempt, reason, now);
        return held.Select(h => UnitOrNull(h.Unit)!).ToList();
    });

    /// <summary>
    /// The unit ran to its end; record its jobs' results first. Accepted from any attempt (a unit requeued from a
    /// node thought lost may still finish there); an attempt still holding it elsewhere ends as cancelled, and the
    /// unit's jobs still without a result fail. Null if the unit is unknown.
    /// </summary>
    public UnitChange? CompleteUnit(string unitId, string attemptId) => Write(() => CompleteUnitRows(unitId, attemptId, out _));

    /// <param name="sweepId">The unit's sweep when the unit was open (and so looked up anyway); else null.</param>
    private UnitChange? CompleteUnitRows(string unitId, string attemptId, out string? sweepId)
    {
        sweepId = null;
        long now = Now();
        int changed = Execute($"""
            UPDATE units SET state = 'done', attempt_id = NULL, updated_at = $now,
                node = COALESCE((SELECT node FROM attempts WHERE id = $attempt), node),
                device = COALESCE((SELECT device FROM attempts WHERE id = $attempt), device)
            WHERE id = $unit AND state IN {OpenUnitStates}
            """, ("$unit", unitId), ("$attempt", attemptId), ("$now", now));
        if (changed == 0) return ChangeOf(unitId);
        // One statement ends the unit's attempts: the reporting one is done (even if it was written off as
        // requeued when its node looked lost: it finished after all), any other still open is cancelled.
        Execute("""
            UPDATE attempts SET finished_at = $now,
                outcome = CASE WHEN id = $attempt THEN 'done' ELSE 'cancelled' END,
                reason = CASE WHEN id = $attempt THEN NULL ELSE $reason END
            WHERE unit_id = $unit AND (finished_at IS NULL OR (id = $attempt AND outcome = 'requeued'))
            """, ("$unit", unitId), ("$attempt", attemptId), ("$reason", $"completed by attempt {attemptId}"), ("$now", now));
        UnitChange change = EndedUnitChange(unitId, now, out string sweep);
        sweepId = sweep;
        return change;
    }

    /// <summary>
    /// After a unit became done: its jobs still without a result fail, and its sweep settles if no unit of it is
    /// left. One look answers both; while the sweep has units left and the unit's jobs all have results (nearly
    /// always) nothing more runs.
    /// </summary>
    private UnitChange EndedUnitChange(string unitId, long now, out string sweepId)
    {
        var (sweep, state, unfinishedJobs, idle) = Query(EndedUnitFacts,
            r => (r.Text("sweep_id"), r.State<SweepState>("state"), r.GetBoolean(2), r.GetBoolean(3)), ("$unit", unitId)).Single();
        sweepId = sweep;
        if (unfinishedJobs) MoveUnitJobs(unitId, JobState.Failed, QueuedOrRunningJobs, "the unit finished without a result for this job");
        return new UnitChange(UnitState.Done, idle ? SettleIdleSweep(sweep, state, now) : state);
    }

    /// <summary>
    /// The attempt holding the unit reports a failure. Within the sweep's retries the unit is requeued (the
    /// dispatcher prefers another device); past them it fails with its jobs, keeping the reason. A report from an
    /// attempt that no longer holds the unit changes nothing. Null if the unit is unknown.
    /// </summary>
    public UnitChange? FailUnit(string unitId, string attemptId, string reason) => Write(() =>
    {
        var held = Query($"""
            SELECT failures, (SELECT retries FROM sweeps WHERE id = units.sweep_id) AS retries
            FROM units WHERE id = $unit AND {HeldBy}
            """, r => (Failures: r.Int("failures"), Retries: r.Int("retries")), ("$unit", unitId), ("$attempt", attemptId));
        if (held.Count == 1)
            RecordFailure(unitId, attemptId, reason, final: held[0].Failures + 1 > held[0].Retries, Now());
        return ChangeOf(unitId);
    });

    /// <summary>
    /// Replaces a queued unit by smaller parts that together answer the same jobs (the scheduling policy cut it to
    /// fit a device). The parts keep the unit's place and failure count and start from step 0, since the unit's
    /// checkpoint holds the whole batch. False when the unit is not queued.
    /// </summary>
    public bool SplitUnit(string unitId, IReadOnlyList<WorkUnit> parts) => Write(() =>
    {
        var original = Query("SELECT seq, failures FROM units WHERE id = $unit AND state = 'queued'",
            r => (Seq: r.Int("seq"), Failures: r.Int("failures")), ("$unit", unitId));
        UnitRecord? unit = UnitOrNull(unitId);
        if (original.Count == 0 || unit is null) return false;
        CheckParts(unit.Unit, parts);
        long now = Now();
        Execute("UPDATE units SET state = 'split', updated_at = $now WHERE id = $unit", ("$unit", unitId), ("$now", now));
        InsertUnits(unit.SweepId, parts, seqOf: _ => original[0].Seq, original[0].Failures, now);
        return true;
    });

    /// <summary>
    /// Call once when the coordinator starts: attempts left open by the previous process are closed, units it had
    /// handed out are requeued from their last checkpoint, and every unfinished sweep is returned (by priority,
    /// then age) with its units waiting for a device.
    /// </summary>
    public IReadOnlyList<UnfinishedSweep> RecoverOnStartup() => Write(() =>
    {
        long now = Now();
        Execute("""
            UPDATE attempts SET finished_at = $now, outcome = 'requeued', reason = 'coordinator restarted'
            WHERE finished_at IS NULL
            """, ("$now", now));
        Execute("""
            UPDATE units SET state = 'queued', attempt_id = NULL, node = NULL, device = NULL, updated_at = $now
            WHERE state IN ('assigned', 'running')
            """, ("$now", now));
        Execute("UPDATE jobs SET state = 'queued' WHERE state = 'running'");
        List<SweepRecord> sweeps = Query($"""
            SELECT {SweepColumns} FROM sweeps WHERE state IN (SELECT value FROM json_each($open))
            ORDER BY priority DESC, created_at, rowid
            """, ReadSweep, ("$open", UnfinishedSweepStates));
        return sweeps.Select(s => new UnfinishedSweep(s, QueuedUnits(s.Id))).ToList();
    });

    private void RecordFailure(string unitId, string attemptId, string reason, bool final, long now)
    {
        Execute("""
            UPDATE units SET state = $state, attempt_id = NULL, failures = failures + 1, failure_reason = $reason,
                             node = NULL, device = NULL, updated_at = $now
            WHERE id = $unit
            """, ("$unit", unitId), ("$state", Db(final ? UnitState.Failed : UnitState.Queued)), ("$reason", reason),
            ("$now", now));
        CloseAttempt(attemptId, AttemptOutcome.Failed, reason, now);
        if (!final)
        {
            MoveUnitJobs(unitId, JobState.Queued, RunningJobs, reason: null);
            return;
        }
        MoveUnitJobs(unitId, JobState.Failed, QueuedOrRunningJobs, reason);
        SettleSweep(SweepOfUnit(unitId), now);
    }

    private bool RequeueHeldUnit(string unitId, string attemptId, string reason, long now)
    {
        int changed = Execute($"""
            UPDATE units SET state = 'queued', attempt_id = NULL, node = NULL, device = NULL, updated_at = $now
            WHERE id = $unit AND {HeldBy}
            """, ("$unit", unitId), ("$attempt", attemptId), ("$now", now));
        if (changed == 0) return false;
        CloseAttempt(attemptId, AttemptOutcome.Requeued, reason, now);
        MoveUnitJobs(unitId, JobState.Queued, RunningJobs, reason: null);
        return true;
    }

    private bool StoreCheckpoint(string unitId, ResumePoint checkpoint, long now) => Execute($"""
        UPDATE units SET checkpoint_blob = $blob, checkpoint_step = $step, updated_at = $now
        WHERE id = $unit AND state IN {OpenUnitStates} AND (checkpoint_step IS NULL OR checkpoint_step < $step)
        """, ("$unit", unitId), ("$blob", checkpoint.CheckpointBlob), ("$step", checkpoint.Step), ("$now", now)) == 1;

    private static void CheckParts(WorkUnit original, IReadOnlyList<WorkUnit> parts)
    {
        if (parts.Count == 0) throw new ArgumentException($"Unit '{original.UnitId}' cannot split into no parts.", nameof(parts));
        CheckUnits(original.SweepId, original.Jobs.Select(j => j.JobId), parts);
        var covered = parts.SelectMany(p => p.Jobs).Select(j => j.JobId).ToHashSet(StringComparer.Ordinal);
        string? lost = original.Jobs.Select(j => j.JobId).FirstOrDefault(id => !covered.Contains(id));
        if (lost is not null)
            throw new ArgumentException($"The parts of unit '{original.UnitId}' leave out its job '{lost}'.", nameof(parts));
    }

    private void CloseAttempt(string attemptId, AttemptOutcome outcome, string? reason, long now) => Execute("""
        UPDATE attempts SET finished_at = $now, outcome = $outcome, reason = $reason WHERE id = $attempt AND finished_at IS NULL
        """, ("$attempt", attemptId), ("$outcome", Db(outcome)), ("$reason", reason), ("$now", now));

    /// <summary>
    /// Moves the unit's jobs that are in one of <paramref name="fromStates"/> (a <see cref="StateList{TEnum}"/>) to
    /// <paramref name="to"/>. The states are matched with instr rather than IN: the jobs to look at are the unit's few,
    /// found by id, and an IN list would tempt the planner into walking every queued job of the farm by state.
    /// </summary>
    private void MoveUnitJobs(string unitId, JobState to, string fromStates, string? reason) => Execute("""
        UPDATE jobs SET state = $to, failure_reason = COALESCE($reason, failure_reason)
        WHERE id IN (SELECT job_id FROM unit_jobs WHERE unit_id = $unit)
          AND instr($from, ',' || state || ',') > 0
        """, ("$unit", unitId), ("$to", Db(to)), ("$from", fromStates), ("$reason", reason));

    private string? SweepOfUnitOrNull(string unitId) => Scalar<string>("SELECT sweep_id FROM units WHERE id = $unit", ("$unit", unitId));

    private string SweepOfUnit(string unitId) => Scalar<string>("SELECT sweep_id FROM units WHERE id = $unit", ("$unit", unitId))!;

    private List<UnitRecord> QueuedUnits(string sweepId) => Query(
        $"{UnitSelect} WHERE u.sweep_id = $sweep AND u.state = 'queued' ORDER BY u.seq, u.rowid", ReadUnit, ("$sweep", sweepId));

    private UnitRecord? UnitOrNull(string unitId) =>
        Query($"{UnitSelect} WHERE u.id = $unit", ReadUnit, ("$unit", unitId)).FirstOrDefault();

    private UnitChange? ChangeOf(string unitId) => Query(
        "SELECT u.state AS unit_state, s.state AS sweep_state FROM units u JOIN sweeps s ON s.id = u.sweep_id WHERE u.id = $unit",
        r => new UnitChange(r.State<UnitState>("unit_state"), r.State<SweepState>("sweep_state")), ("$unit", unitId)).FirstOrDefault();

    private static UnitRecord ReadUnit(SqliteDataReader r) => new(
        StoreJson.Read<WorkUnit>(r.Text("unit_json")),
        r.State<UnitState>("state"),
        r.TextOrNull("attempt_id"),
        r.TextOrNull("node"),
        r.TextOrNull("device"),
        r.TextOrNull("checkpoint_blob") is { } blob ? new ResumePoint(blob, r.IntOrNull("checkpoint_step") ?? 0) : null,
        r.Int("attempts"),
        r.Int("failures"),
        r.TextOrNull("failure_reason"),
        StoreJson.Read<string[]>(r.Text("failed_on")));
}

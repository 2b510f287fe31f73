using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Store;

public sealed partial class FarmStore
{
    private const string SweepColumns = "id, name, file_text, state, priority, retries, created_at, finished_at";
    private const string OpenUnitStates = "('queued', 'assigned', 'running')";
    private static readonly string UnfinishedSweepStates = DbSet(SweepState.Queued, SweepState.Running, SweepState.Paused);

    /// <summary>
    /// Stores a sweep with its jobs and units in one transaction: a sweep that fails to store leaves nothing.
    /// Jobs already done (in any sweep) stay done and are reused; failed or cancelled ones are queued again.
    /// A sweep with no units finishes at once: done if every job is already done, failed otherwise.
    /// </summary>
    public SweepRecord CreateSweep(NewSweep sweep)
    {
        // A job id is a SHA-256 of the settings, recomputed on every read of JobId: take each once.
        string[] jobIds = sweep.Jobs.Select(j => j.Settings.JobId).ToArray();
        CheckNewSweep(sweep, jobIds);
        return Write(() =>
        {
            long now = Now();
            InsertSweep(sweep, now);
            InsertJobs(sweep, jobIds, now);
            InsertUnits(sweep.Id, sweep.Units, seqOf: i => i, failures: 0, now);
            SettleSweep(sweep.Id, now);
            RememberPlans(sweep.Id, sweep.Units);
            return SweepOrNull(sweep.Id)!;
        });
    }

    /// <summary>
    /// A sweep's queued units, as the SweepManager loads them when the sweep is submitted. The plans of a sweep this
    /// store created lately come from memory, once, if the stored units still match them (all queued, never handed
    /// out, as many): parsing thousands of plans back from JSON held up the first dispatch of a big sweep.
    /// </summary>
    public IReadOnlyList<UnitRecord> QueuedUnitsToLoad(string sweepId) => Read(() =>
    {
        if (_createdPlans.Remove(sweepId, out IReadOnlyList<WorkUnit>? plans))
        {
            var (units, untouched) = Query("""
                SELECT COUNT(*) AS units, COUNT(*) FILTER (WHERE state = 'queued' AND attempts = 0) AS untouched
                FROM units WHERE sweep_id = $sweep
                """, r => (r.Int("units"), r.Int("untouched")), ("$sweep", sweepId)).Single();
            if (units == plans.Count && untouched == plans.Count)
                return plans.Select(unit => new UnitRecord(unit, UnitState.Queued, null, null, null, null, 0, 0, null, [])).ToList();
        }
        return QueuedUnits(sweepId);
    });

    // The plans of the sweeps created last, by sweep, until the SweepManager takes them (a few: a sweep that is
    // never taken, e.g. because its coordinator restarted, must not stay in memory).
    private const int CreatedPlansKept = 4;
    private readonly Dictionary<string, IReadOnlyList<WorkUnit>> _createdPlans = new(StringComparer.Ordinal);
    private readonly Queue<string> _createdOrder = new();

    private void RememberPlans(string sweepId, IReadOnlyList<WorkUnit> units)
    {
        _createdPlans[sweepId] = units;
        _createdOrder.Enqueue(sweepId);
        while (_createdOrder.Count > CreatedPlansKept) _createdPlans.Remove(_createdOrder.Dequeue());
    }

    public SweepRecord? GetSweep(string sweepId) => Read(() => SweepOrNull(sweepId));

    /// <summary>Every sweep, newest first.</summary>
    public IReadOnlyList<SweepRecord> ListSweeps() =>
        Read(() => Query($"SELECT {SweepColumns} FROM sweeps ORDER BY created_at DESC, rowid DESC", ReadSweep));

    /// <summary>Pauses a queued or running sweep; returns the sweep's state afterwards (null if unknown).</summary>
    public SweepState? PauseSweep(string sweepId) => Write(() =>
    {
        Execute("UPDATE sweeps SET state = 'paused' WHERE id = $id AND state IN ('queued', 'running')", ("$id", sweepId));
        return SweepStateOf(sweepId);
    });

    /// <summary>Resumes a paused sweep (running if any unit ever started, else queued); returns its state afterwards.</summary>
    public SweepState? ResumeSweep(string sweepId) => Write(() =>
    {
        Execute("""
            UPDATE sweeps SET state = CASE
                WHEN EXISTS (SELECT 1 FROM units WHERE sweep_id = $id AND attempts > 0) THEN 'running' ELSE 'queued' END
            WHERE id = $id AND state = 'paused'
            """, ("$id", sweepId));
        return SweepStateOf(sweepId);
    });

    /// <summary>
    /// Cancels an unfinished sweep: its open units and their attempts end as cancelled, and so do its unfinished
    /// jobs that no other unfinished sweep wants. Returns the sweep's state afterwards (a done sweep stays done).
    /// </summary>
    public SweepState? CancelSweep(string sweepId) => Write(() =>
    {
        long now = Now();
        int changed = Execute(
            "UPDATE sweeps SET state = 'cancelled', finished_at = $now WHERE id = $id AND state IN (SELECT value FROM json_each($open))",
            ("$id", sweepId), ("$now", now), ("$open", UnfinishedSweepStates));
        if (changed == 1) CancelSweepWork(sweepId, now);
        return SweepStateOf(sweepId);
    });

    private void CancelSweepWork(string sweepId, long now)
    {
        Execute("""
            UPDATE attempts SET finished_at = $now, outcome = 'cancelled', reason = 'sweep cancelled'
            WHERE sweep_id = $id AND finished_at IS NULL
            """, ("$id", sweepId), ("$now", now));
        Execute($"""
            UPDATE units SET state = 'cancelled', attempt_id = NULL, node = NULL, device = NULL, updated_at = $now
            WHERE sweep_id = $id AND state IN {OpenUnitStates}
            """, ("$id", sweepId), ("$now", now));
        Execute("""
            UPDATE jobs SET state = 'cancelled'
            WHERE state IN ('queued', 'running')
              AND id IN (SELECT job_id FROM sweep_jobs WHERE sweep_id = $id)
              AND NOT EXISTS (
                  SELECT 1 FROM sweep_jobs other JOIN sweeps s ON s.id = other.sweep_id
                  WHERE other.job_id = jobs.id AND other.sweep_id <> $id
                    AND s.state IN (SELECT value FROM json_each($open)))
            """, ("$id", sweepId), ("$open", UnfinishedSweepStates));
    }

    /// <summary>
    /// Finishes a sweep once no unit is left to run: done if every job is done, failed otherwise. Returns the sweep's
    /// state afterwards. While units are left (nearly every call) this is one look-up in the units_sweep index; the
    /// jobs are only looked at once, when the last unit ends.
    /// </summary>
    private SweepState SettleSweep(string sweepId, long now)
    {
        var (state, idle) = Query(SweepFacts, r => (r.State<SweepState>("state"), r.GetBoolean(1)), ("$id", sweepId)).Single();
        return idle ? SettleIdleSweep(sweepId, state, now) : state;
    }

    private static readonly string SweepFacts = $"SELECT state, {NoOpenUnitIn("$id")} AS idle FROM sweeps WHERE id = $id";

    /// <summary>
    /// SQL that is true when the sweep <paramref name="sweepId"/> (an SQL expression) has no open unit. One seek in
    /// units_sweep per open state: an IN list would make SQLite build a temporary index of the states on every call.
    /// </summary>
    private static string NoOpenUnitIn(string sweepId) => $"""
        (NOT EXISTS (SELECT 1 FROM units WHERE sweep_id = {sweepId} AND state = 'queued')
         AND NOT EXISTS (SELECT 1 FROM units WHERE sweep_id = {sweepId} AND state = 'assigned')
         AND NOT EXISTS (SELECT 1 FROM units WHERE sweep_id = {sweepId} AND state = 'running'))
        """;

    /// <summary>Finishes a sweep in <paramref name="state"/> that has no unit left to run, unless it is finished already.</summary>
    private SweepState SettleIdleSweep(string sweepId, SweepState state, long now)
    {
        if (state is not (SweepState.Queued or SweepState.Running or SweepState.Paused)) return state;
        bool allDone = Scalar<long>("""
            SELECT NOT EXISTS (SELECT 1 FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id
                               WHERE sj.sweep_id = $id AND j.state <> 'done')
            """, ("$id", sweepId)) == 1;
        SweepState settled = allDone ? SweepState.Done : SweepState.Failed;
        if (settled == SweepState.Failed) _failedSweepsMayExist = true;
        Execute("UPDATE sweeps SET state = $state, finished_at = $now WHERE id = $id",
            ("$id", sweepId), ("$state", Db(settled)), ("$now", now));
        return settled;
    }

    private static void CheckNewSweep(NewSweep sweep, IReadOnlyList<string> jobIds)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sweep.Id);
        ArgumentException.ThrowIfNullOrWhiteSpace(sweep.Name);
        ArgumentOutOfRangeException.ThrowIfNegative(sweep.Retries);
        if (sweep.Jobs.Count == 0) throw new ArgumentException($"Sweep '{sweep.Id}' has no jobs.", nameof(sweep));
        CheckUnits(sweep.Id, jobIds, sweep.Units);
    }

    /// <summary>Clear errors for what the schema would also refuse, before anything is written.</summary>
    private static void CheckUnits(string sweepId, IEnumerable<string> sweepJobIds, IReadOnlyList<WorkUnit> units)
    {
        var jobIds = sweepJobIds.ToHashSet(StringComparer.Ordinal);
        var unitIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (WorkUnit unit in units)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(unit.UnitId);
            if (unit.SweepId != sweepId)
                throw new ArgumentException($"Unit '{unit.UnitId}' belongs to sweep '{unit.SweepId}', not '{sweepId}'.", nameof(units));
            if (!unitIds.Add(unit.UnitId))
                throw new ArgumentException($"Sweep '{sweepId}' has two units with id '{unit.UnitId}'.", nameof(units));
            string? stranger = unit.Jobs.Select(j => j.JobId).FirstOrDefault(id => !jobIds.Contains(id));
            if (stranger is not null)
                throw new ArgumentException($"Unit '{unit.UnitId}' answers job '{stranger}', which is not in sweep '{sweepId}'.", nameof(units));
        }
    }

    private void InsertSweep(NewSweep sweep, long now) => Execute("""
        INSERT INTO sweeps (id, name, file_text, state, priority, retries, created_at)
        VALUES ($id, $name, $file, 'queued', $priority, $retries, $now)
        """,
        ("$id", sweep.Id), ("$name", sweep.Name), ("$file", sweep.FileText), ("$priority", sweep.Priority),
        ("$retries", sweep.Retries), ("$now", now));

    // A sweep's rows go in as one JSON array per table, inserted by one statement each (INSERT … SELECT FROM
    // jsonb_each): a row costs SQLite a few microseconds, while a statement per row cost the binding and the call
    // around it as well, several times that for the thousands of rows of a big sweep. jsonb_each, not json_each:
    // json_each hands each row's object over as JSON text, which every json_extract then parses again.

    private void InsertJobs(NewSweep sweep, IReadOnlyList<string> jobIds, long now)
    {
        string rows = JsonRows(sweep.Jobs.Count, (json, i) =>
        {
            json.WriteString("id", jobIds[i]);
            StoreJson.WriteProperty(json, "settings", sweep.Jobs[i].Settings);
            json.WriteNumber("seq", i);
            StoreJson.WriteProperty(json, "swept", sweep.Jobs[i].SweptValues);
        });
        // A job that failed or was cancelled before gets another chance; a done one keeps its result. (WHERE true
        // tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join.)
        Execute("""
            INSERT INTO jobs (id, state, created_at)
            SELECT json_extract(value, '$.id'), 'queued', $now FROM jsonb_each($rows) WHERE true
            ON CONFLICT (id) DO UPDATE SET state = 'queued', failure_reason = NULL
            WHERE jobs.state IN ('failed', 'cancelled')
            """, ("$rows", rows), ("$now", now));
        // The id is the hash of the settings: a job stored before has these settings already.
        Execute("""
            INSERT INTO job_settings (job_id, settings_json)
            SELECT json_extract(value, '$.id'), json_extract(value, '$.settings') FROM jsonb_each($rows) WHERE true
            ON CONFLICT DO NOTHING
            """, ("$rows", rows));
        // Two combinations that resolve to the same settings are one job; the first one's labels stay.
        Execute("""
            INSERT INTO sweep_jobs (sweep_id, job_id, seq, swept_json)
            SELECT $sweep, json_extract(value, '$.id'), json_extract(value, '$.seq'), json_extract(value, '$.swept')
            FROM jsonb_each($rows) WHERE true
            ON CONFLICT DO NOTHING
            """, ("$rows", rows), ("$sweep", sweep.Id));
    }

    private void InsertUnits(string sweepId, IReadOnlyList<WorkUnit> units, Func<int, int> seqOf, int failures, long now)
    {
        string rows = JsonRows(units.Count, (json, i) =>
        {
            json.WriteString("id", units[i].UnitId);
            json.WriteNumber("seq", seqOf(i));
            StoreJson.WriteProperty(json, "plan", units[i]);
        });
        var pairs = units.SelectMany(unit => unit.Jobs.Select(job => (Unit: unit.UnitId, Job: job.JobId))).ToArray();
        string links = JsonRows(pairs.Length, (json, i) =>
        {
            json.WriteString("unit", pairs[i].Unit);
            json.WriteString("job", pairs[i].Job);
        });
        Execute("""
            INSERT INTO units (id, sweep_id, seq, state, failures, updated_at)
            SELECT json_extract(value, '$.id'), $sweep, json_extract(value, '$.seq'), 'queued', $failures, $now FROM jsonb_each($rows)
            """, ("$rows", rows), ("$sweep", sweepId), ("$failures", failures), ("$now", now));
        Execute("""
            INSERT INTO unit_specs (unit_id, unit_json)
            SELECT json_extract(value, '$.id'), json_extract(value, '$.plan') FROM jsonb_each($rows)
            """, ("$rows", rows));
        Execute("""
            INSERT INTO unit_jobs (unit_id, sweep_id, job_id)
            SELECT json_extract(value, '$.unit'), $sweep, json_extract(value, '$.job') FROM jsonb_each($links) WHERE true
            ON CONFLICT DO NOTHING
            """, ("$links", links), ("$sweep", sweepId));
    }

    /// <summary>A JSON array of <paramref name="count"/> objects, the i-th written by <paramref name="row"/>.</summary>
    private static string JsonRows(int count, Action<Utf8JsonWriter, int> row)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(1, count) * 256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            for (int i = 0; i < count; i++)
            {
                json.WriteStartObject();
                row(json, i);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private SweepRecord? SweepOrNull(string sweepId) =>
        Query($"SELECT {SweepColumns} FROM sweeps WHERE id = $id", ReadSweep, ("$id", sweepId)).FirstOrDefault();

    private SweepState? SweepStateOf(string sweepId) => SweepOrNull(sweepId)?.State;

    private static SweepRecord ReadSweep(SqliteDataReader r) => new(
        r.Text("id"), r.Text("name"), r.Text("file_text"), r.State<SweepState>("state"), r.Int("priority"),
        r.Int("retries"), r.Time("created_at"), r.TimeOrNull("finished_at"));
}

using Microsoft.Data.Sqlite;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Store;

public sealed partial class FarmStore
{
    // Columns of JobsWithSettings.
    private const string JobColumns = """
        j.id, js.settings_json, j.state, j.result_blob, j.trace_blob, j.final_losses, j.node, j.device, j.created_at,
        j.started_at, j.finished_at, j.engine_seconds, j.batch_size, j.failure_reason
        """;

    private const string JobsWithSettings = "jobs j JOIN job_settings js ON js.job_id = j.id";

    public JobRecord? GetJob(string jobId) => Read(() =>
        Query($"SELECT {JobColumns} FROM {JobsWithSettings} WHERE j.id = $id", ReadJob, ("$id", jobId)).FirstOrDefault());

    /// <summary>The jobs among <paramref name="jobIds"/> that are done, in any sweep: a new sweep reuses them.</summary>
    public IReadOnlyDictionary<string, JobRecord> FindCompletedJobs(IEnumerable<string> jobIds)
    {
        string ids = StoreJson.Write(jobIds.Distinct(StringComparer.Ordinal).ToArray());
        return Read(() => Query($"""
            SELECT {JobColumns} FROM {JobsWithSettings}
            WHERE j.state = 'done' AND j.id IN (SELECT value FROM json_each($ids))
            """, ReadJob, ("$ids", ids)).ToDictionary(j => j.Id, StringComparer.Ordinal));
    }

    /// <summary>A sweep's jobs in the order its file expanded them, with the swept values that named each.</summary>
    public IReadOnlyList<SweepJobRecord> SweepJobs(string sweepId) => Read(() => Query($"""
        SELECT {JobColumns}, sj.swept_json
        FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id JOIN job_settings js ON js.job_id = j.id
        WHERE sj.sweep_id = $sweep ORDER BY sj.seq
        """, r => new SweepJobRecord(ReadJob(r), StoreJson.Read<Dictionary<string, string>>(r.Text("swept_json"))),
        ("$sweep", sweepId)));

    /// <summary>Every job of a sweep and its state, without its settings (the dashboard's counts).</summary>
    public IReadOnlyDictionary<string, JobState> SweepJobStates(string sweepId) => Read(() =>
        Query("SELECT sj.job_id, j.state FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id WHERE sj.sweep_id = $sweep",
                r => (Id: r.Text("job_id"), State: r.State<JobState>("state")), ("$sweep", sweepId))
            .ToDictionary(j => j.Id, j => j.State, StringComparer.Ordinal));

    /// <summary>The sweeps that asked for a job, oldest first, each with the swept values that named it there.</summary>
    public IReadOnlyList<(string SweepId, IReadOnlyDictionary<string, string> SweptValues)> SweepsOfJob(string jobId) => Read(() => Query("""
        SELECT sj.sweep_id, sj.swept_json FROM sweep_jobs sj JOIN sweeps s ON s.id = sj.sweep_id
        WHERE sj.job_id = $job ORDER BY s.created_at, s.rowid
        """, r => (r.Text("sweep_id"), (IReadOnlyDictionary<string, string>)StoreJson.Read<Dictionary<string, string>>(r.Text("swept_json"))),
        ("$job", jobId)));

    /// <summary>Every hand-out of every unit that answers a job, in any sweep, oldest first.</summary>
    public IReadOnlyList<AttemptRecord> AttemptsOfJob(string jobId) => Read(() => Query($"""
        SELECT {AttemptColumns} FROM attempts
        WHERE unit_id IN (SELECT uj.unit_id FROM sweep_jobs sj JOIN unit_jobs uj ON uj.sweep_id = sj.sweep_id AND uj.job_id = sj.job_id
                          WHERE sj.job_id = $job)
        ORDER BY started_at, rowid
        """, ReadAttempt, ("$job", jobId)));

    /// <summary>
    /// Records a job's result exactly once, whichever attempt delivers it: the first report wins, and a later one
    /// (a duplicate run after a requeue, a resent message) changes nothing and comes back as
    /// <see cref="RecordOutcome.Duplicate"/>; answer both with ResultStored. A late result of a failed or cancelled
    /// job is still recorded (finished work is worth keeping), and a failed sweep it completes becomes done.
    /// </summary>
    public RecordOutcome RecordJobResult(JobResult result)
    {
        BlobAddress.Require(result.ImageBlob, nameof(result));
        BlobAddress.Require(result.TraceBlob, nameof(result));
        return Write(() => RecordResultRow(result));
    }

    /// <summary>
    /// A unit's end as one write (<see cref="Messages.Work.UnitDone"/>): each of <paramref name="results"/> is
    /// recorded as by <see cref="RecordJobResult"/>, then, when <paramref name="complete"/>, the unit is completed as
    /// by <see cref="CompleteUnit"/>. All or nothing.
    /// </summary>
    public UnitDoneOutcome RecordUnitDone(string unitId, string attemptId, IReadOnlyList<JobResult> results, bool complete)
    {
        RequireResultBlobs(results);
        return Write(() => RecordUnitDoneRows(unitId, attemptId, results, complete));
    }

    /// <summary>
    /// A unit's assignment and its end as one write, for a dispatcher whose assignment had not been committed yet
    /// when the unit ended (a short unit under load): the unit goes from queued to done, its attempt is stored
    /// already finished, and the results are recorded, as <see cref="AssignUnit(string, string, string, string)"/>
    /// followed by <see cref="RecordUnitDone"/> would, with about half the statements. When the unit is not queued
    /// (or its sweep stopped), only the results are recorded and the unit completes as RecordUnitDone would.
    /// </summary>
    public UnitDoneOutcome AssignAndRecordUnitDone(UnitEndToFold end)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(end.AttemptId);
        RequireResultBlobs(end.Results);
        return Write(() =>
        {
            long now = Now();
            string? sweepId = Scalar<string>("""
                UPDATE units SET state = 'done', attempt_id = NULL, node = $node, device = $device,
                                 attempts = attempts + 1, updated_at = $now
                WHERE id = $unit AND state = 'queued'
                  AND (SELECT state FROM sweeps WHERE id = units.sweep_id) IN ('queued', 'running')
                RETURNING sweep_id
                """, ("$unit", end.UnitId), ("$node", end.Node), ("$device", end.Device), ("$now", now));
            if (sweepId is null) return RecordUnitDoneRows(end.UnitId, end.AttemptId, end.Results, complete: true);
            Execute("""
                INSERT INTO attempts (id, unit_id, sweep_id, node, device, started_at, finished_at, outcome)
                VALUES ($attempt, $unit, $sweep, $node, $device, $started, $now, 'done')
                """, ("$attempt", end.AttemptId), ("$unit", end.UnitId), ("$sweep", sweepId), ("$node", end.Node),
                ("$device", end.Device), ("$started", Math.Min(end.AssignedAt.ToUnixTimeMilliseconds(), now)), ("$now", now));
            MarkSweepRunning(sweepId);
            var outcomes = new RecordOutcome[end.Results.Count];
            for (int i = 0; i < end.Results.Count; i++) outcomes[i] = RecordResultRow(end.Results[i]);
            return new UnitDoneOutcome(outcomes, sweepId, EndedUnitChange(end.UnitId, now, out _));
        });
    }

    private static void RequireResultBlobs(IReadOnlyList<JobResult> results)
    {
        foreach (JobResult result in results)
        {
            BlobAddress.Require(result.ImageBlob, nameof(results));
            BlobAddress.Require(result.TraceBlob, nameof(results));
        }
    }

    private UnitDoneOutcome RecordUnitDoneRows(string unitId, string attemptId, IReadOnlyList<JobResult> results, bool complete)
    {
        var outcomes = new RecordOutcome[results.Count];
        for (int i = 0; i < results.Count; i++) outcomes[i] = RecordResultRow(results[i]);
        string? sweepId = null;
        UnitChange? change = complete ? CompleteUnitRows(unitId, attemptId, out sweepId) : null;
        return new UnitDoneOutcome(outcomes, sweepId ?? SweepOfUnitOrNull(unitId), change);
    }

    private RecordOutcome RecordResultRow(JobResult result)
    {
        int changed = Execute("""
            UPDATE jobs SET state = 'done', result_blob = $image, trace_blob = $trace, final_losses = $losses,
                node = COALESCE((SELECT node FROM attempts WHERE id = $attempt), $node),
                device = $device, started_at = $started, finished_at = $finished,
                engine_seconds = $engine, batch_size = $batch, failure_reason = NULL
            WHERE id = $id AND state <> 'done'
            """, ("$id", result.JobId), ("$image", result.ImageBlob), ("$trace", result.TraceBlob),
            ("$losses", StoreJson.Write(result.FinalLosses)), ("$attempt", result.AttemptId), ("$node", NodeOfDevice(result.DeviceId)), ("$device", result.DeviceId),
            ("$started", result.Timings.StartedAt.ToUnixTimeMilliseconds()),
            ("$finished", result.Timings.FinishedAt.ToUnixTimeMilliseconds()),
            ("$engine", result.Timings.EngineSeconds), ("$batch", result.Timings.BatchSize));
        if (changed == 1)
        {
            if (FailedSweepsMayExist()) SettleFailedSweepsOf(result.JobId, Now());
            return RecordOutcome.Recorded;
        }
        return Scalar<long>("SELECT COUNT(*) FROM jobs WHERE id = $id", ("$id", result.JobId)) == 1
            ? RecordOutcome.Duplicate
            : RecordOutcome.UnknownJob;
    }

    /// <summary>
    /// Files a variant's snapshot at <paramref name="step"/> under every job of the variant that runs at least that
    /// far (a job of 100 steps is the first 100 of the variant). The first snapshot of a job at a step stays (a
    /// rerun from a checkpoint sends some again). Returns how many jobs gained it.
    /// </summary>
    public int AddSnapshot(string unitId, string variantId, int step, string imageBlob)
    {
        BlobAddress.Require(imageBlob, nameof(imageBlob));
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return Write(() =>
        {
            if (UnitOrNull(unitId)?.Unit.Variants.FirstOrDefault(v => v.VariantId == variantId) is not { } variant) return 0;
            int added = 0;
            foreach (JobAtStep job in variant.Jobs.Where(j => j.Steps >= step))
                added += Execute("INSERT INTO snapshots (job_id, step, blob) VALUES ($job, $step, $blob) ON CONFLICT DO NOTHING",
                    ("$job", job.JobId), ("$step", step), ("$blob", imageBlob));
            return added;
        });
    }

    public IReadOnlyList<SnapshotRecord> Snapshots(string jobId) => Read(() => Query(
        "SELECT job_id, step, blob FROM snapshots WHERE job_id = $job ORDER BY step",
        r => new SnapshotRecord(r.Text("job_id"), r.Int("step"), r.Text("blob")), ("$job", jobId)));

    /// <summary>
    /// False when no sweep is failed, so that a result need not look for failed sweeps to settle (nearly always).
    /// Looked up once per transaction; a sweep that fails within it sets it (<see cref="SettleIdleSweep"/>).
    /// </summary>
    private bool FailedSweepsMayExist() =>
        _failedSweepsMayExist ??= Scalar<long>("SELECT EXISTS (SELECT 1 FROM sweeps WHERE state = 'failed')") == 1;

    /// <summary>A sweep that failed for want of this job, with no unit left to run, is done once all its jobs are.</summary>
    private void SettleFailedSweepsOf(string jobId, long now) => Execute($"""
        UPDATE sweeps SET state = 'done', finished_at = $now
        WHERE state = 'failed'
          AND id IN (SELECT sweep_id FROM sweep_jobs WHERE job_id = $job)
          AND NOT EXISTS (SELECT 1 FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id
                          WHERE sj.sweep_id = sweeps.id AND j.state <> 'done')
          AND NOT EXISTS (SELECT 1 FROM units WHERE sweep_id = sweeps.id AND state IN {OpenUnitStates})
        """, ("$job", jobId), ("$now", now));

    // The attempt knows the node; a result of an attempt this database never made falls back on the device id.
    private static string NodeOfDevice(string deviceId) =>
        DeviceIds.TrySplit(deviceId, out string node, out _) ? node : deviceId;

    private static JobRecord ReadJob(SqliteDataReader r) => new(
        r.Text("id"),
        StoreJson.Read<JobSettings>(r.Text("settings_json")),
        r.State<JobState>("state"),
        r.TextOrNull("result_blob"),
        r.TextOrNull("trace_blob"),
        r.TextOrNull("final_losses") is { } losses ? StoreJson.Read<LossValues>(losses) : null,
        r.TextOrNull("node"),
        r.TextOrNull("device"),
        r.Time("created_at"),
        r.TimeOrNull("started_at"),
        r.TimeOrNull("finished_at"),
        r.RealOrNull("engine_seconds"),
        r.IntOrNull("batch_size"),
        r.TextOrNull("failure_reason"));
}

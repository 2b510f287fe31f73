using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Store;

public sealed partial class FarmStore
{
    /// <summary>
    /// Several units' <see cref="AssignAndRecordUnitDone"/> as one write, and the outcomes the calls one by one would
    /// give, in order. Under load nearly every short unit ends this way, and one statement per table for all of
    /// them costs a fraction of five per unit. When one of the units is not queued (or its sweep stopped), or two
    /// ends name the same unit or job, the ends are written one by one instead, which is what they then need.
    /// All or nothing.
    /// </summary>
    public IReadOnlyList<UnitDoneOutcome> AssignAndRecordUnitsDone(IReadOnlyList<UnitEndToFold> ends)
    {
        foreach (UnitEndToFold end in ends)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(end.AttemptId);
            RequireResultBlobs(end.Results);
        }
        if (ends.Count > 1 && NameEachUnitAndJobOnce(ends))
        {
            try
            {
                return Write(() => FoldUnitEnds(ends));
            }
            catch (EndsNotFoldable)
            {
                // Rolled back whole: the ends go one by one below.
            }
        }
        // All or nothing still, so that a caller may retry the ends one by one after an error.
        return Write(() => ends.Select(AssignAndRecordUnitDone).ToArray());
    }

    private sealed class EndsNotFoldable : Exception;

    private static bool NameEachUnitAndJobOnce(IReadOnlyList<UnitEndToFold> ends)
    {
        var units = new HashSet<string>(StringComparer.Ordinal);
        var jobs = new HashSet<string>(StringComparer.Ordinal);
        return ends.All(e => units.Add(e.UnitId) && e.Results.All(r => jobs.Add(r.JobId)));
    }

    /// <summary>
    /// The statements of <see cref="AssignAndRecordUnitDone"/>, each run once for all <paramref name="ends"/>:
    /// units from queued to done, their attempts stored finished, their sweeps marked running, the results recorded,
    /// jobs a unit left without a result failed, and each sweep settled once, after its last unit here.
    /// </summary>
    private UnitDoneOutcome[] FoldUnitEnds(IReadOnlyList<UnitEndToFold> ends)
    {
        long now = Now();
        string units = JsonRows(ends.Count, (json, i) =>
        {
            UnitEndToFold end = ends[i];
            json.WriteString("unit", end.UnitId);
            json.WriteString("node", end.Node);
            json.WriteString("device", end.Device);
            json.WriteString("attempt", end.AttemptId);
            json.WriteNumber("started", Math.Min(end.AssignedAt.ToUnixTimeMilliseconds(), now));
        });
        var sweepOf = Query("""
            UPDATE units SET state = 'done', attempt_id = NULL, node = e.node, device = e.device,
                             attempts = attempts + 1, updated_at = $now
            FROM (SELECT json_extract(value, '$.unit') AS unit, json_extract(value, '$.node') AS node,
                         json_extract(value, '$.device') AS device FROM jsonb_each($units)) AS e
            WHERE units.id = e.unit AND units.state = 'queued'
              AND (SELECT state FROM sweeps WHERE id = units.sweep_id) IN ('queued', 'running')
            RETURNING id, sweep_id
            """, r => (Unit: r.Text("id"), Sweep: r.Text("sweep_id")), ("$units", units), ("$now", now))
            .ToDictionary(u => u.Unit, u => u.Sweep, StringComparer.Ordinal);
        if (sweepOf.Count != ends.Count) throw new EndsNotFoldable();

        Execute("""
            INSERT INTO attempts (id, unit_id, sweep_id, node, device, started_at, finished_at, outcome)
            SELECT json_extract(value, '$.attempt'), u.id, u.sweep_id, json_extract(value, '$.node'),
                   json_extract(value, '$.device'), json_extract(value, '$.started'), $now, 'done'
            FROM jsonb_each($units) JOIN units u ON u.id = json_extract(value, '$.unit')
            """, ("$units", units), ("$now", now));
        string[] sweeps = ends.Select(e => sweepOf[e.UnitId]).Distinct(StringComparer.Ordinal).ToArray();
        foreach (string sweepId in sweeps) MarkSweepRunning(sweepId);

        var outcomes = RecordResultRows(ends.SelectMany(e => e.Results).ToArray(), now);
        FailJobsLeftWithoutResult(units);
        return Outcomes(ends, sweepOf, SettleSweeps(sweeps, now), outcomes);
    }

    /// <summary><see cref="RecordResultRow"/> for many results of distinct jobs, by job id.</summary>
    private Dictionary<string, RecordOutcome> RecordResultRows(IReadOnlyList<JobResult> results, long now)
    {
        string rows = JsonRows(results.Count, (json, i) =>
        {
            JobResult result = results[i];
            json.WriteString("job", result.JobId);
            json.WriteString("image", result.ImageBlob);
            json.WriteString("trace", result.TraceBlob);
            StoreJson.WriteProperty(json, "losses", result.FinalLosses);
            json.WriteString("attempt", result.AttemptId);
            json.WriteString("node", NodeOfDevice(result.DeviceId));
            json.WriteString("device", result.DeviceId);
            json.WriteNumber("started", result.Timings.StartedAt.ToUnixTimeMilliseconds());
            json.WriteNumber("finished", result.Timings.FinishedAt.ToUnixTimeMilliseconds());
            if (double.IsFinite(result.Timings.EngineSeconds)) json.WriteNumber("engine", result.Timings.EngineSeconds);
            json.WriteNumber("batch", result.Timings.BatchSize);
        });
        var recorded = Query("""
            UPDATE jobs SET state = 'done', result_blob = r.image, trace_blob = r.trace, final_losses = r.losses,
                node = COALESCE((SELECT node FROM attempts WHERE id = r.attempt), r.node),
                device = r.device, started_at = r.started, finished_at = r.finished,
                engine_seconds = r.engine, batch_size = r.batch, failure_reason = NULL
            FROM (SELECT json_extract(value, '$.job') AS job, json_extract(value, '$.image') AS image,
                         json_extract(value, '$.trace') AS trace, json_extract(value, '$.losses') AS losses,
                         json_extract(value, '$.attempt') AS attempt, json_extract(value, '$.node') AS node,
                         json_extract(value, '$.device') AS device, json_extract(value, '$.started') AS started,
                         json_extract(value, '$.finished') AS finished, json_extract(value, '$.engine') AS engine,
                         json_extract(value, '$.batch') AS batch
                  FROM jsonb_each($rows)) AS r
            WHERE jobs.id = r.job AND jobs.state <> 'done'
            RETURNING id
            """, r => r.Text("id"), ("$rows", rows)).ToHashSet(StringComparer.Ordinal);

        var outcomes = new Dictionary<string, RecordOutcome>(StringComparer.Ordinal);
        string[] others = results.Select(r => r.JobId).Where(id => !recorded.Contains(id)).ToArray();
        var known = others.Length == 0 ? [] : Query("SELECT id FROM jobs WHERE id IN (SELECT value FROM json_each($ids))",
            r => r.Text("id"), ("$ids", StoreJson.Write(others))).ToHashSet(StringComparer.Ordinal);
        foreach (JobResult result in results)
        {
            bool isRecorded = recorded.Contains(result.JobId);
            outcomes[result.JobId] = isRecorded ? RecordOutcome.Recorded
                : known.Contains(result.JobId) ? RecordOutcome.Duplicate : RecordOutcome.UnknownJob;
            if (isRecorded && FailedSweepsMayExist()) SettleFailedSweepsOf(result.JobId, now);
        }
        return outcomes;
    }

    /// <summary>As <see cref="EndedUnitChange"/> does for one unit: jobs of these done units still without a result fail.</summary>
    private void FailJobsLeftWithoutResult(string units)
    {
        // +state, as in EndedUnitFacts: the jobs are found by the units' job ids, not by walking jobs_state.
        var unfinished = Query("""
            SELECT DISTINCT uj.unit_id FROM unit_jobs uj JOIN jobs j ON j.id = uj.job_id
            WHERE uj.unit_id IN (SELECT json_extract(value, '$.unit') FROM jsonb_each($units)) AND +j.state IN ('queued', 'running')
            """, r => r.Text("unit_id"), ("$units", units));
        foreach (string unitId in unfinished)
            MoveUnitJobs(unitId, JobState.Failed, QueuedOrRunningJobs, "the unit finished without a result for this job");
    }

    /// <summary>Each sweep's state before and after it settles (it settles when no unit of it is left open).</summary>
    private Dictionary<string, (SweepState Before, SweepState After)> SettleSweeps(IEnumerable<string> sweeps, long now) =>
        sweeps.ToDictionary(sweepId => sweepId, sweepId =>
        {
            var (state, idle) = Query(SweepFacts, r => (r.State<SweepState>("state"), r.GetBoolean(1)), ("$id", sweepId)).Single();
            return (state, idle ? SettleIdleSweep(sweepId, state, now) : state);
        }, StringComparer.Ordinal);

    /// <summary>
    /// The outcomes one by one would have given: a unit's sweep is seen settled only by the last of its units here
    /// (while earlier ones ended, the later ones were still queued).
    /// </summary>
    private static UnitDoneOutcome[] Outcomes(IReadOnlyList<UnitEndToFold> ends, Dictionary<string, string> sweepOf,
        Dictionary<string, (SweepState Before, SweepState After)> sweeps, Dictionary<string, RecordOutcome> recorded)
    {
        var lastOfSweep = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < ends.Count; i++) lastOfSweep[sweepOf[ends[i].UnitId]] = i;
        return ends.Select((end, i) =>
        {
            string sweepId = sweepOf[end.UnitId];
            SweepState sweep = lastOfSweep[sweepId] == i ? sweeps[sweepId].After : sweeps[sweepId].Before;
            return new UnitDoneOutcome(end.Results.Select(r => recorded[r.JobId]).ToArray(), sweepId, new UnitChange(UnitState.Done, sweep));
        }).ToArray();
    }
}

using Microsoft.Data.Sqlite;

namespace StyleFarm.Coordinator.Store;

public sealed partial class FarmStore
{
    private const string AttemptColumns = "id, unit_id, sweep_id, node, device, started_at, finished_at, outcome, reason";

    /// <summary>A sweep's jobs and units counted by state (every state present, zero when none). Null if unknown.</summary>
    public SweepProgress? Progress(string sweepId) => Read(() =>
    {
        if (SweepStateOf(sweepId) is not { } state) return null;
        var jobs = CountByState<JobState>("""
            SELECT j.state AS state, COUNT(*) AS n FROM sweep_jobs sj JOIN jobs j ON j.id = sj.job_id
            WHERE sj.sweep_id = $sweep GROUP BY j.state
            """, sweepId);
        var units = CountByState<UnitState>(
            "SELECT state, COUNT(*) AS n FROM units WHERE sweep_id = $sweep GROUP BY state", sweepId);
        return new SweepProgress(sweepId, state, jobs, units);
    });

    /// <summary>
    /// Attempts per node, in one sweep or (null) across all. A restarted dispatcher replays the failed counts to
    /// block the nodes that failed a sweep too often.
    /// </summary>
    public IReadOnlyList<NodeAttempts> AttemptsByNode(string? sweepId = null) => Read(() => Query($"""
        SELECT node, COUNT(*) AS attempts,
               SUM(outcome = 'done') AS done, SUM(outcome = 'failed') AS failed,
               SUM(outcome = 'requeued') AS requeued, SUM(outcome = 'cancelled') AS cancelled,
               SUM(outcome IS NULL) AS open
        FROM attempts {(sweepId is null ? "" : "WHERE sweep_id = $sweep")}
        GROUP BY node ORDER BY node
        """, r => new NodeAttempts(r.Text("node"), r.Int("attempts"), r.Int("done"), r.Int("failed"),
            r.Int("requeued"), r.Int("cancelled"), r.Int("open")), ("$sweep", sweepId)));

    /// <summary>Every hand-out of one unit, oldest first: where it ran, how each ended and why.</summary>
    public IReadOnlyList<AttemptRecord> AttemptsOfUnit(string unitId) => Read(() => Query(
        $"SELECT {AttemptColumns} FROM attempts WHERE unit_id = $unit ORDER BY started_at, rowid",
        ReadAttempt, ("$unit", unitId)));

    /// <summary>A sweep's failed attempts with their reasons, oldest first.</summary>
    public IReadOnlyList<AttemptRecord> Failures(string sweepId) => Read(() => Query(
        $"SELECT {AttemptColumns} FROM attempts WHERE sweep_id = $sweep AND outcome = 'failed' ORDER BY started_at, rowid",
        ReadAttempt, ("$sweep", sweepId)));

    private AttemptRecord? AttemptOrNull(string attemptId) => Query(
        $"SELECT {AttemptColumns} FROM attempts WHERE id = $attempt", ReadAttempt, ("$attempt", attemptId)).FirstOrDefault();

    private Dictionary<TState, int> CountByState<TState>(string sql, string sweepId) where TState : struct, Enum
    {
        var counts = Enum.GetValues<TState>().ToDictionary(s => s, _ => 0);
        foreach (var (state, n) in Query(sql, r => (r.State<TState>("state"), r.Int("n")), ("$sweep", sweepId)))
            counts[state] = n;
        return counts;
    }

    private static AttemptRecord ReadAttempt(SqliteDataReader r) => new(
        r.Text("id"), r.Text("sweep_id"), r.Text("unit_id"), r.Text("node"), r.Text("device"), r.Time("started_at"),
        r.TimeOrNull("finished_at"), r.StateOrNull<AttemptOutcome>("outcome"), r.TextOrNull("reason"));
}

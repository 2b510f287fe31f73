using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Results;

/// <summary>Reads a sweep's results out of the store, labelled and in expansion order.</summary>
public static class SweepResultsBuilder
{
    /// <summary>The sweep's results as the store has them now; null for an unknown sweep.</summary>
    public static SweepResults? FromStore(FarmStore store, string sweepId)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store.GetSweep(sweepId) is not { } sweep) return null;

        IReadOnlyList<SweepJobRecord> jobs = store.SweepJobs(sweepId);
        IReadOnlyDictionary<string, int> attempts = AttemptsPerJob(store.UnitsOfSweep(sweepId));
        IReadOnlyList<string> labels = JobLabels.ForSweep(jobs.Select(j => (j.Job.Id, j.SweptValues)).ToArray());

        var rows = new SweepResultRow[jobs.Count];
        for (int i = 0; i < jobs.Count; i++)
        {
            JobRecord job = jobs[i].Job;
            rows[i] = new SweepResultRow(
                i + 1, job.Id, labels[i], job.State, jobs[i].SweptValues, job.Settings,
                job.FinalLosses is { } l ? new FinalLosses(l.Total, l.Content, l.Style, l.Tv) : null,
                job.Node, job.Device, job.StartedAt, job.FinishedAt, job.EngineSeconds, job.BatchSize,
                attempts.GetValueOrDefault(job.Id), job.FailureReason, job.ResultBlob, job.TraceBlob,
                store.Snapshots(job.Id).Select(s => new SnapshotBlob(s.Step, s.Blob)).ToArray());
        }

        SweepFailure[] failures = store.Failures(sweepId)
            .Select(a => new SweepFailure(a.UnitId, a.Node, a.Device, a.FinishedAt ?? a.StartedAt, a.Reason)).ToArray();
        return new SweepResults(sweep.Id, sweep.Name, sweep.State, sweep.FileText, sweep.CreatedAt, sweep.FinishedAt,
            rows, failures);
    }

    /// <summary>
    /// Hand-outs of the units that held each job, split units included (they ran before they were split). A job
    /// reused from an earlier sweep ran in none of this sweep's units and has none.
    /// </summary>
    private static Dictionary<string, int> AttemptsPerJob(IEnumerable<UnitRecord> units)
    {
        var attempts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (UnitRecord unit in units)
            foreach (string jobId in unit.Unit.Jobs.Select(j => j.JobId).Distinct(StringComparer.Ordinal))
                attempts[jobId] = attempts.GetValueOrDefault(jobId) + unit.Attempts;
        return attempts;
    }
}

using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Submission;

/// <summary>What a submission stored: the sweep, how many of its jobs were already done elsewhere, and its units.</summary>
public sealed record SubmittedSweep(SweepRecord Sweep, int Jobs, int ReusedJobs, IReadOnlyList<WorkUnit> Units, PlanSummary Plan);

/// <summary>
/// Turns a validated sweep into stored work: its images become content-addressed blobs (so nodes never need a shared
/// filesystem), jobs already completed in any sweep are reused, the rest are fused into units, and sweep, jobs and
/// units are stored in one transaction, so a submission that fails leaves nothing behind.
/// </summary>
public sealed class SweepSubmitter(FarmStore store, BlobStore blobs, FusionPlanner planner, long deviceFreeBytes)
{
    public SubmittedSweep Submit(ExpandedSweep sweep, string fileText)
    {
        StoreInputs(sweep);
        // A job id is a SHA-256 of the settings, computed on every read of JobId: take each once.
        string[] jobIds = sweep.Jobs.Select(j => j.Settings.JobId).ToArray();
        var completed = store.FindCompletedJobs(jobIds);
        string sweepId = FarmStore.NewSweepId();
        IReadOnlyList<WorkUnit> units = planner.PlanWithIds(sweepId, sweep.Priority,
            sweep.Jobs.Select((j, i) => (jobIds[i], j.Settings)).Where(j => !completed.ContainsKey(j.Item1)), deviceFreeBytes);

        SweepRecord record = store.CreateSweep(new NewSweep(sweepId, sweep.Name, fileText, sweep.Priority, sweep.Retries,
            sweep.Jobs.Select(j => new NewSweepJob(j.Settings, j.SweptValues)).ToArray(), units));
        return new SubmittedSweep(record, sweep.Jobs.Count, completed.Count, units, PlanSummary.Of(units, planner));
    }

    /// <summary>Images and weights go in by content; a file that changed since it was hashed is refused.</summary>
    private void StoreInputs(ExpandedSweep sweep)
    {
        foreach (var (hash, path) in sweep.Images)
        {
            if (blobs.Exists(hash)) continue;
            using FileStream file = File.OpenRead(path);
            string stored = blobs.Put(file);
            if (stored != hash)
                throw new InvalidDataException($"{path} changed while the sweep was being submitted; submit it again");
        }
    }
}

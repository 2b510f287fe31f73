using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Store;

/// <summary>
/// The latest schema opens stores of every earlier version (v2: two indexes fewer than v1; v3: the plans and settings
/// JSON in tables of their own), and a big sweep round-trips.
/// </summary>
public sealed class FarmStoreMigrationTests : IDisposable
{
    private readonly DataFolder _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public void A_version_1_store_opens_migrated_with_its_data_and_keeps_working()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10, 100);
        using (FarmStore store = _data.OpenStore())
        {
            store.CreateSweep(Farm.Sweep("s1", jobs));
            Farm.RunToEnd(store, "s1-u0");
        }
        // Version 1 was version 2 plus these two indexes: put them back and label the file as version 1.
        using (var db = Farm.Raw(_data.File(FarmStore.DatabaseFileName)))
        {
            DowngradeToVersion2(db);
            Farm.Scalar(db, "CREATE INDEX jobs_state ON jobs(state)");
            Farm.Scalar(db, "CREATE INDEX attempts_open ON attempts(unit_id) WHERE finished_at IS NULL");
            Farm.Scalar(db, "PRAGMA user_version = 1");
        }

        using (FarmStore reopened = _data.OpenStore())
        {
            Assert.Equal(JobState.Done, reopened.GetJob(jobs[0].JobId)!.State);
            Assert.Equal(SweepState.Running, reopened.GetSweep("s1")!.State);
            Farm.RunToEnd(reopened, "s1-u1");
            Farm.RunToEnd(reopened, "s1-u2");
            Assert.Equal(SweepState.Done, reopened.GetSweep("s1")!.State);
        }

        using var check = Farm.Raw(_data.File(FarmStore.DatabaseFileName));
        Assert.Equal(3L, (long)FarmStore.SchemaVersion);
        Assert.Equal((long)FarmStore.SchemaVersion, Farm.Scalar(check, "PRAGMA user_version"));
        Assert.Equal(0L, Farm.Scalar(check, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('jobs_state', 'attempts_open')"));
    }

    [Fact]
    public void A_version_2_store_opens_with_its_plans_and_settings_moved_out_of_the_units_and_jobs()
    {
        JobSettings[] jobs = Farm.Jobs(1, 10, 100);
        NewSweep sweep = Farm.Sweep("s1", jobs);
        using (FarmStore store = _data.OpenStore())
        {
            store.CreateSweep(sweep);
            Farm.RunToEnd(store, "s1-u0");
        }
        using (var db = Farm.Raw(_data.File(FarmStore.DatabaseFileName)))
        {
            DowngradeToVersion2(db);
            Farm.Scalar(db, "PRAGMA user_version = 2");
        }

        using (FarmStore reopened = _data.OpenStore())
        {
            Assert.Equal(jobs, jobs.Select(j => reopened.GetJob(j.JobId)!.Settings));
            Assert.Equal(sweep.Units.Select(u => u.Jobs.ToArray()), sweep.Units.Select(u => reopened.GetUnit(u.UnitId)!.Unit.Jobs.ToArray()));
            Assert.Equal(JobState.Done, reopened.GetJob(jobs[0].JobId)!.State);
            Farm.RunToEnd(reopened, "s1-u1");
            Farm.RunToEnd(reopened, "s1-u2");
            Assert.Equal(SweepState.Done, reopened.GetSweep("s1")!.State);
            // A new sweep finds the finished jobs to reuse, settings and all.
            Assert.Equal(jobs, jobs.Select(j => reopened.FindCompletedJobs([j.JobId])[j.JobId].Settings));
        }

        using var check = Farm.Raw(_data.File(FarmStore.DatabaseFileName));
        Assert.Equal((long)FarmStore.SchemaVersion, Farm.Scalar(check, "PRAGMA user_version"));
        Assert.Equal(0L, Farm.Scalar(check, "SELECT COUNT(*) FROM pragma_table_info('units') WHERE name = 'unit_json'"));
        Assert.Equal(0L, Farm.Scalar(check, "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'settings_json'"));
    }

    /// <summary>Puts version 3's two JSON tables back into the units and jobs rows, as version 2 kept them.</summary>
    private static void DowngradeToVersion2(Microsoft.Data.Sqlite.SqliteConnection db)
    {
        Farm.Scalar(db, "ALTER TABLE units ADD COLUMN unit_json TEXT NOT NULL DEFAULT ''");
        Farm.Scalar(db, "UPDATE units SET unit_json = (SELECT unit_json FROM unit_specs WHERE unit_id = units.id)");
        Farm.Scalar(db, "DROP TABLE unit_specs");
        Farm.Scalar(db, "ALTER TABLE jobs ADD COLUMN settings_json TEXT NOT NULL DEFAULT ''");
        Farm.Scalar(db, "UPDATE jobs SET settings_json = (SELECT settings_json FROM job_settings WHERE job_id = jobs.id)");
        Farm.Scalar(db, "DROP TABLE job_settings");
    }

    [Fact]
    public void A_2000_job_sweep_is_stored_and_read_back_equal()
    {
        JobSettings[] jobs = Enumerable.Range(0, 2000).Select(i => Farm.Job(1 + i * 0.5, steps: 1 + i % 7)).ToArray();
        NewSweep sweep = Farm.Sweep("big", jobs, perUnit: 8);
        using FarmStore store = _data.OpenStore();

        store.CreateSweep(sweep);

        IReadOnlyList<SweepJobRecord> stored = store.SweepJobs("big");
        Assert.Equal(jobs.Select(j => j.JobId), stored.Select(j => j.Job.Id));
        for (int i = 0; i < jobs.Length; i++)
        {
            Assert.Equal(jobs[i], stored[i].Job.Settings);
            Assert.Equal(JobState.Queued, stored[i].Job.State);
            Assert.Equal(sweep.Jobs[i].SweptValues.OrderBy(p => p.Key), stored[i].SweptValues.OrderBy(p => p.Key));
        }
        IReadOnlyList<UnitRecord> units = store.UnitsOfSweep("big");
        Assert.Equal(sweep.Units.Select(u => u.UnitId), units.Select(u => u.UnitId));
        for (int i = 0; i < units.Count; i++)
        {
            Assert.Equal(sweep.Units[i].Shared, units[i].Unit.Shared);
            Assert.Equal(sweep.Units[i].Jobs, units[i].Unit.Jobs);
            Assert.Equal(UnitState.Queued, units[i].State);
        }
        Assert.Equal(2000, store.Progress("big")!.Jobs[JobState.Queued]);
    }

    [Fact]
    public void Assigning_names_the_unit_s_sweep_in_the_attempt_and_starts_the_sweep_once()
    {
        using FarmStore store = _data.OpenStore();
        store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10)));

        string first = store.AssignUnit("s1-u0", "node-a", "node-a/cpu")!;
        string second = store.AssignUnit("s1-u1", "node-b", "node-b/cpu")!;

        Assert.Null(store.AssignUnit("s1-u0", "node-b", "node-b/cpu")); // already out
        Assert.Equal(SweepState.Running, store.GetSweep("s1")!.State);
        Assert.All(new[] { store.GetAttempt(first)!, store.GetAttempt(second)! }, a => Assert.Equal("s1", a.SweepId));
        Assert.Equal(("s1-u1", "node-b", "node-b/cpu"), (store.GetAttempt(second)!.UnitId, store.GetAttempt(second)!.Node, store.GetAttempt(second)!.Device));
        Assert.Null(store.GetAttempt(first)!.Outcome);
    }
}

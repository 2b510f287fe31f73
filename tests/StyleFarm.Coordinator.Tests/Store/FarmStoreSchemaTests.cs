using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Tests.Store;

public sealed class FarmStoreSchemaTests : IDisposable
{
    private readonly DataFolder _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public void A_new_store_creates_the_versioned_schema_in_wal_mode()
    {
        using (FarmStore store = _data.OpenStore())
        {
            Assert.Equal("wal", store.Pragma("journal_mode"));
            Assert.Equal("2", store.Pragma("synchronous")); // FULL
            Assert.Equal("1", store.Pragma("foreign_keys"));
            Assert.NotEqual("0", store.Pragma("busy_timeout"));
        }

        using var db = Farm.Raw(_data.File(FarmStore.DatabaseFileName));
        Assert.Equal((long)FarmStore.SchemaVersion, Farm.Scalar(db, "PRAGMA user_version"));
        Assert.Equal("wal", Farm.Scalar(db, "PRAGMA journal_mode"));
        foreach (string table in new[] { "sweeps", "jobs", "sweep_jobs", "units", "unit_jobs", "attempts", "snapshots" })
            Assert.Equal(1L, Farm.Scalar(db, $"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"));
    }

    [Fact]
    public void A_second_coordinator_on_the_same_data_folder_is_refused_until_the_first_closes()
    {
        using (FarmStore first = _data.OpenStore())
        {
            var refused = Assert.Throws<IOException>(() => _data.OpenStore());
            Assert.Contains("in use by another StyleFarm coordinator", refused.Message);
        }
        using FarmStore after = _data.OpenStore();
        Assert.NotNull(after.Pragma("journal_mode"));
    }

    [Fact]
    public void Reopening_a_current_database_keeps_its_version_and_data()
    {
        using (FarmStore store = _data.OpenStore()) store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10)));

        using FarmStore reopened = _data.OpenStore();
        Assert.Equal(SweepState.Queued, reopened.GetSweep("s1")!.State);
        using var db = Farm.Raw(_data.File(FarmStore.DatabaseFileName));
        Assert.Equal((long)FarmStore.SchemaVersion, Farm.Scalar(db, "PRAGMA user_version"));
    }

    [Fact]
    public void A_database_from_a_newer_version_is_refused_and_left_alone()
    {
        using (_data.OpenStore()) { }
        int newer = FarmStore.SchemaVersion + 1;
        using (var db = Farm.Raw(_data.File(FarmStore.DatabaseFileName))) Farm.Scalar(db, $"PRAGMA user_version = {newer}");

        var error = Assert.Throws<StoreVersionException>(() => _data.OpenStore());

        Assert.Equal(newer, error.FoundVersion);
        Assert.Equal(FarmStore.SchemaVersion, error.SupportedVersion);
        Assert.Contains($"schema version {newer}", error.Message);
        Assert.Contains("newer StyleFarm", error.Message);
        using var check = Farm.Raw(_data.File(FarmStore.DatabaseFileName));
        Assert.Equal((long)newer, Farm.Scalar(check, "PRAGMA user_version"));
    }

    [Fact]
    public void Every_acknowledged_change_survives_a_kill()
    {
        using var copy = new DataFolder();
        using (FarmStore store = _data.OpenStore())
        {
            store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10, 100)));
            Farm.RunToEnd(store, "s1-u0");
            string attempt = store.AssignUnit("s1-u1", "node-b", "node-b/cpu")!;
            store.MarkUnitRunning("s1-u1", attempt);
            store.SaveCheckpoint("s1-u1", Farm.Hash("checkpoint"), 40);
            store.PauseSweep("s1");

            // What a SIGKILL leaves behind is what is on disk now: the database and its write-ahead log, never
            // checkpointed into it or closed.
            string wal = _data.File(FarmStore.DatabaseFileName + "-wal");
            Assert.True(new FileInfo(wal).Length > 0, "the changes should still be in the WAL");
            File.Copy(_data.File(FarmStore.DatabaseFileName), copy.File(FarmStore.DatabaseFileName));
            File.Copy(wal, copy.File(FarmStore.DatabaseFileName + "-wal"));
        }

        using FarmStore recovered = copy.OpenStore();
        Assert.Equal(SweepState.Paused, recovered.GetSweep("s1")!.State);
        Assert.Equal(UnitState.Done, recovered.GetUnit("s1-u0")!.State);
        Assert.Equal(JobState.Done, recovered.GetJob(Farm.Job(1).JobId)!.State);
        UnitRecord running = recovered.GetUnit("s1-u1")!;
        Assert.Equal(UnitState.Running, running.State);
        Assert.Equal(40, running.Checkpoint!.Step);
        Assert.Equal(UnitState.Queued, recovered.GetUnit("s1-u2")!.State);
    }
}

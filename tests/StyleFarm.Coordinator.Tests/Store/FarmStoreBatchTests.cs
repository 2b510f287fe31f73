using Microsoft.Data.Sqlite;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Tests.Store;

public sealed class FarmStoreBatchTests : IDisposable
{
    private readonly DataFolder _data = new();
    private readonly FarmStore _store;

    public FarmStoreBatchTests() => _store = _data.OpenStore();

    public void Dispose()
    {
        _store.Dispose();
        _data.Dispose();
    }

    [Fact]
    public void A_batch_commits_many_changes_at_once_and_sees_its_own_writes()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10, 100)));

        string[] attempts = _store.Batch(() =>
            Enumerable.Range(0, 3).Select(i => _store.AssignUnit($"s1-u{i}", "node-a", $"node-a/cuda:{i}")!).ToArray());

        Assert.Equal(3, attempts.Distinct().Count());
        Assert.All(_store.UnitsOfSweep("s1"), u => Assert.Equal(UnitState.Assigned, u.State));
        _store.Batch(() =>
        {
            for (int i = 0; i < 3; i++) Assert.True(_store.MarkUnitRunning($"s1-u{i}", attempts[i]));
            Assert.Equal(3, _store.Progress("s1")!.Units[UnitState.Running]);
        });
    }

    [Fact]
    public void A_batch_that_throws_stores_none_of_its_changes()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1, 10)));

        Assert.Throws<InvalidOperationException>(() => _store.Batch(() =>
        {
            _store.AssignUnit("s1-u0", "node-a", "node-a/cpu");
            _store.CreateSweep(Farm.Sweep("s2", Farm.Jobs(100)));
            throw new InvalidOperationException("crash before the batch ends");
        }));

        Assert.Equal(UnitState.Queued, _store.GetUnit("s1-u0")!.State);
        Assert.Null(_store.GetSweep("s2"));
        Assert.Empty(_store.AttemptsOfUnit("s1-u0"));
    }

    [Fact]
    public void A_call_that_fails_inside_a_batch_leaves_nothing_while_the_rest_of_the_batch_commits()
    {
        _store.CreateSweep(Farm.Sweep("s1", Farm.Jobs(1)));
        NewSweep clash = Farm.Sweep("s2", Farm.Jobs(10, 100));
        clash = clash with { Units = [clash.Units[0], clash.Units[1] with { UnitId = "s1-u0" }] };

        _store.Batch(() =>
        {
            Assert.Throws<SqliteException>(() => _store.CreateSweep(clash));
            _store.CreateSweep(Farm.Sweep("s3", Farm.Jobs(1000)));
        });

        Assert.Null(_store.GetSweep("s2"));
        Assert.Null(_store.GetJob(Farm.Job(10).JobId));
        Assert.Null(_store.GetUnit("s2-u0"));
        Assert.Equal(SweepState.Queued, _store.GetSweep("s3")!.State);
    }
}

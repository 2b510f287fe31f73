using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Tests.Store;

namespace StyleFarm.Coordinator.Tests.Farm;

public sealed class GroupCommitTests : IDisposable
{
    private readonly DataFolder _data = new();
    private readonly Coordinator.Store.FarmStore _store;

    public GroupCommitTests() => _store = _data.OpenStore();

    public void Dispose()
    {
        _store.Dispose();
        _data.Dispose();
    }

    [Fact]
    public async Task Writes_of_a_group_next_to_each_other_run_as_one_call_and_each_alone_when_that_call_fails()
    {
        var delivered = new TaskCompletionSource<GroupCommit.Committed>(TaskCreationOptions.RunContinuationsAsynchronously);
        var commit = new GroupCommit(_store, batch => delivered.TrySetResult((GroupCommit.Committed)batch));
        var calls = new List<string>();
        var group = GroupCommit.WriteGroup.Of<string, string>((_, items) =>
        {
            calls.Add(string.Join("+", items));
            if (items.Contains("bad")) throw new InvalidOperationException("the group's call failed");
            return items.Select(item => $"{item} in a group").ToArray();
        });
        var outcomes = new List<string>();
        Action<object?, Exception?> Record(string name) => (result, error) => outcomes.Add(error is null ? $"{name}: {result}" : $"{name}: {error.Message}");
        void Grouped(string item) => commit.Add(_ => item == "bad" ? throw new InvalidOperationException("bad alone") : $"{item} alone",
            Record(item), out _, group, item);

        Grouped("a");
        commit.Add(_ => "never written", Record("dropped"), out GroupCommit.PendingWrite dropped);
        Grouped("b");
        commit.Add(_ => "written", Record("plain"));
        Grouped("c");
        Grouped("bad");
        Grouped("d");
        Assert.True(commit.TryDrop(dropped, "dropped's answer"));
        commit.Start();
        GroupCommit.Finish(await delivered.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        // A dropped write between two of the group does not part them; a plain write does.
        Assert.Equal(["a+b", "c+bad+d"], calls);
        Assert.Equal(
        [
            "a: a in a group", "dropped: dropped's answer", "b: b in a group", "plain: written",
            "c: c alone", "bad: bad alone", "d: d alone",
        ], outcomes);
    }

    [Fact]
    public void A_write_taken_by_a_commit_can_no_longer_be_dropped()
    {
        using var held = new ManualResetEventSlim();
        var commit = new GroupCommit(_store, _ => { });
        commit.Add(_ =>
        {
            held.Wait(TimeSpan.FromSeconds(10));
            return null;
        }, (_, _) => { }, out GroupCommit.PendingWrite taken);
        commit.Start();

        Assert.True(SpinWait.SpinUntil(() => taken.Taken, TimeSpan.FromSeconds(10)));
        Assert.False(commit.TryDrop(taken, "too late"));
        held.Set();
    }
}

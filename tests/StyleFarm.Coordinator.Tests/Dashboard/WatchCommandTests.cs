using StyleFarm.Coordinator.Cli.Client;
using StyleFarm.Coordinator.Cli.Watch;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Store;
using Xunit.Abstractions;
using static StyleFarm.Coordinator.Tests.Dashboard.DashboardTestData;
using StoreFarm = StyleFarm.Coordinator.Tests.Store.Farm;

namespace StyleFarm.Coordinator.Tests.Dashboard;

/// <summary>`stylefarm watch` in-process against the API with a live dashboard, its output redirected (plain lines).</summary>
public sealed class WatchCommandTests : DashboardTestKit
{
    private readonly StringWriter _out = new(), _err = new();
    private readonly TextWriter _syncOut, _syncErr;
    private string[] _jobs = [];

    public WatchCommandTests(ITestOutputHelper output) : base(output)
    {
        // The command writes on the thread its awaits resume on while the test reads.
        _syncOut = TextWriter.Synchronized(_out);
        _syncErr = TextWriter.Synchronized(_err);
    }

    private string Out
    {
        get
        {
            lock (_syncOut) return _out.ToString();
        }
    }

    private ClientConsole Console => ClientConsole.Plain(_syncOut, _syncErr);

    private async Task<Task<int>> WatchAsync(string? id, CancellationToken cancel = default)
    {
        Store.CreateSweep(StoreFarm.Sweep("s1", StoreFarm.Jobs(1, 10, 100)));
        _jobs = Store.UnitsOfSweep("s1").SelectMany(u => u.Unit.Jobs).Select(j => j.JobId).ToArray();
        await StartApiAsync();
        AwaitView(v => v.Sweeps.Count == 1, "the stored sweep shows");
        Task<int> watch = new WatchCommand { PlainEvery = TimeSpan.Zero }
            .RunAsync(new WatchSettings { Id = id, Api = Address.ToString() }, Console, cancel);
        AwaitCondition(() => Out.Contains("0/3 jobs done") || watch.IsCompleted, TimeSpan.FromSeconds(10), "the first line");
        return watch;
    }

    [Fact]
    public async Task PlainWatchPrintsProgressLinesAndExitsZeroWhenTheSweepIsDone()
    {
        Task<int> watch = await WatchAsync("s1");
        Assert.Contains("sweep s1 \"sweep s1\" queued: 0/3 jobs done, ETA unknown", Out);

        Publish(1, new UnitAssigned("s1", "s1-u0", Device, "attempt", 1));
        Publish(2, new UnitProgressed("s1", "s1-u0", Device, 40, 100, [new("v0", new(12.5, 1, 2, 3))]));
        AwaitCondition(() => Out.Contains("unit s1-u0 on node-a/cpu step 40/100  loss 12.5"), TimeSpan.FromSeconds(5), "the unit's line");

        Publish(3, new JobRecorded("s1", _jobs[0], Device), new UnitCompleted("s1", "s1-u0", Device));
        Publish(4, new JobRecorded("s1", _jobs[1], Device), new JobRecorded("s1", _jobs[2], Device));
        Publish(5, new SweepEnded("s1", SweepState.Done));

        Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("sweep s1 \"sweep s1\" done: 3/3 jobs done", Out);
        Assert.Equal("", _err.ToString());
    }

    [Fact]
    public async Task PlainWatchShowsFailuresAndExitsOneWhenTheSweepFails()
    {
        Task<int> watch = await WatchAsync(null); // the only unfinished sweep

        Publish(1, new JobsFailed("s1", _jobs, "every node is blocked for this sweep"), new SweepEnded("s1", SweepState.Failed));

        Assert.Equal(1, await watch.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("failed: (3 jobs): every node is blocked for this sweep", Out);
        Assert.Contains("sweep s1 \"sweep s1\" failed: 0/3 jobs done, 3 failed", Out);
    }

    [Fact]
    public async Task WatchingASweepThatAlreadyEndedExitsAtOnceWithItsOutcome()
    {
        Store.CreateSweep(StoreFarm.Sweep("s9", StoreFarm.Jobs(7)));
        Store.CancelSweep("s9");
        await StartApiAsync();

        int exit = await new WatchCommand().RunAsync(new WatchSettings { Id = "s9", Api = Address.ToString() }, Console, CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Contains("sweep s9 \"sweep s9\" cancelled: 0/1 jobs done", Out);
    }

    [Fact]
    public async Task WatchingAnUnknownSweepIsBadInput()
    {
        await StartApiAsync();

        int exit = await new WatchCommand().RunAsync(new WatchSettings { Id = "nope", Api = Address.ToString() }, Console, CancellationToken.None);

        Assert.Equal(2, exit);
        Assert.Contains("nope", _err.ToString());
    }

    [Fact]
    public async Task CtrlCEndsTheWatchWith130()
    {
        using var interrupt = new CancellationTokenSource();
        Task<int> watch = await WatchAsync("s1", interrupt.Token);

        interrupt.Cancel();

        Assert.Equal(130, await watch.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}

using Akka.TestKit;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Store;
using Xunit.Abstractions;
using static StyleFarm.Coordinator.Tests.Dashboard.DashboardTestData;
using StoreFarm = StyleFarm.Coordinator.Tests.Store.Farm;

namespace StyleFarm.Coordinator.Tests.Dashboard;

public sealed class DashboardActorTests(ITestOutputHelper output) : DashboardTestKit(output)
{
    [Fact]
    public void AFreshDashboardShowsTheStoresUnfinishedSweepsWithTheirCounts()
    {
        Store.CreateSweep(StoreFarm.Sweep("s1", StoreFarm.Jobs(1, 10, 100)));
        Store.CreateSweep(StoreFarm.Sweep("s2", StoreFarm.Jobs(1000)));
        StoreFarm.RunToEnd(Store, "s1-u0");
        StoreFarm.RunToEnd(Store, "s2-u0"); // s2 is done: not shown

        StartDashboard();

        DashboardView view = AwaitView(v => v.Sweeps.Count > 0, "the stored sweep shows");
        DashboardSweep sweep = Assert.Single(view.Sweeps);
        Assert.Equal(("s1", "sweep s1", SweepState.Running, 3, 1, 2), (sweep.Id, sweep.Name, sweep.State, sweep.Jobs, sweep.JobsDone, sweep.JobsQueued));
        Assert.Equal(2, view.QueuedUnits);
    }

    [Fact]
    public void ASweepQueuedAfterTheStartIsReadFromTheStore()
    {
        StartDashboard();
        AwaitView(v => v.Version >= 0 && v.Sweeps.Count == 0, "an empty view");

        Store.CreateSweep(StoreFarm.Sweep("s3", StoreFarm.Jobs(1, 2, 3, 4), perUnit: 2));
        Publish(1, new SweepQueued("s3", "sweep s3"));

        DashboardView view = AwaitView(v => v.Sweep("s3") is { Jobs: 4 }, "the new sweep's jobs are counted");
        Assert.Equal((4, 2), (view.Sweep("s3")!.JobsQueued, view.QueuedUnits));
    }

    [Fact]
    public void SubscribersGetTheViewAtOnceThenChangesAtMostOncePerPushInterval()
    {
        Store.CreateSweep(StoreFarm.Sweep("s1", StoreFarm.Jobs(1, 10, 100)));
        StartDashboard(pushEvery: TimeSpan.FromMilliseconds(400));
        AwaitView(v => v.Sweeps.Count == 1, "the stored sweep shows");
        TestProbe subscriber = CreateTestProbe();

        Dashboard.Tell(new SubscribeDashboard(subscriber.Ref), TestActor);
        Assert.Single(subscriber.ExpectMsg<DashboardChanged>().View.Sweeps);

        string[] jobs = Store.UnitsOfSweep("s1").SelectMany(u => u.Unit.Jobs).Select(j => j.JobId).ToArray();
        Publish(1, new UnitAssigned("s1", "s1-u0", Device, "attempt", 1));
        for (int step = 1; step <= 50; step++) Publish(1 + step * 0.1, new UnitProgressed("s1", "s1-u0", Device, step, 100, Losses(step, step)[..1]));
        Publish(7, new JobRecorded("s1", jobs[0], Device), new UnitCompleted("s1", "s1-u0", Device));

        // 53 events in a burst: a few views, the last one with everything.
        var views = new List<DashboardView>();
        subscriber.FishForMessage<DashboardChanged>(m =>
        {
            views.Add(m.View);
            return m.View.Sweep("s1")!.JobsDone == 1;
        }, TimeSpan.FromSeconds(5));
        Assert.InRange(views.Count, 1, 10);
        Assert.Empty(views[^1].Units);

        // Unsubscribed: nothing more.
        Dashboard.Tell(new UnsubscribeDashboard(subscriber.Ref), TestActor);
        Publish(8, new JobRecorded("s1", jobs[1], Device));
        AwaitView(v => v.Sweep("s1")!.JobsDone == 2, "the second result is folded in");
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(600));
    }

    [Fact]
    public void MetricsFollowTheEventsWithUnitWaitAndRunTimes()
    {
        Store.CreateSweep(StoreFarm.Sweep("s1", StoreFarm.Jobs(1, 10, 100)));
        StartDashboard();
        AwaitView(v => v.Sweeps.Count == 1, "the stored sweep shows");
        string job = Store.UnitsOfSweep("s1")[0].Unit.Jobs.Single().JobId;

        // Queued at the seed (T0, the clock's time), assigned 4 s later, completed 6 s after that.
        Publish(2, new NodeChanged(NodeA()));
        Publish(4, new UnitAssigned("s1", "s1-u0", Device, "attempt", 1));
        Publish(6, new UnitProgressed("s1", "s1-u0", Device, 30, 100, Losses(1, 1)[..1]));
        Publish(10, new JobRecorded("s1", job, Device), new UnitCompleted("s1", "s1-u0", Device));
        AwaitView(v => v.Sweep("s1")!.JobsDone == 1, "the result is folded in");

        string text = "";
        // Gauges and histograms are updated from one view after another; wait for the last of them (a loaded CI machine is slow).
        AwaitCondition(() => (text = Scrape()).Contains("stylefarm_jobs{state=\"done\"} 1") && text.Contains("stylefarm_unit_run_seconds_count 1"),
            TimeSpan.FromSeconds(20), "the gauges are set");
        Assert.Contains("stylefarm_jobs{state=\"queued\"} 2", text);
        Assert.Contains("stylefarm_queued_units 2", text);
        Assert.Contains("stylefarm_nodes 1", text);
        Assert.Contains($"stylefarm_device_steps_per_second{{device=\"{Device}\"}} 0", text); // idle again
        Assert.Contains("stylefarm_unit_wait_seconds_sum 4", text);
        Assert.Contains("stylefarm_unit_wait_seconds_count 1", text);
        Assert.Contains("stylefarm_unit_run_seconds_sum 6", text);
        Assert.Contains("stylefarm_unit_run_seconds_count 1", text);
    }

    private string Scrape()
    {
        using var stream = new MemoryStream();
        Metrics.Registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}

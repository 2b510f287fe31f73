using System.Net;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Tests.Api;
using Xunit.Abstractions;
using static StyleFarm.Coordinator.Tests.Dashboard.DashboardTestData;
using StoreFarm = StyleFarm.Coordinator.Tests.Store.Farm;

namespace StyleFarm.Coordinator.Tests.Dashboard;

/// <summary>GET /api/v1/dashboard, the server-sent events of /api/v1/events, and /metrics, on Kestrel.</summary>
public sealed class DashboardApiTests(ITestOutputHelper output) : DashboardTestKit(output)
{
    [Fact]
    public async Task TheEventStreamSendsTheWholeViewAtOnceAndAgainAfterAnEvent()
    {
        Store.CreateSweep(StoreFarm.Sweep("s1", StoreFarm.Jobs(1, 10, 100)));
        await StartApiAsync();
        AwaitView(v => v.Sweeps.Count == 1, "the stored sweep shows");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        await using IAsyncEnumerator<DashboardView> events = Client.EventsAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await events.MoveNextAsync());
        DashboardSweep first = Assert.Single(events.Current.Sweeps);
        Assert.Equal(("s1", 3, 0), (first.Id, first.Jobs, first.JobsRunning));
        Assert.Empty(events.Current.Units);

        Publish(1, new UnitAssigned("s1", "s1-u0", Device, "attempt", 1));
        Publish(2, new UnitProgressed("s1", "s1-u0", Device, 25, 100, Losses(3.5, 1)[..1]));

        DashboardView view;
        do
        {
            Assert.True(await events.MoveNextAsync());
            view = events.Current;
        } while (view.Units.Count == 0 || view.Units[0].Step < 25);
        Assert.Equal(("s1-u0", Device, 25, 100), (view.Units[0].UnitId, view.Units[0].DeviceId, view.Units[0].Step, view.Units[0].MaxSteps));
        Assert.Equal(3.5, view.Units[0].Losses[0].Losses.Total);
        Assert.Equal(1, view.Sweep("s1")!.JobsRunning);
    }

    [Fact]
    public async Task TheEventStreamIsServerSentEventsWithViewEvents()
    {
        await StartApiAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/events");
        using HttpResponseMessage response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var lines = new List<string>();
        while (lines.Count < 3 || lines[^1] != "")
            lines.Add(await reader.ReadLineAsync(timeout.Token) ?? throw new EndOfStreamException());
        Assert.Contains("event: view", lines);
        Assert.Contains(lines, l => l.StartsWith("data: {\"at\":", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("id: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheDashboardEndpointAnswersTheCurrentView()
    {
        Store.CreateSweep(StoreFarm.Sweep("s1", StoreFarm.Jobs(1, 10, 100)));
        await StartApiAsync();
        AwaitView(v => v.Sweeps.Count == 1, "the stored sweep shows");
        Publish(1, new NodeChanged(NodeA()), new JobsFailed("s1", [Store.UnitsOfSweep("s1")[0].Unit.Jobs.Single().JobId], "diverged: loss is NaN"));
        AwaitView(v => v.Failures.Count == 1, "the failure is folded in");

        DashboardView view = await Client.DashboardAsync();

        Assert.Equal((1, 2), (view.Sweep("s1")!.JobsFailed, view.Sweep("s1")!.JobsQueued));
        Assert.Equal(("failed", "diverged: loss is NaN"), (view.Failures[0].Kind, view.Failures[0].Reason));
        Assert.Equal(Device, Assert.Single(Assert.Single(view.Nodes).Devices).DeviceId);
    }

    [Fact]
    public async Task MetricsAreServedInPrometheusTextFormat()
    {
        Store.CreateSweep(StoreFarm.Sweep("s1", StoreFarm.Jobs(1, 10, 100)));
        await StartApiAsync();
        AwaitView(v => v.Sweeps.Count == 1, "the stored sweep shows");
        Publish(1, new NodeChanged(NodeA()), new UnitAssigned("s1", "s1-u0", Device, "attempt", 1));
        Publish(2, new UnitProgressed("s1", "s1-u0", Device, 10, 100, Losses(1, 1)[..1]));
        Publish(4, new UnitProgressed("s1", "s1-u0", Device, 30, 100, Losses(1, 1)[..1]));

        string text = "";
        for (int i = 0; i < 100 && !text.Contains("stylefarm_jobs{state=\"running\"} 1"); i++)
        {
            await Task.Delay(50);
            text = await Http.GetStringAsync("metrics");
        }
        Assert.Contains("stylefarm_jobs{state=\"running\"} 1", text);
        Assert.Contains("stylefarm_jobs{state=\"queued\"} 2", text);
        Assert.Contains("stylefarm_queued_units 2", text);
        Assert.Contains("stylefarm_running_units 1", text);
        Assert.Contains("stylefarm_nodes 1", text);
        Assert.Contains($"stylefarm_device_steps_per_second{{device=\"{Device}\"}} 10", text); // 10 steps in 1 s, then 20 in 2 s
        Assert.Contains("# TYPE stylefarm_unit_wait_seconds histogram", text);
        Assert.Contains("stylefarm_unit_wait_seconds_count 1", text);
    }

    [Fact]
    public async Task AHostWithoutADashboardAnswers503()
    {
        await using ApiHost plain = await ApiHost.StartAsync();

        StyleFarmApiException e = await Assert.ThrowsAsync<StyleFarmApiException>(() => plain.Client.DashboardAsync());

        Assert.Equal(503, e.Status);
        Assert.Contains("no dashboard", e.Message);
    }
}

using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Metrics;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Tests.Api;
using StyleFarm.Coordinator.Tests.Store;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Dashboard;

/// <summary>
/// A <see cref="DashboardActor"/> over a real FarmStore in a temp folder, in an ActorSystem with serialize-messages on
/// and the StyleFarm wire serializer; optionally the HTTP API (with the dashboard endpoints and /metrics) on Kestrel at
/// 127.0.0.1 and a free port, with a recording fake in place of the SweepManager.
/// </summary>
public abstract class DashboardTestKit : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private const string Hocon = """
        akka.loglevel = WARNING
        akka.actor.serialize-messages = on
        akka.actor.serializers {
          stylefarm-hyperion = "StyleFarm.Cluster.StyleFarmWireSerializer, StyleFarm.Cluster"
        }
        akka.actor.serialization-bindings {
          "StyleFarm.Messages.IStyleFarmMessage, StyleFarm.Messages" = stylefarm-hyperion
        }
        """;

    private readonly DataFolder _data = new();
    private WebApplication? _app;
    private HttpClient? _http;

    protected DashboardTestKit(ITestOutputHelper output) : base(Hocon, output)
    {
        Store = _data.OpenStore();
    }

    protected FarmStore Store { get; }

    protected ManualClock Clock { get; } = new(DashboardTestData.T0);

    protected FarmMetrics Metrics { get; } = new();

    protected IActorRef Dashboard { get; private set; } = ActorRefs.Nobody;

    protected Uri Address => _app is null ? throw new InvalidOperationException("StartApiAsync first") : new Uri(_app.Urls.Single());

    protected HttpClient Http => _http ?? throw new InvalidOperationException("StartApiAsync first");

    protected StyleFarmApiClient Client => new(Http);

    protected IActorRef StartDashboard(TimeSpan? pushEvery = null)
    {
        var settings = DashboardSettings.Default with { Time = Clock, PushEvery = pushEvery ?? TimeSpan.FromMilliseconds(50) };
        Dashboard = Sys.ActorOf(DashboardActor.Props(Store, Metrics, null, settings), "dashboard");
        return Dashboard;
    }

    /// <summary>Starts the dashboard (if not yet) and the API in front of it.</summary>
    protected async Task StartApiAsync()
    {
        if (Dashboard.IsNobody()) StartDashboard();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(Store).AddSingleton(new BlobStore(_data.Path)).AddSingleton<IFarmControl>(new RecordingFarm())
            .AddSingleton(Metrics).AddSingleton<IDashboardFeed>(new ActorDashboardFeed(Sys, Dashboard)).AddStyleFarmApi();
        _app = builder.Build();
        _app.MapStyleFarmApi();
        _app.MapFarmMetrics();
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>
    /// Publishes events as the SweepManager does, at the clock's time <paramref name="at"/> (seconds after T0), and
    /// returns once the dashboard has folded them in (so they are stamped with that time, not a later one).
    /// </summary>
    protected void Publish(double at, params IFarmEvent[] events)
    {
        Clock.Set(DashboardTestData.At(at));
        foreach (IFarmEvent e in events) Sys.EventStream.Publish(e);
        // The question queues behind the events in the dashboard's mailbox.
        Dashboard.Ask<DashboardView>(GetDashboardView.Instance, TimeSpan.FromSeconds(5)).Wait();
    }

    /// <summary>The dashboard's view once <paramref name="condition"/> holds (it folds events on its own thread).</summary>
    protected DashboardView AwaitView(Func<DashboardView, bool> condition, string what)
    {
        DashboardView view = DashboardView.Empty(DashboardTestData.T0);
        AwaitCondition(() => condition(view = Dashboard.Ask<DashboardView>(GetDashboardView.Instance, TimeSpan.FromSeconds(3)).Result),
            TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20), what);
        return view;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        Store.Dispose();
        _data.Dispose();
    }
}

using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Cli.Coordinator;
using StyleFarm.Coordinator.Metrics;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.GpuNode.Node;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Embedded;

/// <summary>What the embedded farm runs on: its store, its local devices, and how its node behaves.</summary>
public sealed record EmbeddedFarmOptions
{
    /// <summary>The store (farm.db and blobs/); finished jobs in it are reused by every later run.</summary>
    public required string DataFolder { get; init; }

    /// <summary>One device worker each: cpu, cpu (two workers on the CPU), cuda:0…; none makes a coordinator-only
    /// process that node processes join (<see cref="EmbeddedFarm.SeedAddress"/>).</summary>
    public IReadOnlyList<string> Devices { get; init; } = ["cpu"];

    /// <summary>torch CPU threads (0: torch's default).</summary>
    public int Threads { get; init; }

    public int CheckpointEverySteps { get; init; } = SweepManagerSettings.Default.CheckpointEverySteps;

    /// <summary>Run the no-op engine (the dispatch benchmark).</summary>
    public bool NoOpEngine { get; init; }

    /// <summary>Where the node's one-line notices go; null to drop them.</summary>
    public Action<string>? Report { get; init; }

    /// <summary>A free loopback port: the default <see cref="Http"/>.</summary>
    public const string FreeLoopbackPort = "127.0.0.1:0";

    /// <summary>
    /// Where the API, dashboard and /metrics listen (HOST:PORT, an IP address; port 0 takes a free one and
    /// <see cref="EmbeddedFarm.DashboardUrl"/> says which); null serves no HTTP.
    /// </summary>
    public string? Http { get; init; } = FreeLoopbackPort;

    /// <summary>The token mutating API requests need; required when <see cref="Http"/> is not a loopback address.</summary>
    public string? ApiToken { get; init; }
}

/// <summary>
/// The one-process farm of `stylefarm run`: a coordinator (SweepManager singleton, store, blobs) and a GPU node
/// with one DeviceWorker per local device, in a cluster of one on 127.0.0.1. The same actors and protocol as the
/// distributed farm, so what runs here runs there.
/// </summary>
public sealed class EmbeddedFarm : IAsyncDisposable
{
    public const string LocalNodeId = "local";

    private readonly IHost _host;
    private readonly Channel<IFarmEvent> _events;

    private EmbeddedFarm(IHost host, FarmStore store, BlobStore blobs, Channel<IFarmEvent> events, StyleFarmClusterOptions cluster)
    {
        _host = host;
        DashboardUrl = host is WebApplication web ? StyleFarmWebHost.BoundAddress(web) : null;
        Store = store;
        Blobs = blobs;
        _events = events;
        System = host.Services.GetRequiredService<ActorSystem>();
        ActorRegistry registry = host.Services.GetRequiredService<ActorRegistry>();
        SweepManager = registry.Get<SweepManagerProxyKey>();
        Dashboard = new ActorDashboardFeed(System, registry.Get<DashboardKey>());
        // Port 0 took a free port; the cluster's own address says which.
        SeedAddress = cluster.AddressOf(cluster.Host, Akka.Cluster.Cluster.Get(System).SelfAddress.Port ?? 0);
    }

    /// <summary>The dashboard (and the API under api/v1), e.g. http://127.0.0.1:41234/; null without HTTP.</summary>
    public Uri? DashboardUrl { get; }

    /// <summary>What node processes pass as --seed to join this farm.</summary>
    public string SeedAddress { get; }

    public FarmStore Store { get; }

    public BlobStore Blobs { get; }

    public ActorSystem System { get; }

    public IActorRef SweepManager { get; }

    /// <summary>The live view of the farm, as the dashboard and `stylefarm watch` show it.</summary>
    public IDashboardFeed Dashboard { get; }

    /// <summary>Every farm event, in order, for whoever shows progress.</summary>
    public ChannelReader<IFarmEvent> Events => _events.Reader;

    /// <summary>Opens the store and starts the farm.</summary>
    /// <exception cref="IOException">The data folder is in use by another coordinator, or unusable; or the HTTP port is taken.</exception>
    /// <exception cref="ArgumentException"><see cref="EmbeddedFarmOptions.Http"/> is not an address, or not loopback without a token.</exception>
    public static async Task<EmbeddedFarm> StartAsync(EmbeddedFarmOptions options, CancellationToken ct = default)
    {
        StyleFarmWebOptions? web = null;
        if (options.Http is { } http)
        {
            if (!HttpAddress.TryParse(http, out var endpoint, out string? problem, allowFreePort: true))
                throw new ArgumentException($"{http}: {problem}", nameof(options));
            web = new StyleFarmWebOptions { Endpoint = endpoint, ApiToken = options.ApiToken, MinimumLogLevel = LogLevel.Error };
            if (web.Problem() is { } unsafeBind) throw new ArgumentException(unsafeBind, nameof(options));
        }

        var store = new FarmStore(options.DataFolder);
        try
        {
            var blobs = new BlobStore(options.DataFolder);
            var events = Channel.CreateUnbounded<IFarmEvent>(new UnboundedChannelOptions { SingleReader = true });
            bool localDevices = options.Devices.Count > 0;
            var cluster = new StyleFarmClusterOptions
            {
                Port = 0,
                Roles = localDevices ? [StyleFarmRoles.Coordinator, StyleFarmRoles.Gpu] : [StyleFarmRoles.Coordinator],
            };
            var node = new GpuNodeSettings
            {
                NodeId = LocalNodeId,
                Devices = options.Devices,
                Threads = options.Threads,
                UseNoOpEngine = options.NoOpEngine,
                BlobCacheFolder = Path.Combine(options.DataFolder, "node-blobs"),
                RegisterSweepManagerProxy = false,
                Report = options.Report,
            };
            var settings = SweepManagerSettings.Default with { CheckpointEverySteps = options.CheckpointEverySteps };
            FarmMetrics? metrics = web is null ? null : new FarmMetrics();
            void AddFarm(IServiceCollection services)
            {
                services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
                services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));
                services.AddStyleFarmAkka(cluster, (akka, _) =>
                {
                    // One process: the farm's own lines say what happens; Akka's warnings about the coordinator
                    // going away at shutdown would only confuse.
                    akka.AddHocon("""
                        akka.loglevel = ERROR
                        akka.cluster.log-info = off
                        akka.cluster.singleton-proxy.log-singleton-identification-failure = off
                        """, HoconAddMode.Prepend);
                    akka.AddStyleFarmCoordinator(store, blobs, settings);
                    akka.AddStyleFarmDashboard(store, metrics); // the live view, as the distributed coordinator has it
                    if (localDevices) akka.AddGpuNode(node);
                    akka.WithActors((system, _) => system.ActorOf(EventPipe.Props(events.Writer), "event-pipe"));
                });
            }

            IHost host;
            if (web is null)
            {
                host = new HostBuilder().ConfigureServices(AddFarm).Build();
            }
            else
            {
                // The same web as `stylefarm coordinator` serves: API, dashboard, /metrics.
                WebApplicationBuilder builder = StyleFarmWebHost.CreateBuilder(web, store, blobs, metrics!);
                AddFarm(builder.Services);
                host = builder.Build().MapStyleFarmWeb();
            }
            try
            {
                await host.StartAsync(ct);
            }
            catch
            {
                // The actors may be up when the web's port turns out taken: stop them before the store closes.
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await host.StopAsync(stop.Token);
                host.Dispose();
                throw;
            }
            return new EmbeddedFarm(host, store, blobs, events, cluster);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Stores a validated sweep (its images become blobs, finished jobs are reused) and hands it to the
    /// SweepManager; returns what was stored. A sweep whose every job is already done is finished at once.
    /// </summary>
    public async Task<SubmittedSweep> SubmitAsync(ExpandedSweep sweep, string fileText, CancellationToken ct = default)
    {
        long freeBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var submitted = new SweepSubmitter(Store, Blobs, new FusionPlanner(), freeBytes).Submit(sweep, fileText);
        var ack = await SweepManager.Ask<SweepControlAck>(new SweepSubmitted(submitted.Sweep.Id), TimeSpan.FromSeconds(30), ct);
        if (!ack.Applied)
            throw new InvalidOperationException($"the coordinator did not take sweep {submitted.Sweep.Id}: {ack.Error}");
        return submitted;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _host.StopAsync(stop.Token);
        }
        finally
        {
            _host.Dispose();
            _events.Writer.TryComplete();
            Store.Dispose();
        }
    }

    /// <summary>Copies every farm event into a channel, so plain async code can await them.</summary>
    private sealed class EventPipe : ReceiveActor
    {
        public EventPipe(ChannelWriter<IFarmEvent> writer) => Receive<IFarmEvent>(e => writer.TryWrite(e));

        public static Props Props(ChannelWriter<IFarmEvent> writer) => Akka.Actor.Props.Create(() => new EventPipe(writer));

        protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(IFarmEvent));
    }
}

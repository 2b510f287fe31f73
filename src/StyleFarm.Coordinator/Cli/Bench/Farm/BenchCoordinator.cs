using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Cli.Bench.Farm;

/// <summary>
/// A coordinator-only farm process in this process, as `stylefarm coordinator` composes it without the HTTP API: the
/// SweepManager singleton and the store, on a free port of 127.0.0.1 for GPU node processes to join.
/// </summary>
internal sealed class BenchCoordinator : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly FarmStore _store;
    private readonly BlobStore _blobs;
    private readonly Channel<IFarmEvent> _events;

    private BenchCoordinator(IHost host, FarmStore store, BlobStore blobs, Channel<IFarmEvent> events, StyleFarmClusterOptions cluster)
    {
        _host = host;
        _store = store;
        _blobs = blobs;
        _events = events;
        var system = host.Services.GetRequiredService<ActorSystem>();
        SweepManager = host.Services.GetRequiredService<ActorRegistry>().Get<SweepManagerProxyKey>();
        // Port 0 took a free port; the cluster's own address says which.
        SeedAddress = cluster.AddressOf(cluster.Host, Akka.Cluster.Cluster.Get(system).SelfAddress.Port ?? 0);
    }

    /// <summary>What GPU nodes pass as --seed.</summary>
    public string SeedAddress { get; }

    public IActorRef SweepManager { get; }

    public ChannelReader<IFarmEvent> Events => _events.Reader;

    public static async Task<BenchCoordinator> StartAsync(string dataFolder, CancellationToken ct)
    {
        var store = new FarmStore(dataFolder);
        try
        {
            var blobs = new BlobStore(dataFolder);
            var events = Channel.CreateUnbounded<IFarmEvent>(new UnboundedChannelOptions { SingleReader = true });
            var cluster = new StyleFarmClusterOptions { Port = 0, Roles = [StyleFarmRoles.Coordinator] };
            IHost host = new HostBuilder()
                .ConfigureServices(services =>
                {
                    services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
                    services.AddStyleFarmAkka(cluster, (akka, _) =>
                    {
                        akka.AddHocon("""
                            akka.loglevel = WARNING
                            akka.cluster.log-info = off
                            """, HoconAddMode.Prepend);
                        akka.AddStyleFarmCoordinator(store, blobs, SweepManagerSettings.Default);
                        akka.WithActors((system, _) => system.ActorOf(FarmEventChannel.Props(events.Writer), "bench-events"));
                    });
                })
                .Build();
            await host.StartAsync(ct);
            return new BenchCoordinator(host, store, blobs, events, cluster);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Stores the sweep and hands it to the SweepManager, as `stylefarm submit` does through the API.</summary>
    public async Task<SubmittedSweep> SubmitAsync(BenchSweep sweep, CancellationToken ct)
    {
        long freeBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var submitted = new SweepSubmitter(_store, _blobs, new FusionPlanner(), freeBytes).Submit(sweep.Expanded, sweep.Text);
        var ack = await SweepManager.Ask<SweepControlAck>(new SweepSubmitted(submitted.Sweep.Id), TimeSpan.FromSeconds(30), ct);
        if (!ack.Applied)
            throw new InvalidOperationException($"the coordinator did not take sweep {submitted.Sweep.Id}: {ack.Error}");
        return submitted;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _host.StopAsync(stop.Token);
        }
        finally
        {
            _host.Dispose();
            _events.Writer.TryComplete();
            _store.Dispose();
        }
    }
}

/// <summary>Copies every farm event into a channel, so that plain async code can await them.</summary>
internal sealed class FarmEventChannel : ReceiveActor
{
    public FarmEventChannel(ChannelWriter<IFarmEvent> writer) => Receive<IFarmEvent>(e => writer.TryWrite(e));

    public static Props Props(ChannelWriter<IFarmEvent> writer) => Akka.Actor.Props.Create(() => new FarmEventChannel(writer));

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(IFarmEvent));
}

using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StyleFarm.Cluster;

namespace StyleFarm.Coordinator.Tests.Cluster;

/// <summary>One farm node in this process: a generic host running the ActorSystem that <see cref="StyleFarmClusterSetup"/> configures.</summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly IHost _host;

    private ClusterNode(IHost host, StyleFarmClusterOptions options)
    {
        _host = host;
        Options = options;
        System = host.Services.GetRequiredService<ActorSystem>();
    }

    public StyleFarmClusterOptions Options { get; }

    public ActorSystem System { get; }

    public Akka.Cluster.Cluster Cluster => Akka.Cluster.Cluster.Get(System);

    public Address Address => Cluster.SelfAddress;

    /// <summary>Starts a node on 127.0.0.1 and a free port, with serialize-messages on.</summary>
    /// <param name="crashOnTerminate">Make <see cref="ActorSystem.Terminate"/> stop the node without leaving the
    /// cluster (no CoordinatedShutdown), as a killed process would.</param>
    public static async Task<ClusterNode> StartAsync(
        string role,
        Address? seed = null,
        bool crashOnTerminate = false,
        Action<AkkaConfigurationBuilder>? configure = null)
    {
        var options = new StyleFarmClusterOptions
        {
            Port = 0,
            Roles = [role],
            SeedNodes = seed is null ? [] : [seed.ToString()],
            SerializeMessages = true,
        };
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddStyleFarmAkka(options, (builder, _) =>
            {
                builder.AddHocon(
                    """
                    akka.loglevel = WARNING
                    akka.cluster.log-info = off
                    """, HoconAddMode.Prepend);
                if (crashOnTerminate)
                    builder.AddHocon(
                        """
                        akka.coordinated-shutdown.run-by-actor-system-terminate = off
                        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
                        """, HoconAddMode.Prepend);
                configure?.Invoke(builder);
            }))
            .Build();
        await host.StartAsync();
        return new ClusterNode(host, options);
    }

    /// <summary>Waits until this node sees <paramref name="count"/> members Up.</summary>
    public async Task WaitForUpMembersAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Cluster.State.Members.Count(m => m.Status == MemberStatus.Up) < count)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(
                    $"{Address} sees {string.Join(", ", Cluster.State.Members.Select(m => $"{m.Address}:{m.Status}"))}, not {count} members Up.");
            await Task.Delay(50);
        }
    }

    public Config Config => System.Settings.Config;

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await _host.StopAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        await System.Terminate().WaitAsync(TimeSpan.FromSeconds(15));
        _host.Dispose();
    }
}

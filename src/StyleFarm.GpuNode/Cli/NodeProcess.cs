using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StyleFarm.Cluster;
using StyleFarm.GpuNode.Node;

namespace StyleFarm.GpuNode.Cli;

/// <summary>
/// The node process: runs the node's ActorSystem in a generic host, and when that system ends without being asked
/// to (the coordinator died and the split brain resolver downed this node), builds a fresh one and joins the seeds
/// again, so that a restarted coordinator gets its nodes back. Ends after a drain, a refusal, or SIGTERM/SIGINT
/// (which hands the units back first, through the node's CoordinatedShutdown task).
/// </summary>
public static class NodeProcess
{
    public static readonly TimeSpan RejoinDelay = TimeSpan.FromSeconds(3);

    public static async Task<int> RunAsync(StyleFarmClusterOptions cluster, GpuNodeSettings node, Action<string> say)
    {
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext signal)
        {
            signal.Cancel = true; // stop through the host, handing units back, not by the runtime's default exit
            stopRequested.TrySetResult();
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        var shutdownTimeout = node.ShutdownDrainTimeout + TimeSpan.FromSeconds(15);
        while (true)
        {
            using var host = BuildHost(cluster, node, shutdownTimeout);
            await host.StartAsync();
            var system = host.Services.GetRequiredService<ActorSystem>();
            await Task.WhenAny(system.WhenTerminated, stopRequested.Task);

            using (var stop = new CancellationTokenSource(shutdownTimeout))
            {
                try
                {
                    await host.StopAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
            await Task.WhenAny(system.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(10)));

            var reason = CoordinatedShutdown.Get(system).ShutdownReason;
            if (reason is NodeRefusedReason)
                return NodeCli.Failed;
            // Akka's own SIGTERM hook may run the shutdown (ClrExitReason) before the signal handler above: only a
            // node the cluster let go of (downed, removed, or an ActorSystem that just ended) joins again.
            var lostTheFarm = reason is null or CoordinatedShutdown.ClusterDowningReason or CoordinatedShutdown.ClusterLeavingReason
                or CoordinatedShutdown.UnknownReason;
            if (stopRequested.Task.IsCompleted || !lostTheFarm)
            {
                say($"node {node.NodeId} stopped");
                return 0;
            }
            say($"node {node.NodeId} lost the farm ({reason?.GetType().Name ?? "the actor system ended"}); " +
                $"joining {string.Join(", ", cluster.SeedNodes)} again");
            await Task.WhenAny(Task.Delay(RejoinDelay), stopRequested.Task);
            if (stopRequested.Task.IsCompleted)
                return 0;
        }
    }

    private static IHost BuildHost(StyleFarmClusterOptions cluster, GpuNodeSettings node, TimeSpan shutdownTimeout) =>
        new HostBuilder()
            .ConfigureServices(services =>
            {
                services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout);
                // The loop above owns SIGTERM/SIGINT: the console lifetime would stop the host from inside its signal
                // handler, before the loop could learn that the stop was asked for (and not a downing to rejoin after).
                services.AddSingleton<IHostLifetime, LoopOwnedLifetime>();
                services.AddStyleFarmAkka(cluster, (builder, _) =>
                {
                    // The node prints its own one-line notices; Akka's informational chatter would drown them.
                    builder.AddHocon(
                        """
                        akka.loglevel = WARNING
                        akka.cluster.log-info = off
                        """, HoconAddMode.Prepend);
                    builder.AddGpuNode(node);
                });
            })
            .Build();

    private sealed class LoopOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

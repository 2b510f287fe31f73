using System.Globalization;
using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Event;
using Akka.Hosting;
using StyleFarm.Cluster;

namespace StyleFarm.GpuNode.Node;

/// <summary>Akka.Hosting registration of a GPU node: the SweepManager proxy, the NodeAgent, and the drain on shutdown.</summary>
public static class GpuNodeHosting
{
    /// <summary>
    /// Starts the node's <see cref="NodeAgent"/> (registered under <see cref="NodeAgent"/> in the ActorRegistry)
    /// and, unless <see cref="GpuNodeSettings.RegisterSweepManagerProxy"/> is false, the SweepManager singleton
    /// proxy under <see cref="SweepManagerProxyKey"/> (when false, register the proxy before calling this). Adds a
    /// CoordinatedShutdown task (phase before-service-unbind, so SIGTERM runs it while the cluster is still up)
    /// that hands every unit back and waits up to <see cref="GpuNodeSettings.ShutdownDrainTimeout"/> for it.
    /// </summary>
    public static AkkaConfigurationBuilder AddGpuNode(this AkkaConfigurationBuilder builder, GpuNodeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(settings);
        var problems = settings.Problems();
        if (problems.Count > 0)
            throw new ArgumentException("Invalid GPU node settings:\n  " + string.Join("\n  ", problems), nameof(settings));

        // The phase must outlast the hand-back it waits for (Akka's default phase timeout is 5 s).
        var phaseSeconds = (int)Math.Ceiling(settings.ShutdownDrainTimeout.TotalSeconds) + 5;
        builder.AddHocon(
            $"akka.coordinated-shutdown.phases.before-service-unbind.timeout = {phaseSeconds.ToString(CultureInfo.InvariantCulture)}s",
            HoconAddMode.Prepend);

        if (settings.RegisterSweepManagerProxy)
            builder.WithSingletonProxy<SweepManagerProxyKey>(
                StyleFarmActorNames.SweepManager,
                new ClusterSingletonOptions { Role = StyleFarmRoles.Coordinator });

        return builder.WithActors((system, registry) =>
        {
            if (!registry.TryGet<SweepManagerProxyKey>(out var sweepManager))
                throw new InvalidOperationException(
                    "No SweepManager proxy is registered: register it before AddGpuNode, or leave RegisterSweepManagerProxy on.");
            var agent = system.ActorOf(NodeAgent.Props(settings, sweepManager), "node");
            registry.Register<NodeAgent>(agent);

            var shutdown = CoordinatedShutdown.Get(system);
            shutdown.AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "hand-back-units", async () =>
            {
                // Downed (coordinator gone) or refused: there is nobody to hand units to; the coordinator requeues them.
                if (shutdown.ShutdownReason is CoordinatedShutdown.ClusterDowningReason or NodeRefusedReason)
                    return Done.Instance;
                try
                {
                    await agent.Ask<NodeAgentDrained>(DrainForShutdown.Instance, settings.ShutdownDrainTimeout);
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
                {
                    system.Log.Warning("Node {0}: not every unit was handed back within {1}; the coordinator requeues the rest",
                        settings.NodeId, settings.ShutdownDrainTimeout);
                }
                return Done.Instance;
            });
        });
    }
}

using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Pattern;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Farm;

/// <summary>Akka.Hosting registration of the coordinator's actors.</summary>
public static class CoordinatorHosting
{
    /// <summary>
    /// Runs the <see cref="SweepManager.SweepManager"/> as the cluster singleton on the coordinator role, and registers
    /// its proxy as <see cref="SweepManagerProxyKey"/> (<c>ActorRegistry.Get&lt;SweepManagerProxyKey&gt;()</c>).
    /// Paths: the singleton manager is <c>/user/sweep-manager</c>, the singleton <c>/user/sweep-manager/sweep-manager</c>
    /// (a backoff supervisor), the SweepManager itself its child <c>manager</c>, the proxy <c>/user/sweep-manager-proxy</c>.
    /// GPU nodes register only the proxy, with the same name and role:
    /// <c>WithSingletonProxy&lt;SweepManagerProxyKey&gt;(StyleFarmActorNames.SweepManager, new ClusterSingletonOptions { Role = StyleFarmRoles.Coordinator })</c>.
    /// </summary>
    /// <remarks>
    /// The SweepManager runs under a backoff supervisor: should it fail (the store cannot commit), it is stopped and
    /// started afresh from the store after a pause, and the workers, which watch it, see it go and register again.
    /// The caller owns <paramref name="store"/> and disposes it after the ActorSystem has stopped.
    /// </remarks>
    public static AkkaConfigurationBuilder AddStyleFarmCoordinator(
        this AkkaConfigurationBuilder builder,
        FarmStore store,
        BlobStore blobs,
        SweepManagerSettings? settings = null,
        FusionPlanner? planner = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(blobs);
        Props manager = SweepManager.SweepManager.Props(store, blobs, planner ?? new FusionPlanner(), settings ?? SweepManagerSettings.Default);
        Props supervised = BackoffSupervisor.Props(Backoff.OnFailure(
            manager, "manager", minBackoff: TimeSpan.FromSeconds(1), maxBackoff: TimeSpan.FromSeconds(15), randomFactor: 0.2, maxNrOfRetries: -1));
        return builder.WithSingleton<SweepManagerProxyKey>(
            StyleFarmActorNames.SweepManager,
            supervised,
            new ClusterSingletonOptions { Role = StyleFarmRoles.Coordinator },
            createProxyToo: true);
    }
}

using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Metrics;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Dashboard;

/// <summary>The <see cref="ActorRegistry"/> key of the <see cref="DashboardActor"/>.</summary>
public sealed class DashboardKey;

public static class DashboardHosting
{
    public const string ActorName = "dashboard";

    /// <summary>
    /// Starts the <see cref="DashboardActor"/> at <c>/user/dashboard</c> on this process's EventStream and registers it
    /// as <see cref="DashboardKey"/>. Call after <c>AddStyleFarmCoordinator</c> (it asks the SweepManager proxy for the
    /// nodes that joined before it). It feeds <paramref name="metrics"/>, if given.
    /// </summary>
    public static AkkaConfigurationBuilder AddStyleFarmDashboard(this AkkaConfigurationBuilder builder, FarmStore store,
        FarmMetrics? metrics = null, DashboardSettings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        return builder.WithActors((system, registry) =>
        {
            registry.TryGet<SweepManagerProxyKey>(out IActorRef? sweepManager);
            IActorRef dashboard = system.ActorOf(DashboardActor.Props(store, metrics, sweepManager, settings), ActorName);
            registry.Register<DashboardKey>(dashboard);
        });
    }

    /// <summary>Registers <see cref="IDashboardFeed"/> over the <see cref="DashboardActor"/>, for the HTTP API's dashboard endpoints.</summary>
    public static IServiceCollection AddStyleFarmDashboardFeed(this IServiceCollection services) =>
        services.AddSingleton<IDashboardFeed, ActorDashboardFeed>();
}

namespace StyleFarm.Cluster;

/// <summary>
/// The registry key of the SweepManager's singleton proxy (Akka.Hosting's ActorRegistry): every process that talks
/// to the coordinator (a GPU node, the coordinator's own HTTP API, the embedded farm) asks the registry for it.
/// </summary>
public sealed class SweepManagerProxyKey;

/// <summary>Actor names both sides of the wire must agree on.</summary>
public static class StyleFarmActorNames
{
    /// <summary>The SweepManager cluster singleton (on the <see cref="StyleFarmRoles.Coordinator"/> role).</summary>
    public const string SweepManager = "sweep-manager";
}

namespace StyleFarm.Coordinator.Tests.Cluster;

/// <summary>
/// The tests that start ActorSystems run one at a time and apart from the rest of the suite: on two cores, a
/// parallel test could starve heartbeats and blur the failure-detection timings they measure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "Akka cluster";
}

using System.Collections.Concurrent;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace StyleFarm.Cluster;

/// <summary>
/// Lets Akka's own local-only messages pass <c>akka.actor.serialize-messages</c>: it hands the object back as it
/// is, through a token valid in this ActorSystem only. Registered only with serialize-messages on, and only for types
/// that never leave a node (the cluster's domain events).
/// </summary>
/// <remarks>
/// With serialize-messages on, Akka.NET round-trips every local message, Akka's internal ones included, through its
/// serializer; the cluster's internal <c>ReachabilityChanged</c> event does not survive the JSON fallback, and is
/// then dropped on its way to the split brain resolver and to <c>Cluster.State</c>, so tests would watch a cluster
/// that behaves unlike the real one. A token sent to another node resolves to nothing there and is refused.
/// </remarks>
public sealed class LocalVerificationSerializer(ExtendedActorSystem system) : Serializer(system)
{
    public const int SerializerId = 7302;

    public const string SerializerName = "stylefarm-local-verification";

    /// <summary>The types bound to it: events a node's cluster extension publishes to its own actors only.</summary>
    public static readonly IReadOnlyList<Type> LocalOnlyTypes = [typeof(Akka.Cluster.ClusterEvent.IClusterDomainEvent)];

    private readonly ConcurrentDictionary<long, object> _inFlight = new();
    private long _next;

    public override int Identifier => SerializerId;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        var token = Interlocked.Increment(ref _next);
        _inFlight[token] = obj;
        return BitConverter.GetBytes(token);
    }

    public override object FromBinary(byte[] bytes, Type? type)
    {
        if (bytes.Length == sizeof(long) && _inFlight.TryRemove(BitConverter.ToInt64(bytes), out var obj))
            return obj;
        throw new SerializationException($"{type?.Name ?? "This message"} is local to its node and cannot be read from the wire.");
    }
}

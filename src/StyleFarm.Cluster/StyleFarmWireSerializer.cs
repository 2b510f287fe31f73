using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using StyleFarm.Messages;

namespace StyleFarm.Cluster;

/// <summary>
/// The serializer of every <see cref="IStyleFarmMessage"/>: Hyperion, restricted to
/// <see cref="StyleFarmWireTypes"/>. It refuses to write a root type outside the allowlist or a message larger than
/// <see cref="WireLimits.MaxMessageBytes"/>, and refuses to read any type name outside the allowlist (Hyperion's
/// type filter, consulted before a type is loaded) or a root that is not a message.
/// </summary>
public sealed class StyleFarmWireSerializer : Serializer
{
    /// <summary>The serializer's id on the wire (ids up to 40 belong to Akka; Hyperion's own is -5).</summary>
    public const int SerializerId = 7301;

    /// <summary>The name it is registered under.</summary>
    public const string SerializerName = "stylefarm-hyperion";

    private readonly HyperionSerializer _hyperion;

    public StyleFarmWireSerializer(ExtendedActorSystem system)
        : base(system)
    {
        if (StyleFarmWireTypes.Violations.Count > 0)
            throw new InvalidOperationException(
                "StyleFarm.Messages has fields that cannot cross the wire:\n  " + string.Join("\n  ", StyleFarmWireTypes.Violations));

        // Hyperion applies the type filter only when unsafe types are disallowed. Messages are trees of immutable
        // records, so there are no shared references to preserve. A HyperionSerializerSetup on the system does not
        // reach the inner serializer in Akka.Serialization.Hyperion 1.5.73, so the settings go in directly.
        _hyperion = new HyperionSerializer(system, new HyperionSerializerSettings(
            preserveObjectReferences: false,
            versionTolerance: true,
            knownTypesProvider: null,
            packageNameOverrides: [],
            surrogates: [],
            disallowUnsafeType: true,
            typeFilter: StyleFarmWireTypes.TypeFilter));
    }

    public override int Identifier => SerializerId;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (!StyleFarmWireTypes.IsMessageType(obj.GetType()))
            throw new SerializationException(
                $"{obj.GetType()} is not a StyleFarm message; only the types of StyleFarm.Messages may cross the wire.");
        byte[] bytes;
        try
        {
            bytes = _hyperion.ToBinary(obj);
        }
        catch (Exception ex) when (ex is not SerializationException)
        {
            throw new SerializationException($"Could not serialize {obj.GetType().Name}: {ex.Message}", ex);
        }
        if (bytes.Length > WireLimits.MaxMessageBytes)
            throw new SerializationException(
                $"{obj.GetType().Name} is {bytes.Length} bytes serialized; no message may exceed {WireLimits.MaxMessageBytes}. " +
                "Send large data as a blob.");
        return bytes;
    }

    public override object FromBinary(byte[] bytes, Type? type)
    {
        if (bytes.Length > WireLimits.MaxMessageBytes)
            throw new SerializationException($"Refused a {bytes.Length}-byte message; no message may exceed {WireLimits.MaxMessageBytes}.");
        // Throws SerializationException (wrapping Hyperion's UserEvilDeserializationException) for a type name
        // outside the allowlist, before that type is loaded.
        var obj = _hyperion.FromBinary(bytes, type);
        if (obj is null || !StyleFarmWireTypes.IsMessageType(obj.GetType()))
            throw new SerializationException($"Refused a {obj?.GetType().Name ?? "null"} payload: not a StyleFarm message.");
        return obj;
    }
}

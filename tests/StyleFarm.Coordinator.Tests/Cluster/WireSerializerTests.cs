using System.Reflection;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Hyperion;
using StyleFarm.Cluster;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Cluster;

/// <summary>A message type outside StyleFarm.Messages that claims to be a message: the binding routes it to our serializer, which must refuse it.</summary>
public sealed record ImpostorMessage(string Command) : IStyleFarmMessage;

/// <summary>A plain type from another assembly, as an attacker would smuggle in.</summary>
public sealed record Smuggled(string Command);

/// <summary>A part that is not sealed: a subclass could carry anything.</summary>
public class UnsealedPart
{
    public string Text { get; init; } = "";
}

/// <summary>Everything a message must not hold; only inspected, never sent.</summary>
public sealed record BadWireMessage(List<string> Items, object Anything, UnsealedPart Part, int[,] Grid) : IStyleFarmMessage;

public sealed class OneNodeFixture : IAsyncLifetime
{
    public ClusterNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await ClusterNode.StartAsync(StyleFarmRoles.Coordinator);

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

[Collection(ClusterCollection.Name)]
public class WireSerializerTests(OneNodeFixture fixture, ITestOutputHelper output) : IClassFixture<OneNodeFixture>
{
    private Serialization Serialization => fixture.Node.System.Serialization;

    public static TheoryData<string> MessageTypeNames()
    {
        var data = new TheoryData<string>();
        foreach (var type in StyleFarmWireTypes.MessageTypes)
            data.Add(type.FullName!);
        return data;
    }

    /// <summary>Hyperion as ours, but without the type filter.</summary>
    private HyperionSerializer Unrestricted() => new((ExtendedActorSystem)fixture.Node.System, new HyperionSerializerSettings(
        preserveObjectReferences: false, versionTolerance: true, knownTypesProvider: null, packageNameOverrides: [],
        surrogates: [], disallowUnsafeType: true, typeFilter: DisabledTypeFilter.Instance));

    private static Type MessageType(string fullName) => StyleFarmWireTypes.MessagesAssembly.GetType(fullName, throwOnError: true)!;

    [Fact]
    public void The_messages_assembly_has_only_wire_safe_fields_and_every_message_is_found()
    {
        Assert.Empty(StyleFarmWireTypes.Violations);
        Assert.Contains(typeof(BlobChunk), StyleFarmWireTypes.MessageTypes);
        Assert.Contains(typeof(WorkUnit), StyleFarmWireTypes.MessageTypes);
        Assert.True(StyleFarmWireTypes.MessageTypes.Count >= 30, $"only {StyleFarmWireTypes.MessageTypes.Count} message types found");
        // Outside the messages assembly only primitives, arrays and nullables of them are allowed.
        Assert.All(StyleFarmWireTypes.AllowedTypes.Where(t => t.Assembly != StyleFarmWireTypes.MessagesAssembly), t =>
            Assert.True(t.IsPrimitive || t.IsArray || t == typeof(string) || t == typeof(decimal) || t == typeof(DateTimeOffset)
                        || t == typeof(DateTime) || t == typeof(Guid) || Nullable.GetUnderlyingType(t) is not null, t.FullName));
        Assert.All(StyleFarmWireTypes.MessageTypes, t => Assert.True(t.IsSealed, $"{t} should be sealed"));
    }

    [Fact]
    public void Fields_that_cannot_cross_the_wire_are_reported()
    {
        var violations = StyleFarmWireTypes.Build(typeof(BadWireMessage).Assembly).Violations
            .Where(v => v.Contains(nameof(BadWireMessage), StringComparison.Ordinal))
            .ToList();

        Assert.Equal(4, violations.Count);
        Assert.Contains(violations, v => v.Contains(".Items:", StringComparison.Ordinal) && v.Contains("use records and arrays", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains(".Anything:", StringComparison.Ordinal) && v.Contains("System.Object", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains(".Part:", StringComparison.Ordinal) && v.Contains("must be a sealed", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains(".Grid:", StringComparison.Ordinal) && v.Contains("multi-dimensional", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(MessageTypeNames))]
    public void Every_message_round_trips_through_the_configured_serializer_under_64_KiB(string typeName)
    {
        var message = WireSamples.Create(MessageType(typeName));

        var serializer = Serialization.FindSerializerFor(message);
        var bytes = serializer.ToBinary(message);
        var back = Serialization.Deserialize(bytes, serializer.Identifier, manifest: "");

        Assert.IsType<StyleFarmWireSerializer>(serializer);
        Assert.Equal(message.GetType(), back.GetType());
        Assert.Equal(WireSamples.Render(message), WireSamples.Render(back));
        Assert.True(bytes.Length <= WireLimits.MaxMessageBytes, $"{typeName}: {bytes.Length} bytes");
        output.WriteLine($"{message.GetType().Name}: {bytes.Length} bytes");
    }

    [Fact]
    public void A_full_chunk_stays_well_under_the_message_and_frame_limits()
    {
        var data = new byte[3 * WireLimits.MaxChunkBytes];
        Random.Shared.NextBytes(data);
        var chunk = BlobChunker.Split(data).First();

        var bytes = Serialization.FindSerializerFor(chunk).ToBinary(chunk);

        Assert.Equal(WireLimits.MaxChunkBytes, chunk.Bytes.Length);
        Assert.InRange(bytes.Length, WireLimits.MaxChunkBytes, WireLimits.MaxMessageBytes);
        Assert.True(bytes.Length < fixture.Node.Options.MaximumFrameSize);
        output.WriteLine($"a {WireLimits.MaxChunkBytes}-byte chunk is {bytes.Length} bytes serialized");
    }

    [Fact]
    public void A_large_fused_unit_fits_in_one_message()
    {
        var serializer = Serialization.FindSerializerFor(WireSamples.Unit(1));
        var sizes = new[] { 1, 16, 32, 64 }.ToDictionary(n => n, n =>
            serializer.ToBinary(new AssignUnit(WireSamples.Hash('t'), WireSamples.Unit(n), new ResumePoint(WireSamples.Hash('k'), 500), 50)).Length);

        foreach (var (variants, size) in sizes)
            output.WriteLine($"AssignUnit with {variants} variants × 3 jobs: {size} bytes");
        Assert.True(sizes[64] <= WireLimits.MaxMessageBytes, $"64 variants: {sizes[64]} bytes");
    }

    [Fact]
    public void A_unit_end_with_the_most_results_it_may_carry_fits_in_one_message()
    {
        // Ids as long as the farm makes them: 64-hex job ids and blob hashes, 32-hex attempt ids, a long device id.
        string attempt = new('a', 32), unitId = new('u', 64), device = "a-rather-long-node-name-of-a-render-box/cuda:15";
        var results = Enumerable.Range(0, WireLimits.MaxResultsPerUnitDone).Select(i => new JobResult(unitId, attempt,
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i))), device,
            WireSamples.Hash('i'), WireSamples.Hash('t'), new LossValues(1.23456789e10, 2.5e-7, 3.25, double.NaN),
            new JobTimings(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, 123.456, 64))).ToArray();
        var done = new UnitDone(unitId, attempt, device, 1234.5, results);

        var bytes = Serialization.FindSerializerFor(done).ToBinary(done);

        output.WriteLine($"UnitDone with {results.Length} results: {bytes.Length} bytes");
        Assert.True(bytes.Length <= WireLimits.MaxMessageBytes, $"{bytes.Length} bytes");
    }

    [Fact]
    public void A_message_over_64_KiB_is_refused_by_the_sender()
    {
        var oversized = new BlobChunk(WireSamples.Hash('a'), 0, new byte[WireLimits.MaxMessageBytes], WireLimits.MaxMessageBytes);

        var error = Assert.Throws<SerializationException>(() => Serialization.FindSerializerFor(oversized).ToBinary(oversized));
        Assert.Contains("may exceed", error.Message);
    }

    [Fact]
    public void A_type_outside_the_allowlist_is_refused_on_deserialization()
    {
        // What a peer with an unrestricted Hyperion would send: the wire carries our serializer id and any type.
        var unrestricted = Unrestricted();
        object[] foreign =
        [
            new Smuggled("rm -rf /"),
            new ImpostorMessage("rm -rf /"),
            new List<string> { "a", "b" },
            new Dictionary<string, object> { ["x"] = 1 },
            new Uri("http://example.com/"),
            "a bare string",
            42,
        ];

        foreach (var value in foreign)
        {
            var bytes = unrestricted.ToBinary(value);
            var error = Assert.Throws<SerializationException>(() =>
                Serialization.Deserialize(bytes, StyleFarmWireSerializer.SerializerId, manifest: ""));
            output.WriteLine($"{value.GetType().Name}: {error.Message}");
        }
    }

    [Fact]
    public void The_same_bytes_of_an_allowed_message_are_accepted()
    {
        // The refusal above is the filter's doing, not a format difference: the unrestricted serializer's bytes
        // of a real message deserialize.
        var unrestricted = Unrestricted();
        var message = new RequestWork("node-a/cuda:0", 8L << 30);

        var back = Serialization.Deserialize(unrestricted.ToBinary(message), StyleFarmWireSerializer.SerializerId, manifest: "");

        Assert.Equal(message, back);
    }

    [Fact]
    public void With_serialize_messages_on_the_clusters_local_events_pass_verification_but_never_the_wire()
    {
        // Akka's internal ReachabilityChanged (which feeds the split brain resolver) fails the JSON fallback.
        var reachabilityChanged = typeof(Akka.Cluster.ClusterEvent).GetNestedType("ReachabilityChanged", BindingFlags.NonPublic);
        var leaderChanged = new Akka.Cluster.ClusterEvent.LeaderChanged(fixture.Node.Address);
        var serializer = Serialization.FindSerializerFor(leaderChanged);

        Assert.NotNull(reachabilityChanged);
        Assert.IsType<LocalVerificationSerializer>(Serialization.FindSerializerForType(reachabilityChanged));
        Assert.IsType<LocalVerificationSerializer>(serializer);
        Assert.Same(leaderChanged, Serialization.Deserialize(serializer.ToBinary(leaderChanged), serializer.Identifier, manifest: ""));
        Assert.Throws<SerializationException>(() => Serialization.Deserialize(BitConverter.GetBytes(12345L), serializer.Identifier, manifest: ""));
    }

    [Fact]
    public void A_type_outside_the_allowlist_is_refused_on_serialization()
    {
        var impostor = new ImpostorMessage("x");
        var serializer = Serialization.FindSerializerFor(impostor);

        Assert.IsType<StyleFarmWireSerializer>(serializer);
        var error = Assert.Throws<SerializationException>(() => serializer.ToBinary(impostor));
        Assert.Contains("not a StyleFarm message", error.Message);
        Assert.Throws<SerializationException>(() => serializer.ToBinary(new Smuggled("x")));
        Assert.Throws<SerializationException>(() => serializer.ToBinary(new List<string> { "x" }));
    }
}

using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using StyleFarm.Messages;

namespace StyleFarm.Cluster;

/// <summary>
/// The one Akka setup of every StyleFarm process (coordinator, GPU node, the embedded farm, tests): remoting on one
/// host form, clustering with the farm's roles and seeds, and, the same on every node because no option reaches
/// them, the split brain resolver, the failure detector and the wire serializer.
/// </summary>
/// <remarks>
/// <para><b>Downing: keep-majority, counted over the <c>coordinator</c> role.</b> The farm is one coordinator and
/// any number of GPU nodes, and a GPU node is useless without the coordinator. Counting only coordinators, the side
/// that holds the coordinator is always the majority: a GPU node that dies or is cut off is downed by the
/// coordinator's side, and GPU nodes cut off from the coordinator down themselves (their NodeAgent then rejoins a
/// new ActorSystem when the coordinator is back, which it must do after a coordinator restart anyway, since a member
/// of the old cluster cannot join the new one). Plain keep-majority would let two GPU nodes down the coordinator,
/// and in a two-node farm the tie goes to the lowest address, which may be the GPU node's. Keep-oldest with
/// down-if-alone would make the coordinator down itself whenever every GPU node dies at once (it is then alone),
/// and makes the outcome depend on which process started first, which a coordinator restart reverses.</para>
/// <para><b>Timing.</b> The failure detector keeps Akka's cluster defaults (heartbeat every 1 s, 3 s acceptable
/// pause, φ threshold 8): a killed node is unreachable after about 4 to 5 s, which is where the coordinator requeues
/// its units. The resolver downs it after <see cref="StableAfter"/> = 3 s of stable reachability (Akka's default,
/// 20 s, suits clusters of hundreds of nodes and rolling restarts; a render farm of a few machines wants its units
/// back fast, and a node downed by mistake only restarts its ActorSystem and rejoins). Down after about 8 s, removed
/// about a second later.</para>
/// </remarks>
public static class StyleFarmClusterSetup
{
    /// <summary>How often cluster members heartbeat each other.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a missing heartbeat is tolerated before φ starts to climb (GC pauses, a loaded CPU).</summary>
    public static readonly TimeSpan AcceptableHeartbeatPause = TimeSpan.FromSeconds(3);

    /// <summary>The φ accrual threshold above which a member is unreachable.</summary>
    public const double FailureDetectorThreshold = 8.0;

    /// <summary>How long reachability must stay unchanged before the split brain resolver decides.</summary>
    public static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(3);

    /// <summary>The split brain resolver strategy and the role its majority is counted over.</summary>
    public const string DowningStrategy = "keep-majority";

    /// <inheritdoc cref="DowningStrategy"/>
    public const string DowningRole = StyleFarmRoles.Coordinator;

    /// <summary>The configuration that must agree on every node; <see cref="SettingsFingerprint"/> hashes it.</summary>
    public static readonly IReadOnlyList<string> SharedConfigPaths =
    [
        "akka.cluster.downing-provider-class",
        "akka.cluster.split-brain-resolver",
        "akka.cluster.failure-detector",
        "akka.cluster.run-coordinated-shutdown-when-down",
    ];

    /// <summary>
    /// Remoting, clustering and the wire serializer, as every StyleFarm process has them. The builder's ActorSystem
    /// must be named <see cref="StyleFarmClusterOptions.SystemName"/>; <see cref="AddStyleFarmAkka"/> does that.
    /// Without seed nodes the node joins itself, founding the cluster.
    /// </summary>
    public static AkkaConfigurationBuilder AddStyleFarmCluster(this AkkaConfigurationBuilder builder, StyleFarmClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        builder
            .WithRemoting(new RemoteOptions
            {
                HostName = options.Host,
                Port = options.Port,
                PublicHostName = options.AdvertisedHost,
                MaxFrameSize = options.MaximumFrameSize,
            })
            .WithClustering(new ClusterOptions
            {
                Roles = options.Roles,
                SeedNodes = options.SeedNodes.Length > 0 ? options.SeedNodes : null,
                SplitBrainResolver = new KeepMajorityOption { Role = DowningRole },
                FailureDetector = new PhiAccrualFailureDetectorOptions
                {
                    HeartbeatInterval = HeartbeatInterval,
                    AcceptableHeartbeatPause = AcceptableHeartbeatPause,
                    Threshold = FailureDetectorThreshold,
                    ExpectedResponseAfter = TimeSpan.FromSeconds(1),
                    MinStandardDeviation = TimeSpan.FromMilliseconds(100),
                    MaxSampleSize = 1000,
                },
            })
            .AddHocon(FixedHocon(options), HoconAddMode.Prepend)
            .WithCustomSerializer(
                StyleFarmWireSerializer.SerializerName,
                [typeof(IStyleFarmMessage)],
                system => new StyleFarmWireSerializer(system));
        if (options.SerializeMessages)
            builder.WithCustomSerializer(
                LocalVerificationSerializer.SerializerName,
                LocalVerificationSerializer.LocalOnlyTypes,
                system => new LocalVerificationSerializer(system));
        builder
            .AddStartup((system, _) =>
            {
                if (system.Name != options.SystemName)
                    throw new InvalidOperationException(
                        $"The ActorSystem is named '{system.Name}' but the farm's options say '{options.SystemName}'; seed addresses would not match.");
                if (options.SeedNodes.Length == 0)
                {
                    var cluster = global::Akka.Cluster.Cluster.Get(system);
                    cluster.Join(cluster.SelfAddress);
                }
                return Task.CompletedTask;
            });
        return builder;
    }

    /// <summary>Adds Akka to the services with <see cref="AddStyleFarmCluster"/>, under the options' system name.</summary>
    public static IServiceCollection AddStyleFarmAkka(
        this IServiceCollection services,
        StyleFarmClusterOptions options,
        Action<AkkaConfigurationBuilder, IServiceProvider>? configure = null) =>
        services.AddAkka(options.SystemName, (builder, provider) =>
        {
            builder.AddStyleFarmCluster(options);
            configure?.Invoke(builder, provider);
        });

    /// <summary>
    /// A SHA-256 over the settings every node must share (<see cref="SharedConfigPaths"/>), the wire protocol
    /// version and the shape of every wire type. A NodeAgent sends it in <c>NodeJoined</c>; a coordinator that
    /// computes another refuses the node instead of running a farm whose nodes disagree.
    /// </summary>
    public static string SettingsFingerprint(ActorSystem system) => SettingsFingerprint(system.Settings.Config);

    /// <inheritdoc cref="SettingsFingerprint(ActorSystem)"/>
    public static string SettingsFingerprint(Config config)
    {
        var text = new StringBuilder();
        text.Append("protocol=").Append(WireLimits.ProtocolVersion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("serializer=").Append(StyleFarmWireSerializer.SerializerId.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var (key, value) in SharedSettings(config))
            text.Append(key).Append('=').Append(value).Append('\n');
        foreach (var type in StyleFarmWireTypes.AllowedTypes.Where(t => t.Assembly == StyleFarmWireTypes.MessagesAssembly && !t.IsArray)
                     .OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(type.FullName).Append('(');
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                         .OrderBy(f => f.Name, StringComparer.Ordinal))
                text.Append(field.Name).Append(':').Append(TypeName(field.FieldType)).Append(';');
            text.Append(")\n");
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The values under <see cref="SharedConfigPaths"/>, flattened to sorted "path = value" pairs.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> SharedSettings(Config config)
    {
        var values = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in SharedConfigPaths)
            Flatten(config, path, values);
        return values.ToList();
    }

    // Free of assembly versions, so that nodes on different runtime patch levels agree.
    private static string TypeName(Type type) =>
        type.IsArray ? TypeName(type.GetElementType()!) + "[]"
        : Nullable.GetUnderlyingType(type) is { } underlying ? TypeName(underlying) + "?"
        : type.FullName ?? type.Name;

    private static void Flatten(Config config, string path, SortedDictionary<string, string> into)
    {
        if (!config.HasPath(path))
            return;
        var value = config.GetValue(path);
        if (value.IsObject())
        {
            foreach (var (key, _) in config.GetConfig(path).AsEnumerable())
                Flatten(config, $"{path}.{key}", into);
            return;
        }
        into[path] = value.IsArray() ? "[" + string.Join(",", value.GetStringList()) + "]" : value.GetString();
    }

    private static string FixedHocon(StyleFarmClusterOptions options) => $$"""
        akka.actor.serialize-messages = {{(options.SerializeMessages ? "on" : "off")}}
        akka.cluster {
          run-coordinated-shutdown-when-down = on
          split-brain-resolver {
            active-strategy = {{DowningStrategy}}
            stable-after = {{(int)StableAfter.TotalMilliseconds}}ms
            down-all-when-unstable = on
          }
        }
        """;
}

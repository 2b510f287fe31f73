using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using StyleFarm.Messages;

namespace StyleFarm.Cluster;

/// <summary>The cluster roles of the farm.</summary>
public static class StyleFarmRoles
{
    /// <summary>The coordinator: SweepManager (singleton), Dispatcher, ResultStore, BlobStore, Dashboard.</summary>
    public const string Coordinator = "coordinator";

    /// <summary>A GPU node: NodeAgent and its DeviceWorkers.</summary>
    public const string Gpu = "gpu";
}

/// <summary>
/// What differs between the farm's processes: where a node listens, whom it joins, which roles it has. Everything
/// that must be the same on every node (split brain resolver, failure detector, serializer) is not an option; it
/// lives in <see cref="StyleFarmClusterSetup"/>.
/// </summary>
public sealed partial record StyleFarmClusterOptions
{
    public const string DefaultSystemName = "stylefarm";

    /// <summary>The loopback address, in the one form the farm uses: Akka compares host names as strings, so a node
    /// bound to 127.0.0.1 does not answer to akka.tcp://stylefarm@localhost:….</summary>
    public const string DefaultHost = "127.0.0.1";

    /// <summary>Akka's default remote frame limit; every message stays under <see cref="WireLimits.MaxMessageBytes"/>.</summary>
    public const int DefaultMaximumFrameSize = 128_000;

    /// <summary>The ActorSystem's name; it is part of every address (akka.tcp://stylefarm@host:port).</summary>
    public string SystemName { get; init; } = DefaultSystemName;

    /// <summary>The address to bind. 0.0.0.0 binds every interface, and then <see cref="PublicHostname"/> is required.</summary>
    public string Host { get; init; } = DefaultHost;

    /// <summary>The port to bind; 0 takes a free one (GPU nodes, tests).</summary>
    public int Port { get; init; }

    /// <summary>The host name other nodes reach this one by (default: <see cref="Host"/>).</summary>
    public string? PublicHostname { get; init; }

    /// <summary>
    /// Addresses to join, e.g. <c>akka.tcp://stylefarm@127.0.0.1:4053</c>. Empty: the node founds a cluster of its
    /// own (the coordinator; the embedded one-process farm).
    /// </summary>
    public string[] SeedNodes { get; init; } = [];

    /// <summary>Cluster roles: <see cref="StyleFarmRoles.Coordinator"/>, <see cref="StyleFarmRoles.Gpu"/>, or both.</summary>
    public string[] Roles { get; init; } = [];

    /// <summary>akka.actor.serialize-messages: serialize every local message too (tests), so that a message that
    /// cannot cross the wire fails in a test rather than in a farm.</summary>
    public bool SerializeMessages { get; init; }

    /// <summary>akka.remote.dot-netty.tcp.maximum-frame-size, in bytes.</summary>
    public int MaximumFrameSize { get; init; } = DefaultMaximumFrameSize;

    /// <summary>The host other nodes use: <see cref="PublicHostname"/>, else <see cref="Host"/>.</summary>
    public string AdvertisedHost => string.IsNullOrWhiteSpace(PublicHostname) ? Host : PublicHostname;

    /// <summary>The address of a node of this system, in the form seed nodes take.</summary>
    public string AddressOf(string host, int port) =>
        $"akka.tcp://{SystemName}@{host}:{port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Every problem with these options, one line each; empty when they are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (!SystemNamePattern().IsMatch(SystemName ?? ""))
            problems.Add($"System name '{SystemName}' must be letters, digits, '-' or '_', starting with a letter or digit.");

        if (string.IsNullOrWhiteSpace(Host))
            problems.Add("Host is empty; use 127.0.0.1 on one machine, or the machine's address.");
        else if (IsLocalhostName(Host))
            problems.Add($"Host '{Host}': use 127.0.0.1, not localhost (addresses are compared as strings; one form everywhere).");
        if (PublicHostname is not null && (string.IsNullOrWhiteSpace(PublicHostname) || IsLocalhostName(PublicHostname)))
            problems.Add($"Public hostname '{PublicHostname}': give a reachable address (127.0.0.1 rather than localhost).");
        if (Host is "0.0.0.0" or "::" && string.IsNullOrWhiteSpace(PublicHostname))
            problems.Add($"Host {Host} binds every interface; say which address other nodes reach this one by (public hostname).");

        if (Port is < 0 or > 65535)
            problems.Add($"Port {Port} is not a TCP port (0 takes a free one).");

        foreach (var seed in SeedNodes ?? [])
        {
            Address address;
            try
            {
                address = Address.Parse(seed);
            }
            catch (Exception ex) when (ex is UriFormatException or ArgumentException or FormatException)
            {
                problems.Add($"Seed node '{seed}' is not an address like {AddressOf(DefaultHost, 4053)}.");
                continue;
            }
            if (address.Protocol != "akka.tcp")
                problems.Add($"Seed node '{seed}': the protocol is akka.tcp.");
            if (address.System != SystemName)
                problems.Add($"Seed node '{seed}' names system '{address.System}'; this farm's system is '{SystemName}'.");
            if (address.Host is null || IsLocalhostName(address.Host))
                problems.Add($"Seed node '{seed}': use 127.0.0.1, not localhost (one form everywhere).");
            if (address.Port is null or <= 0)
                problems.Add($"Seed node '{seed}' needs a port.");
        }

        if (Roles is null || Roles.Length == 0)
            problems.Add($"Give at least one role ({StyleFarmRoles.Coordinator}, {StyleFarmRoles.Gpu}).");
        else
            foreach (var role in Roles)
                if (!RolePattern().IsMatch(role ?? ""))
                    problems.Add($"Role '{role}' must be lowercase letters, digits and '-'.");

        var smallestFrame = WireLimits.MaxMessageBytes + 16 * 1024;
        if (MaximumFrameSize < smallestFrame)
            problems.Add($"Maximum frame size {MaximumFrameSize} is below {smallestFrame} (a 64 KiB message plus its envelope).");
        return problems;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem, if there is one.</summary>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new ArgumentException("Invalid StyleFarm cluster options:\n  " + string.Join("\n  ", problems));
    }

    private static bool IsLocalhostName(string host) =>
        host.Trim().TrimEnd('.').Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || host.Trim().EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    private static partial Regex SystemNamePattern();

    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex RolePattern();
}

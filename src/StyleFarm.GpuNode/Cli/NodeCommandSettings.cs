using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using StyleFarm.Cluster;
using StyleFarm.GpuNode.Blobs;
using StyleFarm.GpuNode.Node;

namespace StyleFarm.GpuNode.Cli;

public sealed class NodeCommandSettings : CommandSettings
{
    [CommandOption("--seed <ADDRESS>"), Description("The coordinator to join, e.g. akka.tcp://stylefarm@10.0.0.5:4053 (repeatable).")]
    public string[] Seeds { get; init; } = [];

    [CommandOption("--devices <LIST>"), Description("The devices to run, comma-separated: cpu, cuda:0, cuda:1… (default cpu).")]
    public string Devices { get; init; } = "cpu";

    [CommandOption("--host <HOST>"), Description("The address to bind (default 127.0.0.1; 0.0.0.0 needs --public-host).")]
    public string Host { get; init; } = StyleFarmClusterOptions.DefaultHost;

    [CommandOption("--port <PORT>"), Description("The port to bind (default 0: a free one).")]
    public int Port { get; init; }

    [CommandOption("--public-host <HOST>"), Description("The address the coordinator reaches this node by (default: --host).")]
    public string? PublicHost { get; init; }

    [CommandOption("--node-id <ID>"), Description("The node's id in the farm (default <hostname>-<pid>).")]
    public string? NodeId { get; init; }

    [CommandOption("--cache <DIR>"), Description("The node's blob cache (default $STYLEFARM_CACHE/node-blobs or ~/.cache/stylefarm/node-blobs).")]
    public string? Cache { get; init; }

    [CommandOption("--threads <N>"), Description("CPU threads for torch (default: all cores).")]
    public int Threads { get; init; }

    [CommandOption("--noop-engine"), Description("Finish every job at once with a constant image (the farm dispatch benchmark only).")]
    public bool NoOpEngine { get; init; }

    public StyleFarmClusterOptions ToClusterOptions() => new()
    {
        Host = Host,
        Port = Port,
        PublicHostname = PublicHost,
        SeedNodes = Seeds,
        Roles = [StyleFarmRoles.Gpu],
    };

    public GpuNodeSettings ToNodeSettings(Action<string>? report = null) => new()
    {
        NodeId = NodeId ?? $"{Environment.MachineName}-{Environment.ProcessId}",
        HostName = Environment.MachineName,
        Devices = Devices.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        BlobCacheFolder = Cache ?? NodeBlobCache.DefaultFolder(),
        Threads = Threads,
        UseNoOpEngine = NoOpEngine,
        Report = report,
    };

    public override ValidationResult Validate()
    {
        var problems = new List<string>();
        if (Seeds.Length == 0)
            problems.Add($"Give the coordinator to join with --seed, e.g. --seed {new StyleFarmClusterOptions().AddressOf(StyleFarmClusterOptions.DefaultHost, 4053)}.");
        problems.AddRange(ToClusterOptions().Problems());
        problems.AddRange(ToNodeSettings().Problems());
        return problems.Count == 0 ? ValidationResult.Success() : ValidationResult.Error(string.Join(Environment.NewLine, problems));
    }
}

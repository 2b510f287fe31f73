using System.ComponentModel;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;
using StyleFarm.Messages.Nodes;

namespace StyleFarm.Coordinator.Cli.Client;

public sealed class DrainSettings : ClientSettings
{
    [CommandArgument(0, "<NODE>"), Description("The node's id, as `stylefarm nodes` lists it.")]
    public string Node { get; init; } = "";

    [CommandOption("--now"), Description("Checkpoint running units and hand them back at once, rather than finish them.")]
    public bool Now { get; init; }
}

/// <summary>`stylefarm drain NODE [--now]`: the node stops taking work and leaves the farm.</summary>
public sealed class DrainCommand : ClientCommand<DrainSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, DrainSettings options, ClientConsole console, CancellationToken cancel)
    {
        NodeControlAck ack = await api.DrainAsync(options.Node, options.Now, cancel).ConfigureAwait(false);
        console.Out.WriteLine(options.Now
            ? $"draining node {ack.NodeId} now: its running units checkpoint and go back to the queue, then it leaves"
            : $"draining node {ack.NodeId}: it finishes its running units, takes no more and leaves");
        return 0;
    }
}

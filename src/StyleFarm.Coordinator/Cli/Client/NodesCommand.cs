using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using StyleFarm.Coordinator.Api;
using StyleFarm.Messages.Nodes;
using static StyleFarm.Coordinator.Cli.Client.StatusCommand;
using static StyleFarm.Coordinator.Cli.DisplayIds;

namespace StyleFarm.Coordinator.Cli.Client;

/// <summary>`stylefarm nodes`: every node and device the coordinator knows, with what each is running.</summary>
public sealed class NodesCommand : ClientCommand<ClientJsonSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, ClientJsonSettings options, ClientConsole console, CancellationToken cancel)
    {
        FarmNodes farm = await api.NodesAsync(cancel).ConfigureAwait(false);
        if (options.Json)
        {
            console.Out.WriteLine(JsonSerializer.Serialize(farm, ApiJson.Options));
            return 0;
        }
        if (farm.Nodes.Length == 0)
        {
            console.Out.WriteLine("no nodes have joined the farm yet");
            return 0;
        }
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("NODE", "STATE", "DEVICE", "DEVICE STATE", "UNIT", "SWEEP", "STEP", "STEPS/S", "JOBS DONE", "FAILURES", "FREE / TOTAL MEMORY");
        foreach (NodeView node in farm.Nodes)
        {
            if (node.Devices.Length == 0)
                table.AddRow(Cells(node.NodeId, node.State, "-", "-", "-", "-", "-", "-", "-", "-", "-"));
            foreach (DeviceView d in node.Devices)
                table.AddRow(Cells(node.NodeId, node.State, d.Device, d.State, d.UnitId is null ? "-" : Short(d.UnitId), d.SweepId ?? "-",
                    d.UnitId is null ? "-" : $"{I(d.Step)}/{I(d.MaxSteps)}", d.StepsPerSecond.ToString("F1", CultureInfo.InvariantCulture),
                    I(d.JobsDone), I(d.Failures), $"{Gib(d.FreeMemoryBytes)} / {Gib(d.TotalMemoryBytes)}"));
        }
        console.Tables.Write(table);
        return 0;
    }

    private static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("F1", CultureInfo.InvariantCulture) + " GiB";
}

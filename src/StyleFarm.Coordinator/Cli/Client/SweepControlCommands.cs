using System.ComponentModel;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Cli.Client;

public sealed class SweepIdSettings : ClientSettings
{
    [CommandArgument(0, "<ID>"), Description("The sweep's id, as `stylefarm submit` printed it and `stylefarm status` lists it.")]
    public string Id { get; init; } = "";
}

/// <summary>`stylefarm pause ID`: the sweep's running units checkpoint and come back; none is handed out until resumed.</summary>
public sealed class PauseCommand : ClientCommand<SweepIdSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, SweepIdSettings options, ClientConsole console, CancellationToken cancel)
    {
        SweepControlAck ack = await api.PauseAsync(options.Id, cancel).ConfigureAwait(false);
        console.Out.WriteLine($"paused sweep {ack.SweepId}; running units checkpoint and come back");
        return 0;
    }
}

/// <summary>`stylefarm resume ID`.</summary>
public sealed class ResumeCommand : ClientCommand<SweepIdSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, SweepIdSettings options, ClientConsole console, CancellationToken cancel)
    {
        SweepControlAck ack = await api.ResumeAsync(options.Id, cancel).ConfigureAwait(false);
        console.Out.WriteLine($"resumed sweep {ack.SweepId}");
        return 0;
    }
}

/// <summary>`stylefarm cancel ID`: every unfinished job of the sweep is cancelled; finished results stay.</summary>
public sealed class CancelCommand : ClientCommand<SweepIdSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, SweepIdSettings options, ClientConsole console, CancellationToken cancel)
    {
        SweepControlAck ack = await api.CancelAsync(options.Id, cancel).ConfigureAwait(false);
        console.Out.WriteLine($"cancelled sweep {ack.SweepId}; its finished results stay");
        return 0;
    }
}

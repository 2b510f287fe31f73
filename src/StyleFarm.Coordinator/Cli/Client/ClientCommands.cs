using Spectre.Console.Cli;

namespace StyleFarm.Coordinator.Cli.Client;

/// <summary>The verbs that talk to a running coordinator over its HTTP API.</summary>
public static class ClientCommands
{
    public static void AddTo(IConfigurator config)
    {
        config.AddCommand<SubmitCommand>("submit")
            .WithDescription("Submit a sweep to the farm: validates it, uploads its images, prints the sweep id.")
            .WithExample("submit", "sweep.yaml")
            .WithExample("submit", "sweep.yaml", "--api", "http://10.0.0.5:5080");
        config.AddCommand<StatusCommand>("status")
            .WithDescription("Show every sweep, or one sweep's jobs, running units and failures.")
            .WithExample("status")
            .WithExample("status", "3fa2c1d0e9ab", "--json");
        config.AddCommand<NodesCommand>("nodes")
            .WithDescription("Show the farm's nodes and devices and what each is running.");
        config.AddCommand<PauseCommand>("pause").WithDescription("Pause a sweep: its running units checkpoint and come back.");
        config.AddCommand<ResumeCommand>("resume").WithDescription("Resume a paused sweep.");
        config.AddCommand<CancelCommand>("cancel").WithDescription("Cancel a sweep's unfinished jobs.");
        config.AddCommand<DrainCommand>("drain")
            .WithDescription("Drain a node: it finishes (or with --now hands back) its units and leaves the farm.")
            .WithExample("drain", "node-a", "--now");
        config.AddCommand<ResultsCommand>("results")
            .WithDescription("Write a sweep's results (images, traces, results.json/csv) to a run folder.")
            .WithExample("results", "3fa2c1d0e9ab", "--out", "runs/demo");
    }
}

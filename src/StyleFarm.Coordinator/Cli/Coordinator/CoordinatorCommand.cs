using System.ComponentModel;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console.Cli;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Metrics;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Cli.Coordinator;

public sealed class CoordinatorSettings : CommandSettings
{
    [CommandOption("--port <PORT>"), Description("The cluster (Akka) port GPU nodes join (default 4053).")]
    public int Port { get; init; } = 4053;

    [CommandOption("--host <ADDRESS>"), Description("The address to bind the cluster port to (default 127.0.0.1; 0.0.0.0 needs --public-host).")]
    public string Host { get; init; } = StyleFarmClusterOptions.DefaultHost;

    [CommandOption("--public-host <ADDRESS>"), Description("The address GPU nodes reach this machine by (default: --host).")]
    public string? PublicHost { get; init; }

    [CommandOption("--http <HOST:PORT>"), Description("Where the HTTP API listens (default 127.0.0.1:5080).")]
    public string Http { get; init; } = "127.0.0.1:5080";

    [CommandOption("--api-token <TOKEN>"), Description("The token the HTTP API's mutating requests need (default: $" + StyleFarm.Coordinator.Api.ApiToken.Variable + "); required unless --http is a loopback address.")]
    public string? ApiToken { get; init; }

    [CommandOption("--data <FOLDER>"), Description("The store: farm.db (SQLite) and blobs/ (default ./farm-data).")]
    public string Data { get; init; } = "farm-data";

    [CommandOption("--checkpoint-every <STEPS>"), Description("Devices send a checkpoint every this many steps (default 50; 0: only on drain).")]
    public int CheckpointEvery { get; init; } = SweepManagerSettings.Default.CheckpointEverySteps;

    public override Spectre.Console.ValidationResult Validate()
    {
        if (CheckpointEvery < 0)
            return Spectre.Console.ValidationResult.Error($"--checkpoint-every {CheckpointEvery}: give 0 or a positive number of steps");
        if (!HttpAddress.TryParse(Http, out _, out string? problem))
            return Spectre.Console.ValidationResult.Error($"--http {Http}: {problem}");
        return Spectre.Console.ValidationResult.Success();
    }
}

/// <summary>
/// `stylefarm coordinator`: the farm's coordinator process, the composition root of the distributed farm. It owns
/// the store in --data, runs the SweepManager singleton on the cluster port, and serves the HTTP API.
/// </summary>
public sealed class CoordinatorCommand : AsyncCommand<CoordinatorSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, CoordinatorSettings options, CancellationToken cancellationToken)
    {
        var cluster = new StyleFarmClusterOptions
        {
            Host = options.Host,
            PublicHostname = options.PublicHost,
            Port = options.Port,
            Roles = [StyleFarmRoles.Coordinator],
        };
        if (cluster.Problems() is { Count: > 0 } problems)
        {
            foreach (string problem in problems) Console.Error.WriteLine($"stylefarm coordinator: {problem}");
            return StyleFarmCli.BadInput;
        }
        HttpAddress.TryParse(options.Http, out var http, out _); // Validate() has checked it
        var web = new StyleFarmWebOptions { Endpoint = http, ApiToken = StyleFarm.Coordinator.Api.ApiToken.Resolve(options.ApiToken) };
        if (web.Problem() is { } unsafeBind)
        {
            Console.Error.WriteLine($"stylefarm coordinator: {unsafeBind}");
            return StyleFarmCli.BadInput;
        }

        FarmStore store;
        try
        {
            store = new FarmStore(options.Data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StoreVersionException)
        {
            Console.Error.WriteLine($"stylefarm coordinator: {e.Message}");
            return StyleFarmCli.BadInput;
        }

        using (store)
        {
            var blobs = new BlobStore(options.Data);
            var settings = SweepManagerSettings.Default with { CheckpointEverySteps = options.CheckpointEvery };
            WebApplication app = Build(web, cluster, store, blobs, settings);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"stylefarm coordinator: cannot listen on {options.Http}: {e.Message}");
                return StyleFarmCli.BadInput;
            }
            Console.WriteLine($"stylefarm coordinator ready: cluster {cluster.AddressOf(cluster.AdvertisedHost, options.Port)}, " +
                              $"API http://{options.Http}{StyleFarmApi.Prefix}, data {Path.GetFullPath(options.Data)}");
            Console.WriteLine($"dashboard {StyleFarmWebHost.DashboardLink(StyleFarmWebHost.BoundAddress(app), web.ApiToken)}");
            await app.WaitForShutdownAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
        return 0;
    }

    private static WebApplication Build(StyleFarmWebOptions web, StyleFarmClusterOptions cluster, FarmStore store,
        BlobStore blobs, SweepManagerSettings settings)
    {
        var metrics = new FarmMetrics(); // fed by the Dashboard, served at /metrics
        WebApplicationBuilder builder = StyleFarmWebHost.CreateBuilder(web, store, blobs, metrics);
        builder.Services.AddStyleFarmAkka(cluster, (akka, _) =>
        {
            // The singleton lives in this process; the proxy's "not found yet" warning at startup is noise here.
            akka.AddHocon("""
                akka.loglevel = WARNING
                akka.cluster.log-info = off
                akka.cluster.singleton-proxy.log-singleton-identification-failure = off
                """, HoconAddMode.Prepend);
            akka.AddStyleFarmCoordinator(store, blobs, settings);
            akka.AddStyleFarmDashboard(store, metrics);
            akka.WithActors((system, _) => system.ActorOf(FarmEventLog.Props(Console.Out), "event-log"));
        });
        return builder.Build().MapStyleFarmWeb();
    }
}

using Spectre.Console;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Cli.Bench;
using StyleFarm.Coordinator.Cli.Render;
using StyleFarm.Coordinator.Cli.Sweeps;

namespace StyleFarm.Coordinator.Cli;

public static class StyleFarmCli
{
    /// <summary>Exit codes: 0 done, 1 failed while running, 2 bad input, 130 interrupted.</summary>
    public const int Failed = 1, BadInput = 2, Interrupted = 130;

    public static CommandApp Build()
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("stylefarm");
            config.AddCommand<RenderCommand>("render")
                .WithDescription("Render one style transfer: a content image in the style of another.")
                .WithExample("render", "--demo", "--out", "demo.png")
                .WithExample("render", "--content", "photo.jpg", "--style", "painting.jpg", "--out", "out.png", "--steps", "300");
            config.AddCommand<ValidateCommand>("validate")
                .WithDescription("Check a sweep file and show its jobs and work units, running nothing.")
                .WithExample("validate", "sweep.yaml");
            config.AddCommand<Run.RunCommand>("run")
                .WithDescription("Run a sweep on this machine (a one-process farm) and write runs/<name>/.")
                .WithExample("run", "--demo")
                .WithExample("run", "sweep.yaml", "--devices", "cpu,cpu");
            config.AddCommand<Coordinator.CoordinatorCommand>("coordinator")
                .WithDescription("Run the farm's coordinator: the sweep queue, the store and the HTTP API.")
                .WithExample("coordinator", "--port", "4053", "--http", "127.0.0.1:5080", "--data", "./farm-data");
            Client.ClientCommands.AddTo(config);
            config.AddCommand<Watch.WatchCommand>("watch") // Cli/Watch: the live view of a sweep
                .WithDescription("Watch a sweep live: progress, running units, nodes; exits when it ends (0 done, 1 failed or cancelled).")
                .WithExample("watch", "3fa2c1d0e9ab");
            config.AddBranch("bench", bench =>
            {
                bench.SetDescription("Benchmarks that print figures.");
                bench.AddCommand<BenchEngineCommand>("engine")
                    .WithDescription("Matmul rate, Adam step rate of each network, and fused against one-by-one runs.");
                bench.AddCommand<BenchFarmCommand>("farm")
                    .WithDescription("Farm dispatch rate (no-op engine, in one process and across processes), and the farm's overhead on a real sweep.");
            });
            config.SetExceptionHandler((exception, _) =>
            {
                Console.Error.WriteLine($"stylefarm: {UserMessage(exception)}");
                return exception is CommandAppException ? BadInput : Failed;
            });
        });
        return app;
    }

    private static string UserMessage(Exception exception) => exception switch
    {
        CommandRuntimeException { InnerException: { } inner } => inner.Message,
        _ => exception.Message,
    };
}

using Spectre.Console.Cli;
using StyleFarm.Engine;
using StyleFarm.Engine.Devices;

namespace StyleFarm.GpuNode.Cli;

/// <summary>`stylefarm-node`: join the farm and run units on this machine's devices until drained or stopped.</summary>
public sealed class NodeCommand : AsyncCommand<NodeCommandSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, NodeCommandSettings options, CancellationToken cancellationToken)
    {
        var node = options.ToNodeSettings(Console.WriteLine);
        if (!node.UseNoOpEngine)
        {
            try
            {
                // A CUDA device that is not there is bad input, said before joining rather than as failed units.
                foreach (var device in node.Devices)
                    ComputeDevice.Resolve(device);
            }
            catch (EngineException e)
            {
                await Console.Error.WriteLineAsync($"stylefarm-node: {e.Message}");
                return NodeCli.BadInput;
            }
        }
        return await NodeProcess.RunAsync(options.ToClusterOptions(), node, Console.WriteLine);
    }
}

public static class NodeCli
{
    /// <summary>Exit codes: 0 drained or stopped, 1 refused or failed, 2 bad input.</summary>
    public const int Failed = 1, BadInput = 2;

    public static CommandApp<NodeCommand> Build()
    {
        var app = new CommandApp<NodeCommand>();
        app.WithDescription("A StyleFarm GPU node: joins the coordinator and runs work units on this machine's devices.");
        app.Configure(config =>
        {
            config.SetApplicationName("stylefarm-node");
            config.AddExample("--seed", "akka.tcp://stylefarm@127.0.0.1:4053");
            config.AddExample("--seed", "akka.tcp://stylefarm@10.0.0.5:4053", "--devices", "cuda:0,cuda:1", "--host", "0.0.0.0", "--public-host", "10.0.0.7");
            config.SetExceptionHandler((exception, _) =>
            {
                var message = exception is CommandRuntimeException { InnerException: { } inner } ? inner.Message : exception.Message;
                Console.Error.WriteLine($"stylefarm-node: {message}");
                return exception is CommandAppException ? BadInput : Failed;
            });
        });
        return app;
    }
}

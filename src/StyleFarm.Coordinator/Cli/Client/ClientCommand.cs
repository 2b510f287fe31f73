using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;

namespace StyleFarm.Coordinator.Cli.Client;

/// <summary>What every client verb takes: where the coordinator is.</summary>
public class ClientSettings : CommandSettings
{
    [CommandOption("--api <URL>")]
    [Description("The coordinator's address (default: $STYLEFARM_API, else " + StyleFarmApiClient.DefaultAddress + ").")]
    public string? Api { get; init; }

    [CommandOption("--api-token <TOKEN>")]
    [Description("The coordinator's API token, needed for changes when it has one (default: $" + StyleFarm.Coordinator.Api.ApiToken.Variable + ").")]
    public string? ApiToken { get; init; }
}

/// <summary>Client verbs that can print for scripts.</summary>
public class ClientJsonSettings : ClientSettings
{
    [CommandOption("--json")]
    [Description("Print JSON (the API's own) instead of tables.")]
    public bool Json { get; init; }
}

/// <summary>
/// Where a client verb writes: results on <see cref="Out"/> (tables through <see cref="Tables"/>), messages on
/// <see cref="Error"/>. Tests pass writers of their own.
/// </summary>
public sealed class ClientConsole(TextWriter output, TextWriter error, IAnsiConsole tables)
{
    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    public IAnsiConsole Tables { get; } = tables;

    /// <summary>Tables written to a pipe or a file are this wide, rather than squeezed into 80 columns.</summary>
    public const int RedirectedWidth = 240;

    public static ClientConsole Standard()
    {
        IAnsiConsole tables = AnsiConsole.Console;
        if (Console.IsOutputRedirected) tables.Profile.Width = RedirectedWidth;
        return new ClientConsole(Console.Out, Console.Error, tables);
    }

    /// <summary>A console writing plain text (no colours, no terminal codes) to the given writers.</summary>
    public static ClientConsole Plain(TextWriter output, TextWriter error)
    {
        IAnsiConsole tables = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        tables.Profile.Width = RedirectedWidth;
        return new ClientConsole(output, error, tables);
    }
}

/// <summary>
/// A verb that talks to the coordinator's HTTP API: resolves --api, maps failures to one message and the CLI's exit
/// codes (2 for what the user got wrong, 1 when the farm failed or was unreachable, 130 on Ctrl+C).
/// </summary>
public abstract class ClientCommand<TSettings> : AsyncCommand<TSettings> where TSettings : ClientSettings
{
    public sealed override async Task<int> ExecuteAsync(CommandContext context, TSettings settings, CancellationToken cancellationToken)
    {
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; interrupt.Cancel(); };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            return await RunAsync(settings, ClientConsole.Standard(), interrupt.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }

    /// <summary>Runs the verb against <paramref name="console"/>; returns the exit code.</summary>
    public async Task<int> RunAsync(TSettings settings, ClientConsole console, CancellationToken cancellationToken)
    {
        Uri address;
        try
        {
            address = StyleFarmApiClient.ResolveAddress(settings.Api);
        }
        catch (ArgumentException e)
        {
            console.Error.WriteLine($"stylefarm: {e.Message}");
            return StyleFarmCli.BadInput;
        }

        using var api = new StyleFarmApiClient(address) { ApiToken = StyleFarm.Coordinator.Api.ApiToken.Resolve(settings.ApiToken) };
        try
        {
            return await RunAsync(api, settings, console, cancellationToken).ConfigureAwait(false);
        }
        catch (StyleFarmApiException e)
        {
            console.Error.WriteLine($"stylefarm: {e.Message}");
            foreach (ApiError error in e.Errors)
                console.Error.WriteLine(error.Field.Length > 0 ? $"  {error.Field}: {error.Message}" : $"  {error.Message}");
            return e.IsBadRequest ? StyleFarmCli.BadInput : StyleFarmCli.Failed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.Error.WriteLine("stylefarm: interrupted");
            return StyleFarmCli.Interrupted;
        }
    }

    protected abstract Task<int> RunAsync(StyleFarmApiClient api, TSettings settings, ClientConsole console, CancellationToken cancellationToken);
}

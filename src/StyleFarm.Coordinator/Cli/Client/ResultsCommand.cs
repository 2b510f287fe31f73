using System.ComponentModel;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Results;

namespace StyleFarm.Coordinator.Cli.Client;

public sealed class ResultsSettings : ClientSettings
{
    [CommandArgument(0, "<ID>"), Description("The sweep's id.")]
    public string Id { get; init; } = "";

    [CommandOption("--out <DIR>"), Description("The run folder to write (default: runs/<sweep name>, or runs/<sweep name>-<id> when another sweep of that name wrote there). A folder holding another sweep's results is refused.")]
    public string? Out { get; init; }
}

/// <summary>
/// `stylefarm results ID --out DIR`: fetches a sweep's results and writes its run folder (images, snapshots, traces,
/// results.json/csv, the sweep file). Running it again fetches only what changed, so it also follows a running sweep.
/// </summary>
public sealed class ResultsCommand : ClientCommand<ResultsSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, ResultsSettings options, ClientConsole console, CancellationToken cancel)
    {
        SweepResults results = await api.GetResultsAsync(options.Id, cancel).ConfigureAwait(false);
        string folder = options.Out ?? RunFolderWriter.FolderFor(results);
        RunFolderSummary written;
        try
        {
            written = await RunFolderWriter.WriteAsync(results, api.DownloadBlobAsync, folder, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BlobMismatchException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            console.Error.WriteLine($"stylefarm: cannot write the results of sweep {options.Id} to {folder}: {e.Message}");
            return StyleFarmCli.Failed;
        }
        foreach (string problem in written.ReportProblems)
            console.Error.WriteLine($"stylefarm: report: {problem}");

        console.Out.WriteLine(written.Directory);
        foreach (string line in RunSummary.Lines(results, folder)) console.Error.WriteLine(line);
        console.Error.WriteLine($"{written.FilesWritten.Count} files written, {written.FilesUnchanged} already up to date");
        return 0;
    }
}

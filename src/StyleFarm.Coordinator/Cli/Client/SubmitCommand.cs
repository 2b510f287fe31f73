using System.ComponentModel;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Sweeps;

namespace StyleFarm.Coordinator.Cli.Client;

public sealed class SubmitSettings : ClientSettings
{
    [CommandArgument(0, "<SWEEP>"), Description("The sweep file (YAML or JSON); its images are uploaded with it.")]
    public string Sweep { get; init; } = "";
}

/// <summary>
/// `stylefarm submit sweep.yaml`: validates the sweep here (every error with its line, as `validate` prints them),
/// uploads the files the coordinator lacks and submits the jobs. Prints the sweep id on stdout (for scripts) and a
/// summary on stderr. An invalid sweep uploads nothing.
/// </summary>
public sealed class SubmitCommand : ClientCommand<SubmitSettings>
{
    protected override async Task<int> RunAsync(StyleFarmApiClient api, SubmitSettings options, ClientConsole console, CancellationToken cancel)
    {
        if (!File.Exists(options.Sweep))
        {
            console.Error.WriteLine($"stylefarm: {options.Sweep}: no such file");
            return StyleFarmCli.BadInput;
        }
        SweepFileSubmission submission;
        try
        {
            submission = SweepFileSubmission.Load(options.Sweep);
        }
        catch (SweepValidationException e)
        {
            foreach (string error in e.FormattedErrors) console.Error.WriteLine(error);
            console.Error.WriteLine($"stylefarm: {options.Sweep}: {e.Errors.Count} error(s); nothing was submitted");
            return StyleFarmCli.BadInput;
        }

        ExpandedSweep sweep = submission.Sweep;
        int sent = 0;
        SubmitSweepResponse submitted = await api.SubmitSweepAsync(sweep, submission.FileName, submission.FileText,
            (_, uploaded) => sent += uploaded ? 1 : 0, cancel).ConfigureAwait(false);

        console.Out.WriteLine(submitted.Id);
        string reused = submitted.ReusedJobs > 0 ? $", {submitted.ReusedJobs} already done" : "";
        console.Error.WriteLine($"submitted sweep \"{submitted.Name}\" to {api.Address} as {submitted.Id}: {submitted.Jobs} jobs{reused} " +
                                $"in {submitted.Units} work units, {sent} of {sweep.Images.Count} files uploaded; `stylefarm status {submitted.Id}` follows it");
        if (submitted.Warning is not null) console.Error.WriteLine($"stylefarm: warning: {submitted.Warning}");
        return 0;
    }
}

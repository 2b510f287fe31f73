using System.ComponentModel;
using System.Globalization;
using Spectre.Console.Cli;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Messages.Work;
using static StyleFarm.Coordinator.Cli.DisplayIds;

namespace StyleFarm.Coordinator.Cli.Sweeps;

public sealed class ValidateSettings : CommandSettings
{
    [CommandArgument(0, "<SWEEP>"), Description("The sweep file (YAML or JSON).")]
    public string Sweep { get; init; } = "";

    [CommandOption("--device-memory <GIB>"), Description("Free memory of a device, to size the batches (default: this machine's available memory).")]
    public double? DeviceMemoryGib { get; init; }
}

/// <summary>`stylefarm validate`: checks a sweep file and shows the jobs and work units it would run, running nothing.</summary>
public sealed class ValidateCommand : Command<ValidateSettings>
{
    public override int Execute(CommandContext context, ValidateSettings options, CancellationToken cancellationToken)
    {
        if (!File.Exists(options.Sweep))
        {
            Console.Error.WriteLine($"stylefarm: {options.Sweep}: no such file");
            return StyleFarmCli.BadInput;
        }
        ExpandedSweep sweep;
        try
        {
            sweep = SweepLoader.Load(options.Sweep);
        }
        catch (SweepValidationException e)
        {
            foreach (string error in e.FormattedErrors) Console.Error.WriteLine(error);
            Console.Error.WriteLine($"stylefarm: {options.Sweep}: {e.Errors.Count} error(s); nothing was run");
            return StyleFarmCli.BadInput;
        }

        long deviceBytes = options.DeviceMemoryGib is { } gib
            ? (long)(gib * (1L << 30))
            : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var planner = new FusionPlanner();
        IReadOnlyList<WorkUnit> units = planner.Plan("validate", sweep.Priority, sweep.Jobs.Select(j => j.Settings), deviceBytes);
        PlanSummary plan = PlanSummary.Of(units, planner);

        Console.WriteLine(F($"{options.Sweep}: sweep \"{sweep.Name}\" is valid"));
        Console.WriteLine(F($"  {plan.JobCount} jobs in {plan.UnitCount} work units (priority {sweep.Priority}, {sweep.Retries} retries, max_jobs {sweep.MaxJobs})"));
        Console.WriteLine(F($"  {plan.FusedImageSteps} image-steps fused against {plan.OneByOneImageSteps} one by one ({plan.Speedup:F2}× fewer)"));
        Console.WriteLine(F($"  batches sized for {deviceBytes / (double)(1L << 30):F1} GiB per device; largest {plan.LargestBatch} variants, peak {plan.PeakBytes / (double)(1L << 20):F0} MiB"));
        foreach (UnitSummary unit in plan.Units)
            Console.WriteLine(F($"  unit {Short(unit.UnitId)}: {unit.Variants} variants, {unit.Jobs} jobs, {unit.MaxSteps} steps, ~{unit.EstimatedBytes / (double)(1L << 20):F0} MiB"));
        return 0;
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using StyleFarm.Engine.Runs;

namespace StyleFarm.Coordinator.Cli.Render;

/// <summary>Shows a render's progress: a live bar with the losses on a terminal, plain lines otherwise.</summary>
public abstract class RenderProgress : IDisposable
{
    protected RenderProgress(int maxSteps, IReadOnlyList<string> styleLayers)
    {
        MaxSteps = maxSteps;
        StyleLayers = styleLayers;
    }

    protected int MaxSteps { get; }
    protected IReadOnlyList<string> StyleLayers { get; }

    public static RenderProgress ForConsole(int maxSteps, IReadOnlyList<string> styleLayers) =>
        AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected
            ? new BarProgress(maxSteps, styleLayers)
            : new LineProgress(Console.Out, maxSteps, styleLayers);

    /// <summary>Runs the work while the progress is shown.</summary>
    public abstract T Run<T>(Func<T> work);

    public abstract void Report(StepProgress progress);

    public virtual void Dispose() { }

    protected static string Losses(LossRow row) => string.Create(CultureInfo.InvariantCulture,
        $"loss {row.Total:G4} (content {row.Content:G3}, style {row.Style.Sum():G3}, tv {row.Tv:G3})");
}

/// <summary>Spectre.Console's live progress bar, for terminals.</summary>
internal sealed class BarProgress(int maxSteps, IReadOnlyList<string> styleLayers) : RenderProgress(maxSteps, styleLayers)
{
    private ProgressTask? _task;

    public override T Run<T>(Func<T> work) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                _task = context.AddTask("starting", maxValue: MaxSteps);
                T result = work();
                _task.Value = MaxSteps;
                return result;
            });

    public override void Report(StepProgress progress)
    {
        if (_task is null) return;
        _task.Value = progress.Step;
        _task.Description = Markup.Escape($"step {progress.Step}/{MaxSteps}  {Losses(progress.Variants[0].Losses)}");
    }
}

/// <summary>Plain progress lines for logs and pipes: about twenty per run, and at least one every ten seconds.</summary>
public sealed class LineProgress(TextWriter writer, int maxSteps, IReadOnlyList<string> styleLayers) : RenderProgress(maxSteps, styleLayers)
{
    private readonly Stopwatch _sinceLastLine = Stopwatch.StartNew();
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private readonly int _every = Math.Max(1, maxSteps / 20);

    public override T Run<T>(Func<T> work) => work();

    public override void Report(StepProgress progress)
    {
        bool due = progress.Step % _every == 0 || progress.Step == MaxSteps || progress.Step == 1 || _sinceLastLine.Elapsed.TotalSeconds >= 10;
        if (!due) return;
        _sinceLastLine.Restart();
        double perStep = _total.Elapsed.TotalSeconds / progress.Step;
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step {progress.Step}/{MaxSteps}  {Losses(progress.Variants[0].Losses)}  {perStep:F3} s/step"));
        writer.Flush();
    }
}

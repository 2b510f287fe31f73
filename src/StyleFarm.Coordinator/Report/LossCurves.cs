using System.Globalization;
using ScottPlot;
using SkiaSharp;
using StyleFarm.Coordinator.Results;
using StyleFarm.Engine.Runs;

namespace StyleFarm.Coordinator.Report;

/// <summary>A done job and its loss trace.</summary>
public sealed record TracedJob(SweepResultRow Job, LossTrace Trace)
{
    /// <summary>The job's final total loss: what the store recorded, else the trace's last row; NaN when neither.</summary>
    public double FinalTotal => Job.FinalLosses?.Total ?? Trace.Last?.Total ?? double.NaN;
}

/// <summary>A tick on a log axis: its position (log10 of the value) and its label; minor ticks have no label.</summary>
public sealed record LogTick(double Position, string? Label);

/// <summary>
/// <c>loss-curves.png</c>, drawn with ScottPlot: on top every job's total loss against step (log y), below it one
/// panel per best job (lowest final total, <see cref="BestJobs"/>) with its style loss per layer. Losses that are
/// not positive and finite (a diverged run) cannot sit on a log axis and are left out of the lines.
/// </summary>
public static class LossCurves
{
    public const int Width = 1200;
    public const int TotalPanelHeight = 560;
    public const int StylePanelHeight = 340;

    /// <summary>How many of the best jobs get a per-layer panel.</summary>
    public const int BestCount = 3;

    /// <summary>Past this many jobs the top panel's legend would hide the plot, so it is left out.</summary>
    public const int MaxLegendEntries = 24;

    /// <summary>The picture's size: the top panel, and the style row below it when any job is shown there.</summary>
    public static (int Width, int Height) SizeOf(int bestJobs) =>
        (Width, TotalPanelHeight + (bestJobs > 0 ? StylePanelHeight : 0));

    /// <summary>Up to <paramref name="count"/> jobs with the lowest finite final total loss, lowest first; ties by job number.</summary>
    public static IReadOnlyList<TracedJob> BestJobs(IEnumerable<TracedJob> jobs, int count = BestCount) =>
        jobs.Where(j => double.IsFinite(j.FinalTotal) && j.Trace.Rows.Count > 0)
            .OrderBy(j => j.FinalTotal).ThenBy(j => j.Job.Index).Take(count).ToArray();

    /// <summary>
    /// Ticks for a log axis over log10 values <paramref name="low"/>..<paramref name="high"/>: a labelled tick per
    /// power of ten when the range spans two or more; when it is narrower, also at 2× and 5×, so that it always
    /// has labels. Minor ticks at the other multiples.
    /// </summary>
    public static IReadOnlyList<LogTick> LogTicks(double low, double high)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high) || high < low) return [];
        bool wide = Math.Floor(high) - Math.Ceiling(low) >= 1;
        var ticks = new List<LogTick>();
        for (int exponent = (int)Math.Floor(low); exponent <= (int)Math.Ceiling(high); exponent++)
        {
            for (int multiple = 1; multiple <= 9; multiple++)
            {
                double position = exponent + Math.Log10(multiple);
                if (position < low - 1e-9 || position > high + 1e-9) continue;
                bool major = multiple == 1 || (!wide && multiple is 2 or 5);
                ticks.Add(new LogTick(position, major ? TickLabel(multiple, exponent) : null));
            }
        }
        return ticks;
    }

    /// <summary>"0.5", "20", "1000", "2e4", "1e-4": plain while short, else in powers of ten.</summary>
    public static string TickLabel(int multiple, int exponent) =>
        exponent is >= -2 and <= 3
            ? (multiple * Math.Pow(10, exponent)).ToString("0.##", CultureInfo.InvariantCulture)
            : $"{multiple}e{exponent.ToString(CultureInfo.InvariantCulture)}";

    public static byte[] Render(IReadOnlyList<TracedJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        IReadOnlyList<TracedJob> best = BestJobs(jobs);
        var (width, height) = SizeOf(best.Count);
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not make a {width}×{height} surface");
        surface.Canvas.Clear(SKColors.White);
        using var titleFont = new SKFont(ReportImages.Typeface, PanelTitleSize) { Embolden = true };

        Plot total = NewPlot(jobs.Count == 0 ? "Total loss (no traces)" : "Total loss, every job", "loss", 14);
        var range = new LogRange();
        foreach (TracedJob job in jobs)
            AddLine(total, range, job.Trace.Rows.Select(r => (r.Step, r.Total)), ReportText.JobName(job.Job));
        if (jobs.Count <= MaxLegendEntries && jobs.Count > 0) total.ShowLegend(Edge.Right);
        UseLogTicks(total, range);
        DrawInto(surface.Canvas, total, 0, 0, width, TotalPanelHeight);

        for (int i = 0; i < best.Count; i++)
        {
            TracedJob job = best[i];
            int left = i * width / best.Count, right = (i + 1) * width / best.Count;
            string title = ReportText.Fit($"Best {i + 1}: {ReportText.JobName(job.Job)}, total {ReportText.Number(job.FinalTotal)}",
                right - left - 20, t => titleFont.MeasureText(t));
            Plot style = NewPlot(title, "style loss", PanelTitleSize);
            var styleRange = new LogRange();
            for (int layer = 0; layer < job.Trace.StyleLayers.Count; layer++)
            {
                int l = layer;
                AddLine(style, styleRange, job.Trace.Rows.Where(r => l < r.Style.Count).Select(r => (r.Step, r.Style[l])), job.Trace.StyleLayers[l]);
            }
            style.ShowLegend(Alignment.UpperRight);
            UseLogTicks(style, styleRange);
            DrawInto(surface.Canvas, style, left, TotalPanelHeight, right - left, StylePanelHeight);
        }
        return ReportImages.EncodePng(surface);
    }

    private const float PanelTitleSize = 12;

    private static Plot NewPlot(string title, string yLabel, float titleSize)
    {
        var plot = new Plot();
        // Without any font on the machine the family is empty; ScottPlot then keeps its own default.
        if (!string.IsNullOrEmpty(ReportImages.Typeface.FamilyName)) plot.Font.Set(ReportImages.Typeface.FamilyName);
        plot.Title(title, size: titleSize);
        plot.XLabel("step", size: 12);
        plot.YLabel($"{yLabel} (log scale)", size: 12);
        return plot;
    }

    /// <summary>The points with a positive finite value, as (step, log10 value).</summary>
    private static void AddLine(Plot plot, LogRange range, IEnumerable<(int Step, double Value)> points, string legend)
    {
        var kept = points.Where(p => double.IsFinite(p.Value) && p.Value > 0).ToArray();
        if (kept.Length == 0) return;
        double[] logs = kept.Select(p => Math.Log10(p.Value)).ToArray();
        range.Include(logs.Min());
        range.Include(logs.Max());
        var line = plot.Add.ScatterLine(kept.Select(p => (double)p.Step).ToArray(), logs);
        line.LegendText = legend;
        line.LineWidth = 1.5f;
    }

    /// <summary>The log10 values a panel plots, for its ticks and limits.</summary>
    private sealed class LogRange
    {
        public double Low { get; private set; } = double.PositiveInfinity;
        public double High { get; private set; } = double.NegativeInfinity;

        public void Include(double value)
        {
            Low = Math.Min(Low, value);
            High = Math.Max(High, value);
        }
    }

    private static void UseLogTicks(Plot plot, LogRange range)
    {
        if (!double.IsFinite(range.Low) || !double.IsFinite(range.High)) return;
        double low = range.Low, high = range.High;
        // A little room above and below; a flat line gets a decade around it.
        double pad = high - low > 1e-9 ? (high - low) * 0.05 : 0.5;
        low -= pad;
        high += pad;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (LogTick tick in LogTicks(low, high))
        {
            if (tick.Label is null) ticks.AddMinor(tick.Position);
            else ticks.AddMajor(tick.Position, tick.Label);
        }
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.SetLimitsY(low, high);
    }

    /// <summary>Each plot on its own surface: ScottPlot clears the whole canvas it is given.</summary>
    private static void DrawInto(SKCanvas canvas, Plot plot, int x, int y, int width, int height)
    {
        using var panel = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not make a {width}×{height} surface");
        plot.Render(panel);
        using SKImage image = panel.Snapshot();
        canvas.DrawImage(image, x, y);
    }
}

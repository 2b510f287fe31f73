using System.Text;
using SkiaSharp;
using StyleFarm.Coordinator.Report;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StyleFarm.Engine.Runs;
using static StyleFarm.Coordinator.Tests.Report.ReportFixtures;

namespace StyleFarm.Coordinator.Tests.Report;

public sealed class LossCurvesTests
{
    private readonly ReportFixtures _fixtures = new();

    [Fact]
    public void The_best_jobs_are_the_lowest_finite_final_totals_ties_by_job_number()
    {
        TracedJob[] jobs =
        [
            Traced(1, 5), Traced(2, double.NaN), Traced(3, 0.5), Traced(4, 2), Traced(5, 0.5), Traced(6, double.PositiveInfinity),
        ];

        Assert.Equal([3, 5, 4], LossCurves.BestJobs(jobs).Select(j => j.Job.Index));
        Assert.Equal([3], LossCurves.BestJobs(jobs, 1).Select(j => j.Job.Index));
        Assert.Empty(LossCurves.BestJobs([Traced(1, double.NaN)]));
    }

    [Fact]
    public void Log_ticks_label_each_power_of_ten_over_a_wide_range_and_two_and_five_over_a_narrow_one()
    {
        var wide = LossCurves.LogTicks(Math.Log10(3), Math.Log10(2e5));
        Assert.Equal(["10", "100", "1000", "1e4", "1e5"], wide.Where(t => t.Label is not null).Select(t => t.Label));
        Assert.Contains(wide, t => t.Label is null && Math.Abs(t.Position - Math.Log10(5)) < 1e-9);

        var narrow = LossCurves.LogTicks(Math.Log10(1.5), Math.Log10(9.5));
        Assert.Equal(["2", "5"], narrow.Where(t => t.Label is not null).Select(t => t.Label));

        Assert.Equal("0.05", LossCurves.TickLabel(5, -2));
        Assert.Equal("2e-3", LossCurves.TickLabel(2, -3));
        Assert.Empty(LossCurves.LogTicks(double.NaN, 1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(5)]
    public void The_picture_is_a_png_of_the_expected_size(int doneJobs)
    {
        TracedJob[] jobs = Enumerable.Range(1, doneJobs).Select(i => Traced(i, i * 1.5, steps: 50)).ToArray();

        byte[] png = LossCurves.Render(jobs);

        using SKCodec codec = SKCodec.Create(new SKMemoryStream(png));
        Assert.Equal(SKEncodedImageFormat.Png, codec.EncodedFormat);
        var (width, height) = LossCurves.SizeOf(Math.Min(doneJobs, LossCurves.BestCount));
        Assert.Equal((width, height), (codec.Info.Width, codec.Info.Height));
        Assert.Equal(doneJobs == 0 ? LossCurves.TotalPanelHeight : LossCurves.TotalPanelHeight + LossCurves.StylePanelHeight, height);
        using SKBitmap bitmap = SKBitmap.Decode(png);
        // Lines were drawn: the plot holds colour, not only black, white and greys.
        Assert.Equal(doneJobs > 0, Coloured(bitmap, 0, LossCurves.TotalPanelHeight) > 100);
        if (doneJobs > 0) Assert.True(Coloured(bitmap, LossCurves.TotalPanelHeight, height) > 100, "no style loss lines");
    }

    [Fact]
    public void Diverged_and_zero_losses_are_left_out_rather_than_breaking_the_log_axis()
    {
        var trace = new LossTrace(["l1"]);
        trace.Add(new LossRow(0, 10, 1, [5], 0));
        trace.Add(new LossRow(1, double.NaN, double.NaN, [double.PositiveInfinity], 0));
        trace.Add(new LossRow(2, 0, 0, [0], 0));
        SweepResultRow job = _fixtures.Job(1, Swept(("steps", 3)), JobState.Done);

        byte[] png = LossCurves.Render([new TracedJob(job with { FinalLosses = null }, trace)]);

        using SKBitmap bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
    }

    private TracedJob Traced(int index, double finalTotal, int steps = 2)
    {
        SweepResultRow job = _fixtures.Job(index, Swept(("style_weight", index)), JobState.Done, double.IsFinite(finalTotal) ? finalTotal : 1,
            steps: steps);
        job = job with { FinalLosses = job.FinalLosses! with { Total = finalTotal } };
        string csv = Encoding.UTF8.GetString(_fixtures.Blobs[job.TraceBlob!]);
        return new TracedJob(job, LossTrace.FromCsv(csv));
    }

    private static int Coloured(SKBitmap bitmap, int top, int bottom)
    {
        int coloured = 0;
        for (int y = top; y < bottom; y += 2)
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                SKColor c = bitmap.GetPixel(x, y);
                if (Math.Max(c.Red, Math.Max(c.Green, c.Blue)) - Math.Min(c.Red, Math.Min(c.Green, c.Blue)) > 60) coloured++;
            }
        return coloured;
    }
}

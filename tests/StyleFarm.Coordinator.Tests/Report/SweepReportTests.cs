using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using SkiaSharp;
using StyleFarm.Coordinator.Report;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Tests.Results;
using Xunit.Abstractions;
using static StyleFarm.Coordinator.Tests.Report.ReportFixtures;

namespace StyleFarm.Coordinator.Tests.Report;

public sealed partial class SweepReportTests(ITestOutputHelper output) : IDisposable
{
    private readonly ResultsFarm _farm = new();

    public void Dispose() => _farm.Dispose();

    [Fact]
    public async Task The_run_folder_gains_a_contact_sheet_whose_cells_are_the_jobs_images()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();

        RunFolderSummary summary = await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        Assert.Empty(summary.ReportProblems);
        Assert.Contains(SweepReport.ContactSheetFile, summary.FilesWritten);
        Assert.Contains(SweepReport.LossCurvesFile, summary.FilesWritten);
        Assert.Contains(SweepReport.ReportFile, summary.FilesWritten);
        using SKBitmap sheet = SKBitmap.Decode(Path.Combine(folder, SweepReport.ContactSheetFile));
        // The fixture: style_weight {1e5, 3} down the rows × steps {100, 200} across; jobs 1 and 2 done, 3 failed, 4 queued.
        SweepGrid grid = SweepGrid.Build(results.Jobs);
        Assert.Equal(["1e5", "3"], grid.Rows!.Values);
        Assert.Equal(["100", "200"], grid.Columns!.Values);
        var thumbnails = results.Jobs.Where(j => j.ImageBlob is not null)
            .ToDictionary(j => j.JobId, j => ReportImages.Thumbnail(_farm.Blobs.Read(j.ImageBlob!), ContactSheetLayout.ThumbnailSize));
        ContactSheetLayout layout = ContactSheet.Render(grid, SweepReport.Title(results), thumbnails).Layout;
        Assert.Equal((layout.Width, layout.Height), (sheet.Width, sheet.Height));
        SKRectI Cell(int row, int column) => layout.Cells.Single(c => c.Row == row && c.Column == column).ImageBox;
        // ResultsFarm.Png(shade) is (shade, 255 - shade, 30); job 1 is shade 100, job 2 shade 101.
        AssertColour(new SKColor(100, 155, 30), MeanColour(sheet, Cell(0, 0)));
        AssertColour(new SKColor(101, 154, 30), MeanColour(sheet, Cell(0, 1)));
        AssertColour(ContactSheet.PlaceholderFill, MeanColour(sheet, TopBand(Cell(1, 0))));
        AssertColour(ContactSheet.PlaceholderFill, MeanColour(sheet, TopBand(Cell(1, 1))));
        Assert.Equal([CellKind.Image, CellKind.Image, CellKind.Failed, CellKind.Missing], layout.Cells.Select(c => c.Kind));
        foreach (SKBitmap t in thumbnails.Values) t.Dispose();

        using SKBitmap curves = SKBitmap.Decode(Path.Combine(folder, SweepReport.LossCurvesFile));
        Assert.Equal(LossCurves.SizeOf(2), (curves.Width, curves.Height));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task The_page_has_every_job_the_sweep_text_escaped_images_inline_and_nothing_to_fetch()
    {
        const string hostile = "name: demo <script>alert('x')</script> & \"quotes\"\n";
        SweepResults results = _farm.Results() with { FileText = hostile, Name = "demo <b>sweep</b>" };
        string folder = _farm.NewRunFolder();

        SweepReportSummary summary = await SweepReport.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        Assert.Empty(summary.Problems);
        string html = File.ReadAllText(Path.Combine(folder, SweepReport.ReportFile));
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains(WebUtility.HtmlEncode(hostile), html);
        Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;", html);
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<b>sweep</b>", html);
        // The failure reason has quotes and a line break; its first line shows, escaped.
        Assert.Contains(WebUtility.HtmlEncode(ResultsFarm.FailureReason.Split('\n')[0]), html);

        // One row per job, in order, each saying its state.
        var rows = JobRow().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(results.Jobs.Select(j => j.JobId), rows);
        Assert.All(results.Jobs, j => Assert.Contains($"<td>{j.Label}</td>", html));

        // Images inline: the two done jobs' thumbnails and the loss curves, nothing else, nothing fetched.
        Assert.Equal(2, Regex.Count(html, "src=\"data:image/jpeg;base64,"));
        Assert.Equal(1, Regex.Count(html, "src=\"data:image/png;base64,"));
        Assert.DoesNotMatch("(?i)https?://", html);
        Assert.DoesNotMatch("(?i)src=\"(?!data:)", html);
        Assert.DoesNotMatch("(?i)<link|@import|url\\(", html);
        Assert.Contains($"content=\"{ReportHtml.ContentSecurityPolicy}\"", html);

        // The results table sorts on a header click.
        Assert.Contains("<table class=\"results sortable\"", html);
        Assert.Contains("<script>\n" + ReportHtml.SortScript + "</script>", html);
        Assert.Contains("addEventListener('click'", ReportHtml.SortScript);
        // Numbers sort by their exact value; a NaN loss sorts as a blank.
        Assert.Contains("data-sort=\"2.5\">2.5</td>", html);
        Assert.Contains("data-sort=\"\">NaN</td>", html);
        // Grey cells in the grid say what happened.
        Assert.Contains("<div class=\"placeholder\">failed</div>", html);
        Assert.Contains("<div class=\"placeholder\">missing</div>", html);
    }

    [Fact]
    public async Task Images_already_in_the_run_folder_are_not_fetched_again()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();
        CountingReader first = _farm.Reader();
        await RunFolderWriter.WriteAsync(results, first.Read, folder, CancellationToken.None);

        // Every blob once, for its own file; the report took them from the folder.
        int blobs = results.Jobs.Sum(j => j.Snapshots.Count + (j.ImageBlob is null ? 0 : 1) + (j.TraceBlob is null ? 0 : 1));
        Assert.Equal(blobs, first.Calls);
    }

    [Fact]
    public async Task A_report_file_that_cannot_be_written_is_a_problem_in_the_summary_and_the_rest_is_written()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();
        Directory.CreateDirectory(Path.Combine(folder, SweepReport.ContactSheetFile)); // a folder where the file goes

        RunFolderSummary summary = await RunFolderWriter.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        Assert.Contains(summary.ReportProblems, p => p.Contains(SweepReport.ContactSheetFile));
        Assert.True(File.Exists(Path.Combine(folder, RunFolderWriter.ResultsJsonFile)));
        Assert.True(File.Exists(Path.Combine(folder, RunFolderWriter.ImagePath(results.Jobs[0].Label))));
        Assert.True(File.Exists(Path.Combine(folder, SweepReport.LossCurvesFile)));
        string html = File.ReadAllText(Path.Combine(folder, SweepReport.ReportFile));
        Assert.Contains(SweepReport.ContactSheetFile, html); // the page says what is missing
    }

    [Fact]
    public async Task Unreadable_blobs_make_missing_cells_and_problems_not_a_failure()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();
        static Task<byte[]> Broken(string hash, CancellationToken ct) => throw new IOException("the coordinator went away");

        SweepReportSummary summary = await SweepReport.WriteAsync(results, Broken, folder, CancellationToken.None);

        Assert.Equal(4, summary.Problems.Count); // two images, two traces
        Assert.All(summary.Problems, p => Assert.Contains("the coordinator went away", p));
        Assert.Equal([SweepReport.ContactSheetFile, SweepReport.LossCurvesFile, SweepReport.ReportFile], summary.FilesWritten);
        string html = File.ReadAllText(Path.Combine(folder, SweepReport.ReportFile));
        Assert.DoesNotContain("data:image/jpeg", html);
        Assert.Contains("could not be read", html);
    }

    [Fact]
    public async Task Writing_the_report_again_gives_the_same_bytes_and_touches_nothing()
    {
        SweepResults results = _farm.Results();
        string folder = _farm.NewRunFolder();
        await SweepReport.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);
        var before = new[] { SweepReport.ContactSheetFile, SweepReport.LossCurvesFile, SweepReport.ReportFile }
            .ToDictionary(f => f, f => (File.GetLastWriteTimeUtc(Path.Combine(folder, f)), File.ReadAllBytes(Path.Combine(folder, f))));

        SweepReportSummary again = await SweepReport.WriteAsync(results, _farm.Reader().Read, folder, CancellationToken.None);

        Assert.Empty(again.FilesWritten);
        Assert.Equal(3, again.FilesUnchanged);
        Assert.All(before, f => Assert.Equal(f.Value.Item1, File.GetLastWriteTimeUtc(Path.Combine(folder, f.Key))));
    }

    [Fact]
    public async Task A_twelve_job_sweep_at_400_px_has_every_job_on_its_sheet()
    {
        var fixtures = new ReportFixtures();
        var jobs = new List<SweepResultRow>();
        foreach (string weight in new[] { "1e4", "1e5", "1e6" })
            foreach (int steps in new[] { 100, 200, 300, 400 })
                jobs.Add(fixtures.Job(jobs.Count + 1, Swept(("style_weight", weight), ("steps", steps)), JobState.Done,
                    finalTotal: 10 + jobs.Count, colour: new SKColor((byte)(20 * jobs.Count), 90, 200), width: 400, height: 300, steps: steps));
        SweepResults results = Sweep(jobs);
        string folder = _farm.NewRunFolder();

        var clock = Stopwatch.StartNew();
        SweepReportSummary summary = await SweepReport.WriteAsync(results, fixtures.Read, folder, CancellationToken.None);
        output.WriteLine($"report of {jobs.Count} jobs (400×300 images, 100–400 steps) written in {clock.ElapsedMilliseconds} ms; " +
            $"report.html is {new FileInfo(Path.Combine(folder, SweepReport.ReportFile)).Length / 1024} KiB");

        Assert.Empty(summary.Problems);
        using SKBitmap sheet = SKBitmap.Decode(Path.Combine(folder, SweepReport.ContactSheetFile));
        // 3 rows × 4 columns of 256×192 thumbnails.
        Assert.True(sheet.Width > 4 * 256 && sheet.Height > 3 * 192, $"{sheet.Width}×{sheet.Height}");
        string html = File.ReadAllText(Path.Combine(folder, SweepReport.ReportFile));
        Assert.Equal(12, Regex.Count(html, "src=\"data:image/jpeg;base64,"));
    }

    [GeneratedRegex("<tr class=\"[a-z]+\" data-job=\"([0-9a-f]+)\">")]
    private static partial Regex JobRow();
}

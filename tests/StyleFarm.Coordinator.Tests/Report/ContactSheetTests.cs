using SkiaSharp;
using StyleFarm.Coordinator.Report;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using static StyleFarm.Coordinator.Tests.Report.ReportFixtures;

namespace StyleFarm.Coordinator.Tests.Report;

public sealed class ContactSheetTests
{
    private readonly ReportFixtures _fixtures = new();

    [Fact]
    public void The_sheet_is_rows_by_columns_and_each_done_cell_shows_its_jobs_image()
    {
        SKColor[] colours = [SKColors.Red, new SKColor(20, 160, 40), SKColors.Blue, new SKColor(200, 180, 20)];
        var jobs = new List<SweepResultRow>();
        int i = 0;
        foreach (string weight in new[] { "1e4", "1e5" })
            foreach (int steps in new[] { 100, 200, 400 })
            {
                var swept = Swept(("style_weight", weight), ("steps", steps));
                jobs.Add(i switch
                {
                    4 => _fixtures.Job(i + 1, swept, JobState.Failed),
                    5 => _fixtures.Job(i + 1, swept, JobState.Running),
                    _ => _fixtures.Job(i + 1, swept, JobState.Done, colour: colours[i], width: 40, height: 30),
                });
                i++;
            }
        SweepGrid grid = SweepGrid.Build(jobs);
        Dictionary<string, SKBitmap> thumbnails = Thumbnails(jobs);

        RenderedSheet sheet = ContactSheet.Render(grid, "demo: 4 of 6 jobs done", thumbnails);

        ContactSheetLayout layout = sheet.Layout;
        using SKBitmap png = SKBitmap.Decode(sheet.Png);
        Assert.Equal((layout.Width, layout.Height), (png.Width, png.Height));
        Assert.Equal(new SKSizeI(256, 192), layout.Box);
        Assert.Equal(2 * 3, layout.Cells.Count);
        // A lattice: one left edge per column, one top edge per row, cells apart and inside the picture.
        Assert.Equal(3, layout.Cells.Select(c => c.ImageBox.Left).Distinct().Count());
        Assert.Equal(2, layout.Cells.Select(c => c.ImageBox.Top).Distinct().Count());
        Assert.All(layout.Cells, c => Assert.True(c.ImageBox.Right <= png.Width && c.ImageBox.Bottom <= png.Height));
        Assert.All(layout.Cells, c => Assert.DoesNotContain(layout.Cells, o => o != c && o.ImageBox.IntersectsWith(c.ImageBox)));
        Assert.True(layout.Width >= 3 * 256 + 2 * ContactSheetLayout.Gap);

        foreach (SheetCell cell in layout.Cells)
        {
            SweepResultRow job = cell.Job!;
            Assert.Equal((grid.Rows!.Values[cell.Row], grid.Columns!.Values[cell.Column]),
                (job.SweptValues["style_weight"], job.SweptValues["steps"]));
            int index = job.Index - 1;
            if (index < 4)
            {
                Assert.Equal(CellKind.Image, cell.Kind);
                AssertColour(colours[index], MeanColour(png, cell.ImageBox));
            }
            else
            {
                Assert.Equal(index == 4 ? CellKind.Failed : CellKind.Missing, cell.Kind);
                AssertColour(ContactSheet.PlaceholderFill, MeanColour(png, TopBand(cell.ImageBox)));
            }
        }
        // The axes are labelled with their keys and values, and the grey cells say what happened.
        var texts = layout.Texts.Select(t => (t.Text, t.Role)).ToList();
        Assert.Contains(("style_weight", SheetTextRole.VerticalAxisTitle), texts);
        Assert.Contains(("steps", SheetTextRole.AxisTitle), texts);
        Assert.All(new[] { "1e4", "1e5", "100", "200", "400" }, v => Assert.Contains((v, SheetTextRole.AxisValue), texts));
        Assert.Contains(("failed", SheetTextRole.Placeholder), texts);
        Assert.Contains(("missing", SheetTextRole.Placeholder), texts);
        // Text is drawn where the machine has a font (Skia finds none on a bare container: then there is no text).
        SheetText title = layout.Texts.Single(t => t.Role == SheetTextRole.AxisTitle);
        if (SKFontManager.Default.FontFamilyCount > 0)
            Assert.True(DarkPixels(png, SKRectI.Create((int)title.X - 30, (int)title.Y - 12, 60, 14)) > 0, "the axis title was not drawn");
        DisposeAll(thumbnails);
    }

    [Fact]
    public void A_combination_no_job_has_is_a_grey_missing_cell_and_sections_stack_down_the_sheet()
    {
        SweepResultRow[] jobs =
        [
            // Two values each: the first two keys in the file are the axes, content makes the sections.
            _fixtures.Job(1, Swept(("style_weight", 1), ("steps", 1), ("content", "a")), JobState.Done, colour: SKColors.Red),
            _fixtures.Job(2, Swept(("style_weight", 2), ("steps", 2), ("content", "a")), JobState.Done, colour: SKColors.Lime),
            _fixtures.Job(3, Swept(("style_weight", 1), ("steps", 2), ("content", "b")), JobState.Done, colour: SKColors.Blue),
        ];
        SweepGrid grid = SweepGrid.Build(jobs);
        Dictionary<string, SKBitmap> thumbnails = Thumbnails(jobs);

        RenderedSheet sheet = ContactSheet.Render(grid, "three keys", thumbnails);

        using SKBitmap png = SKBitmap.Decode(sheet.Png);
        Assert.Equal(2 * 2 * 2, sheet.Layout.Cells.Count);
        Assert.True(sheet.Layout.Cells.Where(c => c.Section == 1).Min(c => c.ImageBox.Top)
            > sheet.Layout.Cells.Where(c => c.Section == 0).Max(c => c.ImageBox.Bottom));
        Assert.Contains(sheet.Layout.Texts, t => t is { Text: "content = b", Role: SheetTextRole.SectionTitle });
        Assert.Equal(5, sheet.Layout.Cells.Count(c => c.Job is null));
        Assert.All(sheet.Layout.Cells.Where(c => c.Job is null), c =>
        {
            Assert.Equal(CellKind.Missing, c.Kind);
            AssertColour(ContactSheet.PlaceholderFill, MeanColour(png, TopBand(c.ImageBox)));
        });
        SheetCell blue = sheet.Layout.Cells.Single(c => c.Job?.Index == 3);
        Assert.Equal((1, 0, 1), (blue.Section, blue.Row, blue.Column));
        AssertColour(SKColors.Blue, MeanColour(png, blue.ImageBox));
        DisposeAll(thumbnails);
    }

    [Fact]
    public void A_done_job_whose_image_could_not_be_read_shows_as_missing()
    {
        SweepResultRow[] jobs = [_fixtures.Job(1, Swept(("steps", 1)), JobState.Done), _fixtures.Job(2, Swept(("steps", 2)), JobState.Done)];
        Dictionary<string, SKBitmap> thumbnails = Thumbnails(jobs.Take(1));

        RenderedSheet sheet = ContactSheet.Render(SweepGrid.Build(jobs), "t", thumbnails);

        Assert.Equal([CellKind.Image, CellKind.Missing], sheet.Layout.Cells.Select(c => c.Kind));
        DisposeAll(thumbnails);
    }

    [Fact]
    public void Thumbnails_keep_the_aspect_and_fit_the_longest_side()
    {
        using SKBitmap wide = ReportImages.Thumbnail(SolidPng(SKColors.Red, 400, 100), 256);
        using SKBitmap tall = ReportImages.Thumbnail(SolidPng(SKColors.Red, 30, 60), 256);
        Assert.Equal((256, 64), (wide.Width, wide.Height));
        Assert.Equal((128, 256), (tall.Width, tall.Height));
        Assert.Throws<InvalidDataException>(() => ReportImages.Thumbnail([1, 2, 3], 256));
    }

    private Dictionary<string, SKBitmap> Thumbnails(IEnumerable<SweepResultRow> jobs) =>
        jobs.Where(j => j.ImageBlob is not null)
            .ToDictionary(j => j.JobId, j => ReportImages.Thumbnail(_fixtures.Blobs[j.ImageBlob!], ContactSheetLayout.ThumbnailSize));

    private static int DarkPixels(SKBitmap bitmap, SKRectI box)
    {
        int dark = 0;
        for (int y = Math.Max(0, box.Top); y < Math.Min(bitmap.Height, box.Bottom); y++)
            for (int x = Math.Max(0, box.Left); x < Math.Min(bitmap.Width, box.Right); x++)
                if (bitmap.GetPixel(x, y).Red < 128) dark++;
        return dark;
    }

    private static void DisposeAll(Dictionary<string, SKBitmap> thumbnails)
    {
        foreach (SKBitmap bitmap in thumbnails.Values) bitmap.Dispose();
    }
}

using System.Diagnostics;
using System.Globalization;
using Microsoft.Playwright;
using StyleFarm.Browser.Tests.Support;
using StyleFarm.Coordinator.Embedded;
using StyleFarm.Coordinator.Report;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using Xunit.Abstractions;

namespace StyleFarm.Browser.Tests.Report;

/// <summary>report.html from a real sweep's run folder, opened from disk (file://) in Chromium, offline.</summary>
public sealed class ReportPageTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task The_report_of_a_real_sweep_opens_offline_with_every_image_loaded_and_a_table_that_sorts()
    {
        Chromium.Require();
        var clock = Stopwatch.StartNew();
        using var dir = new TempFolder();
        string runFolder = await RunSweepAsync(dir, "browser-report");
        output.WriteLine($"sweep ran and its run folder was written in {clock.Elapsed.TotalSeconds:F1} s");

        await using BrowserSession browser = await BrowserSession.OpenAsync(output);
        IPage page = browser.Page;
        string reportUrl = new Uri(Path.Combine(runFolder, SweepReport.ReportFile)).AbsoluteUri;
        await page.GotoAsync(reportUrl, new PageGotoOptions { WaitUntil = WaitUntilState.Load });

        // The grid: one thumbnail per job (all four done), each decoded; and the loss curves.
        var images = await page.EvalOnSelectorAllAsync<ImageState[]>("img",
            "imgs => imgs.map(i => ({ alt: i.alt, css: i.className, complete: i.complete, naturalWidth: i.naturalWidth }))");
        Assert.Equal(5, images.Length);
        Assert.All(images, i => Assert.True(i.Complete && i.NaturalWidth > 0, $"image '{i.Alt}' did not load"));
        Assert.Equal(4, await page.Locator("table.grid td.cell.done img").CountAsync());
        Assert.Single(images, i => i.Css == "curves");
        Assert.Equal(0, await page.Locator(".notes").CountAsync());

        // The results table sorts on a header click: ascending first, then descending, numbers as numbers.
        ILocator totalLoss = page.Locator("table#results th", new PageLocatorOptions { HasTextString = "total loss" });
        await totalLoss.ClickAsync();
        Assert.Equal("ascending", await totalLoss.GetAttributeAsync("aria-sort"));
        double[] ascending = await ColumnAsync(page, "total loss");
        Assert.Equal(4, ascending.Length);
        Assert.Equal(ascending.Order(), ascending);
        await totalLoss.ClickAsync();
        Assert.Equal("descending", await totalLoss.GetAttributeAsync("aria-sort"));
        Assert.Equal(ascending.Reverse(), await ColumnAsync(page, "total loss"));
        await browser.ScreenshotAsync("report");

        // The pictures beside the page open too: contact-sheet.png and loss-curves.png decode in the browser.
        foreach (string file in new[] { SweepReport.ContactSheetFile, SweepReport.LossCurvesFile })
        {
            await page.GotoAsync(new Uri(Path.Combine(runFolder, file)).AbsoluteUri);
            int width = await page.EvalOnSelectorAsync<int>("img", "i => i.complete ? i.naturalWidth : 0");
            Assert.True(width > 0, $"{file} did not decode in the browser");
        }

        browser.AssertCleanRun(allowedOrigin: null);
        Assert.Contains(reportUrl, browser.Requests);
        output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>Runs the tiny report sweep on an in-process farm and writes its run folder, report included.</summary>
    private async Task<string> RunSweepAsync(TempFolder dir, string name)
    {
        await using EmbeddedFarm farm = await EmbeddedFarm.StartAsync(new EmbeddedFarmOptions
        {
            DataFolder = dir.File("farm-data"),
            Devices = ["cpu"],
            Http = null, // the report needs no coordinator to be read
            Report = line => output.WriteLine(line),
        });
        var submitted = await FarmRuns.SubmitAsync(farm, dir.Path, TinySweeps.Report(name));
        string id = submitted.Sweep.Id;
        Assert.Equal(SweepState.Done, await FarmRuns.WaitForEndAsync(farm, id, TimeSpan.FromMinutes(2)));

        SweepResults results = SweepResultsBuilder.FromStore(farm.Store, id)!;
        string folder = RunFolderWriter.FolderFor(results, dir.File("runs"));
        RunFolderSummary summary = await RunFolderWriter.WriteAsync(results, RunFolderWriter.ReadFrom(farm.Blobs), folder, CancellationToken.None);
        Assert.Empty(summary.ReportProblems);
        return folder;
    }

    /// <summary>The column's sort keys, top to bottom, as the page holds them now.</summary>
    private static async Task<double[]> ColumnAsync(IPage page, string header)
    {
        string[] keys = await page.EvaluateAsync<string[]>("""
            header => {
              const table = document.querySelector('table#results');
              const column = Array.from(table.tHead.rows[0].cells).findIndex(c => c.textContent.trim() === header);
              return Array.from(table.tBodies[0].rows).map(r => r.cells[column].dataset.sort);
            }
            """, header);
        return keys.Select(k => double.Parse(k, CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>What the page says of one img (Playwright fills it by property name).</summary>
    private sealed class ImageState
    {
        public string Alt { get; set; } = "";
        public string Css { get; set; } = "";
        public bool Complete { get; set; }
        public int NaturalWidth { get; set; }
    }
}

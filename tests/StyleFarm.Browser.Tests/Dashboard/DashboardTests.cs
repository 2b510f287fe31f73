using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using StyleFarm.Browser.Tests.Support;
using StyleFarm.Coordinator.Embedded;
using StyleFarm.Coordinator.Store;
using Xunit.Abstractions;

namespace StyleFarm.Browser.Tests.Dashboard;

/// <summary>
/// The web dashboard of a live in-process farm (one CPU worker, the real engine), driven by headless Chromium as a
/// person uses it: submit a sweep, watch it run, open a job. Only the contract's data-testid hooks are used.
/// </summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    // Generous: CI runs the other test assemblies beside this one on two cores.
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(3);


    [SkippableFact]
    public async Task A_sweep_submitted_on_the_submit_page_runs_live_on_the_dashboard_without_a_reload()
    {
        Chromium.Require();
        var clock = Stopwatch.StartNew();
        using var dir = new TempFolder();
        TinySweeps.WriteImages(dir.Path);
        await using EmbeddedFarm farm = await EmbeddedFarm.StartAsync(new EmbeddedFarmOptions
        {
            DataFolder = dir.File("farm-data"),
            Devices = ["cpu"],
            Report = line => output.WriteLine(line),
        });
        Uri dashboard = farm.DashboardUrl ?? throw new InvalidOperationException("the embedded farm serves no dashboard");
        string origin = dashboard.GetLeftPart(UriPartial.Authority);
        output.WriteLine($"dashboard at {origin} after {clock.Elapsed.TotalSeconds:F1} s");

        await using BrowserSession browser = await BrowserSession.OpenAsync(output, origin);
        IPage page = browser.Page;
        await browser.Context.AddInitScriptAsync(LiveRecorder);

        // --- Submit: paste the sweep, attach its images, see it checked inline, break it, mend it, submit.
        await page.GotoAsync($"{origin}/submit");
        await ExpectLiveAsync(page);
        string sweep = TinySweeps.Live("browser-live");
        await page.Locator("input[data-testid=sweep-images]").SetInputFilesAsync([dir.File("content.png"), dir.File("style.png")]);
        await page.Locator("textarea[data-testid=sweep-text]").FillAsync(sweep);
        ILocator summary = page.Locator("[data-testid=sweep-summary]");
        // The valid sweep: 4 jobs in 1 work unit (two style weights fused, each read out at two step counts).
        await Assertions.Expect(summary).ToHaveAttributeAsync("data-valid", "true", new() { Timeout = 20_000 });
        await Assertions.Expect(summary).ToHaveAttributeAsync("data-jobs", "4");
        await Assertions.Expect(summary).ToHaveAttributeAsync("data-units", "1");
        await Assertions.Expect(page.Locator("[data-testid=sweep-errors] li")).ToHaveCountAsync(0);

        // size 8 is below the engine's smallest (16): the error names the base line and the size field.
        int baseLine = LineOf(sweep, "base:");
        await page.Locator("textarea[data-testid=sweep-text]").FillAsync(sweep.Replace("size: 64", "size: 8", StringComparison.Ordinal));
        ILocator error = page.Locator($"[data-testid=sweep-errors] li[data-line=\"{baseLine}\"]");
        await Assertions.Expect(error).ToHaveCountAsync(1, new() { Timeout = 20_000 });
        Assert.Contains("size", await error.GetAttributeAsync("data-field") ?? "");
        await browser.ScreenshotAsync("submit-error");

        await page.Locator("textarea[data-testid=sweep-text]").FillAsync(sweep);
        await Assertions.Expect(page.Locator("[data-testid=sweep-errors] li")).ToHaveCountAsync(0, new() { Timeout = 20_000 });
        await Assertions.Expect(summary).ToHaveAttributeAsync("data-valid", "true");
        await browser.ScreenshotAsync("submit");
        await page.Locator("button[data-testid=submit-sweep]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/sweeps/[^/?#]+"), new() { Timeout = 30_000 });
        string sweepId = Uri.UnescapeDataString(new Uri(page.Url).AbsolutePath["/sweeps/".Length..]);
        output.WriteLine($"submitted sweep {sweepId} after {clock.Elapsed.TotalSeconds:F1} s");

        // --- The sweep page follows the run live: progress moves and snapshots appear in this same document.
        await ExpectLiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=grid-cell]")).ToHaveCountAsync(4);
        await page.EvaluateAsync("() => { window.__marker = 'no reload'; }");
        await page.WaitForFunctionAsync(ProgressMoved, null, new() { Timeout = (float)Wait.TotalMilliseconds, PollingInterval = 100 });
        await page.WaitForFunctionAsync(SnapshotAppeared, null, new() { Timeout = (float)Wait.TotalMilliseconds, PollingInterval = 100 });
        Assert.Equal("no reload", await page.EvaluateAsync<string?>("() => window.__marker ?? null"));
        output.WriteLine($"progress moved and a snapshot showed after {clock.Elapsed.TotalSeconds:F1} s; bars seen: " +
                         await page.EvaluateAsync<string>("() => JSON.stringify(window.__progressSeen)"));

        // A job that is done has its final image and its whole loss trace on its page.
        ILocator doneCell = page.Locator("[data-testid=grid-cell][data-state=done]").First;
        await doneCell.WaitForAsync(new() { Timeout = (float)Wait.TotalMilliseconds });
        Assert.Equal("no reload", await page.EvaluateAsync<string?>("() => window.__marker ?? null"));
        await browser.ScreenshotAsync("sweep");
        await doneCell.Locator("a[data-testid=job-link]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/jobs/[^/?#]+"));
        await ExpectLiveAsync(page);
        ILocator lossBox = page.Locator("[data-testid=loss-chart-box]");
        await page.WaitForFunctionAsync("() => Number(document.querySelector('[data-testid=loss-chart-box]')?.dataset.points) > 0",
            null, new() { Timeout = 20_000 });
        string series = await lossBox.GetAttributeAsync("data-series") ?? "";
        Assert.Contains("total", series.Split(','));
        output.WriteLine($"loss chart: {await lossBox.GetAttributeAsync("data-points")} steps of {series}");
        await page.WaitForFunctionAsync("() => { const i = document.querySelector('img[data-testid=job-image]'); return i && i.complete && i.naturalWidth > 0; }",
            null, new() { Timeout = 20_000 });
        await browser.ScreenshotAsync("job");

        // --- Nodes: the local node and its one CPU worker.
        await page.GotoAsync($"{origin}/nodes");
        await ExpectLiveAsync(page);
        await Assertions.Expect(page.Locator($"[data-testid=node-row][data-node-id=\"{EmbeddedFarm.LocalNodeId}\"]")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("[data-testid=device-row]")).ToHaveCountAsync(1);
        await browser.ScreenshotAsync("nodes");

        // --- Sweeps: the row follows the sweep to its end, live.
        await page.GotoAsync($"{origin}/");
        await ExpectLiveAsync(page);
        ILocator row = page.Locator($"[data-testid=sweep-row][data-sweep-id=\"{sweepId}\"]");
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row).ToHaveAttributeAsync("data-state", "done", new() { Timeout = (float)Wait.TotalMilliseconds });
        await Assertions.Expect(row.Locator("progress[data-testid=sweep-progress]")).ToHaveJSPropertyAsync("value", 4);
        await browser.ScreenshotAsync("sweeps");
        Assert.Equal(SweepState.Done, farm.Store.GetSweep(sweepId)?.State);

        browser.AssertCleanRun(origin);
        output.WriteLine($"{browser.Requests.Count} requests, all to {origin}; done in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>The page's live indicator says the event stream is connected.</summary>
    private static Task ExpectLiveAsync(IPage page) =>
        Assertions.Expect(page.Locator("[data-testid=live]")).ToHaveAttributeAsync("data-state", "open", new() { Timeout = 15_000 });

    /// <summary>
    /// Runs in every page before its own scripts: on a sweep page, records each grid cell's progress (value/max) and
    /// snapshot (img src, null while it has none) whenever they change, from the first render on. The record lives
    /// in the document, so whatever it shows changing changed without a reload.
    /// </summary>
    private const string LiveRecorder = """
        if (location.pathname.startsWith('/sweeps/')) {
          window.__progressSeen = {};
          window.__snapshotsSeen = {};
          const note = (record, key, value) => {
            const seen = (record[key] ??= []);
            if (seen.length === 0 || seen.at(-1) !== value) seen.push(value);
          };
          setInterval(() => {
            for (const cell of document.querySelectorAll('[data-testid=grid-cell]')) {
              const bar = cell.querySelector('progress[data-testid=cell-progress]');
              if (bar) note(window.__progressSeen, cell.dataset.jobId, `${bar.value}/${bar.max}`);
              const img = cell.querySelector('img[data-testid=cell-snapshot]');
              note(window.__snapshotsSeen, cell.dataset.jobId, img ? img.getAttribute('src') : null);
            }
          }, 25);
        }
        """;

    /// <summary>Some cell's bar advanced: a later value above an earlier one, against the same (known) number of steps.</summary>
    private const string ProgressMoved = """
        () => Object.values(window.__progressSeen ?? {}).some(seen => seen.map(s => s.split('/').map(Number)).some(([v, max], i, all) =>
          max > 1 && all.slice(0, i).some(([v0, max0]) => max0 === max && v0 < v)))
        """;

    /// <summary>Some cell showed a snapshot it did not show before, and a cell's snapshot is loaded now.</summary>
    private const string SnapshotAppeared = """
        () => Object.values(window.__snapshotsSeen ?? {}).some(seen => seen.some((src, i) => i > 0 && src !== null))
          && Array.from(document.querySelectorAll('img[data-testid=cell-snapshot]')).some(i => i.complete && i.naturalWidth > 0)
        """;

    /// <summary>The 1-based line of the first line of <paramref name="text"/> that starts with <paramref name="prefix"/>.</summary>
    private static int LineOf(string text, string prefix) =>
        text.Split('\n').Select((line, i) => (line, i)).First(l => l.line.StartsWith(prefix, StringComparison.Ordinal)).i + 1;
}

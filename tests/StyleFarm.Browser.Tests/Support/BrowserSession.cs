using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace StyleFarm.Browser.Tests.Support;

/// <summary>
/// One headless Chromium with one page, watched: every request it makes, every console error, uncaught page error
/// and HTTP error answer. http(s) requests to anything but <c>allowedOrigin</c> are recorded and aborted, so a page
/// that reaches out fails the test instead of waiting on a network this machine does not have.
/// </summary>
public sealed partial class BrowserSession : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly ITestOutputHelper _output;
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<string> _errors = new();

    private BrowserSession(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page, ITestOutputHelper output)
    {
        _playwright = playwright;
        _browser = browser;
        _output = output;
        Context = context;
        Page = page;
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    /// <summary>Every URL requested so far, in order (data: URLs included when Chromium reports them).</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>Console errors and uncaught exceptions so far.</summary>
    public IReadOnlyList<string> Errors => [.. _errors];

    /// <param name="allowedOrigin">The one http origin pages may talk to (e.g. http://127.0.0.1:5123), or null for none.</param>
    public static async Task<BrowserSession> OpenAsync(ITestOutputHelper output, string? allowedOrigin = null)
    {
        Chromium.Require();
        IPlaywright playwright = await Playwright.CreateAsync();
        try
        {
            IBrowser browser = await Chromium.LaunchAsync(playwright);
            IBrowserContext context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            });
            context.SetDefaultTimeout(15_000);
            IPage page = await context.NewPageAsync();
            var session = new BrowserSession(playwright, browser, context, page, output);
            session.Watch(allowedOrigin);
            await context.RouteAsync(url => AnyHttp().IsMatch(url) && !IsAllowed(url, allowedOrigin),
                route => route.AbortAsync("blockedbyclient"));
            return session;
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Requests that left the allowed origin: any URL elsewhere but file: (only when no origin is allowed), data: and blob:.</summary>
    public IReadOnlyList<string> ForeignRequests(string? allowedOrigin) =>
        Requests.Where(url => !IsAllowed(url, allowedOrigin)).ToList();

    /// <summary>Fails when the page logged an error or reached past <paramref name="allowedOrigin"/>.</summary>
    public void AssertCleanRun(string? allowedOrigin)
    {
        Assert.True(Errors.Count == 0, "the browser reported errors:\n" + string.Join('\n', Errors));
        IReadOnlyList<string> foreign = ForeignRequests(allowedOrigin);
        Assert.True(foreign.Count == 0,
            $"requests left {allowedOrigin ?? "file://"}:\n" + string.Join('\n', foreign));
    }

    /// <summary>A full-page screenshot in the artifacts folder; returns its path (and prints it).</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        string path = Path.Combine(Artifacts.Folder, name + ".png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        _output.WriteLine($"screenshot: {path}");
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Context.CloseAsync();
            await _browser.CloseAsync();
        }
        finally
        {
            _playwright.Dispose();
        }
    }

    private void Watch(string? allowedOrigin)
    {
        Context.Request += (_, request) => _requests.Enqueue(request.Url);
        Page.Console += (_, message) =>
        {
            if (message.Type is "error" or "assert") _errors.Enqueue($"console.{message.Type}: {message.Text} ({message.Location})");
        };
        Page.PageError += (_, error) => _errors.Enqueue($"uncaught: {error}");
        // Chromium's console names the URL of a failed load but not the method: say which request it was.
        Context.Response += (_, response) =>
        {
            if (response.Status >= 400) _errors.Enqueue($"HTTP {response.Status} for {response.Request.Method} {response.Url}");
        };
        Page.Crash += (_, _) => _errors.Enqueue("the page crashed");
        Context.RequestFailed += (_, request) =>
        {
            // A navigation away cancels the page's open requests (the live event stream): that is not an error.
            if (request.Failure is "net::ERR_ABORTED" && IsAllowed(request.Url, allowedOrigin)) return;
            _errors.Enqueue($"request failed: {request.Method} {request.Url}: {request.Failure}");
        };
    }

    private static bool IsAllowed(string url, string? allowedOrigin)
    {
        if (url.StartsWith("data:", StringComparison.Ordinal) || url.StartsWith("blob:", StringComparison.Ordinal)) return true;
        if (allowedOrigin is null) return url.StartsWith("file://", StringComparison.Ordinal);
        return url == allowedOrigin || url.StartsWith(allowedOrigin + "/", StringComparison.Ordinal);
    }

    [GeneratedRegex("^https?://", RegexOptions.IgnoreCase)]
    private static partial Regex AnyHttp();
}

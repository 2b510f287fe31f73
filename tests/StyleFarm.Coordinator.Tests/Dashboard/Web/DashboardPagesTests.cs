using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using StyleFarm.Coordinator.Dashboard.Web;

namespace StyleFarm.Coordinator.Tests.Dashboard.Web;

/// <summary>The dashboard's pages and assets on Kestrel: what each answers, with which headers, and what they reference.</summary>
public sealed partial class DashboardPagesTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public static TheoryData<string, string> Pages => new()
    {
        { "/", "sweeps.js" },
        { "/sweeps/3fa2c1d0e9ab", "sweep.js" },
        { "/jobs/d673150b9c2b0f0d7e8e0d0a2b4c6d8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8", "job.js" },
        { "/nodes", "nodes.js" },
        { "/submit", "submit.js" },
    };

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapStyleFarmDashboardPages();
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.Single()) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task EachPageIsHtmlWithItsScriptUnderTheStrictPolicy(string path, string script)
    {
        using HttpResponseMessage response = await _http.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        string csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("img-src 'self' data: blob:", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.NotNull(response.Headers.ETag);
        string html = await response.Content.ReadAsStringAsync();
        Assert.Contains($"<script type=\"module\" src=\"/ui/js/{script}\"></script>", html, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task EachPageHasTheNavigationAndTheLiveIndicator(string path, string _)
    {
        string html = await _http.GetStringAsync(path);

        foreach (string link in new[] { "href=\"/\"", "href=\"/nodes\"", "href=\"/submit\"" })
            Assert.Contains(link, html, StringComparison.Ordinal);
        Assert.Matches("data-testid=\"live\" data-state=\"closed\"", html);
    }

    [Fact]
    public async Task EveryFileAPageOrScriptReferencesIsServedWithItsType()
    {
        var referenced = new SortedSet<string>(StringComparer.Ordinal);
        foreach ((string route, string file) in DashboardPages.Pages)
        {
            string html = await _http.GetStringAsync(route.Replace("{id}", "abc", StringComparison.Ordinal));
            foreach (Match m in AssetReference().Matches(html)) referenced.Add(m.Groups["path"].Value);
        }
        // Follow the modules' imports, which are relative to the importing file.
        var pending = new Queue<string>(referenced.Where(p => p.EndsWith(".js", StringComparison.Ordinal)));
        while (pending.TryDequeue(out string? script))
        {
            if (script.Contains("/vendor/", StringComparison.Ordinal)) continue;
            string text = await _http.GetStringAsync(script);
            foreach (Match m in ModuleImport().Matches(text))
            {
                string resolved = new Uri(new Uri("http://x" + script), m.Groups["path"].Value).AbsolutePath;
                if (referenced.Add(resolved)) pending.Enqueue(resolved);
            }
        }

        Assert.Contains("/ui/vendor/chart.umd.min.js", referenced);
        Assert.Contains("/ui/css/site.css", referenced);
        Assert.Contains("/ui/js/api.js", referenced);
        Assert.Contains("/ui/js/live.js", referenced);
        foreach (string path in referenced)
        {
            using HttpResponseMessage response = await _http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} answers {(int)response.StatusCode}");
            Assert.Equal(WebAssets.ContentTypeOf(path).Split(';')[0], response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Content-Security-Policy", response.Headers.Select(h => h.Key));
        }
    }

    [Theory]
    [InlineData("/ui/js/nope.js")]
    [InlineData("/ui/")]
    [InlineData("/ui/../pages/sweeps.html")]
    [InlineData("/ui/js/../../StyleFarm.Coordinator.csproj")]
    public async Task AnUnknownAssetIsNotFound(string path)
    {
        using HttpResponseMessage response = await _http.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task NoPageScriptOrStyleReferencesAnotherOrigin()
    {
        WebAssets assets = WebAssets.Default;
        string[] own = assets.Paths.Where(p => !p.StartsWith("vendor/", StringComparison.Ordinal)
            && (p.EndsWith(".html", StringComparison.Ordinal) || p.EndsWith(".js", StringComparison.Ordinal) || p.EndsWith(".css", StringComparison.Ordinal))).ToArray();
        Assert.Contains("pages/sweeps.html", own);
        Assert.Contains("js/sweep.js", own);
        foreach (string path in own)
        {
            string text = Encoding.UTF8.GetString(assets[path].Content);
            Assert.False(OffOrigin().IsMatch(text), $"{path} names another origin: {OffOrigin().Match(text).Value}");
            Assert.DoesNotContain("@import", text, StringComparison.Ordinal);
        }
        // And what the browser gets is what is embedded.
        Assert.Equal(assets["js/api.js"].Content, await _http.GetByteArrayAsync("/ui/js/api.js"));
    }

    [Fact]
    public void PagesHaveNoInlineScriptStyleOrHandlerTheirPolicyWouldBlock()
    {
        foreach ((_, string file) in DashboardPages.Pages)
        {
            string html = Encoding.UTF8.GetString(WebAssets.Default[file].Content);
            Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)[^>]*>", html);
            Assert.DoesNotMatch(@"<style\b", html);
            Assert.DoesNotMatch(@"\sstyle\s*=", html);
            Assert.DoesNotMatch(@"\son[a-z]+\s*=", html);
        }
    }

    [Fact]
    public void ScriptsNeitherLogToTheConsoleNorWriteHtml()
    {
        foreach (string path in WebAssets.Default.Paths.Where(p => p.StartsWith("js/", StringComparison.Ordinal)))
        {
            string script = Encoding.UTF8.GetString(WebAssets.Default[path].Content);
            Assert.DoesNotContain("console.", script, StringComparison.Ordinal);
            Assert.DoesNotMatch(@"\.(?:inner|outer)HTML\b|insertAdjacentHTML\(|document\.write|\beval\(", script);
        }
    }

    [Fact]
    public async Task ChartJsIsServedWithItsLicence()
    {
        string chart = await _http.GetStringAsync("/ui/vendor/chart.umd.min.js");
        string licence = await _http.GetStringAsync("/ui/vendor/LICENSE.md");

        Assert.StartsWith("/*!\n * Chart.js v4.", chart, StringComparison.Ordinal);
        Assert.Contains("The MIT License", licence, StringComparison.Ordinal);
        Assert.Contains("Chart.js Contributors", licence, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnchangedFileAnswersNotModifiedToItsETag()
    {
        using HttpResponseMessage first = await _http.GetAsync("/ui/css/site.css");
        EntityTagHeaderValue etag = first.Headers.ETag!;
        using var again = new HttpRequestMessage(HttpMethod.Get, "/ui/css/site.css");
        again.Headers.IfNoneMatch.Add(etag);
        using HttpResponseMessage second = await _http.SendAsync(again);
        using var other = new HttpRequestMessage(HttpMethod.Get, "/ui/css/site.css");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"something-else\""));
        using HttpResponseMessage third = await _http.SendAsync(other);

        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Empty(await second.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.NotEmpty(await third.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadAnswersTheHeadersWithoutTheBody()
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, "/submit");
        using HttpResponseMessage response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(WebAssets.Default["pages/submit.html"].Content.Length, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task TheFaviconIsTheDashboardsIcon()
    {
        using HttpResponseMessage response = await _http.GetAsync("/favicon.ico");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
    }

    // src="/ui/…" and href="/ui/…" in a page.
    [GeneratedRegex("""(?:src|href)="(?<path>/ui/[^"]+)" """, RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex AssetReference();

    // import … from './x.js'; (ES modules between the dashboard's scripts)
    [GeneratedRegex("""(?:import|export)\s[^;]*?from\s+'(?<path>\.{1,2}/[^']+)'""")]
    private static partial Regex ModuleImport();

    // An absolute or protocol-relative URL anywhere in the text.
    [GeneratedRegex("""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}|https?://""", RegexOptions.IgnoreCase)]
    private static partial Regex OffOrigin();
}

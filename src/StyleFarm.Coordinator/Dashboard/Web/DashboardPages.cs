using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace StyleFarm.Coordinator.Dashboard.Web;

/// <summary>
/// The web dashboard: five pages (each a full HTML page whose script reads /api/v1 and follows /api/v1/events) and
/// their scripts, styles and the vendored Chart.js under /ui/, all embedded in the coordinator so the dashboard works
/// offline. Every answer carries a Content-Security-Policy that lets a page load and connect to its own origin only.
/// </summary>
public static class DashboardPages
{
    /// <summary>Pages by route; the sweep and job pages read their id from the URL.</summary>
    public static readonly IReadOnlyList<(string Route, string File)> Pages =
    [
        ("/", "pages/sweeps.html"),
        ("/sweeps/{id}", "pages/sweep.html"),
        ("/jobs/{id}", "pages/job.html"),
        ("/nodes", "pages/nodes.html"),
        ("/submit", "pages/submit.html"),
    ];

    /// <summary>Where the static files are served: /ui/js/api.js is wwwroot/js/api.js.</summary>
    public const string AssetPrefix = "/ui";

    /// <summary>
    /// Scripts, styles, fonts, fetches and the event stream from this origin only; images also from data: and blob:
    /// URLs (Chart.js exports, local previews); no inline script or style, no plugins, no framing.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'; " +
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>
    /// Asset URLs carry no version, so a browser must revalidate (cheap: a 304 on the ETag) and never runs the
    /// scripts of an older coordinator against a newer API.
    /// </summary>
    public const string CacheControl = "no-cache";

    /// <summary>Maps the pages, /ui/{path} and /favicon.ico, served from <paramref name="assets"/> (the embedded files by default).</summary>
    public static IEndpointRouteBuilder MapStyleFarmDashboardPages(this IEndpointRouteBuilder app, WebAssets? assets = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        assets ??= WebAssets.Default;
        string[] getOrHead = [HttpMethods.Get, HttpMethods.Head];
        foreach ((string route, string file) in Pages)
        {
            WebAsset page = assets[file]; // fails at startup, not on the first visit, when a page is missing
            app.MapMethods(route, getOrHead, (HttpContext http) => ServeAsync(http, page));
        }
        WebAsset icon = assets["favicon.svg"];
        app.MapMethods("/favicon.ico", getOrHead, (HttpContext http) => ServeAsync(http, icon));
        app.MapMethods(AssetPrefix + "/{**path}", getOrHead, (HttpContext http, string? path) =>
            assets.Find(path ?? "") is { } asset ? ServeAsync(http, asset) : NotFoundAsync(http, path));
        return app;
    }

    private static Task ServeAsync(HttpContext http, WebAsset asset)
    {
        HttpResponse response = http.Response;
        SecurityHeaders(response);
        response.Headers.CacheControl = CacheControl;
        response.Headers.ETag = asset.ETag;
        if (Matches(http.Request.Headers.IfNoneMatch, asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        return HttpMethods.IsHead(http.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(asset.Content).AsTask();
    }

    /// <summary>Whether If-None-Match names the ETag (a list, possibly weak after a compressing proxy, or *).</summary>
    internal static bool Matches(IEnumerable<string?> ifNoneMatch, string etag) =>
        ifNoneMatch.SelectMany(value => (value ?? "").Split(',')).Select(tag => tag.Trim())
            .Any(tag => tag == "*" || tag == etag || tag == "W/" + etag);

    private static Task NotFoundAsync(HttpContext http, string? path)
    {
        SecurityHeaders(http.Response);
        http.Response.StatusCode = StatusCodes.Status404NotFound;
        http.Response.ContentType = "text/plain; charset=utf-8";
        return http.Response.WriteAsync($"the dashboard has no file {AssetPrefix}/{path}\n");
    }

    private static void SecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }
}

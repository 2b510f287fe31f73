using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Dashboard.Web;
using StyleFarm.Coordinator.Metrics;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Api;

/// <summary>Where the StyleFarm web (API, dashboard pages, live feed, /metrics) listens, and its token.</summary>
public sealed record StyleFarmWebOptions
{
    /// <summary>An IP address and port; port 0 takes a free one (<see cref="StyleFarmWebHost.BoundAddress"/> says which).</summary>
    public required IPEndPoint Endpoint { get; init; }

    /// <summary>The API token mutating requests need; required unless <see cref="Endpoint"/> is loopback.</summary>
    public string? ApiToken { get; init; }

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Warning;

    /// <summary>Null, or why the web may not be served like this (<see cref="ApiToken.BindProblem"/>).</summary>
    public string? Problem() => Api.ApiToken.BindProblem(Endpoint, ApiToken);
}

/// <summary>
/// The one composition of the StyleFarm web, shared by `stylefarm coordinator` and the embedded farm of
/// `stylefarm run`: a Kestrel host with the farm's store, blobs and metrics, the /api/v1 API (token included), the
/// dashboard's feed and pages, and /metrics. The caller adds the farm's actors to <c>builder.Services</c>
/// (AddStyleFarmAkka with AddStyleFarmCoordinator and AddStyleFarmDashboard(store, metrics)), builds, and maps:
/// <code>
/// var builder = StyleFarmWebHost.CreateBuilder(web, store, blobs, metrics);
/// builder.Services.AddStyleFarmAkka(cluster, …);
/// WebApplication app = builder.Build().MapStyleFarmWeb();
/// </code>
/// </summary>
public static class StyleFarmWebHost
{
    /// <exception cref="ArgumentException">The options have a <see cref="StyleFarmWebOptions.Problem"/>.</exception>
    public static WebApplicationBuilder CreateBuilder(StyleFarmWebOptions options, FarmStore store, BlobStore blobs, FarmMetrics metrics)
    {
        if (options.Problem() is { } problem) throw new ArgumentException(problem, nameof(options));
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://{options.Endpoint}");
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(blobs);
        builder.Services.AddStyleFarmApi(api => api.ApiToken = options.ApiToken);
        builder.Services.AddSingleton(metrics).AddStyleFarmDashboardFeed(); // the Dashboard actor feeds both
        return builder;
    }

    /// <summary>Maps the API (with the dashboard's JSON and event stream), /metrics and the dashboard's pages.</summary>
    public static WebApplication MapStyleFarmWeb(this WebApplication app)
    {
        app.MapStyleFarmApi();
        app.MapFarmMetrics();
        app.MapStyleFarmDashboardPages(); // Dashboard/Web: the pages and their assets under /ui
        return app;
    }

    /// <summary>The address a started app listens on, as a browser on this machine reaches it (0.0.0.0 as 127.0.0.1).</summary>
    public static Uri BoundAddress(WebApplication app)
    {
        var bound = new Uri(app.Urls.First());
        string host = bound.Host.Trim('[', ']') switch
        {
            "0.0.0.0" => "127.0.0.1",
            "::" => "[::1]",
            _ => bound.Host,
        };
        return new UriBuilder(bound.Scheme, host, bound.Port, "/").Uri;
    }

    /// <summary>The dashboard's address to print: with a token, as <c>…/#token=T</c>, which the pages keep and send.</summary>
    public static string DashboardLink(Uri dashboard, string? token) =>
        token is null ? dashboard.ToString() : $"{dashboard}#token={Uri.EscapeDataString(token)}";
}

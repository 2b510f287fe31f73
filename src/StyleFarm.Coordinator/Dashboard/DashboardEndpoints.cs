using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StyleFarm.Coordinator.Api;
using static StyleFarm.Coordinator.Api.StyleFarmApi;

namespace StyleFarm.Coordinator.Dashboard;

/// <summary>
/// /api/v1/dashboard (the live view as JSON) and /api/v1/events (the same view as server-sent events: one `view`
/// event at once, then one whenever it changes, at most five a second, and a comment line every
/// <see cref="HeartbeatEvery"/> so proxies and clients know the stream is alive).
/// </summary>
public static class DashboardEndpoints
{
    public static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(15);

    /// <summary>The SSE event name of a whole view.</summary>
    public const string ViewEvent = "view";

    public static void MapDashboardEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/dashboard", async (HttpContext http, CancellationToken cancel) =>
            Feed(http) is { } feed ? Json(await feed.CurrentAsync(cancel).ConfigureAwait(false)) : NoDashboard());
        api.MapGet("/events", Events);
    }

    // The feed is looked up rather than injected: a host without a dashboard (the API's own tests) still maps the API.
    private static IDashboardFeed? Feed(HttpContext http) => http.RequestServices.GetService<IDashboardFeed>();

    private static IResult NoDashboard() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "Dashboard unavailable", "this coordinator runs no dashboard");

    private static async Task<IResult> Events(HttpContext http, IHostApplicationLifetime lifetime, CancellationToken aborted)
    {
        if (Feed(http) is not { } feed) return NoDashboard();
        // Ends with the client, or when the host stops (which would otherwise wait for the stream to end).
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(aborted, lifetime.ApplicationStopping);
        CancellationToken cancel = stream.Token;
        await using DashboardSubscription subscription = await feed.SubscribeAsync(cancel).ConfigureAwait(false);

        HttpResponse response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx would otherwise hold the events back
        try
        {
            await WriteAsync(response, "retry: 3000\n\n", cancel).ConfigureAwait(false);
            while (!cancel.IsCancellationRequested)
            {
                using var beat = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                beat.CancelAfter(HeartbeatEvery);
                bool open;
                try
                {
                    open = await subscription.Views.WaitToReadAsync(beat.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    await WriteAsync(response, ": heartbeat\n\n", cancel).ConfigureAwait(false);
                    continue;
                }
                if (!open) break; // the dashboard stopped: the coordinator is shutting down
                while (subscription.Views.TryRead(out DashboardView? view))
                    await WriteAsync(response, Event(view), cancel).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // The client went away, or the coordinator is stopping.
        }
        return Microsoft.AspNetCore.Http.Results.Empty;
    }

    /// <summary>One `view` event: its id is the view's version, its data the view's JSON on one line.</summary>
    public static string Event(DashboardView view) => string.Create(CultureInfo.InvariantCulture,
        $"event: {ViewEvent}\nid: {view.Version}\ndata: {JsonSerializer.Serialize(view, ApiJson.Options)}\n\n");

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancel)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancel).ConfigureAwait(false);
        await response.Body.FlushAsync(cancel).ConfigureAwait(false);
    }
}

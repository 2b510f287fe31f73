using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using StyleFarm.Coordinator.Dashboard;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Messages;

namespace StyleFarm.Coordinator.Api;

/// <summary>Limits and defaults of the HTTP API.</summary>
public sealed class StyleFarmApiOptions
{
    /// <summary>The largest blob a client may upload (a VGG19 state dict is about 550 MB).</summary>
    public long MaxBlobBytes { get; set; } = 2L << 30;

    /// <summary>The free memory to plan batches for when no device of the farm reports any.</summary>
    public long DefaultDeviceFreeBytes { get; set; } = 8L << 30;

    /// <summary>How many of a sweep's most recent failed attempts GET /api/v1/sweeps/{id} lists.</summary>
    public int RecentFailures { get; set; } = 20;

    /// <summary>When set, mutating requests need <c>Authorization: Bearer &lt;token&gt;</c> (<see cref="Api.ApiToken"/>).</summary>
    public string? ApiToken { get; set; }
}

/// <summary>
/// The coordinator's versioned HTTP API, /api/v1: blobs in and out, sweeps submitted, read and controlled, nodes
/// listed and drained. Reads go to the <c>FarmStore</c>; commands go to the SweepManager through
/// <see cref="IFarmControl"/>. Every error is problem+json (<see cref="ApiProblem"/>) with a detail that says what
/// to do; an invalid request also lists its <see cref="ApiError"/>s.
/// </summary>
public static class StyleFarmApi
{
    public const string Prefix = "/api/v1";

    /// <summary>The API's own version: bump on a breaking change, with a new prefix.</summary>
    public const int Version = 1;

    /// <summary>
    /// Registers what the API needs besides the <c>FarmStore</c> and <c>BlobStore</c> singletons the host registers:
    /// <see cref="IFarmControl"/> as <see cref="ActorFarmControl"/> (unless already registered, so a test or an
    /// embedded farm can supply its own), the fusion planner and the options.
    /// </summary>
    public static IServiceCollection AddStyleFarmApi(this IServiceCollection services, Action<StyleFarmApiOptions>? configure = null)
    {
        var options = new StyleFarmApiOptions();
        configure?.Invoke(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton<IFarmControl, ActorFarmControl>();
        services.TryAddSingleton<FusionPlanner>();
        return services;
    }

    /// <summary>Maps every endpoint under <see cref="Prefix"/>.</summary>
    public static IEndpointRouteBuilder MapStyleFarmApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder api = app.MapGroup(Prefix).AddEndpointFilter(ApiToken.Require).AddEndpointFilter(AnswerFailuresAsProblems);
        api.MapGet("", Info);
        api.MapGet("/health", () => Json(new ApiHealth("ok", DateTimeOffset.UtcNow)));
        api.MapBlobEndpoints();
        api.MapSweepFileEndpoints(); // SweepFileEndpoints.cs: check and submit a sweep file as written
        api.MapSweepEndpoints();
        api.MapNodeEndpoints();
        api.MapDashboardEndpoints(); // Dashboard/DashboardEndpoints.cs: the live view and its event stream
        api.MapFallback(() => Problem(StatusCodes.Status404NotFound, "Not found",
            $"no such endpoint; GET {Prefix} lists them"));
        return app;
    }

    /// <summary>Every endpoint, for GET /api/v1 (and kept beside docs/api.md).</summary>
    public static readonly IReadOnlyList<ApiEndpoint> Endpoints =
    [
        new("GET", Prefix, "this list, the API version and the cluster protocol version"),
        new("GET", $"{Prefix}/health", "liveness"),
        new("HEAD", $"{Prefix}/blobs/{{hash}}", "whether a blob is stored (200) or not (404)"),
        new("PUT", $"{Prefix}/blobs/{{hash}}", "upload a blob's raw bytes; they must hash (SHA-256) to {hash}"),
        new("GET", $"{Prefix}/blobs/{{hash}}", "download a blob"),
        new("POST", $"{Prefix}/sweeps", "submit a sweep whose files are uploaded"),
        new("POST", $"{Prefix}/sweeps/check", "check a sweep file as written, its files attached as uploaded blobs: every error with its line"),
        new("POST", $"{Prefix}/sweeps/file", "submit a sweep file as written, its files attached as uploaded blobs"),
        new("GET", $"{Prefix}/sweeps", "every sweep, newest first, with job counts by state"),
        new("GET", $"{Prefix}/sweeps/{{id}}", "one sweep: file, progress, running units, failures"),
        new("GET", $"{Prefix}/sweeps/{{id}}/jobs", "a sweep's jobs with settings, losses, blobs and snapshots"),
        new("GET", $"{Prefix}/sweeps/{{id}}/results", "a sweep's results, as `stylefarm results` writes them"),
        new("POST", $"{Prefix}/sweeps/{{id}}/pause", "hand out no more of the sweep's units"),
        new("POST", $"{Prefix}/sweeps/{{id}}/resume", "hand out a paused sweep's units again"),
        new("POST", $"{Prefix}/sweeps/{{id}}/cancel", "cancel the sweep's unfinished jobs"),
        new("GET", $"{Prefix}/jobs/{{id}}", "one job with its attempts and snapshots"),
        new("GET", $"{Prefix}/nodes", "the farm's nodes and devices"),
        new("POST", $"{Prefix}/nodes/{{nodeId}}/drain?now=false", "drain a node: finish (or, with now=true, hand back) its units and leave"),
        new("GET", $"{Prefix}/dashboard", "the live view: sweeps with ETAs, running units and jobs, nodes and devices, recent failures"),
        new("GET", $"{Prefix}/events", "the live view as server-sent events: a `view` event now and on every change (≤ 5/s), heartbeats every 15 s"),
    ];

    private static IResult Info(StyleFarmApiOptions options) =>
        Json(new ApiInfo("stylefarm-coordinator", ServiceVersion, Version, WireLimits.ProtocolVersion, Endpoints, options.ApiToken is not null));

    private static readonly string ServiceVersion =
        typeof(StyleFarmApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(StyleFarmApi).Assembly.GetName().Version?.ToString() ?? "0";

    // ---- answers ----

    internal static IResult Json<T>(T value, int status = StatusCodes.Status200OK) =>
        TypedResults.Json(value, ApiJson.Options, statusCode: status);

    internal static IResult Problem(int status, string title, string detail, IReadOnlyList<ApiError>? errors = null) =>
        TypedResults.Json(new ApiProblem("about:blank", title, status, detail, errors), ApiJson.Options, ApiProblem.ContentType, status);

    internal static IResult Invalid(string detail, IReadOnlyList<ApiError> errors) =>
        Problem(StatusCodes.Status400BadRequest, "Invalid request", detail, errors);

    internal static IResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "Not found", detail);

    /// <summary>
    /// The farm not answering is 503 with its message; anything else unexpected is 500 with the exception's message
    /// (the coordinator is the user's own, so there is nothing to hide, and a bare 500 helps no one).
    /// </summary>
    private static async ValueTask<object?> AnswerFailuresAsProblems(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (FarmUnavailableException e)
        {
            return Problem(StatusCodes.Status503ServiceUnavailable, "Farm unavailable", e.Message);
        }
        catch (BadHttpRequestException e)
        {
            return Problem(e.StatusCode, "Bad request", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            context.HttpContext.RequestServices.GetService<ILoggerFactory>()?.CreateLogger(typeof(StyleFarmApi))
                .LogError(e, "{Method} {Path} failed", context.HttpContext.Request.Method, context.HttpContext.Request.Path);
            return Problem(StatusCodes.Status500InternalServerError, "Internal error", e.Message);
        }
    }
}

using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;
using static StyleFarm.Coordinator.Api.StyleFarmApi;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// POST /api/v1/sweeps/check and /api/v1/sweeps/file: a sweep file as written, its files uploaded as blobs,
/// checked (and submitted) by the coordinator with the same loader `stylefarm validate` and `submit` use, for
/// clients that cannot run it (the web dashboard's Submit page). <see cref="SweepFileCheck"/> does the checking;
/// a valid sweep is submitted exactly as `stylefarm submit` submits it (<see cref="SweepFileSubmission"/>).
/// </summary>
internal static class SweepFileEndpoints
{
    public static void MapSweepFileEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/sweeps/check", CheckAsync);
        api.MapPost("/sweeps/file", SubmitFileAsync);
    }

    /// <summary>200 with every problem and the files the sweep names, for any well-formed request.</summary>
    private static async Task<IResult> CheckAsync(HttpContext http, FarmStore store, BlobStore blobs, FusionPlanner planner,
        IFarmControl farm, StyleFarmApiOptions options, CancellationToken cancel)
    {
        (SweepFileRequest? request, IResult? malformed) = await ReadAsync(http, cancel).ConfigureAwait(false);
        if (request is null) return malformed!;

        SweepFileCheckResult result = new SweepFileCheck(blobs).Check(request);
        int units = result.Submission is { } valid
            ? await UnitsAsync(valid.Sweep, store, planner, farm, options, cancel).ConfigureAwait(false)
            : 0;
        return Json(new SweepCheckResponse(result.Valid, result.Name, result.Jobs, units, result.Errors, result.Files));
    }

    /// <summary>201 as POST /api/v1/sweeps answers, or 400 with every problem and nothing stored.</summary>
    private static async Task<IResult> SubmitFileAsync(HttpContext http, FarmStore store, BlobStore blobs, FusionPlanner planner,
        IFarmControl farm, StyleFarmApiOptions options, CancellationToken cancel)
    {
        (SweepFileRequest? request, IResult? malformed) = await ReadAsync(http, cancel).ConfigureAwait(false);
        if (request is null) return malformed!;

        SweepFileCheckResult result = new SweepFileCheck(blobs).Check(request);
        if (!result.Valid)
        {
            int n = result.Errors.Count;
            return Invalid($"{SweepFileCheck.FileNameOf(request)}: the sweep has {(n == 1 ? "1 error" : $"{n} errors")}; nothing was submitted",
                result.Errors);
        }
        return await SweepEndpoints.SubmitAsync(result.Submission!.ToRequest(), http, store, blobs, planner, farm, options, cancel)
            .ConfigureAwait(false);
    }

    private static async Task<(SweepFileRequest?, IResult?)> ReadAsync(HttpContext http, CancellationToken cancel)
    {
        SweepFileRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<SweepFileRequest>(http.Request.Body, ApiJson.Options, cancel).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return (null, Invalid($"the body is not a sweep file request: {e.Message}", [new ApiError(e.Path ?? "", 0, e.Message)]));
        }
        if (request is null)
            return (null, Invalid("the body is empty; send { fileName, fileText, files }", [new ApiError("", 0, "body is null")]));
        if (request.FileText is null)
            return (null, Invalid("fileText is required: the sweep file's text", [new ApiError("fileText", 0, "is required")]));
        return (request, null);
    }

    /// <summary>The units the sweep's jobs not done yet would be fused into, planned as a submission would plan them.</summary>
    private static async Task<int> UnitsAsync(ExpandedSweep sweep, FarmStore store, FusionPlanner planner, IFarmControl farm,
        StyleFarmApiOptions options, CancellationToken cancel)
    {
        long deviceFreeBytes;
        try
        {
            deviceFreeBytes = SweepEndpoints.DeviceFreeBytes(await farm.Nodes(cancel).ConfigureAwait(false), options);
        }
        catch (FarmUnavailableException)
        {
            // A check is advice: plan for the default device rather than refuse it.
            deviceFreeBytes = options.DefaultDeviceFreeBytes;
        }
        IReadOnlyDictionary<string, JobRecord> done = store.FindCompletedJobs(sweep.Jobs.Select(j => j.Settings.JobId));
        return planner.Plan("check", sweep.Priority, sweep.Jobs.Select(j => j.Settings).Where(s => !done.ContainsKey(s.JobId)),
            deviceFreeBytes).Count;
    }
}

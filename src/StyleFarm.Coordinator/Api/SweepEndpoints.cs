using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;
using static StyleFarm.Coordinator.Api.StyleFarmApi;

namespace StyleFarm.Coordinator.Api;

/// <summary>/api/v1/sweeps and /api/v1/jobs: submit a sweep, read sweeps and jobs, pause, resume and cancel.</summary>
internal static class SweepEndpoints
{
    public static void MapSweepEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/sweeps", Submit);
        api.MapGet("/sweeps", List);
        api.MapGet("/sweeps/{id}", Get);
        api.MapGet("/sweeps/{id}/jobs", Jobs);
        api.MapGet("/sweeps/{id}/results", SweepResultsOf);
        api.MapPost("/sweeps/{id}/pause", (string id, FarmStore store, IFarmControl farm, CancellationToken cancel) =>
            Control(id, store, () => farm.Pause(id, cancel)));
        api.MapPost("/sweeps/{id}/resume", (string id, FarmStore store, IFarmControl farm, CancellationToken cancel) =>
            Control(id, store, () => farm.Resume(id, cancel)));
        api.MapPost("/sweeps/{id}/cancel", (string id, FarmStore store, IFarmControl farm, CancellationToken cancel) =>
            Control(id, store, () => farm.Cancel(id, cancel)));
        api.MapGet("/jobs/{id}", Job);
    }

    // ---- submit ----

    private static async Task<IResult> Submit(HttpContext http, FarmStore store, BlobStore blobs, FusionPlanner planner,
        IFarmControl farm, StyleFarmApiOptions options, CancellationToken cancel)
    {
        SubmitSweepRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<SubmitSweepRequest>(http.Request.Body, ApiJson.Options, cancel).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return Invalid($"the body is not a sweep submission: {e.Message}", [new ApiError(e.Path ?? "", 0, e.Message)]);
        }
        if (request is null) return Invalid("the body is empty; send a sweep submission", [new ApiError("", 0, "body is null")]);
        return await SubmitAsync(request, http, store, blobs, planner, farm, options, cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks, stores and hands a submission to the SweepManager: 201 with the stored sweep, or 400 with every problem
    /// and nothing stored. POST /api/v1/sweeps/file (SweepFileEndpoints) submits through here too.
    /// </summary>
    internal static async Task<IResult> SubmitAsync(SubmitSweepRequest request, HttpContext http, FarmStore store, BlobStore blobs,
        FusionPlanner planner, IFarmControl farm, StyleFarmApiOptions options, CancellationToken cancel)
    {
        IReadOnlyList<ApiError> errors = SubmissionChecks.Check(request);
        if (errors.Count > 0) return Invalid($"{request.FileName}: the sweep has {Count(errors.Count, "error")}", errors);
        IReadOnlyList<(string Hash, ApiError Error)> missing = SubmissionChecks.MissingBlobs(request, blobs.Exists);
        if (missing.Count > 0)
            return Invalid($"the coordinator lacks {Count(missing.Count, "blob")} the sweep names " +
                           $"({string.Join(", ", missing.Select(m => m.Hash))}); upload them first",
                missing.Select(m => m.Error).ToArray());

        // Planning for the largest device present lets the SweepManager split a unit that is too big for a
        // smaller one; planning for the smallest would split every unit the big devices could run whole.
        long deviceFreeBytes = DeviceFreeBytes(await farm.Nodes(cancel).ConfigureAwait(false), options);
        ExpandedSweep sweep = ToExpandedSweep(request, blobs);
        SubmittedSweep submitted = new SweepSubmitter(store, blobs, planner, deviceFreeBytes).Submit(sweep, request.FileText);

        // The sweep is durable now; the SweepManager loads unfinished sweeps when it starts, so a missed
        // notification delays the sweep but loses nothing. Say so rather than fail a submission that happened.
        string? warning = null;
        try
        {
            SweepControlAck ack = await farm.Submitted(submitted.Sweep.Id, cancel).ConfigureAwait(false);
            if (!ack.Applied) warning = $"the SweepManager did not take the sweep up: {ack.Error}";
        }
        catch (FarmUnavailableException e)
        {
            warning = $"{e.Message}; the sweep is stored and starts when the SweepManager next loads unfinished sweeps";
        }

        var response = new SubmitSweepResponse(submitted.Sweep.Id, submitted.Sweep.Name, submitted.Jobs, submitted.ReusedJobs,
            submitted.Units.Count, warning);
        http.Response.Headers.Location = $"{Prefix}/sweeps/{submitted.Sweep.Id}";
        return Json(response, StatusCodes.Status201Created);
    }

    /// <summary>The sweep as the submitter takes it: its files are the blobs themselves, already in place.</summary>
    private static ExpandedSweep ToExpandedSweep(SubmitSweepRequest request, BlobStore blobs)
    {
        var jobs = new List<SweepJob>(request.Jobs.Count);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (SubmitSweepJob job in request.Jobs)
            if (ids.Add(job.Settings.JobId)) jobs.Add(new SweepJob(job.Settings, job.SweptValues));
        var images = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (SweepJob job in jobs)
            foreach (string? hash in new[] { job.Settings.ContentImage, job.Settings.StyleImage, job.Settings.WeightsBlob })
                if (hash is not null) images.TryAdd(hash, blobs.PathOf(hash));
        return new ExpandedSweep(request.Name, request.Priority, request.Retries, request.MaxJobs, jobs, images);
    }

    internal static long DeviceFreeBytes(FarmNodes nodes, StyleFarmApiOptions options)
    {
        long largest = nodes.Nodes.Where(n => n.State != "gone")
            .SelectMany(n => n.Devices).Where(d => d.State != "gone")
            .Select(d => d.FreeMemoryBytes).DefaultIfEmpty(0).Max();
        return largest > 0 ? largest : options.DefaultDeviceFreeBytes;
    }

    // ---- reads ----

    private static IResult List(FarmStore store)
    {
        var rows = new List<SweepSummary>();
        foreach (SweepRecord sweep in store.ListSweeps())
        {
            // A sweep listed a moment ago has progress unless it was deleted in between; skip it then.
            if (store.Progress(sweep.Id) is not { } progress) continue;
            rows.Add(new SweepSummary(sweep.Id, sweep.Name, sweep.State, sweep.Priority, sweep.CreatedAt, sweep.FinishedAt,
                progress.JobCount, progress.Jobs));
        }
        return Json(rows);
    }

    private static IResult Get(string id, FarmStore store, StyleFarmApiOptions options)
    {
        if (store.GetSweep(id) is not { } sweep || store.Progress(id) is not { } progress) return UnknownSweep(id);
        RunningUnit[] running = store.UnitsOfSweep(id)
            .Where(u => u.State is UnitState.Assigned or UnitState.Running)
            .Select(u => new RunningUnit(u.UnitId, u.State, u.Node, u.Device, u.Unit.Jobs.Count(), u.Unit.MaxSteps, u.Attempts))
            .ToArray();
        AttemptView[] failures = store.Failures(id).TakeLast(options.RecentFailures).Select(a => a.ToView()).ToArray();
        FailedJob[] failedJobs = store.SweepJobs(id).Where(j => j.Job.State == JobState.Failed)
            .Select(j => new FailedJob(j.Job.Id, j.SweptValues, j.Job.FailureReason)).ToArray();
        return Json(new SweepDetail(sweep.Id, sweep.Name, sweep.State, sweep.Priority, sweep.Retries, sweep.CreatedAt,
            sweep.FinishedAt, sweep.FileText, progress.JobCount, progress.Jobs, progress.Units, running, failures, failedJobs));
    }

    private static IResult Jobs(string id, FarmStore store)
    {
        if (store.GetSweep(id) is null) return UnknownSweep(id);
        JobView[] jobs = store.SweepJobs(id).Select(j => j.Job.ToView(j.SweptValues, store.Snapshots(j.Job.Id))).ToArray();
        return Json(jobs);
    }

    private static IResult SweepResultsOf(string id, FarmStore store) =>
        SweepResultsBuilder.FromStore(store, id) is { } results
            ? TypedResults.Json(results, SweepResultsJson.Options)
            : UnknownSweep(id);

    /// <summary>
    /// A job with every hand-out of a unit that answered it. Attempts are kept per unit, so this walks the units of
    /// every sweep: fine for the farm's few hundred sweeps, and only this page pays for it.
    /// </summary>
    private static IResult Job(string id, FarmStore store)
    {
        if (store.GetJob(id) is not { } job) return NotFound($"no job {id} on this coordinator");
        // Index seeks by job id: a job page costs the same in a store of one sweep as in one of thousands.
        var sweeps = store.SweepsOfJob(id);
        IReadOnlyDictionary<string, string>? swept = sweeps.Count > 0 ? sweeps[0].SweptValues : null;
        return Json(new JobDetail(job.ToView(swept, store.Snapshots(id)), sweeps.Select(s => s.SweepId).ToArray(),
            store.AttemptsOfJob(id).Select(a => a.ToView()).ToArray()));
    }

    // ---- control ----

    /// <summary>404 for a sweep the store does not know; otherwise the SweepManager's ack, 409 when it refused.</summary>
    private static async Task<IResult> Control(string id, FarmStore store, Func<Task<SweepControlAck>> command)
    {
        if (store.GetSweep(id) is null) return UnknownSweep(id);
        SweepControlAck ack = await command().ConfigureAwait(false);
        return ack.Applied
            ? Json(ack)
            : Problem(StatusCodes.Status409Conflict, "Not applicable",
                $"cannot {ack.Command} sweep {id}: {ack.Error ?? "the SweepManager refused"}");
    }

    private static IResult UnknownSweep(string id) => NotFound($"no sweep {id} on this coordinator; `stylefarm status` lists them");

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}

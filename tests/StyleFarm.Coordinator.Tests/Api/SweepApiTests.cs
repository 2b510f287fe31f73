using System.Net;
using System.Net.Http.Json;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Coordinator.Tests.Sweeps;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Api;

public sealed class SweepApiTests : IAsyncLifetime
{
    private readonly SweepFolder _folder = new();
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.StartAsync();

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _folder.Dispose();
    }

    // ---- submit ----

    [Fact]
    public async Task ASubmittedSweepIsStoredWithItsFilesAndTheFarmIsTold()
    {
        ExpandedSweep sweep = ApiTestData.Load(_folder, out string path);
        var uploaded = new List<(string, bool)>();

        SubmitSweepResponse submitted = await _api.Client.SubmitSweepAsync(sweep, "sweep.yaml", File.ReadAllText(path),
            (file, sent) => uploaded.Add((file, sent)));

        Assert.Equal(("api-demo", 6, 0, 1), (submitted.Name, submitted.Jobs, submitted.ReusedJobs, submitted.Units));
        Assert.Null(submitted.Warning);
        SweepRecord stored = Assert.Single(_api.Store.ListSweeps());
        Assert.Equal(submitted.Id, stored.Id);
        Assert.Equal(ApiTestData.SweepYaml, stored.FileText);
        Assert.Equal(sweep.Jobs.Select(j => j.Settings.JobId).Order(), _api.Store.SweepJobs(stored.Id).Select(j => j.Job.Id).Order());
        Assert.All(sweep.Images.Keys, hash => Assert.Equal(File.ReadAllBytes(sweep.Images[hash]), _api.Blobs.Read(hash)));
        Assert.All(uploaded, u => Assert.True(u.Item2));
        Assert.Equal(["nodes", $"submit {submitted.Id}"], _api.Farm.Calls);
    }

    [Fact]
    public async Task FilesTheCoordinatorHasAreNotSentAgain()
    {
        await ApiTestData.SubmitAsync(_api, _folder);
        ExpandedSweep again = SweepLoader.Load(_folder.PathOf("sweep.yaml"));
        var uploaded = new List<bool>();

        SubmitSweepResponse second = await _api.Client.SubmitSweepAsync(again, "sweep.yaml", ApiTestData.SweepYaml, (_, sent) => uploaded.Add(sent));

        Assert.Equal([false, false], uploaded);
        Assert.Equal(2, _api.Store.ListSweeps().Count);
        Assert.Equal(6, second.Jobs);
    }

    [Fact]
    public async Task ASweepNamingABlobTheCoordinatorLacksIsRefusedNamingItAndNothingIsStored()
    {
        ExpandedSweep sweep = ApiTestData.Load(_folder, out _);
        SubmitSweepRequest request = Request(sweep);
        string content = sweep.Jobs[0].Settings.ContentImage;

        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.SubmitSweepAsync(request));

        Assert.Equal(400, refused.Status);
        Assert.Contains(content, refused.Message);
        Assert.Contains(refused.Errors, e => e.Field == "jobs[0].settings.contentImage" && e.Message.Contains(content));
        Assert.Contains(refused.Errors, e => e.Field == "jobs[0].settings.styleImage");
        Assert.Equal(2, refused.Errors.Count);   // each missing blob once, not once per job
        Assert.Empty(_api.Store.ListSweeps());
        Assert.Empty(_api.Farm.Calls);
    }

    [Fact]
    public async Task SettingsTheEngineWouldRefuseAreListedOneByOne()
    {
        ExpandedSweep sweep = ApiTestData.Load(_folder, out _);
        JobSettings good = sweep.Jobs[0].Settings;
        SubmitSweepRequest request = Request(sweep) with
        {
            Jobs =
            [
                new SubmitSweepJob(good with { Network = "alexnet" }, new Dictionary<string, string>()),
                new SubmitSweepJob(good with { Optimizer = "sgd", Size = 4, LearningRate = 0 }, new Dictionary<string, string>()),
                new SubmitSweepJob(good with { ContentLayer = "layer9", ContentImage = "not-a-hash" }, new Dictionary<string, string>()),
            ],
        };

        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.SubmitSweepAsync(request));

        Assert.Equal(400, refused.Status);
        Assert.Equal(
            ["jobs[0].settings.network", "jobs[1].settings.size", "jobs[1].settings.learningRate", "jobs[1].settings.optimizer",
             "jobs[2].settings.contentImage", "jobs[2].settings.contentLayer"],
            refused.Errors.Select(e => e.Field));
        Assert.Contains("unknown network 'alexnet'", refused.Errors[0].Message);
        Assert.All(refused.Errors, e => Assert.Equal(0, e.Line));
        Assert.Empty(_api.Store.ListSweeps());
    }

    [Fact]
    public async Task MoreJobsThanTheSweepsMaxJobsAreRefused()
    {
        await UploadImagesAsync();
        SubmitSweepRequest request = Request(ApiTestData.Load(_folder, out _)) with { MaxJobs = 2 };

        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.SubmitSweepAsync(request));

        ApiError error = Assert.Single(refused.Errors);
        Assert.Equal("jobs", error.Field);
        Assert.Contains("more than the sweep's max_jobs of 2", error.Message);
    }

    [Fact]
    public async Task ABodyThatIsNotJsonIsA400ProblemWithTheParsersReason()
    {
        using var response = await _api.Http.PostAsync("api/v1/sweeps", new StringContent("{ name: ", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        ApiProblem? problem = await response.Content.ReadFromJsonAsync<ApiProblem>(ApiJson.Options);
        Assert.StartsWith("the body is not a sweep submission", problem!.Detail);
    }

    [Fact]
    public void UnitsArePlannedForTheLargestDeviceOfTheFarm()
    {
        var nodes = new FarmNodes([
            ApiTestData.Node("a", "up", ApiTestData.Device("a", "cpu", 1L << 30)),
            ApiTestData.Node("b", "up", ApiTestData.Device("b", "cuda:0", 24L << 30)),
            ApiTestData.Node("c", "gone", ApiTestData.Device("c", "cuda:0", 80L << 30, state: "gone")),
        ]);
        var options = new StyleFarmApiOptions { DefaultDeviceFreeBytes = 5 };

        Assert.Equal(24L << 30, SweepEndpoints.DeviceFreeBytes(nodes, options));
        Assert.Equal(5, SweepEndpoints.DeviceFreeBytes(new FarmNodes([]), options));
        Assert.Equal(5, SweepEndpoints.DeviceFreeBytes(new FarmNodes([ApiTestData.Node("a", "up", ApiTestData.Device("a", "cpu", 0))]), options));
    }

    [Fact]
    public async Task AFarmThatDoesNotAnswerBeforeStoringIs503AndNothingIsStored()
    {
        await UploadImagesAsync();
        _api.Farm.Unavailable = true;

        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.SubmitSweepAsync(Request(ApiTestData.Load(_folder, out _))));

        Assert.Equal(503, refused.Status);
        Assert.Contains("did not answer", refused.Message);
        Assert.Empty(_api.Store.ListSweeps());
    }

    [Fact]
    public async Task ASweepTheSweepManagerRefusesToTakeUpIsStillSubmittedWithAWarning()
    {
        _api.Farm.Refusal = "shutting down";

        SubmitSweepResponse submitted = await ApiTestData.SubmitAsync(_api, _folder);

        Assert.Contains("shutting down", submitted.Warning);
        Assert.Equal(submitted.Id, Assert.Single(_api.Store.ListSweeps()).Id);
    }

    // ---- reads ----

    [Fact]
    public async Task SweepsAreListedWithTheirJobCountsByState()
    {
        SubmitSweepResponse submitted = await ApiTestData.SubmitAsync(_api, _folder);

        SweepSummary row = Assert.Single(await _api.Client.ListSweepsAsync());

        Assert.Equal((submitted.Id, "api-demo", SweepState.Queued, 50, 6), (row.Id, row.Name, row.State, row.Priority, row.JobCount));
        Assert.Equal(6, row.Jobs[JobState.Queued]);
        Assert.Equal(0, row.Jobs[JobState.Done]);
        Assert.Null(row.FinishedAt);
    }

    [Fact]
    public async Task StatesAreWrittenAsLowerCaseNames()
    {
        await ApiTestData.SubmitAsync(_api, _folder);

        string json = await _api.Http.GetStringAsync("api/v1/sweeps");

        Assert.Contains("\"state\":\"queued\"", json);
        Assert.Contains("\"queued\":6", json);
    }

    [Fact]
    public async Task ASweepShowsItsFileProgressRunningUnitsAndFailuresWithReasons()
    {
        SubmitSweepResponse submitted = await ApiTestData.SubmitAsync(_api, _folder);
        UnitRecord unit = Assert.Single(_api.Store.UnitsOfSweep(submitted.Id));
        string first = _api.Store.AssignUnit(unit.UnitId, "node-a", "node-a/cuda:0")!;
        _api.Store.FailUnit(unit.UnitId, first, "CUDA out of memory");
        string second = _api.Store.AssignUnit(unit.UnitId, "node-b", "node-b/cuda:0")!;
        _api.Store.MarkUnitRunning(unit.UnitId, second);

        SweepDetail sweep = await _api.Client.GetSweepAsync(submitted.Id);

        Assert.Equal(SweepState.Running, sweep.State);
        Assert.Equal(ApiTestData.SweepYaml, sweep.FileText);
        Assert.Equal(6, sweep.Jobs[JobState.Running]);
        Assert.Equal(1, sweep.Units[UnitState.Running]);
        RunningUnit running = Assert.Single(sweep.RunningUnits);
        Assert.Equal((unit.UnitId, "node-b", "node-b/cuda:0", 6, 100, 2), (running.UnitId, running.Node, running.Device, running.Jobs, running.MaxSteps, running.Attempts));
        AttemptView failure = Assert.Single(sweep.Failures);
        Assert.Equal(("node-a/cuda:0", AttemptOutcome.Failed, "CUDA out of memory"), (failure.Device, failure.Outcome, failure.Reason));
    }

    [Fact]
    public async Task ASweepsJobsCarryTheirSettingsResultsAndSnapshots()
    {
        SubmitSweepResponse submitted = await ApiTestData.SubmitAsync(_api, _folder);
        ApiTestData.CompleteEveryUnit(_api.Store, _api.Blobs, submitted.Id, [7, 7, 7]);

        IReadOnlyList<JobView> jobs = await _api.Client.GetSweepJobsAsync(submitted.Id);

        Assert.Equal(6, jobs.Count);
        Assert.All(jobs, j => Assert.Equal(JobState.Done, j.State));
        JobView job = jobs[0];
        Assert.Equal(job.Id, job.Settings.JobId);
        Assert.Equal(new Dictionary<string, string> { ["style_weight"] = "1", ["steps"] = "50" }, job.SweptValues);
        Assert.Equal(new LossValues(1, 0.5, 0.4, 0.1), job.FinalLosses);
        Assert.Equal(("node-a", "node-a/cpu", 3), (job.Node, job.Device, job.BatchSize));
        Assert.Equal(_api.Blobs.Put([7, 7, 7]), job.ResultBlob);
        Assert.NotNull(job.TraceBlob);
        Assert.Equal(50, Assert.Single(job.Snapshots).Step);
    }

    [Fact]
    public async Task AJobShowsEveryAttemptOfItsUnitsAndTheSweepsThatAskedForIt()
    {
        SubmitSweepResponse first = await ApiTestData.SubmitAsync(_api, _folder);
        UnitRecord unit = Assert.Single(_api.Store.UnitsOfSweep(first.Id));
        string attempt = _api.Store.AssignUnit(unit.UnitId, "node-a", "node-a/cpu")!;
        _api.Store.FailUnit(unit.UnitId, attempt, "driver crashed");
        string jobId = unit.Unit.Jobs.First().JobId;

        JobDetail job = await _api.Client.GetJobAsync(jobId);

        Assert.Equal(jobId, job.Job.Id);
        Assert.Equal([first.Id], job.Sweeps);
        AttemptView only = Assert.Single(job.Attempts);
        Assert.Equal(("node-a", AttemptOutcome.Failed, "driver crashed"), (only.Node, only.Outcome, only.Reason));
        Assert.NotNull(job.Job.SweptValues);
    }

    [Fact]
    public async Task AJobAskedForByTwoSweepsShowsBothAndTheAttemptsOfEitherOldestFirst()
    {
        SubmitSweepResponse first = await ApiTestData.SubmitAsync(_api, _folder);
        SubmitSweepResponse second = await ApiTestData.SubmitAsync(_api, _folder); // nothing done yet: its own unit
        UnitRecord firstUnit = Assert.Single(_api.Store.UnitsOfSweep(first.Id));
        UnitRecord secondUnit = Assert.Single(_api.Store.UnitsOfSweep(second.Id));
        string failed = _api.Store.AssignUnit(firstUnit.UnitId, "node-a", "node-a/cpu")!;
        _api.Store.FailUnit(firstUnit.UnitId, failed, "driver crashed");
        string running = _api.Store.AssignUnit(secondUnit.UnitId, "node-b", "node-b/cpu")!;
        string jobId = firstUnit.Unit.Jobs.First().JobId;
        Assert.Contains(secondUnit.Unit.Jobs, j => j.JobId == jobId);

        JobDetail job = await _api.Client.GetJobAsync(jobId);

        Assert.Equal([first.Id, second.Id], job.Sweeps);
        Assert.Equal([failed, running], job.Attempts.Select(a => a.Id));
        Assert.Equal([AttemptOutcome.Failed, (AttemptOutcome?)null], job.Attempts.Select(a => a.Outcome));
    }

    [Fact]
    public async Task ResultsAreServedAsTheResultsModel()
    {
        SubmitSweepResponse submitted = await ApiTestData.SubmitAsync(_api, _folder);
        ApiTestData.CompleteEveryUnit(_api.Store, _api.Blobs, submitted.Id, [7, 7, 7]);

        var results = await _api.Client.GetResultsAsync(submitted.Id);

        Assert.Equal((submitted.Id, "api-demo", SweepState.Done), (results.SweepId, results.Name, results.State));
        Assert.Equal(6, results.Jobs.Count);
        Assert.True(results.AllDone);
    }

    [Theory]
    [InlineData("api/v1/sweeps/nope")]
    [InlineData("api/v1/sweeps/nope/jobs")]
    [InlineData("api/v1/sweeps/nope/results")]
    [InlineData("api/v1/jobs/nope")]
    [InlineData("api/v1/no-such-endpoint")]
    public async Task UnknownIdsAreNotFoundProblems(string path)
    {
        using var response = await _api.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(ApiProblem.ContentType, response.Content.Headers.ContentType?.MediaType);
        ApiProblem? problem = await response.Content.ReadFromJsonAsync<ApiProblem>(ApiJson.Options);
        Assert.Equal(404, problem!.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail));
    }

    private static SubmitSweepRequest Request(ExpandedSweep sweep) => new("sweep.yaml", ApiTestData.SweepYaml, sweep.Name,
        sweep.Priority, sweep.Retries, sweep.MaxJobs, sweep.Jobs.Select(j => new SubmitSweepJob(j.Settings, j.SweptValues)).ToArray());

    private async Task UploadImagesAsync()
    {
        ExpandedSweep sweep = ApiTestData.Load(_folder, out _);
        foreach ((string hash, string path) in sweep.Images) await _api.Client.UploadBlobAsync(hash, path);
    }
}

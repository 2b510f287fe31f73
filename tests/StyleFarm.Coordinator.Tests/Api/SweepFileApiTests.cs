using System.Net;
using System.Net.Http.Json;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Cli.Client;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Coordinator.Tests.Sweeps;

namespace StyleFarm.Coordinator.Tests.Api;

/// <summary>POST /api/v1/sweeps/check and /api/v1/sweeps/file: a sweep file as written, its files attached as blobs.</summary>
public sealed class SweepFileApiTests : IAsyncLifetime
{
    private readonly SweepFolder _folder = new();
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.StartAsync();

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _folder.Dispose();
    }

    /// <summary>The folder's images uploaded as blobs, as the Submit page uploads them: written name → hash.</summary>
    private Dictionary<string, string> Upload(params string[] names)
    {
        _folder.WithImages();
        return names.ToDictionary(n => n, n => _api.Blobs.Put(File.ReadAllBytes(_folder.PathOf(n))));
    }

    private static SweepFileRequest Request(string text, Dictionary<string, string>? files = null) => new("sweep.yaml", text, files);

    // ---- check ----

    [Fact]
    public async Task AValidSweepIsCheckedWithItsJobsUnitsAndFilesAndNothingIsStored()
    {
        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(ApiTestData.SweepYaml, Upload("content.png", "style.png")));

        Assert.True(check.Valid);
        Assert.Empty(check.Errors);
        Assert.Equal(("api-demo", 6, 1), (check.Name, check.Jobs, check.Units));
        Assert.Equal([new SweepFileView("content.png", "content", 2, true), new SweepFileView("style.png", "style", 3, true)], check.Files);
        Assert.Empty(_api.Store.ListSweeps());
    }

    [Fact]
    public async Task AnInvalidSweepListsEveryErrorWithItsFieldAndLine()
    {
        const string bad = """
            name: bad
            content: content.png
            style: style.png
            base: { size: 64, stepz: 10 }
            sweep:
              method: grid
              parameters:
                style_weight: [3, -1]
            """;

        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(bad, Upload("content.png", "style.png")));

        Assert.False(check.Valid);
        Assert.Equal("bad", check.Name);
        Assert.Equal([4, 8], check.Errors.Select(e => e.Line));
        Assert.Contains("stepz", check.Errors[0].Field + check.Errors[0].Message);
        Assert.Equal("sweep.parameters.style_weight[1]", check.Errors[1].Field);
        Assert.Equal(0, check.Units);
    }

    [Fact]
    public async Task AFileTheSweepNamesButTheRequestLacksIsAnErrorSayingToAttachItWithNoServerPath()
    {
        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(ApiTestData.SweepYaml, Upload("content.png")));

        Assert.False(check.Valid);
        ApiError error = Assert.Single(check.Errors);
        Assert.Equal(("style", 3), (error.Field, error.Line));
        Assert.StartsWith("attach 'style.png'", error.Message);
        Assert.Equal([true, false], check.Files.Select(f => f.Attached));
    }

    [Fact]
    public async Task AnAttachedFileThatIsNotAnImageIsReportedByNameNotByServerPath()
    {
        var files = Upload("style.png");
        files["content.png"] = _api.Blobs.Put("not an image"u8.ToArray());

        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(ApiTestData.SweepYaml, files));

        ApiError error = Assert.Single(check.Errors);
        Assert.Equal(("content", 2), (error.Field, error.Line));
        Assert.Contains("'content.png'", error.Message);
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), error.Message);
        Assert.DoesNotContain("stylefarm-sweep-", error.Message);
    }

    [Fact]
    public async Task FilesInSubfoldersAreAttachedByTheirWrittenPath()
    {
        _folder.Image("images/a.png", 30);
        _folder.Image("images/b.png", 90);
        var files = new[] { "images/a.png", "images/b.png" }.ToDictionary(n => n, n => _api.Blobs.Put(File.ReadAllBytes(_folder.PathOf(n))));
        string yaml = ApiTestData.SweepYaml.Replace("content.png", "./images/a.png").Replace("style.png", "images/b.png");

        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(yaml, files));

        Assert.True(check.Valid, string.Join("; ", check.Errors.Select(e => e.Message)));
        Assert.All(check.Files, f => Assert.True(f.Attached));
    }

    [Fact]
    public async Task PathsThatLeaveTheSweepsFolderAreRefusedAndNeverRead()
    {
        // A real image outside the folder: were it read, it would be hashed and stored as a blob anyone can fetch.
        _folder.WithImages();
        string outside = _folder.PathOf("style.png");
        string yaml = ApiTestData.SweepYaml.Replace("content: content.png", "content: ../content.png").Replace("style: style.png", $"style: {outside}");
        var files = Upload("content.png");
        files["../content.png"] = files["content.png"];

        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(yaml, files));
        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.SubmitSweepFileAsync(Request(yaml, files)));

        Assert.False(check.Valid);
        Assert.Contains(check.Errors, e => e.Field == "files[../content.png]" && e.Message.Contains("without .."));
        Assert.Contains(check.Errors, e => (e.Field, e.Line) == ("content", 2) && e.Message.Contains("outside the sweep's folder"));
        Assert.Contains(check.Errors, e => (e.Field, e.Line) == ("style", 3) && e.Message.Contains("outside the sweep's folder"));
        Assert.All(check.Errors, e => Assert.DoesNotContain("cannot", e.Message));
        Assert.Equal(400, refused.Status);
        Assert.False(_api.Blobs.Exists(BlobAddress.Of(File.ReadAllBytes(outside))));
        Assert.Empty(_api.Store.ListSweeps());
    }

    [Fact]
    public async Task ASweepWithTooManyJobsIsRefusedBeforeItsFilesAreLaidOut()
    {
        // content.png is not an image: had the files been laid out and read, that would be an error too.
        var files = Upload("style.png");
        files["content.png"] = _api.Blobs.Put("not an image"u8.ToArray());
        string yaml = ApiTestData.SweepYaml + "\nmax_jobs: 2\n";

        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(yaml, files));

        ApiError error = Assert.Single(check.Errors);
        Assert.Contains("6 jobs, more than max_jobs (2)", error.Message);
        Assert.Equal(6, check.Jobs);
        Assert.False(check.Valid);
    }

    [Fact]
    public async Task AnAttachedBlobTheCoordinatorLacksIsNamed()
    {
        var files = Upload("content.png", "style.png");
        string missing = new('a', 64);
        files["style.png"] = missing;

        SweepCheckResponse check = await _api.Client.CheckSweepFileAsync(Request(ApiTestData.SweepYaml, files));

        ApiError error = Assert.Single(check.Errors);
        Assert.Equal("files[style.png]", error.Field);
        Assert.Contains($"PUT /api/v1/blobs/{missing}", error.Message);
    }

    [Fact]
    public async Task ARequestWithoutTextIsABadRequest()
    {
        using var response = await _api.Http.PostAsJsonAsync("api/v1/sweeps/check", new { fileName = "s.yaml" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        ApiProblem? problem = await response.Content.ReadFromJsonAsync<ApiProblem>(ApiJson.Options);
        Assert.Equal("fileText", Assert.Single(problem!.Errors!).Field);
    }

    // ---- submit ----

    [Fact]
    public async Task ASweepFileIsSubmittedWithTheSameJobsAsTheCliSubmitsAndTheFarmIsTold()
    {
        var files = Upload("content.png", "style.png");
        string path = _folder.Write("sweep.yaml", ApiTestData.SweepYaml);

        SubmitSweepResponse submitted = await _api.Client.SubmitSweepFileAsync(Request(ApiTestData.SweepYaml, files));
        int cli = await new SubmitCommand().RunAsync(new SubmitSettings { Sweep = path, Api = _api.Address.ToString() },
            ClientConsole.Plain(new StringWriter(), new StringWriter()), CancellationToken.None);

        Assert.Equal(0, cli);
        Assert.Equal(("api-demo", 6, 0, 1), (submitted.Name, submitted.Jobs, submitted.ReusedJobs, submitted.Units));
        SweepRecord[] sweeps = [.. _api.Store.ListSweeps()];
        Assert.Equal(2, sweeps.Length);
        SweepRecord fromFile = sweeps.Single(s => s.Id == submitted.Id), fromCli = sweeps.Single(s => s.Id != submitted.Id);
        Assert.Equal(ApiTestData.SweepYaml, fromFile.FileText);
        Assert.Equal(
            _api.Store.SweepJobs(fromCli.Id).Select(j => (j.Job.Id, string.Join(",", j.SweptValues))),
            _api.Store.SweepJobs(fromFile.Id).Select(j => (j.Job.Id, string.Join(",", j.SweptValues))));
        Assert.Equal(SweepLoader.Load(path).Jobs.Select(j => j.Settings.JobId).Order(), _api.Store.SweepJobs(fromFile.Id).Select(j => j.Job.Id).Order());
        Assert.Equal(["nodes", $"submit {submitted.Id}", "nodes", $"submit {fromCli.Id}"], _api.Farm.Calls);
    }

    [Fact]
    public async Task ARefusedSweepFileIs400WithEveryErrorAndNothingIsStored()
    {
        var files = Upload("content.png");
        string yaml = ApiTestData.SweepYaml.Replace("steps: [50, 100]", "steps: [50, 0]");

        using var response = await _api.Http.PostAsJsonAsync("api/v1/sweeps/file", Request(yaml, files), ApiJson.Options);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ApiProblem.ContentType, response.Content.Headers.ContentType?.MediaType);
        ApiProblem? problem = await response.Content.ReadFromJsonAsync<ApiProblem>(ApiJson.Options);
        Assert.Contains("2 errors; nothing was submitted", problem!.Detail);
        Assert.Equal([("style", 3), ("sweep.parameters.steps[1]", 9)], problem.Errors!.Select(e => (e.Field, e.Line)));
        Assert.StartsWith("attach 'style.png'", problem.Errors![0].Message);
        Assert.Empty(_api.Store.ListSweeps());
        Assert.Empty(_api.Farm.Calls);
    }
}

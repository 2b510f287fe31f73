using System.Text.Json;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Cli.Client;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Tests.Sweeps;

namespace StyleFarm.Coordinator.Tests.Api;

/// <summary>The client verbs run in-process against a live API, with their output captured.</summary>
public sealed class ClientVerbTests : IAsyncLifetime
{
    private readonly SweepFolder _folder = new();
    private readonly StringWriter _out = new(), _err = new();
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.StartAsync();

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _folder.Dispose();
    }

    private ClientConsole Console => ClientConsole.Plain(_out, _err);

    private string Api => _api.Address.ToString();

    [Fact]
    public async Task SubmitRefusesAnInvalidSweepWithEveryErrorAndItsLineAndUploadsNothing()
    {
        _folder.WithImages();
        string bad = _folder.Write("bad.yaml", """
            name: bad
            content: content.png
            style: missing.png
            base: { size: 64, stepz: 10 }
            sweep:
              method: grid
              parameters:
                style_weight: [3, -1]
            """);

        int exit = await new SubmitCommand().RunAsync(new SubmitSettings { Sweep = bad, Api = Api }, Console, CancellationToken.None);

        Assert.Equal(2, exit);
        string errors = _err.ToString();
        Assert.Contains("bad.yaml:3:", errors);
        Assert.Contains("bad.yaml:4:", errors);
        Assert.Contains("stepz", errors);
        Assert.Contains("bad.yaml:8:", errors);
        Assert.Contains("3 error(s); nothing was submitted", errors);
        Assert.Equal("", _out.ToString());
        Assert.Empty(_api.Farm.Calls);
        Assert.Empty(_api.Store.ListSweeps());
        Assert.DoesNotContain(Directory.EnumerateDirectories(_api.Blobs.Root), d => Path.GetFileName(d) != "tmp");
    }

    [Fact]
    public async Task SubmitPrintsTheSweepIdOnStdoutAndASummaryOnStderr()
    {
        _folder.WithImages();
        string path = _folder.Write("sweep.yaml", ApiTestData.SweepYaml);

        int exit = await new SubmitCommand().RunAsync(new SubmitSettings { Sweep = path, Api = Api }, Console, CancellationToken.None);

        Assert.True(exit == 0, _err.ToString());
        SweepRecord stored = Assert.Single(_api.Store.ListSweeps());
        Assert.Equal(stored.Id, _out.ToString().Trim());
        Assert.Contains($"submitted sweep \"api-demo\" to {_api.Client.Address} as {stored.Id}: 6 jobs in 1 work units, 2 of 2 files uploaded", _err.ToString());
    }

    [Fact]
    public async Task AnUnreachableCoordinatorFailsWithOneMessage()
    {
        _folder.WithImages();
        string path = _folder.Write("sweep.yaml", ApiTestData.SweepYaml);

        int exit = await new SubmitCommand().RunAsync(new SubmitSettings { Sweep = path, Api = "http://127.0.0.1:1" }, Console, CancellationToken.None);

        Assert.Equal(1, exit);
        Assert.Equal("stylefarm: cannot reach the coordinator at http://127.0.0.1:1: connection refused", _err.ToString().Trim());
    }

    [Fact]
    public async Task StatusShowsEverySweepAsATableOrAsJson()
    {
        string id = (await ApiTestData.SubmitAsync(_api, _folder)).Id;

        int table = await new StatusCommand().RunAsync(new StatusSettings { Api = Api }, Console, CancellationToken.None);
        string shown = _out.ToString();
        _out.GetStringBuilder().Clear();
        int json = await new StatusCommand().RunAsync(new StatusSettings { Api = Api, Json = true }, Console, CancellationToken.None);

        Assert.Equal((0, 0), (table, json));
        Assert.Contains(id, shown);
        Assert.Contains("api-demo", shown);
        Assert.Contains("queued", shown);
        Assert.Contains("0/6", shown);
        var rows = JsonSerializer.Deserialize<SweepSummary[]>(_out.ToString(), ApiJson.Options)!;
        Assert.Equal(id, Assert.Single(rows).Id);
    }

    [Fact]
    public async Task StatusOfOneSweepShowsItsJobsUnitsAndFailureReasons()
    {
        string id = (await ApiTestData.SubmitAsync(_api, _folder)).Id;
        UnitRecord unit = Assert.Single(_api.Store.UnitsOfSweep(id));
        _api.Store.FailUnit(unit.UnitId, _api.Store.AssignUnit(unit.UnitId, "node-a", "node-a/cuda:0")!, "CUDA out of memory");
        _api.Store.AssignUnit(unit.UnitId, "node-b", "node-b/cpu");

        int exit = await new StatusCommand().RunAsync(new StatusSettings { Api = Api, Id = id }, Console, CancellationToken.None);

        Assert.Equal(0, exit);
        string shown = _out.ToString();
        Assert.Contains($"sweep {id} \"api-demo\": running", shown);
        Assert.Contains("jobs:  6 (6 queued)", shown);
        Assert.Contains("node-b/cpu", shown);
        Assert.Contains("on node-a/cuda:0: CUDA out of memory", shown);
    }

    [Fact]
    public async Task AnUnknownSweepIsBadInputWithTheCoordinatorsMessage()
    {
        int exit = await new PauseCommand().RunAsync(new SweepIdSettings { Api = Api, Id = "nope" }, Console, CancellationToken.None);

        Assert.Equal(2, exit);
        Assert.StartsWith("stylefarm: no sweep nope on this coordinator", _err.ToString());
    }

    [Fact]
    public async Task CancelAndDrainTellTheFarm()
    {
        string id = (await ApiTestData.SubmitAsync(_api, _folder)).Id;
        _api.Farm.FarmNodes = new StyleFarm.Messages.Nodes.FarmNodes([ApiTestData.Node("node-a")]);

        int cancel = await new CancelCommand().RunAsync(new SweepIdSettings { Api = Api, Id = id }, Console, CancellationToken.None);
        int drain = await new DrainCommand().RunAsync(new DrainSettings { Api = Api, Node = "node-a", Now = true }, Console, CancellationToken.None);

        Assert.Equal((0, 0), (cancel, drain));
        Assert.Contains($"cancel {id}", _api.Farm.Calls);
        Assert.Contains("drain node-a now", _api.Farm.Calls);
        Assert.Contains($"cancelled sweep {id}", _out.ToString());
        Assert.Contains("draining node node-a now", _out.ToString());
    }

    [Fact]
    public async Task NodesShowsEachDevice()
    {
        _api.Farm.FarmNodes = new StyleFarm.Messages.Nodes.FarmNodes([
            ApiTestData.Node("node-a", "up", ApiTestData.Device("node-a", "cuda:0", 8L << 30), ApiTestData.Device("node-a", "cpu", 4L << 30))]);

        int exit = await new NodesCommand().RunAsync(new ClientJsonSettings { Api = Api }, Console, CancellationToken.None);

        Assert.Equal(0, exit);
        Assert.Contains("cuda:0", _out.ToString());
        Assert.Contains("8.0 GiB / 16.0 GiB", _out.ToString());
    }

    [Fact]
    public async Task ResultsWritesTheRunFolderFromTheCoordinatorsBlobs()
    {
        string id = (await ApiTestData.SubmitAsync(_api, _folder)).Id;
        byte[] image = File.ReadAllBytes(_folder.PathOf("content.png"));
        ApiTestData.CompleteEveryUnit(_api.Store, _api.Blobs, id, image);
        string outDir = Path.Combine(_folder.Path, "runs", "demo");

        int exit = await new ResultsCommand().RunAsync(new ResultsSettings { Api = Api, Id = id, Out = outDir }, Console, CancellationToken.None);

        Assert.True(exit == 0, _err.ToString());
        Assert.Equal(Path.GetFullPath(outDir), _out.ToString().Trim());
        Assert.True(File.Exists(Path.Combine(outDir, "results.json")));
        string[] images = Directory.GetFiles(Path.Combine(outDir, "images"), "*.png");
        Assert.Equal(6, images.Length);
        Assert.All(images, file => Assert.Equal(image, File.ReadAllBytes(file)));
        Assert.Equal(ApiTestData.SweepYaml, File.ReadAllText(Path.Combine(outDir, "sweep.yaml")));
        Assert.Contains("6 of 6 jobs done", _err.ToString());
    }
}

using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using StyleFarm.Engine.Imaging;
using Xunit.Abstractions;

namespace StyleFarm.Farm.Tests.Support;

/// <summary>
/// A farm on 127.0.0.1 for one test: a coordinator process with its data folder, any number of node processes,
/// the demo images, and the client verbs run as processes. Disposing it kills whatever is still running.
/// </summary>
public sealed class ProcessFarm : IAsyncDisposable
{
    public static readonly TimeSpan Startup = TimeSpan.FromSeconds(60);

    private readonly ITestOutputHelper _output;
    private readonly List<FarmProcess> _processes = [];
    private readonly HttpClient _http;

    public ProcessFarm(ITestOutputHelper output, int checkpointEvery = 5)
    {
        _output = output;
        Folder = Directory.CreateTempSubdirectory("stylefarm-farm-").FullName;
        AkkaPort = TestPaths.FreePort();
        HttpPort = TestPaths.FreePort();
        CheckpointEvery = checkpointEvery;
        DemoImages.WriteDemoPair(Folder, out _, out _, 64, 48);
        _http = new HttpClient { BaseAddress = new Uri(Api), Timeout = TimeSpan.FromSeconds(20) };
    }

    public string Folder { get; }

    public int AkkaPort { get; }

    public int HttpPort { get; }

    public int CheckpointEvery { get; }

    public string DataFolder => Path.Combine(Folder, "farm-data");

    public string Seed => $"akka.tcp://stylefarm@127.0.0.1:{AkkaPort}";

    public string Api => $"http://127.0.0.1:{HttpPort}";

    public FarmProcess? Coordinator { get; private set; }

    /// <summary>Starts `stylefarm coordinator` and waits until it serves its API.</summary>
    public async Task<FarmProcess> StartCoordinatorAsync()
    {
        var coordinator = FarmProcess.Start("coordinator", "stylefarm.dll",
            ["coordinator", "--port", $"{AkkaPort}", "--http", $"127.0.0.1:{HttpPort}", "--data", DataFolder,
             "--checkpoint-every", $"{CheckpointEvery}"],
            Folder, _output);
        _processes.Add(coordinator);
        Coordinator = coordinator;
        await coordinator.WaitForLineAsync("coordinator ready", Startup);
        return coordinator;
    }

    /// <summary>Starts `stylefarm-node` with one CPU device and waits until the coordinator accepted it.</summary>
    public async Task<FarmProcess> StartNodeAsync(string nodeId, bool waitForJoin = true)
    {
        var node = FarmProcess.Start(nodeId, "stylefarm-node.dll",
            ["--seed", Seed, "--devices", "cpu", "--node-id", nodeId, "--threads", "1",
             "--cache", Path.Combine(Folder, $"cache-{nodeId}")],
            Folder, _output);
        _processes.Add(node);
        if (waitForJoin)
            await node.WaitForLineAsync("joined", Startup);
        return node;
    }

    /// <summary>Writes a sweep file next to the demo images.</summary>
    public string WriteSweep(string fileName, string yaml)
    {
        string path = Path.Combine(Folder, fileName);
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Runs a client verb of `stylefarm` against this farm's API and waits for it.</summary>
    public async Task<(int ExitCode, string Stdout, string Output)> ClientAsync(params string[] args)
    {
        var client = FarmProcess.Start($"stylefarm {args[0]}", "stylefarm.dll", [.. args, "--api", Api], Folder, _output);
        int exit = await client.WaitForExitAsync(TimeSpan.FromMinutes(2));
        await client.DisposeAsync();
        return (exit, client.Lines.Count > 0 ? client.Output : "", client.Output);
    }

    /// <summary>`stylefarm submit`; returns the sweep id it printed.</summary>
    public async Task<string> SubmitAsync(string sweepPath)
    {
        var client = FarmProcess.Start("stylefarm submit", "stylefarm.dll", ["submit", sweepPath, "--api", Api], Folder, _output);
        int exit = await client.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, $"submit exited {exit}:\n{client.Output}");
        var id = await client.WaitForLineAsync("^[0-9a-f]{12}$", TimeSpan.FromSeconds(5));
        return id.Value;
    }

    public async Task<JsonElement> SweepAsync(string sweepId) =>
        await _http.GetFromJsonAsync<JsonElement>($"/api/v1/sweeps/{sweepId}");

    /// <summary>Polls the sweep until it is done, failed or cancelled; returns that state.</summary>
    public async Task<string> WaitForSweepEndAsync(string sweepId, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string state = "";
        while (clock.Elapsed < timeout)
        {
            try
            {
                state = (await SweepAsync(sweepId)).GetProperty("state").GetString() ?? "";
                if (state is "done" or "failed" or "cancelled")
                    return state;
            }
            catch (HttpRequestException)
            {
                // The coordinator may be restarting.
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"sweep {sweepId} still '{state}' after {timeout.TotalSeconds:F0} s");
    }

    /// <summary>Polls the coordinator's node view until a device of <paramref name="nodeId"/> runs a unit at <paramref name="step"/> or later.</summary>
    public async Task WaitForDeviceStepAsync(string nodeId, int step, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var view = await _http.GetFromJsonAsync<JsonElement>("/api/v1/nodes");
            foreach (JsonElement node in view.GetProperty("nodes").EnumerateArray())
                if (node.GetProperty("nodeId").GetString() == nodeId
                    && node.GetProperty("devices").EnumerateArray().Any(d => d.GetProperty("step").GetInt32() >= step))
                    return;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no device of {nodeId} reached step {step} in {timeout.TotalSeconds:F0} s");
    }

    /// <summary>`stylefarm results ID --out DIR`, then the rows of its results.json.</summary>
    public async Task<JsonElement[]> ResultsAsync(string sweepId)
    {
        string outDir = Path.Combine(Folder, "results-" + sweepId);
        var (exit, _, output) = await ClientAsync("results", sweepId, "--out", outDir);
        Assert.True(exit == 0, $"results exited {exit}:\n{output}");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        return json.RootElement.GetProperty("jobs").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    public string ResultsFolder(string sweepId) => Path.Combine(Folder, "results-" + sweepId);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
            await process.DisposeAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A process that just died may still hold a file for a moment; the temp folder is cleaned by the OS.
        }
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Tests.Api;

/// <summary>
/// The API on Kestrel at 127.0.0.1 and a free port, over a real FarmStore and BlobStore in a temp folder, with a
/// recording fake farm in place of the SweepManager.
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http;

    private ApiHost(WebApplication app, string data, FarmStore store, BlobStore blobs, RecordingFarm farm)
    {
        _app = app;
        Data = data;
        Store = store;
        Blobs = blobs;
        Farm = farm;
        Address = new Uri(app.Urls.Single());
        _http = new HttpClient { BaseAddress = Address };
        Client = new StyleFarmApiClient(_http);
    }

    public string Data { get; }

    public FarmStore Store { get; }

    public BlobStore Blobs { get; }

    public RecordingFarm Farm { get; }

    public Uri Address { get; }

    /// <summary>A raw client, for requests the typed client never makes (a wrong hash, a bad body).</summary>
    public HttpClient Http => _http;

    public StyleFarmApiClient Client { get; }

    public static async Task<ApiHost> StartAsync(Action<StyleFarmApiOptions>? configure = null)
    {
        string data = Directory.CreateTempSubdirectory("stylefarm-api-").FullName;
        var store = new FarmStore(data);
        var blobs = new BlobStore(data);
        var farm = new RecordingFarm();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(store).AddSingleton(blobs).AddSingleton<IFarmControl>(farm).AddStyleFarmApi(configure);
        WebApplication app = builder.Build();
        app.MapStyleFarmApi();
        await app.StartAsync();
        return new ApiHost(app, data, store, blobs, farm);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Store.Dispose();
        try
        {
            Directory.Delete(Data, recursive: true);
        }
        catch (IOException)
        {
            // A file still open somewhere; the temp cleaner gets it.
        }
    }
}

/// <summary>A farm that records each command and answers as the test says.</summary>
internal sealed class RecordingFarm : IFarmControl
{
    private readonly List<string> _calls = [];

    /// <summary>Each call as "pause &lt;id&gt;", "drain &lt;node&gt; now|later", "nodes".</summary>
    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_calls) return _calls.ToArray();
        }
    }

    /// <summary>Null: every command is applied; else refused with this error.</summary>
    public string? Refusal { get; set; }

    /// <summary>Every question throws FarmUnavailableException, as a SweepManager that does not answer.</summary>
    public bool Unavailable { get; set; }

    public FarmNodes FarmNodes { get; set; } = new([]);

    public Task<SweepControlAck> Submitted(string sweepId, CancellationToken cancellationToken = default) => Sweep("submit", sweepId);

    public Task<SweepControlAck> Pause(string sweepId, CancellationToken cancellationToken = default) => Sweep("pause", sweepId);

    public Task<SweepControlAck> Resume(string sweepId, CancellationToken cancellationToken = default) => Sweep("resume", sweepId);

    public Task<SweepControlAck> Cancel(string sweepId, CancellationToken cancellationToken = default) => Sweep("cancel", sweepId);

    public Task<NodeControlAck> Drain(string nodeId, bool now, CancellationToken cancellationToken = default)
    {
        Record($"drain {nodeId} {(now ? "now" : "later")}");
        return Task.FromResult(new NodeControlAck(nodeId, "drain", Refusal is null, Refusal));
    }

    public Task<FarmNodes> Nodes(CancellationToken cancellationToken = default)
    {
        Record("nodes");
        return Task.FromResult(FarmNodes);
    }

    private Task<SweepControlAck> Sweep(string command, string sweepId)
    {
        Record($"{command} {sweepId}");
        return Task.FromResult(new SweepControlAck(sweepId, command, Refusal is null, Refusal));
    }

    private void Record(string call)
    {
        if (Unavailable) throw new FarmUnavailableException($"the SweepManager did not answer within 10 s when asked to {call}");
        lock (_calls) _calls.Add(call);
    }
}

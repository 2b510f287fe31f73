using System.Net;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Embedded;
using StyleFarm.Coordinator.Metrics;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Tests.Sweeps;

namespace StyleFarm.Coordinator.Tests.Api;

/// <summary>The embedded farm of `stylefarm run` serves the same web as the coordinator: API, dashboard, /metrics.</summary>
public sealed class EmbeddedWebTests : IDisposable
{
    private readonly SweepFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private EmbeddedFarmOptions Options => new() { DataFolder = _folder.PathOf("farm-data"), Devices = [] };

    [Fact]
    public async Task TheEmbeddedFarmServesTheApiDashboardAndMetricsOnAFreeLoopbackPort()
    {
        await using EmbeddedFarm farm = await EmbeddedFarm.StartAsync(Options);
        Uri url = Assert.IsType<Uri>(farm.DashboardUrl);
        Assert.Equal("127.0.0.1", url.Host);
        Assert.NotEqual(0, url.Port);
        using var http = new HttpClient { BaseAddress = url };
        using var api = new StyleFarmApiClient(http);

        ApiInfo info = await api.InfoAsync();
        using HttpResponseMessage metrics = await http.GetAsync(FarmMetrics.Path.TrimStart('/'));
        using HttpResponseMessage page = await http.GetAsync("");

        Assert.False(info.TokenRequired);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("stylefarm_nodes", await metrics.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);

        // A sweep file submitted over the embedded farm's own API reaches its SweepManager.
        _folder.WithImages();
        var files = new Dictionary<string, string>();
        foreach (string name in new[] { "content.png", "style.png" })
        {
            byte[] bytes = File.ReadAllBytes(_folder.PathOf(name));
            await api.UploadBlobAsync(BlobAddress.Of(bytes), bytes);
            files[name] = BlobAddress.Of(bytes);
        }
        SubmitSweepResponse submitted = await api.SubmitSweepFileAsync(new SweepFileRequest("sweep.yaml", ApiTestData.SweepYaml, files));
        Assert.Null(submitted.Warning);
        Assert.Equal(6, farm.Store.SweepJobs(submitted.Id).Count);
        // The dashboard learns of it from the farm's events, a moment later.
        for (int i = 0; i < 50 && (await api.DashboardAsync()).Sweeps.All(s => s.Id != submitted.Id); i++) await Task.Delay(100);
        Assert.Contains((await api.DashboardAsync()).Sweeps, s => s.Id == submitted.Id);
    }

    [Fact]
    public async Task WithoutHttpTheEmbeddedFarmServesNothing()
    {
        await using EmbeddedFarm farm = await EmbeddedFarm.StartAsync(Options with { Http = null });

        Assert.Null(farm.DashboardUrl);
    }

    [Fact]
    public async Task AnEmbeddedFarmReachableFromOtherMachinesNeedsAToken()
    {
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddedFarm.StartAsync(Options with { Http = "0.0.0.0:0" }));

        Assert.Contains("--api-token", refused.Message);
        Assert.False(Directory.Exists(_folder.PathOf("farm-data")));
    }
}

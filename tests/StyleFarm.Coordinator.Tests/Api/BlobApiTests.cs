using System.Net;
using System.Security.Cryptography;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Tests.Sweeps;

namespace StyleFarm.Coordinator.Tests.Api;

public sealed class BlobApiTests : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.StartAsync();

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public async Task AnUploadedPngIsStoredAndServedBackAsAPng()
    {
        using var folder = new SweepFolder();
        byte[] png = File.ReadAllBytes(folder.Image("a.png", shade: 77));
        string hash = Hash(png);
        Assert.False(await _api.Client.BlobExistsAsync(hash));

        await _api.Client.UploadBlobAsync(hash, png);

        Assert.True(await _api.Client.BlobExistsAsync(hash));
        Assert.Equal(png, _api.Blobs.Read(hash));
        using HttpResponseMessage download = await _api.Http.GetAsync($"api/v1/blobs/{hash}");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("image/png", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal(png, await download.Content.ReadAsByteArrayAsync());
        Assert.Equal(png, await _api.Client.DownloadBlobAsync(hash));
    }

    [Fact]
    public async Task BytesThatAreNotAPngDownloadAsOctetStream()
    {
        byte[] bytes = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        string hash = Hash(bytes);
        await _api.Client.UploadBlobAsync(hash, bytes);

        using HttpResponseMessage download = await _api.Http.GetAsync($"api/v1/blobs/{hash}");
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AnUploadWhoseBytesDoNotHashToItsNameIsRefusedAndNothingIsStored()
    {
        byte[] bytes = [10, 20, 30];
        string claimed = Hash([1, 2, 3]);

        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.UploadBlobAsync(claimed, bytes));

        Assert.Equal(400, refused.Status);
        Assert.Contains($"hash to {Hash(bytes)}, not {claimed}", refused.Message);
        Assert.False(_api.Blobs.Exists(claimed));
        Assert.False(_api.Blobs.Exists(Hash(bytes)));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_api.Blobs.Root, "tmp")));
    }

    [Fact]
    public async Task AHashThatIsNotASha256IsRefusedAsProblemJson()
    {
        using var put = await _api.Http.PutAsync("api/v1/blobs/ABC", new ByteArrayContent([1]));
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal(ApiProblem.ContentType, put.Content.Headers.ContentType?.MediaType);
        Assert.Contains("is not a blob hash", await put.Content.ReadAsStringAsync());

        using var get = await _api.Http.GetAsync($"api/v1/blobs/{new string('a', 63)}");
        Assert.Equal(HttpStatusCode.BadRequest, get.StatusCode);
    }

    [Fact]
    public async Task AnUnknownBlobIsNotFound()
    {
        string hash = Hash([42]);
        using var head = await _api.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"api/v1/blobs/{hash}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);

        var missing = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.DownloadBlobAsync(hash));
        Assert.Equal(404, missing.Status);
        Assert.Contains($"no blob {hash}", missing.Message);
    }

    [Fact]
    public async Task ABlobLargerThanTheLimitIsRefusedBeforeItIsRead()
    {
        await using ApiHost small = await ApiHost.StartAsync(o => o.MaxBlobBytes = 4);
        byte[] bytes = [1, 2, 3, 4, 5];

        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => small.Client.UploadBlobAsync(Hash(bytes), bytes));

        Assert.Equal(413, refused.Status);
        Assert.Contains("at most 4 bytes", refused.Message);
        Assert.False(small.Blobs.Exists(Hash(bytes)));
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Cli.Client;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Tests.Api;

/// <summary>The API token: mutating requests need it when one is set; reads never do.</summary>
public sealed class ApiTokenTests : IAsyncLifetime
{
    private const string Token = "s3cret-token";
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.StartAsync(o => o.ApiToken = Token);

    public async Task DisposeAsync() => await _api.DisposeAsync();

    private static HttpRequestMessage Put(byte[] bytes, string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"api/v1/blobs/{BlobAddress.Of(bytes)}") { Content = new ByteArrayContent(bytes) };
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return request;
    }

    [Theory]
    [InlineData(null, "needs its API token")]
    [InlineData("Bearer wrong-token", "the API token is wrong")]
    [InlineData("Bearer s3cret-toke", "the API token is wrong")]
    [InlineData("Basic czNjcmV0LXRva2Vu", "the API token is wrong")]
    public async Task AMutatingRequestWithoutTheRightTokenIs401AndChangesNothing(string? authorization, string detail)
    {
        byte[] bytes = "some bytes"u8.ToArray();

        using HttpResponseMessage response = await _api.Http.SendAsync(Put(bytes, authorization));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(ApiProblem.ContentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        ApiProblem? problem = await response.Content.ReadFromJsonAsync<ApiProblem>(ApiJson.Options);
        Assert.Contains(detail, problem!.Detail);
        Assert.False(_api.Blobs.Exists(BlobAddress.Of(bytes)));
    }

    [Fact]
    public async Task TheRightTokenIsLetThrough()
    {
        byte[] bytes = "some bytes"u8.ToArray();

        using HttpResponseMessage response = await _api.Http.SendAsync(Put(bytes, $"Bearer {Token}"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(_api.Blobs.Exists(BlobAddress.Of(bytes)));
    }

    [Fact]
    public async Task ReadsNeedNoToken()
    {
        string hash = _api.Blobs.Put("stored"u8.ToArray());

        using HttpResponseMessage sweeps = await _api.Http.GetAsync("api/v1/sweeps");
        using HttpResponseMessage blob = await _api.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"api/v1/blobs/{hash}"));
        ApiInfo info = await _api.Client.InfoAsync();

        Assert.Equal(HttpStatusCode.OK, sweeps.StatusCode);
        Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
        Assert.True(info.TokenRequired);
    }

    [Fact]
    public async Task ClientVerbsSendTheTokenTheyAreGiven()
    {
        var err = new StringWriter();
        ClientConsole console = ClientConsole.Plain(new StringWriter(), err);
        var settings = new DrainSettings { Node = "node-a", Api = _api.Address.ToString() };
        _api.Farm.FarmNodes = new([ApiTestData.Node("node-a")]);

        int without = await new DrainCommand().RunAsync(settings, console, CancellationToken.None);
        int with = await new DrainCommand().RunAsync(new DrainSettings { Node = "node-a", Api = settings.Api, ApiToken = Token }, console, CancellationToken.None);

        Assert.Equal(2, without);
        Assert.Contains("needs its API token", err.ToString());
        Assert.Equal(0, with);
        Assert.Contains("drain node-a later", _api.Farm.Calls);
    }

    [Fact]
    public async Task ACoordinatorWithoutATokenSaysSoAndTakesChangesWithoutOne()
    {
        await using ApiHost open = await ApiHost.StartAsync();
        byte[] bytes = "free"u8.ToArray();

        ApiInfo info = await open.Client.InfoAsync();
        using HttpResponseMessage response = await open.Http.SendAsync(Put(bytes, null));

        Assert.False(info.TokenRequired);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }
}

/// <summary>The token's rules, without a server.</summary>
public sealed class ApiTokenRuleTests
{
    [Theory]
    [InlineData("Bearer abc", true)]
    [InlineData("bearer abc", true)]
    [InlineData("Bearer  abc ", true)]
    [InlineData("Bearer ab", false)]
    [InlineData("Bearer abcd", false)]
    [InlineData("abc", false)]
    [InlineData(null, false)]
    public void AuthorizationHeadersAreMatchedExactly(string? header, bool authorizes) =>
        Assert.Equal(authorizes, ApiToken.Authorizes(header, "abc"));

    [Theory]
    [InlineData("127.0.0.1:5080", null, false)]
    [InlineData("[::1]:5080", null, false)]
    [InlineData("0.0.0.0:5080", null, true)]
    [InlineData("192.168.1.20:5080", null, true)]
    [InlineData("0.0.0.0:5080", "t", false)]
    public void OnlyALoopbackBindMayGoWithoutAToken(string endpoint, string? token, bool refused)
    {
        string? problem = ApiToken.BindProblem(IPEndPoint.Parse(endpoint), token);

        Assert.Equal(refused, problem is not null);
        if (refused) Assert.Contains("--api-token", problem);
    }

    [Fact]
    public void TheOptionWinsOverTheEnvironment()
    {
        Assert.Equal("opt", ApiToken.Resolve("opt", "env"));
        Assert.Equal("env", ApiToken.Resolve(null, "env"));
        Assert.Null(ApiToken.Resolve(" ", ""));
    }
}

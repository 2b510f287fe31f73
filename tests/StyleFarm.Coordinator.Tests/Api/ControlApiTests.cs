using System.Net;
using StyleFarm.Coordinator.Api;
using StyleFarm.Coordinator.Tests.Sweeps;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Tests.Api;

public sealed class ControlApiTests : IAsyncLifetime
{
    private readonly SweepFolder _folder = new();
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.StartAsync();

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        _folder.Dispose();
    }

    [Fact]
    public async Task PauseResumeAndCancelGoToTheFarmAndAnswerItsAck()
    {
        string id = (await ApiTestData.SubmitAsync(_api, _folder)).Id;

        SweepControlAck paused = await _api.Client.PauseAsync(id);
        SweepControlAck resumed = await _api.Client.ResumeAsync(id);
        SweepControlAck cancelled = await _api.Client.CancelAsync(id);

        Assert.Equal(new SweepControlAck(id, "pause", true, null), paused);
        Assert.Equal(new SweepControlAck(id, "resume", true, null), resumed);
        Assert.Equal(new SweepControlAck(id, "cancel", true, null), cancelled);
        Assert.Equal([$"pause {id}", $"resume {id}", $"cancel {id}"], _api.Farm.Calls.Skip(2));
    }

    [Fact]
    public async Task AnUnknownSweepIsNotFoundAndTheFarmIsNotAsked()
    {
        var missing = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.PauseAsync("nope"));

        Assert.Equal(404, missing.Status);
        Assert.Contains("no sweep nope", missing.Message);
        Assert.True(missing.IsBadRequest);
        Assert.Empty(_api.Farm.Calls);
    }

    [Fact]
    public async Task ACommandTheFarmRefusesIsAConflictWithItsReason()
    {
        string id = (await ApiTestData.SubmitAsync(_api, _folder)).Id;
        _api.Farm.Refusal = "the sweep is already done";

        var refused = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.ResumeAsync(id));

        Assert.Equal(409, refused.Status);
        Assert.Equal($"cannot resume sweep {id}: the sweep is already done", refused.Message);
        Assert.False(refused.IsBadRequest);
    }

    [Fact]
    public async Task AFarmThatDoesNotAnswerIsServiceUnavailableWithItsMessage()
    {
        string id = (await ApiTestData.SubmitAsync(_api, _folder)).Id;
        _api.Farm.Unavailable = true;

        using var response = await _api.Http.PostAsync($"api/v1/sweeps/{id}/cancel", null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("did not answer within 10 s", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task NodesAreTheFarmsView()
    {
        _api.Farm.FarmNodes = new FarmNodes([ApiTestData.Node("node-a", "up", ApiTestData.Device("node-a", "cuda:0", 8L << 30, "running"))]);

        FarmNodes nodes = await _api.Client.NodesAsync();

        NodeView node = Assert.Single(nodes.Nodes);
        Assert.Equal(("node-a", "up"), (node.NodeId, node.State));
        DeviceView device = Assert.Single(node.Devices);
        Assert.Equal(("node-a/cuda:0", "running", 8L << 30), (device.DeviceId, device.State, device.FreeMemoryBytes));
    }

    [Fact]
    public async Task DrainingAKnownNodeIsAcceptedAndPassesNowOn()
    {
        _api.Farm.FarmNodes = new FarmNodes([ApiTestData.Node("node-a")]);

        using var response = await _api.Http.PostAsync("api/v1/nodes/node-a/drain?now=true", null);
        NodeControlAck later = await _api.Client.DrainAsync("node-a", now: false);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(new NodeControlAck("node-a", "drain", true, null), later);
        Assert.Equal(["drain node-a now", "drain node-a later"], _api.Farm.Calls.Where(c => c.StartsWith("drain")));
    }

    [Fact]
    public async Task DrainingAnUnknownNodeIsNotFoundAndNothingIsDrained()
    {
        _api.Farm.FarmNodes = new FarmNodes([ApiTestData.Node("node-a")]);

        var missing = await Assert.ThrowsAsync<StyleFarmApiException>(() => _api.Client.DrainAsync("node-z", now: true));

        Assert.Equal(404, missing.Status);
        Assert.Contains("no node node-z in the farm (nodes: node-a)", missing.Message);
        Assert.DoesNotContain(_api.Farm.Calls, c => c.StartsWith("drain"));
    }

    [Fact]
    public async Task TheRootListsTheEndpointsAndVersions()
    {
        ApiInfo info = await _api.Client.InfoAsync();
        ApiHealth health = await _api.Client.HealthAsync();

        Assert.Equal((1, StyleFarm.Messages.WireLimits.ProtocolVersion), (info.ApiVersion, info.ProtocolVersion));
        Assert.Contains(info.Endpoints, e => e is { Method: "POST", Path: "/api/v1/sweeps" });
        Assert.Equal("ok", health.Status);
    }
}

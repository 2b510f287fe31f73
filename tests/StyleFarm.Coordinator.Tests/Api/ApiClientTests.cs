using System.Net;
using System.Net.Sockets;
using StyleFarm.Coordinator.Api;

namespace StyleFarm.Coordinator.Tests.Api;

public class ApiClientTests
{
    [Fact]
    public async Task ACoordinatorThatIsNotThereIsOneClearSentence()
    {
        int port = FreePort();
        using var client = new StyleFarmApiClient(new Uri($"http://127.0.0.1:{port}"));

        var error = await Assert.ThrowsAsync<StyleFarmApiException>(() => client.ListSweepsAsync());

        Assert.Equal($"cannot reach the coordinator at http://127.0.0.1:{port}: connection refused", error.Message);
        Assert.Null(error.Status);
        Assert.False(error.IsBadRequest);
    }

    [Fact]
    public void TheAddressIsTheOptionElseTheEnvironmentElseTheDefault()
    {
        Assert.Equal(new Uri("http://10.0.0.5:6000"), StyleFarmApiClient.ResolveAddress("http://10.0.0.5:6000", "http://127.0.0.1:7000"));
        Assert.Equal(new Uri("http://127.0.0.1:7000"), StyleFarmApiClient.ResolveAddress(null, "http://127.0.0.1:7000"));
        Assert.Equal(new Uri(StyleFarmApiClient.DefaultAddress), StyleFarmApiClient.ResolveAddress(" ", ""));
        var bad = Assert.Throws<ArgumentException>(() => StyleFarmApiClient.ResolveAddress("127.0.0.1:5080", null));
        Assert.Contains("'127.0.0.1:5080' is not a coordinator address", bad.Message);
    }

    /// <summary>A port nobody listens on: bound, read and released.</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

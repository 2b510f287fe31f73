using System.Net;
using System.Net.Sockets;

namespace StyleFarm.Farm.Tests.Support;

internal static class TestPaths
{
    /// <summary>One engine cache (the converted ResNet18 weights) for every process of the test run.</summary>
    public static readonly string SharedCache = Path.Combine(Path.GetTempPath(), "stylefarm-farm-tests-cache");

    /// <summary>A TCP port free on 127.0.0.1 right now (the OS may hand it out again later; good enough for tests).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

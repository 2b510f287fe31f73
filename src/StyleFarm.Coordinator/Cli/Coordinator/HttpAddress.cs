using System.Net;

namespace StyleFarm.Coordinator.Cli.Coordinator;

/// <summary>The --http address: HOST:PORT, an IP address (not a name: one host form everywhere) and a port.</summary>
public static class HttpAddress
{
    /// <param name="allowFreePort">Accept port 0 (a free port, for `run`); the coordinator's address must be known.</param>
    public static bool TryParse(string text, out IPEndPoint endpoint, out string? problem, bool allowFreePort = false)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        problem = null;
        if (text.Contains("localhost", StringComparison.OrdinalIgnoreCase))
        {
            problem = "use 127.0.0.1, not localhost (one host form everywhere)";
            return false;
        }
        if (!IPEndPoint.TryParse(text, out IPEndPoint? parsed) || parsed.Port is < 0 or > 65535 || (parsed.Port == 0 && !allowFreePort) || !text.Contains(':'))
        {
            problem = "expected an IP address and a port, like 127.0.0.1:5080 or 0.0.0.0:5080";
            return false;
        }
        endpoint = parsed;
        return true;
    }

    /// <summary>Whether only this machine can reach it (mutating endpoints need a token otherwise).</summary>
    public static bool IsLoopback(IPEndPoint endpoint) => IPAddress.IsLoopback(endpoint.Address);
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StyleFarm.Engine.Imaging;

namespace StyleFarm.Cli.Tests;

/// <summary>The dashboard's address and the API token, as `run` and `coordinator` handle them.</summary>
public class WebCommandTests
{
    [Fact]
    public void Run_prints_its_dashboard_url_before_the_progress_and_serves_none_with_no_http()
    {
        using var dir = new TempFolder();
        DemoImages.WriteDemoPair(dir.Path, out _, out _, 32, 32);
        string sweep = dir.File("one.yaml");
        File.WriteAllText(sweep, "name: one\ncontent: content.png\nstyle: style.png\nbase: { size: 32, steps: 2 }\n");

        var first = StyleFarmProcess.Run(dir.Path, "run", sweep);
        var second = StyleFarmProcess.Run(dir.Path, "run", sweep, "--no-http"); // every job reused: nothing runs

        Assert.True(first.ExitCode == 0, first.All);
        string[] lines = first.Stdout.Split('\n');
        int dashboard = Array.FindIndex(lines, l => l.StartsWith("dashboard: http://127.0.0.1:", StringComparison.Ordinal));
        int sweepLine = Array.FindIndex(lines, l => l.StartsWith("sweep \"one\"", StringComparison.Ordinal));
        Assert.True(dashboard >= 0 && dashboard < sweepLine, first.Stdout);
        Assert.Matches(@"^dashboard: http://127\.0\.0\.1:[1-9][0-9]*/$", lines[dashboard].TrimEnd('\r'));
        Assert.True(second.ExitCode == 0, second.All);
        Assert.DoesNotContain("dashboard:", second.Stdout);
    }

    [Theory]
    [InlineData("coordinator", "--http", "0.0.0.0:5999")]
    [InlineData("run", "--demo", "--http", "0.0.0.0:0")]
    public void A_web_reachable_from_other_machines_without_a_token_is_refused(params string[] args)
    {
        using var dir = new TempFolder();

        var refused = StyleFarmProcess.Run(dir.Path, args);

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("pass --api-token", refused.Stderr);
        Assert.False(Directory.Exists(dir.File("farm-data")));
        Assert.False(Directory.Exists(dir.File("runs")));
    }

    [Fact]
    public async Task The_coordinator_prints_its_dashboard_url_with_its_token()
    {
        using var dir = new TempFolder();
        int port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dir.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "stylefarm.dll"), "coordinator", "--port", "0",
                     "--http", $"127.0.0.1:{port}", "--api-token", "t0k3n" })
            start.ArgumentList.Add(arg);

        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            string? line = null;
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } read)
            {
                if (!read.StartsWith("dashboard ", StringComparison.Ordinal)) continue;
                line = read;
                break;
            }
            Assert.Equal($"dashboard http://127.0.0.1:{port}/#token=t0k3n", line);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Diagnostics;

namespace StyleFarm.Cli.Tests;

/// <summary>Runs the built `stylefarm` executable as a child process and captures what it prints.</summary>
public static class StyleFarmProcess
{
    /// <summary>One weights cache for the whole test run, so ResNet18 is converted once.</summary>
    private static readonly string Cache = Path.Combine(Path.GetTempPath(), "stylefarm-cli-tests-cache");

    public sealed record Outcome(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + Stderr;
    }

    public static Outcome Run(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stylefarm.dll"));
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["STYLEFARM_CACHE"] = Cache;
        start.Environment["TERM"] = "dumb";

        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"stylefarm {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return new Outcome(process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fresh folder per test, removed afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("stylefarm-cli-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

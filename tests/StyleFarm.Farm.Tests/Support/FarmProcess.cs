using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace StyleFarm.Farm.Tests.Support;

/// <summary>
/// One StyleFarm executable (stylefarm.dll or stylefarm-node.dll from the test's output folder) run as a child
/// process, as a user runs it. Every line it prints is kept, echoed to the test output, and can be waited for.
/// </summary>
public sealed partial class FarmProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _newLine = new(0);
    private readonly ITestOutputHelper? _output;

    private FarmProcess(string name, Process process, ITestOutputHelper? output)
    {
        Name = name;
        _process = process;
        _output = output;
        process.OutputDataReceived += (_, e) => Add(e.Data, "out");
        process.ErrorDataReceived += (_, e) => Add(e.Data, "err");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>How the test output names this process (coordinator, node-a…).</summary>
    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public string Output => string.Join('\n', _lines);

    /// <summary>Starts <paramref name="dll"/> (stylefarm.dll or stylefarm-node.dll) with <paramref name="args"/>.</summary>
    public static FarmProcess Start(string name, string dll, IEnumerable<string> args, string workingDirectory,
        ITestOutputHelper? output, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["STYLEFARM_CACHE"] = TestPaths.SharedCache;
        start.Environment["TERM"] = "dumb";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dll}");
        output?.WriteLine($"[{name}] started pid {process.Id}: {dll} {string.Join(' ', args)}");
        return new FarmProcess(name, process, output);
    }

    /// <summary>Waits for a line matching <paramref name="pattern"/> (a regex) and returns its match.</summary>
    public async Task<Match> WaitForLineAsync(string pattern, TimeSpan timeout, int skip = 0)
    {
        var regex = new Regex(pattern);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var matches = _lines.Select(l => regex.Match(l)).Where(m => m.Success).Skip(skip).ToArray();
            if (matches.Length > 0)
                return matches[0];
            if (_process.HasExited && _newLine.CurrentCount == 0)
            {
                await Task.Delay(200); // let the last lines arrive
                if (!_lines.Any(l => regex.IsMatch(l)))
                    throw new InvalidOperationException($"{Name} exited ({_process.ExitCode}) without printing /{pattern}/:\n{Output}");
            }
            TimeSpan left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"{Name} printed no line matching /{pattern}/ in {timeout.TotalSeconds:F0} s:\n{Output}");
            await _newLine.WaitAsync(left < TimeSpan.FromMilliseconds(500) ? left : TimeSpan.FromMilliseconds(500));
        }
    }

    public int Count(string pattern) => _lines.Count(l => Regex.IsMatch(l, pattern));

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} did not exit in {timeout.TotalSeconds:F0} s:\n{Output}");
        }
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process dies at once, leaving nothing (no shutdown, no goodbye to the cluster).</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _output?.WriteLine($"[{Name}] SIGKILL");
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM: what systemd, Docker and Kubernetes send; the process shuts down in order.</summary>
    public void Terminate()
    {
        if (_process.HasExited) return;
        _output?.WriteLine($"[{Name}] SIGTERM");
        if (SendSignal(_process.Id, 15) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await Task.CompletedTask;
        _process.Dispose();
    }

    private void Add(string? line, string stream)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        _newLine.Release();
        try
        {
            _output?.WriteLine($"[{Name} {stream}] {line}");
        }
        catch (InvalidOperationException)
        {
            // The test has ended; xunit refuses output then.
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}

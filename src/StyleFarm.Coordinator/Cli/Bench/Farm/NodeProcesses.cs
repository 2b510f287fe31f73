using System.Collections.Concurrent;
using System.Diagnostics;

namespace StyleFarm.Coordinator.Cli.Bench.Farm;

/// <summary>
/// `stylefarm-node` child processes (the dll next to this one, run with dotnet). Disposing kills them, whatever state
/// they are in; so does this process exiting, as a last resort.
/// </summary>
internal sealed class NodeProcesses : IDisposable
{
    public const string NodeDll = "stylefarm-node.dll";
    private const int KeptLines = 20;

    private readonly List<(string NodeId, Process Process, ConcurrentQueue<string> Tail)> _nodes = [];
    private readonly EventHandler _onExit;

    private NodeProcesses()
    {
        _onExit = (_, _) => KillAll();
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    /// <summary>Starts one node per id, each joining <paramref name="seed"/> with the given arguments after its own.</summary>
    /// <exception cref="FileNotFoundException">stylefarm-node.dll is not next to this program.</exception>
    public static NodeProcesses Start(string seed, IEnumerable<string> nodeIds, Func<string, IEnumerable<string>> argumentsOf)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, NodeDll);
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{NodeDll} is not in {AppContext.BaseDirectory}; build the solution (it ships with stylefarm)", dll);
        var processes = new NodeProcesses();
        try
        {
            foreach (string nodeId in nodeIds)
                processes.StartOne(dll, nodeId, ["--seed", seed, "--node-id", nodeId, .. argumentsOf(nodeId)]);
            return processes;
        }
        catch
        {
            processes.Dispose();
            throw;
        }
    }

    /// <summary>A node that has ended already (it should not have): its id, exit code and last lines; null when all run.</summary>
    public string? Ended()
    {
        foreach (var (nodeId, process, tail) in _nodes)
            if (process.HasExited)
                return $"node {nodeId} exited with code {process.ExitCode}:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", tail)}";
        return null;
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
        KillAll();
        foreach (var (_, process, _) in _nodes)
        {
            process.WaitForExit(TimeSpan.FromSeconds(10));
            process.Dispose();
        }
    }

    private void StartOne(string dll, string nodeId, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (string argument in arguments) info.ArgumentList.Add(argument);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {NodeDll}");
        var tail = new ConcurrentQueue<string>();
        void Keep(object _, DataReceivedEventArgs line)
        {
            if (line.Data is null) return;
            tail.Enqueue(line.Data);
            while (tail.Count > KeptLines) tail.TryDequeue(out string? _);
        }
        process.OutputDataReceived += Keep;
        process.ErrorDataReceived += Keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _nodes.Add((nodeId, process, tail));
    }

    private void KillAll()
    {
        foreach (var (_, process, _) in _nodes)
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended on its own meanwhile.
            }
        }
    }

    /// <summary>The dotnet host running this program (when run as `dotnet stylefarm.dll`), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
}

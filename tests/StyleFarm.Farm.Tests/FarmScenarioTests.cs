using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using StyleFarm.Farm.Tests.Support;
using Xunit.Abstractions;

namespace StyleFarm.Farm.Tests;

/// <summary>
/// The farm as users run it: a real `stylefarm coordinator` and real `stylefarm-node` processes on 127.0.0.1,
/// tiny sweeps (64×48 px, resnet18, tens of steps), and the client verbs as processes. Each scenario ends with
/// every job recorded exactly once and its image readable.
/// </summary>
[Collection(FarmCollection.Name)]
public class FarmScenarioTests(ITestOutputHelper output)
{
    private static readonly TimeSpan SweepTimeout = TimeSpan.FromMinutes(3);

    /// <summary><paramref name="seeds"/> units (one per seed), each fusing two style weights.</summary>
    private static string Sweep(string name, int seeds, int steps) => $$"""
        name: {{name}}
        content: content.png
        style: style.png
        base: { network: resnet18, size: 64, steps: {{steps}}, save_every: {{steps / 2}} }
        sweep:
          method: grid
          parameters:
            seed: [{{string.Join(", ", Enumerable.Range(0, seeds))}}]
            style_weight: [1, 10]
        """;

    [Fact]
    public async Task A_sweep_runs_over_two_nodes()
    {
        await using var farm = new ProcessFarm(output);
        var coordinator = await farm.StartCoordinatorAsync();
        await farm.StartNodeAsync("node-a");
        await farm.StartNodeAsync("node-b");

        string id = await farm.SubmitAsync(farm.WriteSweep("two.yaml", Sweep("two-nodes", seeds: 4, steps: 30)));
        Assert.Equal("done", await farm.WaitForSweepEndAsync(id, SweepTimeout));

        JsonElement[] rows = await farm.ResultsAsync(id);
        FarmAssert.EveryJobDoneOnce(farm, id, rows, 8, coordinator);
        Assert.Equal(["node-a", "node-b"], FarmAssert.NodesOf(rows));
        Assert.True(File.Exists(Path.Combine(farm.ResultsFolder(id), "results.csv")));
    }

    [Fact]
    public async Task A_node_killed_mid_unit_has_its_unit_resumed_elsewhere_from_its_checkpoint()
    {
        await using var farm = new ProcessFarm(output, checkpointEvery: 5);
        var coordinator = await farm.StartCoordinatorAsync();
        var victim = await farm.StartNodeAsync("node-a");
        string id = await farm.SubmitAsync(farm.WriteSweep("kill.yaml", Sweep("kill-node", seeds: 1, steps: 200)));
        await victim.WaitForLineAsync("unit .* started", SweepTimeout);
        var survivor = await farm.StartNodeAsync("node-b");
        await farm.WaitForDeviceStepAsync("node-a", 20, SweepTimeout);

        victim.Kill();
        var clock = Stopwatch.StartNew();
        var resumed = await survivor.WaitForLineAsync("unit .* started.*", TimeSpan.FromSeconds(30));
        TimeSpan recovery = clock.Elapsed;
        output.WriteLine($"unit running on node-b {recovery.TotalSeconds:F1} s after node-a's SIGKILL: {resumed.Value}");
        // The target is 10 s (DESIGN.md; measured figures go in the closing note). The test allows for a loaded CI
        // machine: what it must catch is a requeue that waits for some long timeout instead of unreachability.
        Assert.True(recovery < TimeSpan.FromSeconds(25), $"recovery took {recovery.TotalSeconds:F1} s");
        Assert.Matches("resuming at step [1-9]", resumed.Value);

        Assert.Equal("done", await farm.WaitForSweepEndAsync(id, SweepTimeout));
        JsonElement[] rows = await farm.ResultsAsync(id);
        FarmAssert.EveryJobDoneOnce(farm, id, rows, 2, coordinator);
        Assert.Equal(["node-b"], FarmAssert.NodesOf(rows));
    }

    [Fact]
    public async Task A_coordinator_killed_and_restarted_resumes_the_sweep_and_reruns_nothing_completed()
    {
        await using var farm = new ProcessFarm(output);
        var first = await farm.StartCoordinatorAsync();
        var nodeA = await farm.StartNodeAsync("node-a");
        var nodeB = await farm.StartNodeAsync("node-b");
        string id = await farm.SubmitAsync(farm.WriteSweep("restart.yaml", Sweep("restart", seeds: 6, steps: 60)));
        await first.WaitForLineAsync("recorded job", SweepTimeout);

        first.Kill();
        var second = await farm.StartCoordinatorAsync();
        Assert.Equal("done", await farm.WaitForSweepEndAsync(id, SweepTimeout));

        JsonElement[] rows = await farm.ResultsAsync(id);
        FarmAssert.EveryJobDoneOnce(farm, id, rows, 12, first, second);
        Assert.False(nodeA.HasExited || nodeB.HasExited, "the nodes should have rejoined, not exited");
        Assert.True(second.Count("recorded job") < 12, "the restarted coordinator recorded everything again");
    }

    [Fact]
    public async Task A_node_joining_mid_sweep_gets_work_at_once()
    {
        await using var farm = new ProcessFarm(output);
        var coordinator = await farm.StartCoordinatorAsync();
        var nodeA = await farm.StartNodeAsync("node-a");
        string id = await farm.SubmitAsync(farm.WriteSweep("join.yaml", Sweep("join", seeds: 4, steps: 80)));
        await nodeA.WaitForLineAsync("unit .* started", SweepTimeout);

        var nodeB = await farm.StartNodeAsync("node-b");
        var clock = Stopwatch.StartNew();
        await nodeB.WaitForLineAsync("unit .* started", TimeSpan.FromSeconds(30));
        output.WriteLine($"node-b got work {clock.Elapsed.TotalSeconds:F1} s after it joined");
        // The target is 5 s; the bound allows for a loaded CI machine but not for a node left waiting for a re-poll (30 s).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"node-b waited {clock.Elapsed.TotalSeconds:F1} s");

        Assert.Equal("done", await farm.WaitForSweepEndAsync(id, SweepTimeout));
        JsonElement[] rows = await farm.ResultsAsync(id);
        FarmAssert.EveryJobDoneOnce(farm, id, rows, 8, coordinator);
        Assert.Equal(["node-a", "node-b"], FarmAssert.NodesOf(rows));
    }

    [Fact]
    public async Task A_drained_node_finishes_its_unit_and_leaves_and_SIGTERM_hands_the_unit_back()
    {
        await using var farm = new ProcessFarm(output, checkpointEvery: 5);
        var coordinator = await farm.StartCoordinatorAsync();
        var nodeA = await farm.StartNodeAsync("node-a");
        var nodeB = await farm.StartNodeAsync("node-b");
        var nodeC = await farm.StartNodeAsync("node-c");
        string id = await farm.SubmitAsync(farm.WriteSweep("drain.yaml", Sweep("drain", seeds: 5, steps: 80)));
        await nodeA.WaitForLineAsync("unit .* started", SweepTimeout);
        await nodeC.WaitForLineAsync("unit .* started", SweepTimeout);

        // drain: node-a finishes what it runs, takes nothing more, and exits 0.
        var (exit, _, drainOutput) = await farm.ClientAsync("drain", "node-a");
        Assert.True(exit == 0, drainOutput);

        // SIGTERM (drain --now): node-c checkpoints its unit, hands it back and exits 0. It goes while node-a drains:
        // node-c's unit, as long as node-a's, could otherwise end before the signal.
        await farm.WaitForDeviceStepAsync("node-c", 20, SweepTimeout);
        nodeC.Terminate();
        Assert.Equal(0, await nodeC.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(nodeC.Lines, l => l.Contains("handed back", StringComparison.Ordinal));

        Assert.Equal(0, await nodeA.WaitForExitAsync(SweepTimeout));
        Assert.Equal(1, nodeA.Count("unit .* started"));
        Assert.Equal(1, nodeA.Count("unit .* finished"));

        Assert.Equal("done", await farm.WaitForSweepEndAsync(id, SweepTimeout));
        JsonElement[] rows = await farm.ResultsAsync(id);
        FarmAssert.EveryJobDoneOnce(farm, id, rows, 10, coordinator);
        Assert.Contains(nodeB.Lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, "unit .* started .*resuming at step [1-9]"));
    }

    [Fact]
    public async Task A_bad_sweep_file_is_rejected_with_its_errors_and_leaves_nothing()
    {
        await using var farm = new ProcessFarm(output);
        await farm.StartCoordinatorAsync();
        string bad = farm.WriteSweep("bad.yaml", """
            name: bad
            content: missing.png
            style: style.png
            base: { network: resnet18, size: 64, steps: -3 }
            sweep:
              method: grid
              parameters:
                style_wieght: [1, 10]
            """);

        var (exit, _, text) = await farm.ClientAsync("submit", bad);
        Assert.Equal(2, exit);
        Assert.Contains("bad.yaml:2:", text);  // the missing image, with its line
        Assert.Contains("bad.yaml:4:", text);  // steps out of range
        Assert.Contains("bad.yaml:8:", text);  // the unknown key
        Assert.Contains("style_weight", text); // … and its likely meaning

        using var http = new HttpClient();
        var sweeps = await http.GetFromJsonAsync<JsonElement>($"{farm.Api}/api/v1/sweeps");
        Assert.Equal(0, sweeps.GetArrayLength());
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FarmCollection
{
    public const string Name = "farm processes";
}

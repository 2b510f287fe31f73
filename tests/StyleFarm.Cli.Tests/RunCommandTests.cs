using System.Text.Json;
using SixLabors.ImageSharp;
using StyleFarm.Engine.Imaging;

namespace StyleFarm.Cli.Tests;

/// <summary>`stylefarm run`: the embedded farm, as a user runs it.</summary>
public class RunCommandTests
{
    private static string WriteSweep(TempFolder dir, string name = "tiny")
    {
        DemoImages.WriteDemoPair(dir.Path, out _, out _, 64, 48);
        string path = dir.File($"{name}.yaml");
        File.WriteAllText(path, $$"""
            name: {{name}}
            content: content.png
            style: style.png
            base: { network: resnet18, size: 64, save_every: 4 }
            sweep:
              method: grid
              parameters:
                seed: [0, 1]
                style_weight: [1, 10]
                steps: [4, 8]
            """);
        return path;
    }

    [Fact]
    public void A_sweep_runs_on_two_cpu_workers_and_writes_its_run_folder_then_a_second_run_reuses_every_job()
    {
        using var dir = new TempFolder();
        string sweep = WriteSweep(dir);

        var first = StyleFarmProcess.Run(dir.Path, "run", sweep, "--devices", "cpu,cpu");
        Assert.True(first.ExitCode == 0, first.All);
        Assert.Contains("8 jobs, 0 already done", first.Stdout);
        Assert.Contains("8 of 8 jobs done", first.Stdout);
        // Two units (one per seed), one on each of the two CPU workers.
        Assert.Contains("started on local/cpu:", first.Stdout);
        Assert.Contains("started on local/cpu-2:", first.Stdout);

        string folder = Path.Combine(dir.Path, "runs", "tiny");
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "results.json")));
        JsonElement[] rows = json.RootElement.GetProperty("jobs").EnumerateArray().ToArray();
        Assert.Equal(8, rows.Length);
        foreach (JsonElement row in rows)
        {
            Assert.Equal("done", row.GetProperty("state").GetString());
            var image = Image.Identify(Path.Combine(folder, row.GetProperty("files").GetProperty("image").GetString()!));
            Assert.Equal(64, image.Width);
            Assert.True(File.Exists(Path.Combine(folder, row.GetProperty("files").GetProperty("trace").GetString()!)));
        }
        Assert.Equal(9, File.ReadAllLines(Path.Combine(folder, "results.csv")).Length);
        Assert.True(Directory.EnumerateFiles(Path.Combine(folder, "snapshots"), "*.png", SearchOption.AllDirectories).Any());

        // The same sweep again: every job is in the store already, nothing runs.
        var second = StyleFarmProcess.Run(dir.Path, "run", sweep);
        Assert.True(second.ExitCode == 0, second.All);
        Assert.Contains("8 jobs, 8 already done", second.Stdout);
        Assert.DoesNotContain("started on", second.Stdout);
        Assert.Contains("8 of 8 jobs done", second.Stdout);
    }

    [Fact]
    public void A_bad_sweep_is_refused_with_its_errors_and_runs_nothing()
    {
        using var dir = new TempFolder();
        string sweep = dir.File("bad.yaml");
        File.WriteAllText(sweep, "name: bad\ncontent: nothing.png\nstyle: nothing.png\nbase: { steps: 0 }\n");

        var run = StyleFarmProcess.Run(dir.Path, "run", sweep);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("bad.yaml:2:", run.Stderr);
        Assert.Contains("bad.yaml:4:", run.Stderr);
        Assert.False(Directory.Exists(dir.File("runs")));
        Assert.False(Directory.Exists(dir.File("farm-data")));
    }

    [Theory]
    [InlineData("give a sweep file or --demo")]
    [InlineData("'gpu' is not a device", "--demo", "--devices", "gpu")]
    public void Bad_options_exit_2_with_one_message(string expected, params string[] args)
    {
        using var dir = new TempFolder();
        var run = StyleFarmProcess.Run(dir.Path, ["run", .. args]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.All);
    }
}

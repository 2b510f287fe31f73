using StyleFarm.Engine.Imaging;

namespace StyleFarm.Cli.Tests;

public class ValidateCommandTests
{
    [Fact]
    public void AValidSweepShowsItsJobsAndUnitsAndRunsNothing()
    {
        using var dir = new TempFolder();
        DemoImages.WriteDemoPair(dir.Path, out _, out _);
        File.WriteAllText(dir.File("sweep.yaml"), """
            name: demo
            content: content.png
            style: style.png
            base: { size: 64, learning_rate: 0.03 }
            sweep:
              method: grid
              parameters:
                style_weight: [3, 10, 30]
                steps: [100, 200, 400]
            """);
        var run = StyleFarmProcess.Run(dir.Path, "validate", "sweep.yaml");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("9 jobs in 1 work units", run.Stdout);
        Assert.Contains("1200 image-steps fused against 2100 one by one", run.Stdout);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "runs")));
    }

    [Fact]
    public void EveryErrorIsReportedWithItsLineAndTheExitIsNonZero()
    {
        using var dir = new TempFolder();
        DemoImages.WriteDemoPair(dir.Path, out _, out _);
        File.WriteAllText(dir.File("bad.yaml"), """
            name: bad
            content: content.png
            style: missing.png
            base: { size: 64, stepz: 10 }
            sweep:
              method: grid
              parameters:
                style_weight: [3, -1]
            """);
        var run = StyleFarmProcess.Run(dir.Path, "validate", "bad.yaml");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("bad.yaml:3:", run.Stderr);   // the missing style image
        Assert.Contains("bad.yaml:4:", run.Stderr);   // the unknown key
        Assert.Contains("stepz", run.Stderr);
        Assert.Contains("bad.yaml:8:", run.Stderr);   // the negative weight
        Assert.Contains("3 error(s)", run.Stderr);
    }
}

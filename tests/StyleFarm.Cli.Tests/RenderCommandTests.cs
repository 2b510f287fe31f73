using SixLabors.ImageSharp;
using StyleFarm.Engine.Imaging;

namespace StyleFarm.Cli.Tests;

public class RenderCommandTests
{
    [Fact]
    public void DemoRenderWritesThePngAndPlainProgress()
    {
        using var dir = new TempFolder();
        var run = StyleFarmProcess.Run(dir.Path, "render", "--demo", "--out", "demo.png", "--size", "64", "--steps", "6",
            "--save-every", "2", "--trace", "trace.csv", "--threads", "2");

        Assert.True(run.ExitCode == 0, run.All);
        var info = Image.Identify(dir.File("demo.png"));
        Assert.Equal(64, Math.Max(info.Width, info.Height));
        Assert.Contains("wrote " + dir.File("demo.png"), run.Stdout);
        // Output is not a terminal here, so progress comes as plain lines with the losses.
        Assert.Contains("step 6/6  loss", run.Stdout);
        Assert.True(File.Exists(dir.File("demo.step0002.png")) && File.Exists(dir.File("demo.step0004.png")));
        Assert.False(File.Exists(dir.File("demo.step0006.png")), "the final step is the output, not a snapshot");

        string[] trace = File.ReadAllLines(dir.File("trace.csv"));
        Assert.Equal("step,total,content,style_stem,style_layer1,style_layer2,style_layer3,style_layer4,tv", trace[0]);
        Assert.Equal(7, trace.Length);
    }

    [Fact]
    public void RenderOfGivenFilesAtTheNetworksSideMultiple()
    {
        using var dir = new TempFolder();
        DemoImages.WriteDemoPair(dir.Path, out string content, out string style);
        var run = StyleFarmProcess.Run(dir.Path, "render", "--content", content, "--style", style, "--out", "out.png",
            "--size", "80", "--steps", "3", "--optimizer", "lbfgs", "--init", "noise", "--seed", "4");
        Assert.True(run.ExitCode == 0, run.All);
        var info = Image.Identify(dir.File("out.png"));
        Assert.Equal(0, info.Width % 32);
        Assert.Equal(0, info.Height % 32);
    }

    [Theory]
    [InlineData("no such file", "--content", "missing.jpg", "--style", "missing.jpg")]
    [InlineData("--optimizer sgd", "--demo", "--optimizer", "sgd")]
    [InlineData("--init", "--demo", "--init", "zeros")]
    [InlineData("vgg19 needs a weights file", "--demo", "--network", "vgg19")]
    [InlineData("no CUDA device", "--demo", "--device", "cuda:0")]
    [InlineData("--steps", "--demo", "--steps", "0")]
    [InlineData("--network alexnet", "--demo", "--network", "alexnet")]
    public void BadInputExitsNonZeroWithOneClearMessageAndNoOutput(string expected, params string[] args)
    {
        using var dir = new TempFolder();
        var run = StyleFarmProcess.Run(dir.Path, ["render", "--out", "out.png", .. args]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(expected, run.Stderr);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void AnImageThatIsNotAnImageIsNamedInTheError()
    {
        using var dir = new TempFolder();
        File.WriteAllText(dir.File("notes.jpg"), "not a picture");
        DemoImages.WriteDemoPair(dir.Path, out _, out string style);
        var run = StyleFarmProcess.Run(dir.Path, "render", "--content", "notes.jpg", "--style", style, "--out", "out.png", "--size", "64", "--steps", "2");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("notes.jpg", run.Stderr);
        Assert.False(File.Exists(dir.File("out.png")));
    }

    [Fact]
    public void OutputInAMissingFolderIsRefusedBeforeAnyWork()
    {
        using var dir = new TempFolder();
        var run = StyleFarmProcess.Run(dir.Path, "render", "--demo", "--out", "nowhere/out.png");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("does not exist", run.Stderr);
    }
}

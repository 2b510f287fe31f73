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

public class RenderWithVgg19WeightsTests
{
    /// <summary>(.pth loading is covered by the engine's weights tests; here the command's path end to end.)</summary>
    [Fact]
    public void RendersWithAUserSuppliedStateDict()
    {
        using var dir = new TempFolder();
        string weights = dir.File("vgg19.safetensors");
        Vgg19WeightFiles.WriteRandom(weights);
        var run = StyleFarmProcess.Run(dir.Path, "render", "--demo", "--network", "vgg19", "--weights", weights,
            "--out", "out.png", "--size", "48", "--steps", "2");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.True(File.Exists(dir.File("out.png")));
    }

    [Fact]
    public void ATruncatedWeightsFileIsNamedInTheError()
    {
        using var dir = new TempFolder();
        string weights = dir.File("vgg19.safetensors");
        Vgg19WeightFiles.WriteRandom(weights);
        byte[] bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
        var run = StyleFarmProcess.Run(dir.Path, "render", "--demo", "--network", "vgg19", "--weights", weights, "--out", "out.png", "--size", "48", "--steps", "2");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("vgg19.safetensors", run.Stderr);
        Assert.False(File.Exists(dir.File("out.png")));
    }
}

/// <summary>A torchvision-layout VGG19 state dict with random weights, as a user's file would hold it.</summary>
internal static class Vgg19WeightFiles
{
    public static void WriteRandom(string path)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var stateDict = new Dictionary<string, TorchSharp.torch.Tensor>();
        {
            int[] indices = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];
            long inputs = 3;
            foreach (var (index, outputs) in indices.Zip(new long[] { 64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512 }))
            {
                // Half precision keeps the file at 40 MB; the loader converts to float32.
                stateDict[$"features.{index}.weight"] = TorchSharp.torch.randn(outputs, inputs, 3, 3).mul(0.05).to(TorchSharp.torch.ScalarType.Float16);
                stateDict[$"features.{index}.bias"] = TorchSharp.torch.zeros(outputs, dtype: TorchSharp.torch.ScalarType.Float16);
                inputs = outputs;
            }
        }
        StyleFarm.Engine.Weights.SafeTensors.Save(path, stateDict);
    }
}

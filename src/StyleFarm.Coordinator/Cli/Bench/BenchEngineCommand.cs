using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console.Cli;
using StyleFarm.Engine.Devices;
using StyleFarm.Engine.Imaging;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Networks.ResNet18;
using StyleFarm.Engine.Networks.Vgg19;
using StyleFarm.Engine.Runs;
using static TorchSharp.torch;

namespace StyleFarm.Coordinator.Cli.Bench;

public sealed class BenchEngineSettings : CommandSettings
{
    [CommandOption("--device <DEVICE>"), Description("cpu (default), cuda or cuda:N.")]
    public string Device { get; init; } = "cpu";

    [CommandOption("--threads <N>"), Description("CPU threads (default: all cores).")]
    public int Threads { get; init; }

    [CommandOption("--sizes <PX,PX>"), Description("Image sizes for the step benchmark (default 128,256,400).")]
    public string Sizes { get; init; } = "128,256,400";

    [CommandOption("--fusion-size <PX>"), Description("Image size of the fusion case (default 128).")]
    public int FusionSize { get; init; } = 128;

    [CommandOption("--fusion-scale <F>"), Description("Scales the fusion case's step counts {100,200,400} (default 1).")]
    public double FusionScale { get; init; } = 1;

    [CommandOption("--skip-fusion")]
    public bool SkipFusion { get; init; }
}

/// <summary>
/// `stylefarm bench engine`: figures, not pass/fail. Everything is measured in one run so the ratios compare
/// like with like: the matmul rate, each network's Adam step as a fraction of it, and fusion against one by one.
/// </summary>
public sealed class BenchEngineCommand : Command<BenchEngineSettings>
{
    public override int Execute(CommandContext context, BenchEngineSettings options, CancellationToken cancellationToken)
    {
        Device device = ComputeDevice.Resolve(options.Device);
        ComputeDevice.SetThreads(options.Threads);
        Console.WriteLine($"device {options.Device}, {get_num_threads()} threads, {Environment.ProcessorCount} cores");

        double matmul = MatmulGflops(device);
        Console.WriteLine(F($"matmul float32 2048×2048: {matmul:F1} GFLOP/s"));

        using IFeatureNetwork resnet = ResNet18Network.LoadPretrained(device);
        using IFeatureNetwork vgg = RandomVgg19(device);
        int[] sizes = options.Sizes.Split(',').Select(int.Parse).ToArray();
        Console.WriteLine("network   size      HxW   s/step  GFLOP/step  GFLOP/s  of matmul");
        foreach (IFeatureNetwork network in new[] { vgg, resnet })
            foreach (int size in sizes)
                StepRate(network, size, matmul);

        if (!options.SkipFusion) Fusion(resnet, options.FusionSize, options.FusionScale);
        return 0;
    }

    private static double MatmulGflops(Device device)
    {
        const int n = 2048;
        using var a = rand(n, n, device: device);
        using var b = rand(n, n, device: device);
        for (int i = 0; i < 3; i++) a.matmul(b).Dispose();
        const int repeats = 10;
        Synchronize(device);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) a.matmul(b).Dispose();
        Synchronize(device);
        return 2.0 * n * n * n * repeats / clock.Elapsed.TotalSeconds / 1e9;
    }

    private static void StepRate(IFeatureNetwork network, int size, double matmul)
    {
        var (content, style) = BenchImages(size, network.SideMultiple);
        using (content)
        using (style)
        {
            int steps = size >= 400 ? 4 : 8, warmup = 2;
            UnitSpec spec = new RenderSettings { Network = network.Name, Size = size, Steps = warmup + steps }.ToUnitSpec(network.Defaults);
            var clock = new Stopwatch();
            var options = new RunOptions { OnStep = p => { if (p.Step == warmup) clock.Start(); } };
            using (new FusedRunner(network).Run(spec, content, style, options)) { }
            double perStep = clock.Elapsed.TotalSeconds / steps;

            long h = content.shape[2], w = content.shape[3];
            string[] layers = spec.StyleLayers.Append(spec.ContentLayer).Distinct().ToArray();
            // Forward plus the gradient with respect to the input: two passes of the same convolutions.
            double flops = 2 * network.ForwardFlops(h, w, layers);
            double rate = flops / perStep / 1e9;
            Console.WriteLine(F($"{network.Name,-8} {size,5} {w,4}x{h,-4} {perStep,8:F3} {flops / 1e9,11:F2} {rate,8:F1} {rate / matmul,9:P0}"));
        }
    }

    /// <summary>DESIGN.md's fusion case: 3 style weights × steps {100, 200, 400}, fused against one by one.</summary>
    private static void Fusion(IFeatureNetwork network, int size, double scale)
    {
        int[] steps = [100, 200, 400];
        steps = steps.Select(s => Math.Max(1, (int)(s * scale))).ToArray();
        double[] styleWeights = [3, 10, 30];
        var (content, style) = BenchImages(size, network.SideMultiple);
        using (content)
        using (style)
        {
            UnitSpec template = new RenderSettings { Network = network.Name, Size = size }.ToUnitSpec(network.Defaults);
            VariantSpec Job(double sw, int[] outputs) => template.Variants[0] with { Id = F($"sw{sw}"), StyleWeight = sw, OutputSteps = outputs };

            var clock = Stopwatch.StartNew();
            var fusedOutputs = new Dictionary<(string, int), float[]>();
            using (UnitResult fused = new FusedRunner(network).Run(template with { Variants = styleWeights.Select(sw => Job(sw, steps)).ToArray() }, content, style))
                foreach (VariantOutput o in fused.Outputs) fusedOutputs[(o.VariantId, o.Step)] = o.Image.data<float>().ToArray();
            double fusedSeconds = clock.Elapsed.TotalSeconds;

            clock.Restart();
            double maxDiff = 0, sumDiff = 0;
            long count = 0;
            foreach (double sw in styleWeights)
                foreach (int s in steps)
                {
                    using UnitResult alone = new FusedRunner(network).Run(template with { Variants = [Job(sw, [s])] }, content, style);
                    float[] a = alone.Outputs[0].Image.data<float>().ToArray(), b = fusedOutputs[(F($"sw{sw}"), s)];
                    for (int i = 0; i < a.Length; i++)
                    {
                        double d = Math.Abs(a[i] - b[i]);
                        maxDiff = Math.Max(maxDiff, d);
                        sumDiff += d;
                    }
                    count += a.Length;
                }
            double aloneSeconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(F($"fusion {network.Name} {size}px, 3 style weights × steps {{{string.Join(", ", steps)}}}: ") +
                F($"fused {fusedSeconds:F1} s, one by one {aloneSeconds:F1} s, speedup {aloneSeconds / fusedSeconds:F2}×, ") +
                F($"outputs differ by max {maxDiff:E1}, mean {sumDiff / count:E1}"));
        }
    }

    private static (Tensor Content, Tensor Style) BenchImages(int size, int multiple)
    {
        using var scene = DemoImages.Scene(size, size * 3 / 4);
        using var texture = DemoImages.PainterlyTexture(size, size * 3 / 4);
        Tensor content = ImageLoader.LoadContent(ImageWriter.EncodePng(scene), "demo scene", size, multiple);
        Tensor style = ImageLoader.LoadStyle(ImageWriter.EncodePng(texture), "demo texture", (int)content.shape[2], (int)content.shape[3]);
        return (content, style);
    }

    /// <summary>VGG19 with random weights: its speed does not depend on what the weights are.</summary>
    private static IFeatureNetwork RandomVgg19(Device device)
    {
        long[] channels = [64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512];
        int[] indices = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34];
        var weights = new Dictionary<string, Tensor>();
        long inputs = 3;
        for (int i = 0; i < channels.Length; i++)
        {
            weights[$"features.{indices[i]}.weight"] = randn(channels[i], inputs, 3, 3) * Math.Sqrt(2.0 / (inputs * 9));
            weights[$"features.{indices[i]}.bias"] = zeros(channels[i]);
            inputs = channels[i];
        }
        return Vgg19Network.FromStateDict(weights, "random VGG19", device);
    }

    private static void Synchronize(Device device)
    {
        if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize(device);
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

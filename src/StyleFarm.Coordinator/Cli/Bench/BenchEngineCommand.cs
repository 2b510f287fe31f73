using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console.Cli;
using StyleFarm.Engine.Devices;
using StyleFarm.Engine.Imaging;
using StyleFarm.Engine.Losses;
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

        using var matmul = new MatmulProbe(device);
        Console.WriteLine(F($"matmul float32 {MatmulProbe.Side}×{MatmulProbe.Side}: {matmul.MedianGflops(15):F1} GFLOP/s (median of 15)"));

        using IFeatureNetwork resnet = ResNet18Network.LoadPretrained(device);
        using IFeatureNetwork vgg = Vgg19Network.WithRandomWeights(device: device);
        int[] sizes = options.Sizes.Split(',').Select(int.Parse).ToArray();
        Console.WriteLine("Adam step (median of 7), FLOPs of the forward and input-gradient passes through the layers used;");
        Console.WriteLine("each step is paired with a matmul timed right after it, and the fraction is the median of the pairs' ratios:");
        Console.WriteLine("network   size      HxW   s/step  GFLOP/step  GFLOP/s  matmul  of matmul");
        foreach (IFeatureNetwork network in new[] { vgg, resnet })
            foreach (int size in sizes)
                StepRate(network, size, matmul);

        if (!options.SkipFusion) Fusion(resnet, options.FusionSize, options.FusionScale);
        return 0;
    }

    /// <summary>
    /// A large float32 matmul, the machine's reference rate. Timed again beside each measured step: on a shared
    /// machine the rate drifts by tens of percent within a minute, and a ratio of rates is only fair when both were
    /// measured in the same stretch of time.
    /// </summary>
    private sealed class MatmulProbe : IDisposable
    {
        public const int Side = 2048;
        private readonly Device _device;
        private readonly Tensor _a, _b;

        public MatmulProbe(Device device)
        {
            _device = device;
            _a = rand(Side, Side, device: device);
            _b = rand(Side, Side, device: device);
            for (int i = 0; i < 3; i++) _a.matmul(_b).Dispose();
        }

        public double Gflops()
        {
            Synchronize(_device);
            var clock = Stopwatch.StartNew();
            _a.matmul(_b).Dispose();
            Synchronize(_device);
            return 2.0 * Side * Side * Side / clock.Elapsed.TotalSeconds / 1e9;
        }

        public double MedianGflops(int samples) => Median(Enumerable.Range(0, samples).Select(_ => Gflops()).ToList());

        public void Dispose()
        {
            _a.Dispose();
            _b.Dispose();
        }
    }

    private static double Median(IReadOnlyCollection<double> values) => values.Order().ElementAt(values.Count / 2);

    private static void StepRate(IFeatureNetwork network, int size, MatmulProbe matmul)
    {
        var (content, style) = BenchImages(size, network.SideMultiple);
        using (content)
        using (style)
        {
            const int warmup = 2, measured = 7;
            UnitSpec spec = new RenderSettings { Network = network.Name, Size = size, Steps = warmup + measured }.ToUnitSpec(network.Defaults);
            long h = content.shape[2], w = content.shape[3];
            string[] layers = spec.StyleLayers.Append(spec.ContentLayer).Distinct().ToArray();
            // Forward plus the gradient with respect to the input: two passes of the same convolutions.
            double flops = 2 * network.ForwardFlops(h, w, layers);

            var stepSeconds = new List<double>();
            var matmulRates = new List<double>();
            var clock = Stopwatch.StartNew();
            var options = new RunOptions
            {
                OnStep = p =>
                {
                    if (p.Step > warmup)
                    {
                        stepSeconds.Add(clock.Elapsed.TotalSeconds);
                        matmulRates.Add(matmul.Gflops());
                    }
                    clock.Restart();
                },
            };
            using (new FusedRunner(network).Run(spec, content, style, options)) { }
            // Medians: a shared machine's noise shows as outliers, not as a shift of every step.
            double perStep = Median(stepSeconds);
            double rate = flops / perStep / 1e9;
            double fraction = Median(stepSeconds.Select((s, i) => flops / s / 1e9 / matmulRates[i]).ToList());
            Console.WriteLine(F($"{network.Name,-8} {size,5} {w,4}x{h,-4} {perStep,8:F3} {flops / 1e9,11:F2} {rate,8:F1} {Median(matmulRates),7:F1} {fraction,9:P0}"));
        }
    }

    /// <summary>
    /// DESIGN.md's fusion case: 3 style weights × steps {100, 200, 400} as one unit, against the same 9 jobs run one
    /// by one, with the unit run image by image and as one batch, and which of the two a unit takes by default here.
    /// </summary>
    private static void Fusion(IFeatureNetwork network, int size, double scale)
    {
        int[] steps = new[] { 100, 200, 400 }.Select(s => Math.Max(1, (int)(s * scale))).ToArray();
        double[] styleWeights = [3, 10, 30];
        var (content, style) = BenchImages(size, network.SideMultiple);
        using (content)
        using (style)
        {
            UnitSpec template = new RenderSettings { Network = network.Name, Size = size }.ToUnitSpec(network.Defaults);
            VariantSpec Job(double sw, int[] outputs) => template.Variants[0] with { Id = F($"sw{sw}"), StyleWeight = sw, OutputSteps = outputs };

            var clock = Stopwatch.StartNew();
            var alone = new Dictionary<(string, int), float[]>();
            foreach (double sw in styleWeights)
                foreach (int s in steps)
                    alone[(F($"sw{sw}"), s)] = Outputs(network, template with { Variants = [Job(sw, [s])] }, content, style, null).Single().Value;
            double aloneSeconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(F($"fusion {network.Name} {size}px, 3 style weights × steps {{{string.Join(", ", steps)}}}: one by one {aloneSeconds:F1} s"));

            UnitSpec unit = template with { Variants = styleWeights.Select(sw => Job(sw, steps)).ToArray() };
            using (var targets = StyleTargets.Compute(network, unit, content, style))
            {
                BatchExecution chosen = BatchExecutionChoice.For(network, unit, unit.Variants, targets, content.shape[2], content.shape[3]);
                Console.WriteLine($"  a unit of these 3 runs {chosen} by default here (one batch is used when it equals image by image bit for bit)");
            }
            foreach (BatchExecution execution in new[] { BatchExecution.PerImage, BatchExecution.Batched })
            {
                clock.Restart();
                var fused = Outputs(network, unit, content, style, execution);
                double fusedSeconds = clock.Elapsed.TotalSeconds;
                var (max, mean) = Difference(fused, alone);
                Console.WriteLine(F($"  fused, {execution,-8}: {fusedSeconds:F1} s, speedup {aloneSeconds / fusedSeconds:F2}×, ") +
                                  F($"outputs differ from one by one by max {max:E1}, mean {mean:E1}"));
            }
        }
    }

    private static Dictionary<(string, int), float[]> Outputs(IFeatureNetwork network, UnitSpec spec, Tensor content, Tensor style, BatchExecution? execution)
    {
        using UnitResult result = new FusedRunner(network).Run(spec, content, style, new RunOptions { Execution = execution });
        return result.Outputs.ToDictionary(o => (o.VariantId, o.Step), o => o.Image.data<float>().ToArray());
    }

    private static (double Max, double Mean) Difference(Dictionary<(string, int), float[]> a, Dictionary<(string, int), float[]> b)
    {
        double max = 0, sum = 0;
        long count = 0;
        foreach (var (key, values) in a)
        {
            float[] other = b[key];
            for (int i = 0; i < values.Length; i++)
            {
                double d = Math.Abs(values[i] - other[i]);
                max = Math.Max(max, d);
                sum += d;
            }
            count += values.Length;
        }
        return (max, sum / count);
    }

    private static (Tensor Content, Tensor Style) BenchImages(int size, int multiple)
    {
        using var scene = DemoImages.Scene(size, size * 3 / 4);
        using var texture = DemoImages.PainterlyTexture(size, size * 3 / 4);
        Tensor content = ImageLoader.LoadContent(ImageWriter.EncodePng(scene), "demo scene", size, multiple);
        Tensor style = ImageLoader.LoadStyle(ImageWriter.EncodePng(texture), "demo texture", (int)content.shape[2], (int)content.shape[3]);
        return (content, style);
    }

    private static void Synchronize(Device device)
    {
        if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize(device);
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using Spectre.Console.Cli;
using StyleFarm.Engine;
using StyleFarm.Engine.Devices;
using StyleFarm.Engine.Imaging;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;
using StyleFarm.Engine.Weights;
using static TorchSharp.torch;

namespace StyleFarm.Coordinator.Cli.Render;

/// <summary>`stylefarm render`: one style transfer on this machine, with progress, snapshots and a loss trace.</summary>
public sealed class RenderCommand : Command<RenderCommandSettings>
{
    public override int Execute(CommandContext context, RenderCommandSettings options, CancellationToken cancellationToken)
    {
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCtrlC = (_, e) => { e.Cancel = true; interrupt.Cancel(); };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            return Render(options, interrupt.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("stylefarm: interrupted; no output written");
            return StyleFarmCli.Interrupted;
        }
        catch (Exception e) when (e is EngineException or ImageInputException or WeightsFileException)
        {
            Console.Error.WriteLine($"stylefarm: {e.Message}");
            return StyleFarmCli.BadInput;
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }

    private static int Render(RenderCommandSettings options, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        RenderSettings settings = options.ToRenderSettings();
        Device device = ComputeDevice.Resolve(options.Device);
        var (contentPath, stylePath) = InputImages(options);

        using IFeatureNetwork network = FeatureNetworks.Load(settings.Network, settings.Weights, device);
        using Tensor content = ImageLoader.LoadContent(contentPath, settings.Size, network.SideMultiple);
        using Tensor style = ImageLoader.LoadStyle(stylePath, (int)content.shape[2], (int)content.shape[3]);
        UnitSpec spec = settings.ToUnitSpec(network.Defaults);
        spec.Validate(network);

        string output = Path.GetFullPath(options.Out!);
        using var progress = RenderProgress.ForConsole(spec.MaxSteps, spec.StyleLayers);
        var runOptions = new RunOptions
        {
            Threads = options.Threads,
            OnStep = progress.Report,
            OnSnapshot = snapshot =>
            {
                if (!snapshot.IsOutput) ImageWriter.SavePng(snapshot.Image, SnapshotPath(output, snapshot.Step));
            },
        };
        using UnitResult result = progress.Run(() => new FusedRunner(network).Run(spec, content, style, runOptions, cancel));

        // Outputs are written only once the run has finished, each atomically.
        VariantOutput final = result.Outputs.Single();
        ImageWriter.SavePng(final.Image, output);
        if (options.Trace is not null) AtomicFile.WriteText(Path.GetFullPath(options.Trace), result.Traces[final.VariantId].ToCsv());

        LossRow? last = result.Traces[final.VariantId].Last;
        Console.WriteLine($"wrote {output} ({content.shape[3]}×{content.shape[2]}, {spec.MaxSteps} steps of {network.Name} " +
                          $"in {clock.Elapsed.TotalSeconds:F1} s, final loss {last?.Total:G4})");
        if (options.Trace is not null) Console.WriteLine($"wrote {Path.GetFullPath(options.Trace)}");
        return 0;
    }

    private static (string Content, string Style) InputImages(RenderCommandSettings options)
    {
        if (!options.Demo) return (options.Content!, options.Style!);
        string folder = Path.Combine(Path.GetTempPath(), "stylefarm-demo");
        Directory.CreateDirectory(folder);
        DemoImages.WriteDemoPair(folder, out string content, out string style);
        return (content, style);
    }

    /// <summary>out.png → out.step0100.png, beside the output.</summary>
    public static string SnapshotPath(string output, int step) =>
        Path.Combine(Path.GetDirectoryName(output)!, $"{Path.GetFileNameWithoutExtension(output)}.step{step:D4}.png");
}

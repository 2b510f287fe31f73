using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Runs;

namespace StyleFarm.Coordinator.Cli.Render;

public sealed class RenderCommandSettings : CommandSettings
{
    [CommandOption("--content <FILE>"), Description("The photo to repaint.")]
    public string? Content { get; init; }

    [CommandOption("--style <FILE>"), Description("The painting whose style to take.")]
    public string? Style { get; init; }

    [CommandOption("--demo"), Description("Use a generated scene and painterly texture instead of --content/--style.")]
    public bool Demo { get; init; }

    [CommandOption("--out <FILE.png>"), Description("Where to write the result (PNG).")]
    public string? Out { get; init; }

    [CommandOption("--network <NAME>"), Description("resnet18 (default, pretrained weights shipped) or vgg19 (needs --weights).")]
    public string Network { get; init; } = FeatureNetworks.ResNet18;

    [CommandOption("--weights <FILE>"), Description("VGG19 state dict (.safetensors or .pth) for --network vgg19.")]
    public string? Weights { get; init; }

    [CommandOption("--size <PX>"), Description("Longest side of the output in pixels (default 400; 256 with --demo).")]
    public int? Size { get; init; }

    [CommandOption("--steps <N>"), Description("Optimisation steps (default: the network's, 300).")]
    public int? Steps { get; init; }

    [CommandOption("--style-weight <W>")]
    public double? StyleWeight { get; init; }

    [CommandOption("--content-weight <W>")]
    public double? ContentWeight { get; init; }

    [CommandOption("--tv-weight <W>"), Description("Total-variation weight: smooths noise in flat areas.")]
    public double? TvWeight { get; init; }

    [CommandOption("--lr <RATE>"), Description("Learning rate on [0,1] pixels (Adam default: the network's; L-BFGS: 1).")]
    public double? LearningRate { get; init; }

    [CommandOption("--optimizer <NAME>"), Description("adam (default) or lbfgs.")]
    public string Optimizer { get; init; } = "adam";

    [CommandOption("--init <FROM>"), Description("content (default), noise or style.")]
    public string Init { get; init; } = "content";

    [CommandOption("--seed <N>"), Description("Seed for noise init; the same seed and threads give the same image.")]
    public long Seed { get; init; }

    [CommandOption("--save-every <N>"), Description("Also write a snapshot every N steps, beside --out.")]
    public int SaveEvery { get; init; }

    [CommandOption("--trace <FILE.csv>"), Description("Write the loss at every step (total, content, style per layer, tv).")]
    public string? Trace { get; init; }

    [CommandOption("--device <DEVICE>"), Description("cpu (default), cuda or cuda:N.")]
    public string Device { get; init; } = "cpu";

    [CommandOption("--threads <N>"), Description("CPU threads for torch (default: all cores).")]
    public int Threads { get; init; }

    public OptimizerKind OptimizerKind => Optimizer.ToLowerInvariant() == "lbfgs" ? OptimizerKind.Lbfgs : OptimizerKind.Adam;

    public InitKind InitKind => Enum.Parse<InitKind>(Init, ignoreCase: true);

    public override ValidationResult Validate()
    {
        string? problem = Problem();
        return problem is null ? ValidationResult.Success() : ValidationResult.Error(problem);
    }

    /// <summary>The first thing wrong with the options, checked before anything heavy is loaded.</summary>
    private string? Problem()
    {
        if (string.IsNullOrWhiteSpace(Out)) return "--out FILE.png is required";
        if (!Out.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) return $"--out {Out}: the output is a PNG, so name it *.png";
        string? outFolder = Path.GetDirectoryName(Path.GetFullPath(Out));
        if (outFolder is not null && !Directory.Exists(outFolder)) return $"--out {Out}: folder {outFolder} does not exist";
        if (Demo && (Content is not null || Style is not null)) return "--demo brings its own images: leave out --content and --style";
        if (!Demo && (Content is null || Style is null)) return "give --content FILE and --style FILE (or --demo)";
        if (!Demo && !File.Exists(Content)) return $"--content {Content}: no such file";
        if (!Demo && !File.Exists(Style)) return $"--style {Style}: no such file";
        if (!FeatureNetworks.Names.Contains(Network.ToLowerInvariant())) return $"--network {Network}: expected {string.Join(" or ", FeatureNetworks.Names)}";
        if (Weights is not null && !File.Exists(Weights)) return $"--weights {Weights}: no such file";
        if (Size is <= 0 or > 8192) return $"--size {Size}: expected 1 to 8192 pixels";
        if (Steps is <= 0) return $"--steps {Steps}: expected a positive number";
        if (StyleWeight is < 0 || ContentWeight is < 0 || TvWeight is < 0) return "loss weights must not be negative";
        if (LearningRate is <= 0) return $"--lr {LearningRate}: expected a positive number";
        if (Optimizer.ToLowerInvariant() is not ("adam" or "lbfgs")) return $"--optimizer {Optimizer}: expected adam or lbfgs";
        if (!Enum.TryParse<InitKind>(Init, ignoreCase: true, out _)) return $"--init {Init}: expected content, noise or style";
        if (SaveEvery < 0) return $"--save-every {SaveEvery}: expected 0 or a positive number";
        if (Threads < 0) return $"--threads {Threads}: expected a positive number";
        if (Trace is not null && !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(Trace)))) return $"--trace {Trace}: its folder does not exist";
        return null;
    }

    public RenderSettings ToRenderSettings() => new()
    {
        Network = Network.ToLowerInvariant(),
        Weights = Weights,
        Size = Size ?? (Demo ? 256 : RenderSettings.DefaultSize),
        Steps = Steps,
        StyleWeight = StyleWeight,
        ContentWeight = ContentWeight,
        TvWeight = TvWeight,
        LearningRate = LearningRate,
        Optimizer = OptimizerKind,
        Init = InitKind,
        Seed = Seed,
        SaveEvery = SaveEvery,
    };
}

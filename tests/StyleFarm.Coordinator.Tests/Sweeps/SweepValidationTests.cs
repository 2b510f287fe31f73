using System.Diagnostics;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Engine.Networks;

namespace StyleFarm.Coordinator.Tests.Sweeps;

public sealed class SweepValidationTests : IDisposable
{
    private readonly SweepFolder _folder = new SweepFolder().WithImages();

    public void Dispose() => _folder.Dispose();

    /// <summary>A valid sweep whose fourth line is <paramref name="line4"/>.</summary>
    private static string WithLine4(string line4) => $"""
        name: v
        content: content.png
        style: style.png
        {line4}
        """;

    [Fact]
    public void AnErrorNamesTheFileLineAndField()
    {
        var e = Assert.Throws<SweepValidationException>(() => _folder.Load("""
            name: fmt
            content: content.png
            style: style.png
            base:
              size: 64
              seed: 1
            sweep:
              method: grid
              parameters:
                style_weight: [1, 10]
                content_weight: [1]
                steps: [100, 0]
            """));

        SweepError error = Assert.Single(e.Errors);
        Assert.Equal("sweep.yaml:12: sweep.parameters.steps[1]: must be at least 1, got 0", error.Format("sweep.yaml"));
        Assert.EndsWith("sweep.yaml", e.SourceName);
        Assert.Contains("sweep.parameters.steps[1]: must be at least 1, got 0", e.Message);
    }

    [Fact]
    public void UnknownKeysAreReportedWithTheClosestKnownKey()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: keys
            content: content.png
            style: style.png
            prority: 10
            base:
              styel_weight: 1
              colour: red
            sweep:
              parameters:
                stepz: [1, 2]
            """);

        AssertError(errors, "prority", 4, "unknown key 'prority'; did you mean 'priority'?");
        AssertError(errors, "base.styel_weight", 6, "unknown key 'styel_weight'; did you mean 'style_weight'?");
        AssertError(errors, "base.colour", 7, "unknown key 'colour'");
        AssertError(errors, "sweep.parameters.stepz", 10, "unknown key 'stepz'; did you mean 'steps'?");
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void KeysInTheWrongSectionSayWhereTheyBelong()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: keys
            content: content.png
            style: style.png
            steps: 100
            base: { content: other.png }
            """);

        AssertError(errors, "steps", 4, "'steps' is a render setting: put it in base, or sweep it in sweep.parameters");
        AssertError(errors, "base.content", 5, "'content' is given at the top level of the file (a path, or a list of paths to sweep), not in base");
    }

    [Fact]
    public void WrongTypesSayWhatWasExpectedAndWhatWasFound()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: types
            content: content.png
            style: [style.png, { path: x }]
            base:
              size: big
              steps: "100"
              tv_weight: [0.1]
            sweep:
              parameters:
                style_weight: [1, ten]
                learning_rate: 0.1
                style_layers: [{ layer1: 1 }]
            priority: true
            """);

        AssertError(errors, "style[1]", 3, "must be a file path, got a mapping");
        AssertError(errors, "base.size", 5, "must be an integer, got big");
        AssertError(errors, "base.steps", 6, "must be an integer, got the quoted text \"100\"");
        AssertError(errors, "base.tv_weight", 7, "must be a number, got a list");
        AssertError(errors, "sweep.parameters.style_weight[1]", 10, "must be a number, got ten");
        AssertError(errors, "sweep.parameters.learning_rate", 11, "must be a list of values, e.g. [1, 10, 100], got 0.1");
        AssertError(errors, "sweep.parameters.style_layers", 12,
            "must map preset names to layer weights, e.g. { coarse: { layer3: 1, layer4: 1 } }, got a list");
        AssertError(errors, "priority", 13, "must be an integer, got true");
        Assert.Equal(8, errors.Count);
    }

    [Theory]
    [InlineData("base: { size: 8 }", "base.size", "must be between 16 and 8192, got 8")]
    [InlineData("base: { size: 9000 }", "base.size", "must be between 16 and 8192, got 9000")]
    [InlineData("base: { steps: 0 }", "base.steps", "must be at least 1, got 0")]
    [InlineData("base: { content_weight: -1 }", "base.content_weight", "must be at least 0, got -1")]
    [InlineData("base: { style_weight: -0.5 }", "base.style_weight", "must be at least 0, got -0.5")]
    [InlineData("base: { tv_weight: -1e-3 }", "base.tv_weight", "must be at least 0, got -1e-3")]
    [InlineData("base: { content_style_ratio: -2 }", "base.content_style_ratio", "must be at least 0, got -2")]
    [InlineData("base: { learning_rate: 0 }", "base.learning_rate", "must be greater than 0, got 0")]
    [InlineData("base: { learning_rate: .inf }", "base.learning_rate", "must be a number, got .inf")]
    [InlineData("base: { learning_rate: Infinity }", "base.learning_rate", "must be a finite number, got Infinity")]
    [InlineData("base: { save_every: -1 }", "base.save_every", "must be at least 0, got -1")]
    [InlineData("base: { seed: 99999999999999999999 }", "base.seed", "must be between -9223372036854775808 and 9223372036854775807, got 99999999999999999999")]
    [InlineData("base: { style_layers: { layer1: -1 } }", "base.style_layers.layer1", "must be at least 0, got -1")]
    [InlineData("priority: 101", "priority", "must be between 0 and 100, got 101")]
    [InlineData("retries: 11", "retries", "must be between 0 and 10, got 11")]
    [InlineData("max_jobs: 0", "max_jobs", "must be at least 1, got 0")]
    [InlineData("sweep: { method: random, samples: 0, parameters: { steps: [1, 2] } }", "sweep.samples", "must be at least 1, got 0")]
    public void OutOfRangeValuesAreRefused(string line4, string field, string message)
    {
        AssertError(_folder.Errors(WithLine4(line4)), field, 4, message);
    }

    [Fact]
    public void UnknownNetworkOptimizerInitAndMethodAreRefused()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: names
            content: content.png
            style: style.png
            base: { optimizer: sgd, init: random }
            sweep:
              method: cartesian
              parameters:
                network: [resnet18, resnet50]
            """);

        AssertError(errors, "base.optimizer", 4, "unknown optimizer 'sgd': expected one of adam, lbfgs");
        AssertError(errors, "base.init", 4, "unknown init 'random': expected one of content, noise, style");
        AssertError(errors, "sweep.method", 6, "unknown method 'cartesian': expected one of grid, random, zip");
        AssertError(errors, "sweep.parameters.network[1]", 8, "unknown network 'resnet50': expected one of resnet18, vgg19; did you mean 'resnet18'?");
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void LayersAreCheckedAgainstTheNetworkTheyRunOn()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: layers
            content: content.png
            style: style.png
            base: { content_layer: conv4_2 }
            sweep:
              parameters:
                style_layers:
                  fine: { stem: 1, layer_4: 1 }
            """);

        AssertError(errors, "base.content_layer", 4, "unknown layer 'conv4_2' for resnet18: expected one of stem, layer1, layer2, layer3, layer4");
        AssertError(errors, "sweep.parameters.style_layers.fine.layer_4", 8,
            "unknown layer 'layer_4' for resnet18: expected one of stem, layer1, layer2, layer3, layer4; did you mean 'layer4'?");
        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public void ASweptNetworkNeedsEveryLayerOnEveryNetworkItMeetsButZipOnlyOnItsRow()
    {
        _folder.Write("vgg.pth", "weights");
        IReadOnlyList<SweepError> grid = _folder.Errors("""
            name: layers
            content: content.png
            style: style.png
            base: { weights: vgg.pth, content_layer: layer3 }
            sweep: { parameters: { network: [resnet18, vgg19] } }
            """);
        ExpandedSweep zip = _folder.Load("""
            name: layers
            content: content.png
            style: style.png
            base: { weights: vgg.pth }
            sweep:
              method: zip
              parameters:
                network: [resnet18, vgg19]
                content_layer: [layer3, conv4_2]
            """);

        AssertError(grid, "base.content_layer", 4,
            $"unknown layer 'layer3' for vgg19: expected one of {string.Join(", ", FeatureNetworks.LayersOf(FeatureNetworks.Vgg19))}");
        Assert.Single(grid);
        Assert.Equal(["layer3", "conv4_2"], zip.Jobs.Select(j => j.Settings.ContentLayer));
    }

    [Fact]
    public void MissingAndUnreadableImagesAreReported()
    {
        _folder.Write("not-an-image.png", "hello");
        Directory.CreateDirectory(_folder.PathOf("folder.png"));
        _folder.BmpHeaderOnly("huge.bmp", width: 8000, height: 6000);
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: images
            content: [missing.png, not-an-image.png, folder.png, huge.bmp]
            style: style.png
            """);

        AssertError(errors, "content[0]", 2, $"cannot find 'missing.png' (looked for {_folder.PathOf("missing.png")})");
        AssertError(errors, "content[1]", 2, "'not-an-image.png' is not an image format StyleFarm reads (PNG, JPEG, GIF, BMP, TIFF, TGA, WebP)");
        AssertError(errors, "content[2]", 2, "'folder.png' is a folder, not a file");
        AssertError(errors, "content[3]", 2, "'huge.bmp' has 48,000,000 pixels, more than the 40,000,000 the engine accepts");
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void AnImageWithADamagedHeaderIsReported()
    {
        byte[] png = File.ReadAllBytes(_folder.PathOf("content.png"));
        File.WriteAllBytes(_folder.PathOf("damaged.png"), png[..20]); // the signature and half the IHDR chunk

        SweepError error = Assert.Single(_folder.Errors(WithLine4("").Replace("content.png", "damaged.png")));

        Assert.Equal(("content", 2), (error.Field, error.Line));
        Assert.StartsWith("cannot read 'damaged.png' as an image", error.Message);
    }

    [Fact]
    public void ATruncatedImageWhoseHeaderIsSoundIsReported()
    {
        using (var image = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24>(64, 48))
        {
            for (int y = 0; y < 48; y++)
                for (int x = 0; x < 64; x++)
                    image[x, y] = new SixLabors.ImageSharp.PixelFormats.Rgb24((byte)(x * 4), (byte)(y * 5), (byte)(x * y));
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, _folder.PathOf("whole.png"));
        }
        byte[] png = File.ReadAllBytes(_folder.PathOf("whole.png"));
        int data = png.AsSpan().IndexOf("IDAT"u8) + 4; // the header chunks come before the pixel data
        Assert.True(data > 4);
        File.WriteAllBytes(_folder.PathOf("cut.png"), png[..(data + (png.Length - data) / 3)]); // the headers and part of the pixels

        Assert.Single(_folder.Load(WithLine4("").Replace("content.png", "whole.png")).Jobs);
        SweepError error = Assert.Single(_folder.Errors(WithLine4("").Replace("content.png", "cut.png")));

        Assert.Equal(("content", 2), (error.Field, error.Line));
        Assert.StartsWith("cannot decode 'cut.png'", error.Message);
    }

    [Fact]
    public void Vgg19WithoutWeightsIsRefused()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors(WithLine4("base: { network: vgg19 }"));

        AssertError(errors, "base.network", 4,
            "vgg19 needs weights: set base.weights to a torchvision or timm VGG19 state dict (.safetensors or .pth)");
        Assert.Single(errors);
    }

    [Fact]
    public void AMissingWeightsFileIsReported()
    {
        AssertError(_folder.Errors(WithLine4("base: { network: vgg19, weights: nope.pth }")), "base.weights", 4,
            $"cannot find 'nope.pth' (looked for {_folder.PathOf("nope.pth")})");
    }

    [Fact]
    public void ZipListsOfUnequalLengthAreRefused()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: zip
            content: content.png
            style: style.png
            sweep:
              method: zip
              parameters:
                style_weight: [1, 10, 100]
                steps: [100, 300]
            """);

        AssertError(errors, "sweep.parameters.steps", 8,
            "zip pairs values row by row, so its lists need one length: this one has 2, sweep.parameters.style_weight (line 7) has 3");
        Assert.Single(errors);
    }

    [Fact]
    public void AHugeGridIsRefusedFastWithoutBuildingIt()
    {
        string thousand = string.Join(", ", Enumerable.Range(1, 1000));
        string yaml = $"""
            name: huge
            content: content.png
            style: style.png
            sweep:
              parameters:
                style_weight: [{thousand}]
                steps: [{thousand}]
            max_jobs: 10000
            """;

        var clock = Stopwatch.StartNew();
        IReadOnlyList<SweepError> errors = _folder.Errors(yaml);
        clock.Stop();

        AssertError(errors, "sweep", 4, "expands to 1,000,000 jobs, more than max_jobs (10000); sweep fewer values or raise max_jobs");
        Assert.Single(errors);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public void AnAstronomicalGridIsCountedExactly()
    {
        string ten = string.Join(", ", Enumerable.Range(1, 10));
        string parameters = string.Join("\n", new[] { "steps", "size", "seed", "save_every", "style_weight", "content_weight", "tv_weight", "learning_rate" }
            .Select(key => $"    {key}: [{(key == "size" ? string.Join(", ", Enumerable.Range(16, 10)) : ten)}]"));
        string yaml = "name: huge\ncontent: content.png\nstyle: style.png\nsweep:\n  parameters:\n" + parameters + "\n";

        AssertError(_folder.Errors(yaml), "sweep", 4, "expands to 100,000,000 jobs, more than max_jobs (500); sweep fewer values or raise max_jobs");
    }

    [Fact]
    public void RandomCountsItsSamplesNotItsGrid()
    {
        string hundred = string.Join(", ", Enumerable.Range(1, 100));
        string sweep = $$"""
            name: random
            content: content.png
            style: style.png
            sweep: { method: random, samples: {0}, parameters: { style_weight: [{{hundred}}], steps: [{{hundred}}] } }
            max_jobs: 20
            """;

        Assert.Equal(20, _folder.Load(sweep.Replace("{0}", "20")).Jobs.Count);
        AssertError(_folder.Errors(sweep.Replace("{0}", "21")), "sweep", 4,
            "expands to 21 jobs, more than max_jobs (20); sweep fewer values or raise max_jobs");
    }

    [Fact]
    public void RatioWithBothWeightsIsRefused()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: ratio
            content: content.png
            style: style.png
            base: { content_weight: 1, content_style_ratio: 0.1 }
            sweep: { parameters: { style_weight: [1, 10] } }
            """);

        AssertError(errors, "base.content_style_ratio", 4,
            "content_style_ratio gives one weight from the other: give it with content_weight or style_weight, not both");
        Assert.Single(errors);
    }

    [Fact]
    public void AZeroRatioCannotGiveTheStyleWeight()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: ratio
            content: content.png
            style: style.png
            base: { content_weight: 1 }
            sweep: { parameters: { content_style_ratio: [0.1, 0] } }
            """);

        AssertError(errors, "sweep.parameters.content_style_ratio[1]", 5,
            "must be greater than 0 when content_weight is given (style_weight = content_weight / content_style_ratio)");
    }

    [Fact]
    public void ASettingSweptTwiceIsRefused()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: twice
            content: [content.png]
            style: style.png
            sweep:
              parameters:
                steps: [10, 20]
                content: [content.png]
            """);

        AssertError(errors, "sweep.parameters.content", 7, "'content' is already swept on line 2; sweep it in one place");
        Assert.Single(errors);
    }

    [Fact]
    public void DuplicateKeysAreReportedWithTheFirstOne()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: dupes
            content: content.png
            style: style.png
            base:
              steps: 10
              steps: 20
            """);

        AssertError(errors, "base.steps", 6, "duplicate key 'steps' (first given on line 5)");
    }

    [Fact]
    public void MissingRequiredFieldsAreReported()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("base: { steps: 10 }\n");

        AssertError(errors, "name", 1, "missing: give the sweep a name (it names the output folder runs/<name>/)");
        AssertError(errors, "content", 1, "missing: give the content image's path (or a list of paths to sweep)");
        AssertError(errors, "style", 1, "missing: give the style image's path (or a list of paths to sweep)");
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void ANameMustBeAPlainFolderName()
    {
        AssertError(_folder.Errors(WithLine4("").Replace("name: v", "name: ../escape")), "name", 1,
            "'../escape' cannot name a folder: use up to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }

    [Fact]
    public void RandomNeedsSamplesAndOnlyRandomTakesThem()
    {
        IReadOnlyList<SweepError> random = _folder.Errors(WithLine4("sweep: { method: random, parameters: { steps: [1, 2] } }"));
        IReadOnlyList<SweepError> grid = _folder.Errors(WithLine4("sweep: { method: grid, samples: 3, seed: 1, parameters: { steps: [1, 2] } }"));

        AssertError(random, "sweep.samples", 4, "missing: method random needs samples, the number of jobs to draw");
        AssertError(grid, "sweep.samples", 4, "applies only to method random");
        AssertError(grid, "sweep.seed", 4, "applies only to method random (a render's own seed goes in base)");
    }

    [Theory]
    [InlineData("name: x\ncontent: [a.png, b.png\nstyle: s.png\n", 2)]
    [InlineData("name: x\ncontent: \"a.png\nstyle: s.png\n", 2)]
    [InlineData("name: x\n  content: a.png\n", 2)]
    [InlineData("name: x\ncontent: *nowhere\n", 2)]
    [InlineData("name: x\n---\nname: y\n", 2)]
    public void MalformedYamlIsReportedWithALine(string yaml, int line)
    {
        SweepError error = Assert.Single(_folder.Errors(yaml));

        Assert.Equal("", error.Field);
        Assert.Equal(line, error.Line);
    }

    [Fact]
    public void DeepNestingIsRefusedWithoutOverflowingTheStack()
    {
        string yaml = "name: deep\ncontent: " + new string('[', 100_000) + new string(']', 100_000) + "\n";

        SweepError error = Assert.Single(_folder.Errors(yaml));

        Assert.Equal((2, "values are nested more than 32 levels deep"), (error.Line, error.Message));
    }

    [Fact]
    public void CrlfLineEndsAndAByteOrderMarkAreFine()
    {
        string yaml = "\uFEFFname: crlf\r\ncontent: content.png\r\nstyle: style.png\r\nbase: { steps: 0 }\r\n";

        AssertError(_folder.Errors(yaml), "base.steps", 4, "must be at least 1, got 0");
        Assert.Equal("crlf", SweepLoader.Parse(yaml.Replace("steps: 0", "steps: 1"), "crlf.yaml", _folder.Path).Name);
    }

    [Fact]
    public void AnEmptyFileOrAListIsNotASweep()
    {
        Assert.Equal("the file is empty", Assert.Single(_folder.Errors("# nothing here\n")).Message);
        Assert.StartsWith("a sweep file is a mapping", Assert.Single(_folder.Errors("- 1\n- 2\n")).Message);
    }

    [Fact]
    public void JsonErrorsCarryLinesToo()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            {
              "name": "json",
              "content": "content.png",
              "style": "style.png",
              "base": {
                "size": 4,
                "optimiser": "adam"
              }
            }
            """, "sweep.json");

        AssertError(errors, "base.size", 6, "must be between 16 and 8192, got 4");
        AssertError(errors, "base.optimiser", 7, "unknown key 'optimiser'; did you mean 'optimizer'?");
    }

    [Fact]
    public void EveryErrorIsReportedAtOnceInLineOrder()
    {
        IReadOnlyList<SweepError> errors = _folder.Errors("""
            name: many
            content: missing.png
            style: style.png
            base:
              network: vgg19
              size: 5
            sweep:
              method: zip
              parameters:
                style_weight: [1, -1]
                steps: [1]
                learning_rate: [0.1, 0.2]
                colour: [red]
            retries: 99
            """);

        Assert.Equal(
            [
                ("content", 2),
                ("base.network", 5),
                ("base.size", 6),
                ("sweep.parameters.style_weight[1]", 10),
                ("sweep.parameters.steps", 11),
                ("sweep.parameters.colour", 13),
                ("retries", 14),
            ],
            errors.Select(e => (e.Field, e.Line)));
    }

    [Fact]
    public void AFileThatCannotBeReadIsAValidationError()
    {
        var e = Assert.Throws<SweepValidationException>(() => SweepLoader.Load(_folder.PathOf("absent.yaml")));

        Assert.StartsWith("cannot read the sweep file", Assert.Single(e.Errors).Message);
    }

    private static void AssertError(IReadOnlyList<SweepError> errors, string field, int line, string message)
    {
        SweepError expected = new(field, line, message);
        Assert.True(
            errors.Contains(expected),
            $"expected {expected.Format("sweep.yaml")}\nbut got:\n{string.Join("\n", errors.Select(e => e.Format("sweep.yaml")))}");
    }
}

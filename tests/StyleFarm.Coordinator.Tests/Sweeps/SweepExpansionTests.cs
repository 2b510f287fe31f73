using System.Security.Cryptography;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Engine.Networks;
using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Tests.Sweeps;

public sealed class SweepExpansionTests : IDisposable
{
    private readonly SweepFolder _folder = new SweepFolder().WithImages();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void DesignExampleExpandsToItsFullGrid()
    {
        _folder.Image("images/tubingen.jpg", 10);
        _folder.Image("images/starry_night.jpg", 250);
        ExpandedSweep sweep = _folder.Load("""
            name: tubingen-starry
            content: images/tubingen.jpg        # a path or a list of paths (swept too)
            style: images/starry_night.jpg
            base: { network: resnet18, size: 400, steps: 300, optimizer: adam, learning_rate: 0.03, init: content, seed: 0, save_every: 100 }
            sweep:
              method: grid                      # grid (cross product) | random (samples: N) | zip (row by row)
              parameters:
                style_weight: [1, 10, 100]
                content_weight: [1]
                steps: [100, 300, 1000]
                style_layers:                   # named presets of layer weights, in the network's layer names
                  even:    { stem: 1, layer1: 1, layer2: 1, layer3: 1, layer4: 1 }
                  coarse:  { layer2: 1, layer3: 1, layer4: 1 }
            priority: 50
            max_jobs: 500                       # guards against grid explosion
            """);

        Assert.Equal("tubingen-starry", sweep.Name);
        Assert.Equal(50, sweep.Priority);
        Assert.Equal(3, sweep.Retries);
        Assert.Equal(500, sweep.MaxJobs);
        Assert.Equal(3 * 1 * 3 * 2, sweep.Jobs.Count);
        Assert.All(sweep.Jobs, job => Assert.Equal(100, job.Settings.SaveEvery));
        Assert.All(sweep.Jobs, job => Assert.Equal(0.03, job.Settings.LearningRate));
        Assert.Equal(2, sweep.Images.Count);
    }

    [Fact]
    public void ASweptSettingOverridesItsValueInBase()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: override
            content: content.png
            style: style.png
            base: { steps: 300, size: 64 }
            sweep: { parameters: { steps: [100, 1000] } }
            """);

        Assert.Equal([(100, 64), (1000, 64)], sweep.Jobs.Select(j => (j.Settings.Steps, j.Settings.Size)));
    }

    [Fact]
    public void GridIsTheCrossProductInFileOrderWithTheFirstParameterSlowest()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: grid
            content: content.png
            style: style.png
            sweep:
              parameters:
                style_weight: [1, 10, 100]
                steps: [100, 300]
            """);

        Assert.Equal(
            [(1.0, 100), (1.0, 300), (10.0, 100), (10.0, 300), (100.0, 100), (100.0, 300)],
            sweep.Jobs.Select(j => (j.Settings.StyleWeight, j.Settings.Steps)));
        Assert.Equal(["style_weight", "steps"], sweep.Jobs[0].SweptValues.Keys);
        Assert.Equal("100", sweep.Jobs[4].SweptValues["style_weight"]);
        Assert.Equal("100", sweep.Jobs[4].SweptValues["steps"]);
    }

    [Fact]
    public void UnsweptSettingsTakeTheNetworksDefaults()
    {
        JobSettings job = Assert.Single(_folder.Load("""
            name: defaults
            content: content.png
            style: style.png
            """).Jobs).Settings;

        NetworkDefaults defaults = FeatureNetworks.DefaultsFor(FeatureNetworks.ResNet18);
        Assert.Equal(FeatureNetworks.ResNet18, job.Network);
        Assert.Null(job.WeightsBlob);
        Assert.Equal(400, job.Size);
        Assert.Equal(defaults.Steps, job.Steps);
        Assert.Equal(defaults.ContentWeight, job.ContentWeight);
        Assert.Equal(defaults.StyleWeight, job.StyleWeight);
        Assert.Equal(defaults.TvWeight, job.TvWeight);
        Assert.Equal(defaults.LearningRate, job.LearningRate);
        Assert.Equal("adam", job.Optimizer);
        Assert.Equal("content", job.Init);
        Assert.Equal(0, job.Seed);
        Assert.Equal(0, job.SaveEvery);
        Assert.Equal(defaults.ContentLayer, job.ContentLayer);
        Assert.Equal(FeatureNetworks.LayersOf(FeatureNetworks.ResNet18), job.StyleLayers.Select(l => l.Layer));
    }

    [Fact]
    public void LbfgsDefaultsToALearningRateOfOne()
    {
        JobSettings job = Assert.Single(_folder.Load("""
            name: lbfgs
            content: content.png
            style: style.png
            base: { optimizer: LBFGS }
            """).Jobs).Settings;

        Assert.Equal("lbfgs", job.Optimizer);
        Assert.Equal(1.0, job.LearningRate);
    }

    [Fact]
    public void Vgg19TakesItsOwnDefaultsAndItsWeightsFileByHash()
    {
        string weights = _folder.Write("vgg19.safetensors", "not really weights, but validation does not open them");
        JobSettings job = Assert.Single(_folder.Load("""
            name: vgg
            content: content.png
            style: style.png
            base: { network: vgg19, weights: vgg19.safetensors }
            """).Jobs).Settings;

        NetworkDefaults defaults = FeatureNetworks.DefaultsFor(FeatureNetworks.Vgg19);
        Assert.Equal("conv4_2", job.ContentLayer);
        Assert.Equal(defaults.StyleWeight, job.StyleWeight);
        Assert.Equal(["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"], job.StyleLayers.Select(l => l.Layer));
        Assert.Equal(Sha256(weights), job.WeightsBlob);
    }

    [Fact]
    public void RandomDrawsTheRequestedNumberOfDistinctJobsFromTheLists()
    {
        ExpandedSweep sweep = _folder.Load(RandomSweep(seed: 7, samples: 12));

        Assert.Equal(12, sweep.Jobs.Count);
        Assert.Equal(12, sweep.Jobs.Select(j => j.Settings.JobId).Distinct().Count());
        Assert.All(sweep.Jobs, job =>
        {
            Assert.Contains(job.Settings.StyleWeight, new[] { 1.0, 3, 10, 30, 100 });
            Assert.Contains(job.Settings.Steps, new[] { 50, 100, 200, 400 });
            Assert.Contains(job.Settings.LearningRate, new[] { 0.01, 0.03, 0.1 });
        });
    }

    [Fact]
    public void RandomWithTheSameSeedDrawsTheSameJobs()
    {
        string[] first = [.. _folder.Load(RandomSweep(seed: 42, samples: 10)).Jobs.Select(j => j.Settings.JobId)];
        string[] again = [.. _folder.Load(RandomSweep(seed: 42, samples: 10)).Jobs.Select(j => j.Settings.JobId)];
        string[] other = [.. _folder.Load(RandomSweep(seed: 43, samples: 10)).Jobs.Select(j => j.Settings.JobId)];

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void RandomAskingForMoreThanTheGridGetsTheWholeGrid()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: small
            content: content.png
            style: style.png
            sweep:
              method: random
              samples: 50
              parameters: { style_weight: [1, 10], steps: [10, 20, 30] }
            """);

        Assert.Equal(6, sweep.Jobs.Count);
    }

    [Fact]
    public void ZipPairsTheListsRowByRow()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: zip
            content: content.png
            style: style.png
            sweep:
              method: zip
              parameters:
                style_weight: [1, 10, 100]
                learning_rate: [0.01, 0.02, 0.03]
                steps: [100, 200, 300]
            """);

        Assert.Equal(
            [(1.0, 0.01, 100), (10.0, 0.02, 200), (100.0, 0.03, 300)],
            sweep.Jobs.Select(j => (j.Settings.StyleWeight, j.Settings.LearningRate, j.Settings.Steps)));
    }

    [Fact]
    public void StyleLayerPresetsAreSweptByNameAndKeptInTheNetworksLayerOrder()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: presets
            content: content.png
            style: style.png
            sweep:
              parameters:
                style_layers:
                  coarse: { layer4: 0.5, layer2: 1, layer3: 1 }
                  fine:   { stem: 1, layer1: 2 }
            """);

        Assert.Equal(["coarse", "fine"], sweep.Jobs.Select(j => j.SweptValues["style_layers"]));
        Assert.Equal(
            [new StyleLayerWeight("layer2", 1), new StyleLayerWeight("layer3", 1), new StyleLayerWeight("layer4", 0.5)],
            sweep.Jobs[0].Settings.StyleLayers);
        Assert.Equal([new StyleLayerWeight("stem", 1), new StyleLayerWeight("layer1", 2)], sweep.Jobs[1].Settings.StyleLayers);
    }

    [Fact]
    public void BaseStyleLayersApplyToEveryJob()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: base-layers
            content: content.png
            style: style.png
            base: { style_layers: { layer3: 1, layer1: 0.25 } }
            sweep: { parameters: { steps: [10, 20] } }
            """);

        Assert.All(sweep.Jobs, job => Assert.Equal(
            [new StyleLayerWeight("layer1", 0.25), new StyleLayerWeight("layer3", 1)], job.Settings.StyleLayers));
    }

    [Fact]
    public void RatioWithStyleWeightSetsTheContentWeight()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: ratio
            content: content.png
            style: style.png
            base: { style_weight: 30 }
            sweep: { parameters: { content_style_ratio: [0.1, 1, 10] } }
            """);

        Assert.Equal([3.0, 30, 300], sweep.Jobs.Select(j => j.Settings.ContentWeight));
        Assert.All(sweep.Jobs, job => Assert.Equal(30, job.Settings.StyleWeight));
        Assert.Equal(["0.1", "1", "10"], sweep.Jobs.Select(j => j.SweptValues["content_style_ratio"]));
    }

    [Fact]
    public void RatioWithContentWeightSetsTheStyleWeight()
    {
        JobSettings job = Assert.Single(_folder.Load("""
            name: ratio
            content: content.png
            style: style.png
            base: { content_weight: 2, content_style_ratio: 0.001 }
            """).Jobs).Settings;

        Assert.Equal(2, job.ContentWeight);
        Assert.Equal(2000, job.StyleWeight);
    }

    [Fact]
    public void RatioAloneScalesTheNetworksDefaultStyleWeight()
    {
        JobSettings job = Assert.Single(_folder.Load("""
            name: ratio
            content: content.png
            style: style.png
            base: { content_style_ratio: 0.5 }
            """).Jobs).Settings;

        double defaultStyle = FeatureNetworks.DefaultsFor(FeatureNetworks.ResNet18).StyleWeight;
        Assert.Equal(defaultStyle, job.StyleWeight);
        Assert.Equal(0.5 * defaultStyle, job.ContentWeight);
    }

    [Fact]
    public void RatioFormAndExplicitWeightsNameTheSameJob()
    {
        string ratio = Assert.Single(_folder.Load("""
            name: r
            content: content.png
            style: style.png
            base: { style_weight: 30, content_style_ratio: 0.1 }
            """).Jobs).Settings.JobId;
        string explicitWeights = Assert.Single(_folder.Load("""
            name: r
            content: content.png
            style: style.png
            base: { style_weight: 30, content_weight: 3 }
            """).Jobs).Settings.JobId;

        Assert.Equal(explicitWeights, ratio);
    }

    [Fact]
    public void TopLevelListsOfImagesAreSweptAndHashedOnce()
    {
        string a = _folder.Image("a.png", 1);
        string b = _folder.Image("b.png", 2);
        string x = _folder.Image("x.png", 3);
        string y = _folder.Image("y.png", 4);
        ExpandedSweep sweep = _folder.Load("""
            name: images
            content: [a.png, b.png]
            style: [x.png, y.png]
            sweep: { parameters: { steps: [10, 20] } }
            """);

        Assert.Equal(8, sweep.Jobs.Count);
        Assert.Equal(
            [("a.png", "x.png"), ("a.png", "y.png"), ("b.png", "x.png"), ("b.png", "y.png")],
            sweep.Jobs.Where(j => j.Settings.Steps == 10).Select(j => (j.SweptValues["content"], j.SweptValues["style"])));
        Assert.Equal(["content", "style", "steps"], sweep.Jobs[0].SweptValues.Keys);
        Assert.Equal(new[] { a, b, x, y }.ToDictionary(Sha256, path => path), sweep.Images);
        Assert.Equal(Sha256(b), sweep.Jobs[4].Settings.ContentImage);
        Assert.Equal(Sha256(x), sweep.Jobs[4].Settings.StyleImage);
    }

    [Fact]
    public void ImagesMayAlsoBeSweptInParameters()
    {
        _folder.Image("other.png", 99);
        ExpandedSweep sweep = _folder.Load("""
            name: images
            content: content.png
            sweep:
              method: zip
              parameters:
                steps: [10, 20]
                style: [style.png, other.png]
            """);

        Assert.Equal(["style.png", "other.png"], sweep.Jobs.Select(j => j.SweptValues["style"]));
    }

    [Fact]
    public void PathsAreRelativeToTheSweepFilesFolder()
    {
        _folder.Image("sub/images/c.png", 5);
        _folder.Image("sub/images/s.png", 6);
        string file = _folder.Write("sub/sweep.yaml", """
            name: relative
            content: images/c.png
            style: images/s.png
            """);

        ExpandedSweep sweep = SweepLoader.Load(file);

        Assert.Equal(
            [_folder.PathOf("sub/images/c.png"), _folder.PathOf("sub/images/s.png")],
            sweep.Images.Values.Order());
    }

    [Fact]
    public void JobsThatComeOutEqualAppearOnce()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: dupes
            content: [content.png, content.png]
            style: style.png
            sweep: { parameters: { style_weight: [1, 1.0, 1e0, 2] } }
            """);

        Assert.Equal([1.0, 2], sweep.Jobs.Select(j => j.Settings.StyleWeight));
    }

    [Fact]
    public void AnchorsAndAliasesCanShareAPreset()
    {
        ExpandedSweep sweep = _folder.Load("""
            name: aliases
            content: content.png
            style: style.png
            sweep:
              parameters:
                style_layers:
                  coarse: &coarse { layer3: 1, layer4: 1 }
                  same: *coarse
            """);

        Assert.Single(sweep.Jobs);
    }

    private static string RandomSweep(long seed, int samples) => $$"""
        name: random
        content: content.png
        style: style.png
        sweep:
          method: random
          seed: {{seed}}
          samples: {{samples}}
          parameters:
            style_weight: [1, 3, 10, 30, 100]
            steps: [50, 100, 200, 400]
            learning_rate: [0.01, 0.03, 0.1]
        """;

    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}

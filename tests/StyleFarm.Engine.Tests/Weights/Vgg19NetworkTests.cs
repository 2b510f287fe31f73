using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Networks.Vgg19;
using StyleFarm.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using StyleFarm.Engine.Tests.Support;

namespace StyleFarm.Engine.Tests.Weights;

/// <summary>
/// Random VGG19 convolution weights (He-scaled so 16 layers neither vanish nor explode), made once for the
/// class and written as float16 safetensors and as a legacy .pth with a "module." prefix and classifier keys.
/// </summary>
public sealed class Vgg19WeightsFixture : IDisposable
{
    public static readonly (int Index, int In, int Out)[] Convs =
    [
        (0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128),
        (10, 128, 256), (12, 256, 256), (14, 256, 256), (16, 256, 256),
        (19, 256, 512), (21, 512, 512), (23, 512, 512), (25, 512, 512),
        (28, 512, 512), (30, 512, 512), (32, 512, 512), (34, 512, 512),
    ];

    private readonly TempFolder _dir = new();

    public Vgg19WeightsFixture()
    {
        torch.random.manual_seed(19);
        foreach (var (index, inChannels, outChannels) in Convs)
        {
            var scale = Math.Sqrt(2.0 / (inChannels * 9));
            Half[$"features.{index}.weight"] = (torch.randn(outChannels, inChannels, 3, 3) * scale).to(ScalarType.Float16).DetachFromDisposeScope();
            Half[$"features.{index}.bias"] = (torch.randn(outChannels) * 0.01).to(ScalarType.Float16).DetachFromDisposeScope();
        }
        SafeTensorsPath = _dir.File("vgg19.safetensors");
        SafeTensors.Save(SafeTensorsPath, Half);

        using var scope = torch.NewDisposeScope();
        var withExtras = Half.ToDictionary(kv => "module." + kv.Key, kv => kv.Value);
        withExtras["module.classifier.0.weight"] = torch.randn(16, 32).to(ScalarType.Float16);
        withExtras["module.classifier.0.bias"] = torch.randn(16).to(ScalarType.Float16);
        var (entries, storages) = TorchSaveWriter.Plain(withExtras);
        PthPath = _dir.File("vgg19.pth");
        TorchSaveWriter.WriteLegacy(PthPath, entries, storages);
    }

    /// <summary>The weights as float16, torchvision names.</summary>
    public Dictionary<string, Tensor> Half { get; } = [];

    public string SafeTensorsPath { get; }

    public string PthPath { get; }

    public void Dispose()
    {
        foreach (var tensor in Half.Values)
        {
            tensor.Dispose();
        }
        _dir.Dispose();
    }
}

public sealed class Vgg19NetworkTests(Vgg19WeightsFixture weights) : IClassFixture<Vgg19WeightsFixture>, IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] AllLayers =
    [
        "conv1_1", "conv1_2", "conv2_1", "conv2_2",
        "conv3_1", "conv3_2", "conv3_3", "conv3_4",
        "conv4_1", "conv4_2", "conv4_3", "conv4_4",
        "conv5_1", "conv5_2", "conv5_3", "conv5_4",
    ];

    /// <summary>An odd-sized image: the pools floor 40×44 to 20×22, 10×11, 5×5, 2×2.</summary>
    private static Tensor Image() => torch.rand([1, 3, 40, 44], generator: new torch.Generator(5));

    [Fact]
    public void SafeTensorsWeightsGiveEveryLayerAtItsShape()
    {
        using var scope = torch.NewDisposeScope();
        using var network = Vgg19Network.Load(weights.SafeTensorsPath);

        Assert.Equal("vgg19", network.Name);
        Assert.Equal(AllLayers, network.LayerNames);
        Assert.Equal(ScalarType.Float32, network.DType);
        var features = network.Extract(Image(), AllLayers);

        long[][] sides = [[40, 44], [20, 22], [10, 11], [5, 5], [2, 2]];
        long[] widths = [64, 128, 256, 512, 512];
        foreach (var layer in AllLayers)
        {
            var block = layer[4] - '1';
            Assert.Equal([1, widths[block], sides[block][0], sides[block][1]], features[layer].shape);
            Assert.Equal(ScalarType.Float32, features[layer].dtype);
            Assert.True(features[layer].isfinite().all().item<bool>(), $"{layer} is not finite");
        }
    }

    [Fact]
    public void PthWithModulePrefixAndClassifierGivesTheSameFeatures()
    {
        using var scope = torch.NewDisposeScope();
        using var fromSafeTensors = Vgg19Network.Load(weights.SafeTensorsPath);
        using var fromPth = Vgg19Network.Load(weights.PthPath);
        var image = Image();
        string[] layers = ["conv1_1", "conv3_2", "conv5_4"];

        var expected = fromSafeTensors.Extract(image, layers);
        var actual = fromPth.Extract(image, layers);
        foreach (var layer in layers)
        {
            Assert.True(SafeTensorsTests.Same(expected[layer], actual[layer]), $"{layer} differs");
        }
    }

    [Theory]
    [InlineData(Vgg19Normalisation.ImageNet)]
    [InlineData(Vgg19Normalisation.Half)]
    public void FirstLayersMatchTheirDefinition(Vgg19Normalisation normalisation)
    {
        using var scope = torch.NewDisposeScope();
        var float32 = weights.Half.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32));
        using var network = Vgg19Network.FromStateDict(float32, "in memory", normalisation: normalisation);
        var image = Image();
        var features = network.Extract(image, ["conv1_1", "conv1_2", "conv2_1"]);

        var (mean, std) = normalisation == Vgg19Normalisation.ImageNet
            ? (torch.tensor(new[] { 0.485f, 0.456f, 0.406f }), torch.tensor(new[] { 0.229f, 0.224f, 0.225f }))
            : (torch.full(3, 0.5f), torch.full(3, 0.5f));
        var normalised = (image - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1);
        var conv11 = F.conv2d(normalised, float32["features.0.weight"], float32["features.0.bias"], padding: [1, 1]);
        var conv12 = F.conv2d(F.relu(conv11), float32["features.2.weight"], float32["features.2.bias"], padding: [1, 1]);
        var conv21 = F.conv2d(F.max_pool2d(F.relu(conv12), 2, 2), float32["features.5.weight"], float32["features.5.bias"], padding: [1, 1]);

        Assert.True(features["conv1_1"].allclose(conv11, rtol: 1e-5, atol: 1e-5), "conv1_1 is not conv(normalised input)");
        Assert.True(features["conv1_1"].lt(0).any().item<bool>(), "conv1_1 must be taken before its ReLU");
        Assert.True(features["conv1_2"].allclose(conv12, rtol: 1e-5, atol: 1e-5), "conv1_2 is not conv(relu(conv1_1))");
        Assert.True(features["conv2_1"].allclose(conv21, rtol: 1e-5, atol: 1e-4), "conv2_1 is not conv(pool(relu(conv1_2)))");
    }

    [Fact]
    public void ReturnsOnlyTheAskedLayersAndGradientsReachOnlyThePixels()
    {
        using var scope = torch.NewDisposeScope();
        using var network = Vgg19Network.Load(weights.SafeTensorsPath);
        var image = Image().requires_grad_(true);

        var features = network.Extract(image, ["conv2_2", "conv1_1"]);
        Assert.Equal(["conv1_1", "conv2_2"], features.Keys.Order());

        // conv1_1 is asked for and lies on the path to conv2_2: it must keep its pre-ReLU values.
        Assert.True(features["conv1_1"].lt(0).any().item<bool>());
        (features["conv2_2"].square().mean() + features["conv1_1"].mean()).backward();
        Assert.NotNull(image.grad);
        Assert.True(image.grad!.abs().sum().item<float>() > 0);
        Assert.Empty(network.Extract(image, []));
    }

    [Fact]
    public void DefaultsAreTheSeeds()
    {
        using var network = Vgg19Network.Load(weights.SafeTensorsPath);
        var defaults = network.Defaults;
        Assert.Equal("conv4_2", defaults.ContentLayer);
        Assert.Equal(new Dictionary<string, double> { ["conv1_1"] = 1.0, ["conv2_1"] = 0.75, ["conv3_1"] = 0.2, ["conv4_1"] = 0.2, ["conv5_1"] = 0.2 },
            defaults.StyleLayers);
        Assert.Equal(LossForm.MeanSquared, defaults.LossForm);
        Assert.Equal((1.0, 1e6, 0.0, 0.01, 300), (defaults.ContentWeight, defaults.StyleWeight, defaults.TvWeight, defaults.LearningRate, defaults.Steps));
        Assert.Equal(1, network.SideMultiple);
        Assert.All(defaults.StyleLayers.Keys.Append(defaults.ContentLayer), layer => Assert.Contains(layer, network.LayerNames));
    }

    [Fact]
    public void ForwardFlopsCountTheConvolutionsRun()
    {
        using var network = Vgg19Network.Load(weights.SafeTensorsPath);
        IFeatureNetwork asInterface = network;
        Assert.Equal(2.0 * 3 * 9 * 64 * 100, asInterface.ForwardFlops(10, 10, ["conv1_1"]));
        // conv1_1 and conv1_2 at 10×10, then conv2_1 at 5×5 after the pool.
        Assert.Equal(2.0 * 9 * (3 * 64 * 100 + 64 * 64 * 100 + 64 * 128 * 25), asInterface.ForwardFlops(10, 10, ["conv2_1", "conv1_1"]));
        Assert.Equal(0, asInterface.ForwardFlops(10, 10, []));
    }

    [Fact]
    public void UnknownLayerIsAnArgumentError()
    {
        using var scope = torch.NewDisposeScope();
        using var network = Vgg19Network.Load(weights.SafeTensorsPath);
        var error = Assert.Throws<ArgumentException>(() => network.Extract(Image(), ["relu1_1"]));
        Assert.Contains("conv1_1", error.Message);
    }

    [Fact]
    public void MovingToTheCpuKeepsItWorking()
    {
        using var scope = torch.NewDisposeScope();
        using var network = Vgg19Network.Load(weights.SafeTensorsPath);
        var before = network.Extract(Image(), ["conv2_1"])["conv2_1"];
        network.MoveTo(torch.CPU);
        Assert.Equal(DeviceType.CPU, network.Device.type);
        Assert.True(SafeTensorsTests.Same(before, network.Extract(Image(), ["conv2_1"])["conv2_1"]));
    }

    [Fact]
    public void MissingTensorNamesFileAndTensor()
    {
        using var scope = torch.NewDisposeScope();
        var partial = weights.Half.Where(kv => kv.Key != "features.21.bias").ToDictionary();
        var path = _dir.File("partial.safetensors");
        SafeTensors.Save(path, partial);

        var error = Assert.Throws<WeightsFileException>(() => Vgg19Network.Load(path));
        Assert.Equal(path, error.File);
        Assert.Equal("features.21.bias", error.Tensor);
        Assert.Contains("'features.21.bias'", error.Message);
    }

    [Fact]
    public void NoConvolutionsAtAllNamesTheFirst()
    {
        using var scope = torch.NewDisposeScope();
        var error = Assert.Throws<WeightsFileException>(() =>
            Vgg19Network.FromStateDict(new Dictionary<string, Tensor> { ["fc.weight"] = torch.ones(2, 2) }, "resnet.pth"));
        Assert.Equal("features.0.weight", error.Tensor);
        Assert.Contains("resnet.pth", error.Message);
        Assert.Contains("fc.weight", error.Message);
    }

    [Fact]
    public void WrongShapeSaysExpectedAndActual()
    {
        using var scope = torch.NewDisposeScope();
        var wrong = weights.Half.ToDictionary(kv => "model." + kv.Key, kv => kv.Value);
        wrong["model.features.5.weight"] = torch.zeros(128, 32, 3, 3);

        var error = Assert.Throws<WeightsFileException>(() => Vgg19Network.FromStateDict(wrong, "wrong.safetensors"));
        Assert.Equal("model.features.5.weight", error.Tensor);
        Assert.Contains("[128, 32, 3, 3]", error.Message);
        Assert.Contains("[128, 64, 3, 3]", error.Message);
        Assert.Contains("wrong.safetensors", error.Message);
    }

    [Fact]
    public void IntegerWeightsAreRefused()
    {
        using var scope = torch.NewDisposeScope();
        var wrong = new Dictionary<string, Tensor>(weights.Half) { ["features.0.bias"] = torch.zeros(64, dtype: ScalarType.Int64) };
        var error = Assert.Throws<WeightsFileException>(() => Vgg19Network.FromStateDict(wrong, "ints.pth"));
        Assert.Equal("features.0.bias", error.Tensor);
        Assert.Contains("Int64", error.Message);
    }

    [Fact]
    public void WeightsAreOwnFloat32CopiesThatNeverRequireGrad()
    {
        using var scope = torch.NewDisposeScope();
        var float32 = weights.Half.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).requires_grad_(true));
        using var network = Vgg19Network.FromStateDict(float32, "in memory");
        var image = Image();
        var before = network.Extract(image, ["conv1_1"])["conv1_1"];
        foreach (var tensor in float32.Values)
        {
            tensor.Dispose(); // the caller's tensors; the network must not depend on them
        }
        var after = network.Extract(image, ["conv1_1"])["conv1_1"];
        Assert.False(after.requires_grad);
        Assert.True(SafeTensorsTests.Same(before, after));
    }
}

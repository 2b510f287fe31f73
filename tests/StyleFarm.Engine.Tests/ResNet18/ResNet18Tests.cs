using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;
using StyleFarm.Engine.Networks;
using StyleFarm.Engine.Networks.ResNet18;
using StyleFarm.Engine.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.ResNet18;

/// <summary>Paths and small helpers shared by the ResNet18 and ONNX tests.</summary>
internal static class ResNet18Files
{
    /// <summary>Where the engine's build copies the graph for every project that references it.</summary>
    public static string Onnx => Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx");

    /// <summary>
    /// The stage outputs in the ONNX graph, read off the file with a protobuf dump: the first ReLU, and the ReLU after
    /// the last Add of each stage. Written out here rather than taken from the rebuild, so the test is independent.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> StageTensors = new Dictionary<string, string>
    {
        ["stem"] = "ReLU253_Output_0",
        ["layer1"] = "ReLU283_Output_0",
        ["layer2"] = "ReLU315_Output_0",
        ["layer3"] = "ReLU347_Output_0",
        ["layer4"] = "ReLU393_Output_0",
    };

    /// <summary>ResNetPreprocess.onnx from the same package, in the NuGet global packages folder.</summary>
    public static string PreprocessOnnx
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
                ? configured
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            return Path.Combine(root, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");
        }
    }

    public static string NewTempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "stylefarm-resnet18-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static float[] Uniform(Random random, long count, float low, float high) =>
        Enumerable.Range(0, checked((int)count)).Select(_ => low + (high - low) * random.NextSingle()).ToArray();

    public static float[] Gaussian(Random random, long count, float sigma) =>
        Enumerable.Range(0, checked((int)count)).Select(_ => sigma * (float)Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * MathF.Cos(2 * MathF.PI * random.NextSingle())).ToArray();

    /// <summary>‖actual − expected‖ / ‖expected‖, in double.</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double difference = 0, reference = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            difference += (actual[i] - (double)expected[i]) * (actual[i] - (double)expected[i]);
            reference += (double)expected[i] * expected[i];
        }
        return Math.Sqrt(difference / reference);
    }

    public static float[] Values(Tensor tensor) => tensor.detach().cpu().contiguous().data<float>().ToArray();
}

/// <summary>One network and one onnxruntime session for the whole class: loading either takes about a second.</summary>
public sealed class ResNet18Fixture : IDisposable
{
    public ResNet18Fixture()
    {
        CacheDirectory = ResNet18Files.NewTempDirectory();
        Network = ResNet18Network.LoadPretrained(onnxPath: ResNet18Files.Onnx, cacheDirectory: CacheDirectory);
        var model = OnnxModel.WithExtraGraphOutputs(File.ReadAllBytes(ResNet18Files.Onnx), ResNet18Files.StageTensors.Values);
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        Session = new InferenceSession(model, options);
        var (name, metadata) = Session.InputMetadata.Single();
        InputName = name;
        // A fixed declared shape is what the graph was exported for; a symbolic one gets the usual 224×224.
        InputShape = metadata.Dimensions.Select(d => d > 0 ? (long)d : 0).ToArray();
        InputShape = [1, 3, InputShape[2] > 0 ? InputShape[2] : 224, InputShape[3] > 0 ? InputShape[3] : 224];
    }

    public string CacheDirectory { get; }

    public ResNet18Network Network { get; }

    public InferenceSession Session { get; }

    public string InputName { get; }

    public long[] InputShape { get; }

    public long InputCount => InputShape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The graph's stage outputs for an input in its own convention (BGR, 0–255, means subtracted).</summary>
    public Dictionary<string, (float[] Values, long[] Shape)> RunOnnx(float[] input)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, InputShape);
        using var run = new RunOptions();
        var names = ResNet18Files.StageTensors.ToList();
        using var results = Session.Run(run, [InputName], [value], names.Select(n => n.Value).ToArray());
        return names.Zip(results).ToDictionary(
            pair => pair.First.Key,
            pair => (pair.Second.GetTensorDataAsSpan<float>().ToArray(), pair.Second.GetTensorTypeAndShape().Shape));
    }

    public void Dispose()
    {
        Session.Dispose();
        Network.Dispose();
        Directory.Delete(CacheDirectory, recursive: true);
    }
}

public sealed class ResNet18Tests(ResNet18Fixture fixture, ITestOutputHelper output) : IClassFixture<ResNet18Fixture>
{
    private const double Tolerance = 1e-4;

    private static readonly string[] AllLayers = ["stem", "layer1", "layer2", "layer3", "layer4"];

    [Fact]
    public void BodyMatchesOnnxRuntimeAtEveryStage()
    {
        var input = ResNet18Files.Gaussian(new Random(1), fixture.InputCount, sigma: 60);
        var expected = fixture.RunOnnx(input);

        using var scope = torch.NewDisposeScope();
        var actual = fixture.Network.ExtractPreprocessed(torch.tensor(input, fixture.InputShape), AllLayers);

        AssertStagesMatch(expected, actual);
    }

    /// <summary>RGB [0,1] → ×255, BGR, minus channel means, done here by hand and fed to the graph.</summary>
    [Fact]
    public void ExtractPreprocessesRgbLikeTheGraphExpects()
    {
        var rgb = ResNet18Files.Uniform(new Random(2), fixture.InputCount, 0, 1);
        var plane = (int)(fixture.InputShape[2] * fixture.InputShape[3]);
        var bgr = new float[rgb.Length];
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < plane; i++)
            {
                bgr[c * plane + i] = rgb[(2 - c) * plane + i] * 255 - ResNet18Network.BgrMeans[c];
            }
        }
        var expected = fixture.RunOnnx(bgr);

        using var scope = torch.NewDisposeScope();
        var actual = fixture.Network.Extract(torch.tensor(rgb, fixture.InputShape), AllLayers);

        AssertStagesMatch(expected, actual);
    }

    /// <summary>ML.NET's own preprocessing graph: Split RGB, Concat as BGR, subtract a mean image with our channel means.</summary>
    [Fact]
    public void PreprocessingConstantsMatchResNetPreprocessOnnx()
    {
        var preprocess = OnnxModel.Load(ResNet18Files.PreprocessOnnx);
        var split = preprocess.Nodes.Single(n => n.OpType == "Split");
        var concat = preprocess.Nodes.Single(n => n.OpType == "Concat");
        Assert.Equal(split.Outputs.Reverse(), concat.Inputs); // R,G,B out of the split; B,G,R into the concat

        var meanImage = preprocess.Initializers.Values.Single();
        Assert.Equal([1L, 3, 224, 224], meanImage.Dims);
        var plane = 224 * 224;
        for (var c = 0; c < 3; c++)
        {
            var channelMean = meanImage.FloatData.AsSpan(c * plane, plane).ToArray().Average(v => (double)v);
            Assert.InRange(ResNet18Network.BgrMeans[c], channelMean - 0.01, channelMean + 0.01);
        }
    }

    [Fact]
    public void PreprocessIsScaledReorderedAndCentred()
    {
        using var scope = torch.NewDisposeScope();
        var rgb = torch.tensor(new float[] { 1, 0, 0.5f }, [1, 3, 1, 1]);
        var bgr = ResNet18Files.Values(fixture.Network.Preprocess(rgb));
        Assert.Equal(0.5f * 255 - 103.06f, bgr[0], 3);
        Assert.Equal(0 - 115.90f, bgr[1], 3);
        Assert.Equal(255 - 123.15f, bgr[2], 3);
    }

    [Fact]
    public void BatchOfTwoEqualsEachImageAlone()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        var batch = torch.rand(2, 3, 64, 96);
        var together = fixture.Network.Extract(batch, ["layer2"])["layer2"];
        for (var i = 0; i < 2; i++)
        {
            var alone = fixture.Network.Extract(batch[i].unsqueeze(0), ["layer2"])["layer2"];
            Assert.True(together[i].unsqueeze(0).allclose(alone, rtol: 1e-4, atol: 1e-4), $"image {i} differs in a batch");
        }
    }

    [Fact]
    public void TheWideStageRunsInNchwOnACpuAndGivesWhatChannelsLastGives()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(5);
        var image = torch.rand(1, 3, 128, 128);
        var (nchwFeatures, nchwGradient) = FeaturesAndPixelGradient(image);
        var network = fixture.Network;
        var limit = network.NchwDeepStageMaxPositions;
        network.NchwDeepStageMaxPositions = 0; // every stage channels-last
        try
        {
            var (channelsLastFeatures, channelsLastGradient) = FeaturesAndPixelGradient(image);

            Assert.True(nchwFeatures["layer4"].is_contiguous(), "layer4 (512 channels at 4×4) should run in NCHW");
            Assert.True(ChannelsLast.IsChannelsLast(channelsLastFeatures["layer4"]), "with the limit at 0, layer4 should run channels-last");
            Assert.True(ChannelsLast.IsChannelsLast(nchwFeatures["layer3"]), "the narrower stages stay channels-last");
            foreach (var layer in AllLayers)
            {
                Assert.True(nchwFeatures[layer].allclose(channelsLastFeatures[layer], rtol: 1e-4, atol: 1e-3), $"{layer} differs between layouts");
            }
            Assert.True(nchwGradient.allclose(channelsLastGradient, rtol: 1e-3, atol: 1e-4), "the pixels' gradient differs between layouts");
        }
        finally
        {
            network.NchwDeepStageMaxPositions = limit;
        }

        (IReadOnlyDictionary<string, Tensor> Features, Tensor Gradient) FeaturesAndPixelGradient(Tensor rgb)
        {
            var x = rgb.detach().requires_grad_();
            var features = fixture.Network.Extract(x, AllLayers);
            var outputs = AllLayers.Select(l => features[l]).ToArray();
            var gradient = torch.autograd.grad(outputs, [x], outputs.Select(o => torch.ones_like(o)).ToArray())[0];
            return (features, gradient);
        }
    }

    [Fact]
    public void AWideStageOfVeryFewPositionsStaysChannelsLast()
    {
        using var scope = torch.NewDisposeScope();
        var features = fixture.Network.Extract(torch.rand(2, 3, 64, 96), ["layer4"]);
        Assert.True(ChannelsLast.IsChannelsLast(features["layer4"]), "layer4 at 2×3 positions per image should run channels-last");
    }

    [Fact]
    public void ExtractReturnsExactlyTheRequestedLayersWithTheirStrides()
    {
        using var scope = torch.NewDisposeScope();
        var features = fixture.Network.Extract(torch.rand(1, 3, 64, 128), ["layer2", "stem"]);
        Assert.Equal(["layer2", "stem"], features.Keys.Order());
        Assert.Equal([1L, 64, 32, 64], features["stem"].shape);
        Assert.Equal([1L, 128, 8, 16], features["layer2"].shape);
    }

    [Fact]
    public void NoLayersMeansNoWork()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Empty(fixture.Network.Extract(torch.rand(1, 3, 32, 32), []));
        Assert.Equal(0, fixture.Network.ForwardFlops(32, 32, []));
    }

    /// <summary>Multiply-adds counted by hand from the graph's 22 convolutions at 224×224, two FLOPs each.</summary>
    [Fact]
    public void ForwardFlopsCountEveryConvolutionUpToTheDeepestLayer()
    {
        const long stem = 64L * 3 * 49 * 112 * 112;
        const long layer1 = 4 * 64L * 64 * 9 * 56 * 56;
        const long layer2 = 128L * 64 * 9 * 28 * 28 + 3 * 128L * 128 * 9 * 28 * 28 + 128L * 64 * 28 * 28;
        const long layer3 = 256L * 128 * 9 * 14 * 14 + 3 * 256L * 256 * 9 * 14 * 14 + 256L * 128 * 14 * 14;
        const long layer4 = 512L * 256 * 9 * 7 * 7 + 5 * 512L * 512 * 9 * 7 * 7 + 512L * 256 * 7 * 7; // three blocks
        Assert.Equal(2.0 * stem, fixture.Network.ForwardFlops(224, 224, ["stem"]));
        Assert.Equal(2.0 * (stem + layer1 + layer2), fixture.Network.ForwardFlops(224, 224, ["layer2", "stem"]));
        Assert.Equal(2.0 * (stem + layer1 + layer2 + layer3 + layer4), fixture.Network.ForwardFlops(224, 224, AllLayers));
    }

    [Theory]
    [InlineData(250, 256)]
    [InlineData(256, 100)]
    public void RefusesSidesThatAreNotMultiplesOf32(int height, int width)
    {
        using var scope = torch.NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => fixture.Network.Extract(torch.rand(1, 3, height, width), ["stem"]));
        Assert.Contains("multiples of 32", error.Message);
        Assert.Contains($"{width}×{height}", error.Message);
    }

    [Fact]
    public void RefusesUnknownLayersNamingTheKnownOnes()
    {
        using var scope = torch.NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() => fixture.Network.Extract(torch.rand(1, 3, 32, 32), ["conv4_2"]));
        Assert.Contains("'conv4_2'", error.Message);
        Assert.Contains("stem, layer1, layer2, layer3, layer4", error.Message);
    }

    [Fact]
    public void GradientsReachThePixelsButNeverTheWeights()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.rand(1, 3, 64, 64).requires_grad_();
        var features = fixture.Network.Extract(image, AllLayers);
        features.Values.Select(f => f.square().mean()).Aggregate((a, b) => a + b).backward();

        Assert.NotNull(image.grad);
        Assert.True(image.grad!.abs().sum().item<float>() > 0);
        Assert.All(features.Values, f => Assert.True(f.requires_grad));
        using var plain = fixture.Network.Extract(torch.rand(1, 3, 32, 32), ["layer1"]).Values.Single();
        Assert.False(plain.requires_grad); // no weight requires grad, so nothing does without a grad input
    }

    [Fact]
    public void DescribesItselfAndItsDefaults()
    {
        IFeatureNetwork network = fixture.Network;
        Assert.Equal("resnet18", network.Name);
        Assert.Equal(AllLayers, network.LayerNames);
        Assert.Equal(32, network.SideMultiple);
        Assert.Equal(ScalarType.Float32, network.DType);
        Assert.Equal("layer3", network.Defaults.ContentLayer);
        Assert.Equal(AllLayers.ToDictionary(l => l, _ => 1.0), network.Defaults.StyleLayers);
        Assert.Equal(LossForm.Relative, network.Defaults.LossForm);
        Assert.Equal((1.0, 10.0, 0.03, 300), (network.Defaults.ContentWeight, network.Defaults.StyleWeight, network.Defaults.LearningRate, network.Defaults.Steps));
    }

    [Fact]
    public void AMissingOnnxFileSaysWhereItLookedAndWhereItComesFrom()
    {
        var missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "ResNet18.onnx");
        var error = Assert.Throws<FileNotFoundException>(() => ResNet18Network.LoadPretrained(onnxPath: missing, cacheDirectory: fixture.CacheDirectory));
        Assert.Contains(missing, error.Message);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", error.Message);
        Assert.Contains(ResNet18Network.OnnxPathVariable, error.Message);
    }

    private void AssertStagesMatch(Dictionary<string, (float[] Values, long[] Shape)> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (layer, (values, shape)) in expected)
        {
            Assert.Equal(shape, actual[layer].shape);
            var error = ResNet18Files.RelativeError(ResNet18Files.Values(actual[layer]), values);
            output.WriteLine($"{layer} [{string.Join("×", shape)}]: relative error {error:E2}");
            Assert.True(error <= Tolerance, $"{layer}: relative error {error:E2} > {Tolerance:E0}");
        }
    }
}

/// <summary>Each test converts the graph afresh into its own cache directory.</summary>
public sealed class ResNet18CacheTests : IDisposable
{
    private readonly string _cache = ResNet18Files.NewTempDirectory();

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    [Fact]
    public void TheCacheIsWrittenOnceAndThenUsedInsteadOfTheGraph()
    {
        using var converted = Load();
        Assert.False(converted.LoadedFromCache);
        var file = Assert.Single(Directory.GetFiles(_cache));
        Assert.Equal(file, converted.CacheFile);
        Assert.EndsWith(".safetensors", file);
        var written = File.GetLastWriteTimeUtc(file);

        using var cached = Load();
        Assert.True(cached.LoadedFromCache);
        Assert.Equal(written, File.GetLastWriteTimeUtc(file)); // read, not rewritten
        Assert.Single(Directory.GetFiles(_cache));
        AssertSameFeatures(converted, cached);
    }

    [Fact]
    public void ACorruptCacheIsRebuiltNotFatal()
    {
        using var converted = Load();
        var file = converted.CacheFile!;
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes.AsSpan(0, bytes.Length / 2).ToArray()); // truncated mid-tensor

        using var rebuilt = Load();
        Assert.False(rebuilt.LoadedFromCache);
        AssertSameFeatures(converted, rebuilt);

        File.WriteAllText(file, "not safetensors at all");
        using var rebuiltAgain = Load();
        Assert.False(rebuiltAgain.LoadedFromCache);

        using var cached = Load();
        Assert.True(cached.LoadedFromCache);
        AssertSameFeatures(converted, cached);
    }

    private ResNet18Network Load() => ResNet18Network.LoadPretrained(onnxPath: ResNet18Files.Onnx, cacheDirectory: _cache);

    private static void AssertSameFeatures(ResNet18Network expected, ResNet18Network actual)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var image = torch.rand(1, 3, 64, 64);
        string[] layers = ["stem", "layer1", "layer2", "layer3", "layer4"];
        var a = expected.Extract(image, layers);
        var b = actual.Extract(image, layers);
        Assert.All(layers, layer => Assert.True(a[layer].eq(b[layer]).all().item<bool>(), $"{layer} differs"));
    }
}

public sealed class OnnxModelTests
{
    [Fact]
    public void ReadsTheResNet18GraphNodesAttributesAndWeights()
    {
        var model = OnnxModel.Load(ResNet18Files.Onnx);

        Assert.Equal("CNTK", model.Producer);
        Assert.Equal(22, model.Nodes.Count(n => n.OpType == "Conv"));
        Assert.Equal(22, model.Nodes.Count(n => n.OpType == "BatchNormalization"));
        Assert.Equal(9, model.Nodes.Count(n => n.OpType == "Add")); // 2 + 2 + 2 + 3 blocks: stage 4 has three
        var input = Assert.Single(model.Inputs);
        Assert.Equal([1L, 3, 224, 224], input.Shape!.Select(d => d ?? -1));

        var stem = model.Nodes.First(n => n.OpType == "Conv");
        Assert.Equal(input.Name, stem.Inputs[0]);
        Assert.Equal([3L, 3, 2, 2], stem.Ints("pads", []));
        Assert.Equal([2L, 2], stem.Ints("strides", []));
        var weight = model.Initializers[stem.Inputs[1]];
        Assert.Equal([64L, 3, 7, 7], weight.Dims);
        Assert.Equal(64 * 3 * 7 * 7, weight.FloatData.Length);
        Assert.Equal(1e-5f, model.Nodes.First(n => n.OpType == "BatchNormalization").Float("epsilon", 0), 9);
        Assert.Equal([1L, 1, 0, 0], model.Nodes.Single(n => n.OpType == "MaxPool").Ints("pads", []));
    }

    [Fact]
    public void AddedGraphOutputsAreReadBack()
    {
        var bytes = File.ReadAllBytes(ResNet18Files.PreprocessOnnx);
        var extended = OnnxModel.Parse(OnnxModel.WithExtraGraphOutputs(bytes, ["BGRInput"]), "extended");
        var original = OnnxModel.Parse(bytes, "original");

        Assert.Equal(original.Outputs.Select(o => o.Name).Append("BGRInput"), extended.Outputs.Select(o => o.Name));
        Assert.Equal(1, extended.Outputs[^1].ElementType);
        Assert.Equal(original.Nodes.Count, extended.Nodes.Count);
        Assert.Equal(original.Initializers.Keys, extended.Initializers.Keys);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".onnx");
        var error = Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(missing));
        Assert.Contains(missing, error.Message);
    }

    [Fact]
    public void ACorruptOrTruncatedFileIsNamed()
    {
        var directory = ResNet18Files.NewTempDirectory();
        try
        {
            var garbage = Path.Combine(directory, "garbage.onnx");
            File.WriteAllBytes(garbage, ResNet18Files.Uniform(new Random(5), 4096, 0, 255).Select(v => (byte)v).ToArray());
            var error = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(garbage));
            Assert.StartsWith(garbage, error.Message);

            var truncated = Path.Combine(directory, "truncated.onnx");
            using (var source = File.OpenRead(ResNet18Files.Onnx))
            {
                var head = new byte[1 << 20];
                source.ReadExactly(head);
                File.WriteAllBytes(truncated, head);
            }
            error = Assert.Throws<InvalidDataException>(() => OnnxModel.Load(truncated));
            Assert.StartsWith(truncated, error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

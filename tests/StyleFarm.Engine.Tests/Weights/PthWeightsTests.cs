using System.Collections;
using StyleFarm.Engine.Weights;
using TorchSharp;
using TorchSharp.PyBridge;
using static StyleFarm.Engine.Tests.Weights.TorchSaveWriter;
using static TorchSharp.torch;
using StyleFarm.Engine.Tests.Support;

namespace StyleFarm.Engine.Tests.Weights;

public sealed class PthWeightsTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, Tensor> SomeWeights() => new()
    {
        ["features.0.weight"] = torch.randn(4, 3, 3, 3),
        ["features.0.bias"] = torch.randn(4),
        ["half"] = torch.randn(2, 5).to(ScalarType.Float16),
        ["brain"] = torch.randn(3).to(ScalarType.BFloat16),
        ["double"] = torch.randn(2, 2, dtype: ScalarType.Float64),
        ["bn.num_batches_tracked"] = torch.tensor(1234L),
        ["mask"] = torch.tensor(new[] { true, false, true }),
        ["bytes"] = torch.tensor(new byte[] { 0, 7, 255 }),
        ["small"] = torch.tensor(new short[] { -3, 3 }),
        ["tiny"] = torch.tensor(new sbyte[] { -1, 1 }),
        ["ints"] = torch.tensor(new[] { -5, 5 }),
    };

    private static void AssertSameTensors(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected)
        {
            Assert.True(SafeTensorsTests.Same(tensor, actual[name]), $"{name} differs");
            Assert.True(actual[name].is_contiguous(), $"{name} is not contiguous");
            Assert.False(actual[name].requires_grad);
        }
    }

    [Fact]
    public void ReadsWhatPyBridgeWrites()
    {
        using var scope = torch.NewDisposeScope();
        var weights = SomeWeights();
        var path = _dir.File("pybridge.pth");
        using (var file = File.Create(path))
        {
            // An independent writer: TorchSharp.PyBridge's torch.save-compatible pickler.
            PyTorchPickler.PickleStateDict(file, new Hashtable(weights), leaveOpen: false);
        }
        using var loaded = PthWeights.Load(path);
        AssertSameTensors(weights, loaded);
    }

    [Fact]
    public void ReadsTheZipLayoutWithSharedStoragesOffsetsAndStrides()
    {
        using var scope = torch.NewDisposeScope();
        var flat = torch.arange(24, dtype: ScalarType.Float32);
        var storages = new Dictionary<string, Tensor> { ["0"] = flat, ["1"] = torch.randn(6).to(ScalarType.Float16) };
        var entries = new List<Entry>
        {
            new("whole", "0", 0, [2, 3, 4], [12, 4, 1], AsParameter: true),
            new("row", "0", 8, [4], [1]),                 // a storage offset into a shared storage
            new("transposed", "0", 0, [4, 3], [1, 4]),    // a non-contiguous view
            new("scalar", "0", 23, [], []),
            new("empty", "0", 0, [0, 5], [5, 1]),
            new("half", "1", 0, [2, 3], [3, 1]),
        };
        var path = _dir.File("shared.pth");
        WriteZip(path, entries, storages, archiveName: "shared");

        using var loaded = PthWeights.Load(path);
        var expected = new Dictionary<string, Tensor>
        {
            ["whole"] = flat.reshape(2, 3, 4),
            ["row"] = flat[8..12],
            ["transposed"] = flat[..12].reshape(3, 4).t(),
            ["scalar"] = torch.tensor(23f),
            ["empty"] = torch.zeros(0, 5),
            ["half"] = storages["1"].reshape(2, 3),
        };
        AssertSameTensors(expected, loaded);
    }

    [Fact]
    public void ReadsTheLegacyLayoutAndSkipsStoragesNotAskedFor()
    {
        using var scope = torch.NewDisposeScope();
        var weights = SomeWeights();
        var (entries, storages) = Plain(weights);
        entries.Add(new Entry("features.0.weight_view", entries[0].StorageKey, 27, [3, 3, 3], [9, 3, 1]));
        var path = _dir.File("legacy.pth");
        WriteLegacy(path, entries, storages);

        using (var all = PthWeights.Load(path))
        {
            AssertSameTensors(weights.Append(new("features.0.weight_view", weights["features.0.weight"][1])).ToDictionary(), all);
        }
        using var some = StateDict.Load(path, include: name => name.StartsWith("features.0.", StringComparison.Ordinal));
        Assert.Equal(["features.0.bias", "features.0.weight", "features.0.weight_view"], some.Keys.Order());
    }

    [Fact]
    public void ReadsTensorsPickledByPyTorchBefore03()
    {
        using var scope = torch.NewDisposeScope();
        var flat = torch.randn(30);
        var storages = new Dictionary<string, Tensor> { ["140234"] = flat };
        var entries = new List<Entry>
        {
            new("features.0.weight", "140234", 0, [2, 3, 5], [15, 5, 1], PreVersion03: true),
            new("features.0.bias", "140234", 10, [5], [1], PreVersion03: true),
        };
        var path = _dir.File("old.pth");
        WriteLegacy(path, entries, storages);

        using var loaded = PthWeights.Load(path);
        AssertSameTensors(new Dictionary<string, Tensor> { ["features.0.weight"] = flat.reshape(2, 3, 5), ["features.0.bias"] = flat[10..15] }, loaded);
    }

    [Fact]
    public void UnwrapsATrainingCheckpoint()
    {
        using var scope = torch.NewDisposeScope();
        var weights = new Dictionary<string, Tensor> { ["a.weight"] = torch.randn(3, 3) };
        var (entries, storages) = Plain(weights);
        var path = _dir.File("checkpoint.pt");
        WriteZip(path, entries, storages, wrapper: "state_dict");

        using var loaded = StateDict.Load(path);
        AssertSameTensors(weights, loaded);
    }

    [Theory]
    [InlineData(".pth")]
    [InlineData(".pt")]
    [InlineData(".bin")]
    [InlineData(".safetensors")]
    public void StateDictChoosesTheReaderByExtension(string extension)
    {
        using var scope = torch.NewDisposeScope();
        var weights = new Dictionary<string, Tensor> { ["w"] = torch.randn(2, 3) };
        var path = _dir.File("weights" + extension);
        if (extension == ".safetensors")
        {
            SafeTensors.Save(path, weights);
        }
        else
        {
            var (entries, storages) = Plain(weights);
            WriteZip(path, entries, storages);
        }
        using var loaded = StateDict.Load(path);
        AssertSameTensors(weights, loaded);
    }

    [Fact]
    public void UnknownExtensionIsAClearError()
    {
        var path = _dir.File("weights.onnx");
        File.WriteAllBytes(path, [1, 2, 3]);
        var error = Assert.Throws<WeightsFileException>(() => StateDict.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains(".safetensors", error.Message);
    }

    [Fact]
    public void MissingFileNamesTheFile()
    {
        var path = _dir.File("absent.pth");
        var error = Assert.Throws<WeightsFileException>(() => PthWeights.Load(path));
        Assert.Equal(path, error.File);
        Assert.Contains(path, error.Message);
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })]
    [InlineData(new byte[] { (byte)'P', (byte)'K', 3, 4, 0, 0, 0 })]
    public void NotAPyTorchFileNamesTheFile(byte[] content)
    {
        var path = _dir.File("junk.pth");
        File.WriteAllBytes(path, content);
        var error = Assert.Throws<WeightsFileException>(() => PthWeights.Load(path));
        Assert.Equal(path, error.File);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void TruncatedZipNamesTheFile()
    {
        using var scope = torch.NewDisposeScope();
        var (entries, storages) = Plain(SomeWeights());
        var path = _dir.File("cut.pth");
        WriteZip(path, entries, storages);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);

        var error = Assert.Throws<WeightsFileException>(() => PthWeights.Load(path));
        Assert.Equal(path, error.File);
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void TruncatedLegacyFileNamesFileAndTensor()
    {
        using var scope = torch.NewDisposeScope();
        var weights = new Dictionary<string, Tensor> { ["first"] = torch.randn(10), ["last"] = torch.randn(1000) };
        var (entries, storages) = Plain(weights);
        var path = _dir.File("cut-legacy.pth");
        WriteLegacy(path, entries, storages);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);

        var error = Assert.Throws<WeightsFileException>(() => PthWeights.Load(path));
        Assert.Equal(path, error.File);
        Assert.Equal("last", error.Tensor);
        Assert.Contains("'last'", error.Message);
    }

    [Fact]
    public void MissingStorageNamesFileAndTensor()
    {
        using var scope = torch.NewDisposeScope();
        var storages = new Dictionary<string, Tensor> { ["0"] = torch.randn(4) };
        var entries = new List<Entry> { new("w", "0", 0, [4], [1]) };
        var path = _dir.File("nostorage.pth");
        WriteZip(path, entries, storages);
        using (var zip = new System.IO.Compression.ZipArchive(File.Open(path, FileMode.Open), System.IO.Compression.ZipArchiveMode.Update))
        {
            zip.GetEntry("archive/data/0")!.Delete();
        }
        var error = Assert.Throws<WeightsFileException>(() => PthWeights.Load(path));
        Assert.Equal("w", error.Tensor);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void ViewPastItsStorageNamesFileAndTensor()
    {
        using var scope = torch.NewDisposeScope();
        var storages = new Dictionary<string, Tensor> { ["0"] = torch.randn(4) };
        var entries = new List<Entry> { new("w", "0", 2, [4], [1]) };
        var path = _dir.File("overrun.pth");
        WriteZip(path, entries, storages);
        var error = Assert.Throws<WeightsFileException>(() => PthWeights.Load(path));
        Assert.Equal("w", error.Tensor);
    }

    /// <summary>Random byte damage and cuts: a file either still loads or fails with a WeightsFileException, never anything else.</summary>
    [Fact]
    public void DamagedFilesOnlyEverFailWithWeightsFileException()
    {
        using var scope = torch.NewDisposeScope();
        var weights = new Dictionary<string, Tensor> { ["a.weight"] = torch.randn(3, 4), ["b"] = torch.randn(5).to(ScalarType.Float16) };
        var (entries, storages) = Plain(weights);
        entries.Add(new Entry("p", "0", 1, [2], [1], AsParameter: true));
        var legacy = _dir.File("legacy.pth");
        WriteLegacy(legacy, entries, storages);
        var zip = _dir.File("zip.pth");
        WriteZip(zip, entries, storages);
        var safeTensors = _dir.File("weights.safetensors");
        SafeTensors.Save(safeTensors, weights);

        var random = new Random(1);
        foreach (var (original, load) in new (string, Action<string>)[]
                 {
                     (legacy, p => PthWeights.Load(p).Dispose()),
                     (zip, p => PthWeights.Load(p).Dispose()),
                     (safeTensors, p => SafeTensors.Load(p).Dispose()),
                 })
        {
            var bytes = File.ReadAllBytes(original);
            var damaged = _dir.File("damaged" + Path.GetExtension(original));
            for (var trial = 0; trial < 150; trial++)
            {
                var copy = (byte[])bytes.Clone();
                for (var hits = random.Next(1, 4); hits > 0; hits--)
                {
                    copy[random.Next(copy.Length)] = (byte)random.Next(256);
                }
                File.WriteAllBytes(damaged, random.Next(4) == 0 ? copy[..random.Next(copy.Length)] : copy);
                var error = Record.Exception(() => load(damaged));
                Assert.True(error is null or WeightsFileException, $"{Path.GetFileName(original)} trial {trial}: {error}");
            }
        }
    }

    [Fact]
    public void AWholePickledModelAsksForTheStateDict()
    {
        var path = _dir.File("model.pth");
        WriteWholeModelZip(path);
        var error = Assert.Throws<WeightsFileException>(() => PthWeights.Load(path));
        Assert.Contains("state_dict", error.Message);
        Assert.Contains(path, error.Message);
    }
}

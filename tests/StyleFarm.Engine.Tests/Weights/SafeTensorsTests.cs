using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using StyleFarm.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;
using StyleFarm.Engine.Tests.Support;

namespace StyleFarm.Engine.Tests.Weights;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>One tensor of every supported dtype, with values that survive that dtype exactly.</summary>
    private static Dictionary<string, Tensor> EveryDType()
    {
        var values = torch.tensor(new double[] { 0, 1, -2, 3, 4, -5 }).reshape(2, 3);
        return new Dictionary<string, Tensor>
        {
            ["f64"] = values.to(ScalarType.Float64) + 0.125,
            ["f32"] = values.to(ScalarType.Float32) * 0.5,
            ["f16"] = values.to(ScalarType.Float16),
            ["bf16"] = values.to(ScalarType.BFloat16),
            ["i64"] = values.to(ScalarType.Int64) * 1_000_000_000_000L,
            ["i32"] = values.to(ScalarType.Int32) * 100_000,
            ["i16"] = values.to(ScalarType.Int16) * 1000,
            ["i8"] = values.to(ScalarType.Int8),
            ["u8"] = values.abs().to(ScalarType.Byte) * 50,
            ["bool"] = values.gt(0),
            ["scalar"] = torch.tensor(7.5f),
            ["empty"] = torch.zeros(0, 4),
            ["layer.weight"] = torch.arange(12, dtype: ScalarType.Float32).reshape(3, 4).t(), // not contiguous
        };
    }

    [Fact]
    public void RoundTripKeepsEveryDTypeShapeValueAndMetadata()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = EveryDType();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode ✓" };
        var path = _dir.File("all.safetensors");

        SafeTensors.Save(path, tensors, metadata);
        using var content = SafeTensors.Load(path);

        Assert.Equal(tensors.Keys.Order(), content.Tensors.Keys.Order());
        foreach (var (name, expected) in tensors)
        {
            var actual = content.Tensors[name];
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.Equal(DeviceType.CPU, actual.device_type);
            Assert.True(Same(expected, actual), $"{name} differs after the round trip");
        }
        Assert.Equal(metadata, content.Metadata);
        Assert.Single(Directory.GetFiles(_dir.Path)); // the temporary file was renamed, not left behind
    }

    [Fact]
    public void WrittenFileFollowsTheSpecByteLayout()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = torch.tensor(new short[] { 1, -2, 3 }),
            ["a"] = torch.tensor(new float[] { 1.5f, -2.25f }),
        };
        var path = _dir.File("layout.safetensors");
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v" });

        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8); // the data buffer starts 8-byte aligned
        var buffer = bytes.AsSpan(8 + headerLength);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var root = header.RootElement;
        Assert.Equal("v", root.GetProperty("__metadata__").GetProperty("k").GetString());

        var a = root.GetProperty("a");
        Assert.Equal("F32", a.GetProperty("dtype").GetString());
        Assert.Equal([2], a.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        var aBegin = a.GetProperty("data_offsets")[0].GetInt32();
        Assert.Equal(aBegin + 8, a.GetProperty("data_offsets")[1].GetInt32());
        Assert.Equal(1.5f, BinaryPrimitives.ReadSingleLittleEndian(buffer[aBegin..]));
        Assert.Equal(-2.25f, BinaryPrimitives.ReadSingleLittleEndian(buffer[(aBegin + 4)..]));

        var b = root.GetProperty("b");
        Assert.Equal("I16", b.GetProperty("dtype").GetString());
        var bBegin = b.GetProperty("data_offsets")[0].GetInt32();
        Assert.Equal(-2, BinaryPrimitives.ReadInt16LittleEndian(buffer[(bBegin + 2)..]));
        Assert.Equal(14, buffer.Length); // exactly the tensors, no holes
    }

    [Fact]
    public void ReadsAFileWrittenByHandToTheSpec()
    {
        var path = _dir.File("hand.safetensors");
        WriteByHand(path,
            """{"__metadata__":{"source":"hand"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"n":{"dtype":"I64","shape":[3],"data_offsets":[16,40]}}""",
            w =>
            {
                foreach (var x in new[] { 1f, 2f, 3f, -4f })
                {
                    w.Write(x);
                }
                foreach (var x in new[] { 10L, -20L, long.MaxValue })
                {
                    w.Write(x);
                }
            });

        using var content = SafeTensors.Load(path);
        Assert.Equal("hand", content.Metadata["source"]);
        Assert.Equal(new long[] { 2, 2 }, content.Tensors["w"].shape);
        Assert.Equal(new[] { 1f, 2f, 3f, -4f }, content.Tensors["w"].data<float>().ToArray());
        Assert.Equal(ScalarType.Int64, content.Tensors["n"].dtype);
        Assert.Equal(new[] { 10L, -20L, long.MaxValue }, content.Tensors["n"].data<long>().ToArray());
    }

    [Fact]
    public void StreamsWorkWithAnOffsetAndWithoutSeeking()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = new Dictionary<string, Tensor> { ["x"] = torch.randn(3, 5), ["y"] = torch.ones(2, dtype: ScalarType.Int32) };
        using var memory = new MemoryStream();
        memory.Write("PREFIX"u8);
        SafeTensors.Save(memory, tensors);

        memory.Position = 6;
        using (var seekable = SafeTensors.Load(memory, "memory"))
        {
            Assert.True(Same(tensors["x"], seekable.Tensors["x"]));
        }
        using var forwardOnly = SafeTensors.Load(new ForwardOnlyStream(memory.ToArray()[6..]), "pipe");
        Assert.True(Same(tensors["x"], forwardOnly.Tensors["x"]));
        Assert.True(Same(tensors["y"], forwardOnly.Tensors["y"]));
    }

    [Fact]
    public void SavingTensMegabytesIsQuick()
    {
        using var scope = torch.NewDisposeScope();
        var tensors = Enumerable.Range(0, 8).ToDictionary(i => $"t{i}", _ => torch.randn(1024, 1024)); // 32 MB
        var path = _dir.File("big.safetensors");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        SafeTensors.Save(path, tensors);
        using var content = SafeTensors.Load(path);
        watch.Stop();
        Assert.True(Same(tensors["t7"], content.Tensors["t7"]));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"32 MB took {watch.Elapsed} to write and read");
    }

    [Fact]
    public void TruncatedFileNamesFileAndTensor()
    {
        using var scope = torch.NewDisposeScope();
        var path = _dir.File("cut.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["only"] = torch.ones(100) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);

        var error = Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path));
        AssertNames(error, path, "only");
    }

    [Fact]
    public void TruncatedHeaderNamesFile()
    {
        var path = _dir.File("stub.safetensors");
        File.WriteAllBytes(path, [0x40, 0, 0, 0, 0, 0, 0, 0, (byte)'{']);
        var error = Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path));
        AssertNames(error, path, null);

        File.WriteAllBytes(path, [1, 2, 3]);
        AssertNames(Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path)), path, null);
    }

    [Fact]
    public void AbsurdHeaderLengthNamesFile()
    {
        var path = _dir.File("huge.safetensors");
        File.WriteAllBytes(path, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, (byte)'{', (byte)'}']);
        AssertNames(Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path)), path, null);
    }

    [Fact]
    public void BadJsonNamesFile()
    {
        var path = _dir.File("badjson.safetensors");
        WriteByHand(path, """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]""", w => w.Write(1f));
        var error = Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path));
        AssertNames(error, path, null);
        Assert.Contains("JSON", error.Message);
    }

    [Fact]
    public void OffsetsOutsideTheBufferNameFileAndTensor()
    {
        var path = _dir.File("offsets.safetensors");
        WriteByHand(path, """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"far":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""",
            w => { w.Write(1f); w.Write(2f); });
        AssertNames(Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path)), path, "far");

        WriteByHand(path, """{"back":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}""", w => w.Write(0L));
        AssertNames(Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path)), path, "back");
    }

    [Fact]
    public void ShapeThatDisagreesWithOffsetsNamesFileAndTensor()
    {
        var path = _dir.File("shape.safetensors");
        WriteByHand(path, """{"w":{"dtype":"F32","shape":[3,3],"data_offsets":[0,8]}}""", w => { w.Write(1f); w.Write(2f); });
        var error = Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path));
        AssertNames(error, path, "w");
        Assert.Contains("36", error.Message); // what the shape needs
    }

    [Fact]
    public void UnknownDTypeNamesFileAndTensor()
    {
        var path = _dir.File("dtype.safetensors");
        WriteByHand(path, """{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}""", w => w.Write(0L));
        var error = Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path));
        AssertNames(error, path, "w");
        Assert.Contains("C64", error.Message);
    }

    [Fact]
    public void ATensorNamedTwiceNamesFileAndTensor()
    {
        var path = _dir.File("twice.safetensors");
        WriteByHand(path, """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""",
            w => { w.Write(1f); w.Write(2f); });
        AssertNames(Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path)), path, "w");
    }

    [Fact]
    public void MissingFileNamesFile()
    {
        var path = _dir.File("absent.safetensors");
        AssertNames(Assert.Throws<WeightsFileException>(() => SafeTensors.Load(path)), path, null);
    }

    /// <summary>Same dtype, shape and every element (TorchSharp's torch.equal is elementwise, so compare by hand).</summary>
    internal static bool Same(Tensor expected, Tensor actual)
    {
        using var scope = torch.NewDisposeScope();
        return expected.dtype == actual.dtype && expected.shape.SequenceEqual(actual.shape) && torch.eq(expected, actual).all().item<bool>();
    }

    private static void AssertNames(WeightsFileException error, string file, string? tensor)
    {
        Assert.Contains(file, error.Message);
        Assert.Equal(file, error.File);
        Assert.Equal(tensor, error.Tensor);
        if (tensor is not null)
        {
            Assert.Contains($"'{tensor}'", error.Message);
        }
    }

    /// <summary>The layout straight from the spec: u64 little-endian header size, the JSON, then the data.</summary>
    private static void WriteByHand(string path, string json, Action<BinaryWriter> writeData)
    {
        using var writer = new BinaryWriter(File.Create(path)); // BinaryWriter is little-endian on every platform
        var header = Encoding.UTF8.GetBytes(json);
        writer.Write((ulong)header.Length);
        writer.Write(header);
        writeData(writer);
    }

    /// <summary>A pipe-like stream: no length, no seeking.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }
}

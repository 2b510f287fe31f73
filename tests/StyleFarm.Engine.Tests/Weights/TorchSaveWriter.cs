using System.IO.Compression;
using System.Numerics;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Weights;

/// <summary>
/// Writes state dicts the way Python's <c>torch.save</c> does, opcode for opcode (pickle protocol 2), in both the
/// zip layout (PyTorch ≥ 1.6) and the legacy stream layout, with what real files contain and simple writers
/// leave out: storages shared by several tensors, storage offsets, non-contiguous strides, memoised globals,
/// Parameter wrappers and the state dict's own "_metadata". No Python is available to produce real files.
/// </summary>
internal static class TorchSaveWriter
{
    /// <summary>A tensor as torch.save records it: a view of storage <paramref name="StorageKey"/>.</summary>
    /// <param name="PreVersion03">Pickled as PyTorch 0.1/0.2 did: <c>torch.FloatTensor()</c>, then BUILD with (storage, offset, size, stride).</param>
    public sealed record Entry(string Name, string StorageKey, long Offset, long[] Size, long[] Stride, bool AsParameter = false, bool PreVersion03 = false);

    /// <summary>Each tensor on its own storage, contiguous: what saving a freshly built model gives.</summary>
    public static (List<Entry> Entries, Dictionary<string, Tensor> Storages) Plain(IReadOnlyDictionary<string, Tensor> tensors)
    {
        var entries = new List<Entry>();
        var storages = new Dictionary<string, Tensor>();
        var key = 0;
        foreach (var (name, tensor) in tensors)
        {
            var storageKey = (key++).ToString();
            storages[storageKey] = tensor.contiguous().flatten();
            entries.Add(new Entry(name, storageKey, 0, tensor.shape, RowMajorStrides(tensor.shape)));
        }
        return (entries, storages);
    }

    public static long[] RowMajorStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long step = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = step;
            step *= shape[i];
        }
        return strides;
    }

    public static void WriteZip(string path, List<Entry> entries, Dictionary<string, Tensor> storages, string archiveName = "archive", object? wrapper = null)
    {
        var pickle = Pickle(entries, storages, legacy: false, wrapper);
        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        // torch.save writes every record uncompressed.
        WriteEntry(zip, $"{archiveName}/data.pkl", pickle);
        WriteEntry(zip, $"{archiveName}/byteorder", "little"u8.ToArray());
        foreach (var (key, storage) in storages)
        {
            WriteEntry(zip, $"{archiveName}/data/{key}", storage.contiguous().bytes.ToArray());
        }
        WriteEntry(zip, $"{archiveName}/version", "3\n"u8.ToArray());
        WriteEntry(zip, $"{archiveName}/.data/serialization_id", "1234567890"u8.ToArray());
    }

    public static void WriteLegacy(string path, List<Entry> entries, Dictionary<string, Tensor> storages)
    {
        using var file = new BinaryWriter(File.Create(path));
        file.Write(MagicPickle());
        file.Write(SmallPickle(p => p.Int(1001)));
        file.Write(SmallPickle(p =>
        {
            p.Op(EmptyDict).Op(Mark);
            p.Str("protocol_version").Int(1001).Str("little_endian").Op(NewTrue);
            p.Str("type_sizes").Op(EmptyDict).Op(Mark).Str("short").Int(2).Str("int").Int(4).Str("long").Int(4).Op(SetItems);
            p.Op(SetItems);
        }));
        file.Write(Pickle(entries, storages, legacy: true, wrapper: null));
        var keys = entries.Select(e => e.StorageKey).Distinct().ToList(); // the order torch.save met them
        file.Write(SmallPickle(p =>
        {
            p.Op(EmptyList).Op(Mark);
            foreach (var key in keys)
            {
                p.Str(key);
            }
            p.Op(Appends);
        }));
        foreach (var key in keys)
        {
            var storage = storages[key].contiguous();
            file.Write(storage.numel());
            file.Write(storage.bytes);
        }
    }

    /// <summary>A pickle of a whole nn.Module, which is not a state dict.</summary>
    public static void WriteWholeModelZip(string path)
    {
        var p = new PickleWriter();
        p.Op(Proto).Byte(2).Global("torchvision.models.vgg", "VGG").Op(EmptyTuple).Op(NewObj).Op(EmptyDict).Op(Build).Op(Stop);
        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        WriteEntry(zip, "archive/data.pkl", p.ToArray());
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        stream.Write(bytes);
    }

    // ---- pickles ----

    private const byte Mark = (byte)'(', Stop = (byte)'.', EmptyTuple = (byte)')', EmptyDict = (byte)'}', EmptyList = (byte)']';
    private const byte SetItem = (byte)'s', SetItems = (byte)'u', Appends = (byte)'e', Tuple = (byte)'t', Reduce = (byte)'R';
    private const byte Build = (byte)'b', BinPersId = (byte)'Q', NewTrue = 0x88, NewFalse = 0x89, Proto = 0x80, NewObj = 0x81, None = (byte)'N';

    /// <summary>
    /// The object pickle: OrderedDict() then SETITEMS of name → _rebuild_tensor_v2(storage, offset, size, stride,
    /// requires_grad, OrderedDict()), then BUILD with {"_metadata": ...}, as torch.save(model.state_dict()) writes.
    /// </summary>
    private static byte[] Pickle(List<Entry> entries, Dictionary<string, Tensor> storages, bool legacy, object? wrapper)
    {
        var p = new PickleWriter();
        p.Op(Proto).Byte(2);
        if (wrapper is string wrapperKey)
        {
            p.Op(EmptyDict).Put().Op(Mark).Str("epoch").Int(7).Str(wrapperKey);
        }
        p.Global("collections", "OrderedDict").Op(EmptyTuple).Op(Reduce).Put();
        p.Op(Mark);
        foreach (var entry in entries)
        {
            p.Str(entry.Name);
            if (entry.PreVersion03)
            {
                p.Global("torch", TensorName(storages[entry.StorageKey].dtype)).Op(EmptyTuple).Op(Reduce).Put();
                p.Op(Mark);
                StorageId(p, entry.StorageKey, storages[entry.StorageKey], legacy);
                p.Int(entry.Offset).Tuple(entry.Size).Tuple(entry.Stride).Op(Tuple).Put().Op(Build);
                continue;
            }
            if (entry.AsParameter)
            {
                p.Global("torch._utils", "_rebuild_parameter");
            }
            p.Global("torch._utils", "_rebuild_tensor_v2");
            p.Op(Mark);
            StorageId(p, entry.StorageKey, storages[entry.StorageKey], legacy);
            p.Int(entry.Offset).Tuple(entry.Size).Tuple(entry.Stride).Op(NewFalse);
            p.Global("collections", "OrderedDict").Op(EmptyTuple).Op(Reduce).Put();
            p.Op(Tuple).Put().Op(Reduce).Put();
            if (entry.AsParameter)
            {
                p.Op(NewTrue).Global("collections", "OrderedDict").Op(EmptyTuple).Op(Reduce).Op(0x87 /* TUPLE3 */).Op(Reduce).Put();
            }
        }
        p.Op(SetItems);
        // state_dict()._metadata: {"": {"version": 1}} and one entry per submodule.
        p.Op(EmptyDict).Put().Str("_metadata").Global("collections", "OrderedDict").Op(EmptyTuple).Op(Reduce).Put();
        p.Op(Mark).Str("").Op(EmptyDict).Str("version").Int(1).Op(SetItem).Op(SetItems);
        p.Op(SetItem).Op(Build);
        if (wrapper is string)
        {
            p.Op(SetItems);
        }
        p.Op(Stop);
        return p.ToArray();
    }

    private static void StorageId(PickleWriter p, string key, Tensor storage, bool legacy)
    {
        p.Op(Mark).Str("storage").Global("torch", StorageName(storage.dtype)).Str(key).Str("cpu").Int(storage.numel());
        if (legacy)
        {
            p.Op(None); // no view metadata
        }
        p.Op(Tuple).Put().Op(BinPersId);
    }

    private static string StorageName(ScalarType type) => type switch
    {
        ScalarType.Float64 => "DoubleStorage",
        ScalarType.Float32 => "FloatStorage",
        ScalarType.Float16 => "HalfStorage",
        ScalarType.BFloat16 => "BFloat16Storage",
        ScalarType.Int64 => "LongStorage",
        ScalarType.Int32 => "IntStorage",
        ScalarType.Int16 => "ShortStorage",
        ScalarType.Int8 => "CharStorage",
        ScalarType.Byte => "ByteStorage",
        ScalarType.Bool => "BoolStorage",
        _ => throw new ArgumentException($"no storage for {type}"),
    };

    private static string TensorName(ScalarType type) => StorageName(type).Replace("Storage", "Tensor");

    private static byte[] MagicPickle()
    {
        var p = new PickleWriter();
        var magic = BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber).ToByteArray();
        p.Op(Proto).Byte(2).Op(0x8a /* LONG1 */).Byte((byte)magic.Length).Bytes(magic).Op(Stop);
        return p.ToArray();
    }

    private static byte[] SmallPickle(Action<PickleWriter> body)
    {
        var p = new PickleWriter();
        p.Op(Proto).Byte(2);
        body(p);
        p.Op(Stop);
        return p.ToArray();
    }

    /// <summary>Emits opcodes; memoises globals like Python's pickler, so repeats come back as BINGET.</summary>
    private sealed class PickleWriter
    {
        private readonly MemoryStream _out = new();
        private readonly Dictionary<string, int> _globals = [];
        private int _memo;

        public PickleWriter Op(byte opcode) => Byte(opcode);

        public PickleWriter Byte(byte value)
        {
            _out.WriteByte(value);
            return this;
        }

        public PickleWriter Bytes(byte[] bytes)
        {
            _out.Write(bytes);
            return this;
        }

        public PickleWriter Put()
        {
            if (_memo < 256)
            {
                Op((byte)'q').Byte((byte)_memo);
            }
            else
            {
                Op((byte)'r').Bytes(BitConverter.GetBytes(_memo));
            }
            _memo++;
            return this;
        }

        public PickleWriter Int(long value)
        {
            if (value is >= 0 and < 256)
            {
                return Op((byte)'K').Byte((byte)value);
            }
            if (value is >= 0 and < 65536)
            {
                return Op((byte)'M').Bytes(BitConverter.GetBytes((ushort)value));
            }
            if (value is >= int.MinValue and <= int.MaxValue)
            {
                return Op((byte)'J').Bytes(BitConverter.GetBytes((int)value));
            }
            var bytes = new BigInteger(value).ToByteArray();
            return Op(0x8a).Byte((byte)bytes.Length).Bytes(bytes);
        }

        public PickleWriter Str(string value)
        {
            var bytes = Encoding.UTF8.GetBytes(value);
            Op((byte)'X').Bytes(BitConverter.GetBytes(bytes.Length)).Bytes(bytes);
            return Put();
        }

        public PickleWriter Global(string module, string name)
        {
            var id = $"{module}\n{name}\n";
            if (_globals.TryGetValue(id, out var memo))
            {
                return memo < 256 ? Op((byte)'h').Byte((byte)memo) : Op((byte)'j').Bytes(BitConverter.GetBytes(memo));
            }
            Op((byte)'c').Bytes(Encoding.ASCII.GetBytes(id));
            _globals[id] = _memo;
            return Put();
        }

        public PickleWriter Tuple(long[] values)
        {
            switch (values.Length)
            {
                case 0: return Op(EmptyTuple);
                case 1: Int(values[0]); return Op(0x85).Put();
                case 2: Int(values[0]).Int(values[1]); return Op(0x86).Put();
                case 3: Int(values[0]).Int(values[1]).Int(values[2]); return Op(0x87).Put();
                default:
                    Op(Mark);
                    foreach (var value in values)
                    {
                        Int(value);
                    }
                    return Op(TupleOp).Put();
            }
        }

        private const byte TupleOp = (byte)'t';

        public byte[] ToArray() => _out.ToArray();
    }
}

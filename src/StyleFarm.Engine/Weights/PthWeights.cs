using System.IO.Compression;
using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Weights;

/// <summary>
/// Reads a PyTorch state dict written by <c>torch.save</c> (.pth, .pt, .bin) without Python and without running
/// any of the pickle's code. Two layouts exist:
/// <list type="bullet">
/// <item>the zip archive of PyTorch ≥ 1.6: <c>NAME/data.pkl</c> plus one entry <c>NAME/data/KEY</c> per storage;</item>
/// <item>the legacy stream of older releases, which is what torchvision's own VGG19 download still is: pickles
/// of a magic number, a protocol version, system info and the object, then the list of storage keys, then each
/// storage as an 8-byte element count followed by its bytes.</item>
/// </list>
/// TorchSharp.PyBridge 1.4.4 reads neither a legacy file nor a tensor with a storage offset (tensors sharing one
/// storage), hence this reader. A checkpoint that wraps the weights ({"state_dict": {...}}, {"model": {...}}) is
/// unwrapped; values that are not tensors are skipped.
/// </summary>
public static class PthWeights
{
    /// <summary>The first pickle of a legacy file: torch.serialization's MAGIC_NUMBER.</summary>
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356");

    private const long LegacyProtocolVersion = 1001;

    /// <summary>Keys under which training checkpoints usually keep the model's state dict, in order of preference.</summary>
    private static readonly string[] WrapperKeys = ["state_dict", "model_state_dict", "model", "module", "net", "network", "params"];

    /// <summary>Reads every tensor of the state dict in <paramref name="path"/> onto the CPU, in its stored dtype.</summary>
    public static StateDict Load(string path) => Load(path, include: null);

    /// <summary>
    /// Reads the tensors whose names pass <paramref name="include"/>; storages only the others use are never read,
    /// so a 550 MB VGG19 file with its classifier costs only the 80 MB of its convolutions.
    /// </summary>
    public static StateDict Load(string path, Func<string, bool>? include)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFileException(path, null, $"cannot open the file ({e.Message})", e);
        }
        using (stream)
        {
            return Load(stream, path, include);
        }
    }

    /// <summary>Reads from a seekable stream; <paramref name="sourceName"/> names it in errors.</summary>
    public static StateDict Load(Stream stream, string sourceName, Func<string, bool>? include = null)
    {
        if (!stream.CanSeek)
        {
            throw new ArgumentException("a PyTorch file is read with seeks (zip directory, skipped storages); copy it to a seekable stream first", nameof(stream));
        }
        try
        {
            return Layout(stream, sourceName) switch
            {
                FileLayout.Zip => LoadZip(stream, sourceName, include ?? (_ => true)),
                _ => LoadLegacy(stream, sourceName, include ?? (_ => true)),
            };
        }
        catch (WeightsFileException)
        {
            throw;
        }
        catch (EndOfStreamException e)
        {
            throw new WeightsFileException(sourceName, null, "the file ends early; it is truncated", e);
        }
        catch (InvalidDataException e)
        {
            throw new WeightsFileException(sourceName, null, $"not a readable PyTorch file ({e.Message})", e);
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
        {
            throw new WeightsFileException(sourceName, null, $"the pickle does not have the shape torch.save gives a state dict ({e.Message})", e);
        }
    }

    private enum FileLayout { Zip, Legacy }

    private static FileLayout Layout(Stream stream, string source)
    {
        Span<byte> start = stackalloc byte[4];
        var read = stream.ReadAtLeast(start, 4, throwOnEndOfStream: false);
        stream.Position = 0;
        if (read == 4 && start.SequenceEqual("PK\u0003\u0004"u8))
        {
            return FileLayout.Zip;
        }
        if (read >= 2 && start[0] == 0x80)
        {
            return FileLayout.Legacy; // a pickle PROTO opcode
        }
        throw new WeightsFileException(source, null, read == 0
            ? "the file is empty"
            : "not a PyTorch file: neither a zip archive (torch.save since 1.6) nor a legacy pickle stream");
    }

    // ---- the zip layout ----

    private static StateDict LoadZip(Stream stream, string source, Func<string, bool> include)
    {
        using var archive = OpenZip(stream, source);
        var pickle = FindDataPickle(archive, source);
        var prefix = pickle.FullName[..^"data.pkl".Length];
        RequireLittleEndian(archive.GetEntry(prefix + "byteorder"), source);
        object? root;
        using (var pickleStream = pickle.Open())
        {
            root = PickleReader.Load(pickleStream, StorageReference, TorchReduce);
        }
        var recipes = StateDictIn(root, source);
        var storages = new StorageCache(key => ReadZipStorage(archive, prefix, key, source));
        return Materialise(recipes, include, storages, source);
    }

    private static ZipArchive OpenZip(Stream stream, string source)
    {
        try
        {
            return new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new WeightsFileException(source, null, $"the zip archive is incomplete or corrupt; the file is probably truncated ({e.Message})", e);
        }
    }

    private static ZipArchiveEntry FindDataPickle(ZipArchive archive, string source) =>
        archive.Entries
            .Where(e => e.FullName == "data.pkl" || e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
            .OrderBy(e => e.FullName.Length)
            .FirstOrDefault()
        ?? throw new WeightsFileException(source, null, "the zip archive has no data.pkl; not a file written by torch.save");

    private static void RequireLittleEndian(ZipArchiveEntry? byteOrder, string source)
    {
        if (byteOrder is null)
        {
            return; // older writers omit it; they were little-endian
        }
        using var reader = new StreamReader(byteOrder.Open());
        if (reader.ReadToEnd().Trim() == "big")
        {
            throw new WeightsFileException(source, null, "the file was written on a big-endian machine; re-save it on a little-endian one");
        }
    }

    private static Tensor ReadZipStorage(ZipArchive archive, string prefix, StorageRef storage, string source)
    {
        var entry = archive.GetEntry($"{prefix}data/{storage.Key}")
            ?? throw new StorageException($"its storage data/{storage.Key} is missing from the zip archive");
        if (entry.Length < storage.Bytes)
        {
            throw new StorageException($"its storage data/{storage.Key} holds {entry.Length} bytes, {storage.Bytes} expected; the file is truncated or corrupt");
        }
        using var data = entry.Open();
        return ReadStorage(data, storage);
    }

    // ---- the legacy layout ----

    private static StateDict LoadLegacy(Stream stream, string source, Func<string, bool> include)
    {
        CheckLegacyPreamble(stream, source);
        var references = new Dictionary<string, StorageRef>();
        var root = PickleReader.Load(stream, pid =>
        {
            var storage = (StorageRef)StorageReference(pid)!;
            references[storage.Key] = storage;
            return storage;
        }, TorchReduce);
        var keys = PickleReader.Load(stream, NoPersistentIds, TorchReduce) as List<object?>
            ?? throw new WeightsFileException(source, null, "the legacy file lacks its list of storage keys");
        var recipes = StateDictIn(root, source);
        var wanted = recipes.Where(r => include(r.Name)).Select(r => r.Recipe.Storage.Key).ToHashSet();
        var users = recipes.GroupBy(r => r.Recipe.Storage.Key).ToDictionary(g => g.Key, g => g.First().Name);
        var storages = ReadLegacyStorages(stream, keys.Select(k => (string)k!), references, wanted, users, source);
        var cache = new StorageCache(s => throw new StorageException($"its storage {s.Key} is not in the file"), storages);
        return Materialise(recipes, include, cache, source);
    }

    private static void CheckLegacyPreamble(Stream stream, string source)
    {
        if (PickleReader.Load(stream, NoPersistentIds, TorchReduce) is not BigInteger magic || magic != LegacyMagic)
        {
            throw new WeightsFileException(source, null, "a pickle stream, but not one written by torch.save (wrong magic number)");
        }
        if (PickleReader.Load(stream, NoPersistentIds, TorchReduce) is not long version || version != LegacyProtocolVersion)
        {
            throw new WeightsFileException(source, null, $"legacy torch.save protocol other than {LegacyProtocolVersion} is not supported");
        }
        if (PickleReader.Load(stream, NoPersistentIds, TorchReduce) is PyDict info
            && info.TryGet("little_endian", out var little) && little is false)
        {
            throw new WeightsFileException(source, null, "the file was written on a big-endian machine; re-save it on a little-endian one");
        }
    }

    /// <summary>Storages follow the pickles in key-list order; the ones no wanted tensor uses are skipped by seeking.</summary>
    private static Dictionary<string, Tensor> ReadLegacyStorages(
        Stream stream, IEnumerable<string> keys, Dictionary<string, StorageRef> references, HashSet<string> wanted,
        Dictionary<string, string> users, string source)
    {
        var storages = new Dictionary<string, Tensor>();
        try
        {
            Span<byte> count = stackalloc byte[8];
            foreach (var key in keys)
            {
                if (!references.TryGetValue(key, out var storage))
                {
                    throw new WeightsFileException(source, null, $"storage key {key} is listed but no tensor refers to it");
                }
                var user = users.GetValueOrDefault(key);
                if (storage.DType is null)
                {
                    // Its element size is unknown, so it cannot even be skipped.
                    throw new WeightsFileException(source, user, $"storage type {storage.TypeName} is not supported");
                }
                try
                {
                    stream.ReadExactly(count);
                    if (BitConverter.ToInt64(count) != storage.Elements)
                    {
                        throw new WeightsFileException(source, user,
                            $"storage {key} holds {BitConverter.ToInt64(count)} elements, the pickle says {storage.Elements}; the file is corrupt");
                    }
                    if (wanted.Contains(key))
                    {
                        storages[key] = ReadStorage(stream, storage);
                    }
                    else if (stream.Seek(storage.Bytes, SeekOrigin.Current) > stream.Length)
                    {
                        throw new EndOfStreamException();
                    }
                }
                catch (EndOfStreamException e)
                {
                    throw new WeightsFileException(source, user, $"the file ends inside storage {key}; it is truncated", e);
                }
            }
            return storages;
        }
        catch
        {
            foreach (var tensor in storages.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
    }

    private static object? NoPersistentIds(object? pid) =>
        throw new InvalidDataException("a persistent id outside the object pickle");

    // ---- what the pickle describes ----

    /// <summary>A storage the pickle refers to: its key in the file, element type and element count.</summary>
    private sealed record StorageRef(string Key, string TypeName, ScalarType? DType, long Elements)
    {
        public long Bytes => DType is { } type ? Elements * ElementSize(type) : 0;
    }

    /// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> would build it, not yet read.</summary>
    private sealed record TensorRecipe(StorageRef Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>A storage problem found while building one tensor; rethrown with the file and tensor named.</summary>
    private sealed class StorageException(string message) : Exception(message);

    /// <summary>
    /// torch.save's persistent id for a storage: ("storage", type, key, location, element count[, view]).
    /// Old files could store views of storages; none of the state dicts we read use them.
    /// </summary>
    private static object? StorageReference(object? pid)
    {
        if (pid is not object?[] { Length: >= 5 } tuple || tuple[0] is not "storage")
        {
            throw new InvalidDataException("a persistent id that is not a torch storage");
        }
        if (tuple.Length > 5 && tuple[5] is not null)
        {
            throw new InvalidDataException("storage views (a pre-1.0 PyTorch feature) are not supported");
        }
        var type = tuple[1] as PyGlobal ?? throw new InvalidDataException("a storage without a type");
        var key = Convert.ToString(tuple[2], System.Globalization.CultureInfo.InvariantCulture)!;
        return new StorageRef(key, type.Name, StorageDType(type.Name), Convert.ToInt64(tuple[4]));
    }

    private static ScalarType? StorageDType(string storageType) => storageType switch
    {
        "DoubleStorage" => ScalarType.Float64,
        "FloatStorage" => ScalarType.Float32,
        "HalfStorage" => ScalarType.Float16,
        "BFloat16Storage" => ScalarType.BFloat16,
        "LongStorage" => ScalarType.Int64,
        "IntStorage" => ScalarType.Int32,
        "ShortStorage" => ScalarType.Int16,
        "CharStorage" => ScalarType.Int8,
        "ByteStorage" => ScalarType.Byte,
        "BoolStorage" => ScalarType.Bool,
        _ => null, // reported only if a wanted tensor uses it
    };

    private static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    /// <summary>The calls in a state dict pickle that build something we use; everything else stays inert.</summary>
    private static object? TorchReduce(PyGlobal callable, object?[] args) => (callable.Module, callable.Name) switch
    {
        ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_tensor") => Recipe(args),
        ("torch._utils", "_rebuild_parameter" or "_rebuild_parameter_with_state") => args[0],
        ("collections", "OrderedDict") => OrderedDictOf(args),
        _ => null,
    };

    private static TensorRecipe Recipe(object?[] args)
    {
        var storage = args[0] as StorageRef ?? throw new InvalidDataException("a tensor whose storage is not a torch storage");
        return new TensorRecipe(storage, Convert.ToInt64(args[1]), Longs(args[2]), Longs(args[3]));
    }

    private static long[] Longs(object? tuple) => tuple switch
    {
        object?[] items => items.Select(Convert.ToInt64).ToArray(),
        List<object?> items => items.Select(Convert.ToInt64).ToArray(),
        _ => throw new InvalidDataException("a tensor size or stride that is not a tuple"),
    };

    private static PyDict OrderedDictOf(object?[] args)
    {
        var dict = new PyDict();
        if (args is [List<object?> pairs])
        {
            foreach (var pair in pairs.OfType<object?[]>().Where(p => p.Length == 2))
            {
                dict.Set(pair[0]!, pair[1]);
            }
        }
        return dict;
    }

    /// <summary>The name → tensor dict in the pickle: the root itself, or one a training checkpoint wraps.</summary>
    private static List<(string Name, TensorRecipe Recipe)> StateDictIn(object? root, string source)
    {
        if (root is not PyDict dict)
        {
            var what = root is PyObject obj ? obj.Type.ToString() : root?.GetType().Name ?? "None";
            throw new WeightsFileException(source, null, $"holds a {what}, not a state dict; save model.state_dict() rather than the model");
        }
        var tensors = TensorsIn(dict);
        if (tensors.Count > 0)
        {
            return tensors;
        }
        foreach (var key in WrapperKeys)
        {
            if (dict.TryGet(key, out var inner) && inner is PyDict wrapped && TensorsIn(wrapped) is { Count: > 0 } found)
            {
                return found;
            }
        }
        var nested = dict.Items.Select(i => i.Value).OfType<PyDict>().Select(TensorsIn).Where(t => t.Count > 0).ToList();
        return nested.Count == 1
            ? nested[0]
            : throw new WeightsFileException(source, null,
                $"no state dict of tensors found (top-level keys: {string.Join(", ", dict.Items.Select(i => i.Key).Take(10))})");
    }

    private static List<(string, TensorRecipe)> TensorsIn(PyDict dict) =>
        dict.Items.Select(i => (Name: i.Key as string, Recipe: AsRecipe(i.Value)))
            .Where(i => i.Name is not null && i.Recipe is not null)
            .Select(i => (i.Name!, i.Recipe!))
            .ToList();

    /// <summary>
    /// A tensor in either pickled form: <c>_rebuild_tensor[_v2](...)</c> since PyTorch 0.3, or, before that,
    /// <c>torch.FloatTensor()</c> given (storage, offset, size, stride) by <c>__setstate__</c>.
    /// </summary>
    private static TensorRecipe? AsRecipe(object? value) => value switch
    {
        TensorRecipe recipe => recipe,
        PyObject { Type.Module: "torch", Type.Name: var name, State: object?[] { Length: 4 } state }
            when name.EndsWith("Tensor", StringComparison.Ordinal) && state[0] is StorageRef => Recipe(state),
        _ => null,
    };

    // ---- building tensors ----

    /// <summary>Reads each storage once, however many tensors share it.</summary>
    private sealed class StorageCache(Func<StorageRef, Tensor> read, Dictionary<string, Tensor>? preloaded = null) : IDisposable
    {
        private readonly Dictionary<string, Tensor> _read = preloaded ?? [];

        public Tensor Get(StorageRef storage)
        {
            if (!_read.TryGetValue(storage.Key, out var tensor))
            {
                tensor = read(storage);
                _read[storage.Key] = tensor;
            }
            return tensor;
        }

        public void Dispose()
        {
            foreach (var tensor in _read.Values)
            {
                tensor.Dispose();
            }
        }
    }

    private static StateDict Materialise(List<(string Name, TensorRecipe Recipe)> recipes, Func<string, bool> include, StorageCache storages, string source)
    {
        var tensors = new Dictionary<string, Tensor>();
        using (storages)
        {
            try
            {
                foreach (var (name, recipe) in recipes.Where(r => include(r.Name)))
                {
                    tensors[name] = Build(recipe, storages, name, source);
                }
                return new StateDict(tensors, new Dictionary<string, string>());
            }
            catch
            {
                foreach (var tensor in tensors.Values)
                {
                    tensor.Dispose();
                }
                throw;
            }
        }
    }

    /// <summary>
    /// The tensor over its storage. A tensor that is its whole storage (every tensor of a freshly saved model)
    /// is returned as a view, no copy; any other is copied out contiguously, so it never keeps a larger shared
    /// storage alive and every tensor handed out is contiguous.
    /// </summary>
    private static Tensor Build(TensorRecipe recipe, StorageCache storages, string name, string source)
    {
        if (recipe.Storage.DType is null)
        {
            throw new WeightsFileException(source, name, $"storage type {recipe.Storage.TypeName} is not supported");
        }
        CheckExtent(recipe, name, source);
        Tensor storage;
        try
        {
            storage = storages.Get(recipe.Storage);
        }
        catch (StorageException e)
        {
            throw new WeightsFileException(source, name, e.Message, e);
        }
        catch (EndOfStreamException e)
        {
            throw new WeightsFileException(source, name, "the file ends inside this tensor's storage; it is truncated", e);
        }
        using var scope = torch.NewDisposeScope();
        var view = storage.as_strided(recipe.Size, recipe.Stride, recipe.Offset);
        var whole = recipe.Offset == 0 && view.is_contiguous() && view.numel() == recipe.Storage.Elements;
        return (whole ? view : view.contiguous().clone()).DetachFromDisposeScope();
    }

    /// <summary>The farthest element the size and stride reach must lie inside the storage.</summary>
    private static void CheckExtent(TensorRecipe recipe, string name, string source)
    {
        if (recipe.Size.Length != recipe.Stride.Length || recipe.Size.Any(s => s < 0) || recipe.Stride.Any(s => s < 0) || recipe.Offset < 0)
        {
            throw new WeightsFileException(source, name, $"size [{string.Join(", ", recipe.Size)}] and stride [{string.Join(", ", recipe.Stride)}] do not describe a tensor");
        }
        if (recipe.Size.Any(s => s == 0))
        {
            return;
        }
        var last = recipe.Offset + recipe.Size.Zip(recipe.Stride, (size, stride) => (size - 1) * stride).Sum();
        if (last >= recipe.Storage.Elements)
        {
            throw new WeightsFileException(source, name,
                $"size [{string.Join(", ", recipe.Size)}] at offset {recipe.Offset} reaches element {last}, past its storage of {recipe.Storage.Elements}");
        }
    }

    /// <summary>Reads a storage's bytes straight into a new 1-D tensor, outside any dispose scope.</summary>
    private static Tensor ReadStorage(Stream data, StorageRef storage)
    {
        var tensor = torch.empty(storage.Elements, storage.DType!.Value, device: torch.CPU).DetachFromDisposeScope();
        try
        {
            if (storage.Elements > 0)
            {
                data.ReadExactly(tensor.bytes);
                GC.KeepAlive(tensor);
            }
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }
}

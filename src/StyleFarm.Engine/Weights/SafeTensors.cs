using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Weights;

/// <summary>
/// Reads and writes the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of UTF-8 JSON naming each tensor's dtype, shape and [begin, end) byte range relative
/// to the data buffer, optionally a "__metadata__" map of strings, and then the data buffer itself.
/// </summary>
public static class SafeTensors
{
    /// <summary>The reference implementation refuses headers above this; so do we, before allocating one.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Writes the tensors to <paramref name="path"/> atomically: a temporary file beside it is written in full and
    /// then renamed, so a reader never sees half a file and a crash never destroys the previous one.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var full = Path.GetFullPath(path);
        var temp = $"{full}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Save(stream, tensors, metadata);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Writes the tensors to <paramref name="stream"/>; tensors on any device, contiguous or not.</summary>
    public static void Save(Stream stream, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        RequireLittleEndianHost();
        var order = StorageOrder(tensors);
        var header = HeaderBytes(order, metadata);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var (name, tensor) in order)
        {
            WriteTensorBytes(stream, tensor);
        }
    }

    /// <summary>Reads every tensor in the file onto the CPU, in its stored dtype.</summary>
    public static SafeTensorsContent Load(string path) => Load(path, include: null);

    /// <summary>Reads the tensors whose names pass <paramref name="include"/>; the others are checked, then skipped unread.</summary>
    internal static SafeTensorsContent Load(string path, Func<string, bool>? include)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
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

    /// <summary>
    /// Reads every tensor from <paramref name="stream"/> onto the CPU; <paramref name="sourceName"/> names the
    /// stream in errors. A seekable stream is checked against its length before anything large is allocated.
    /// </summary>
    public static SafeTensorsContent Load(Stream stream, string sourceName) => Load(stream, sourceName, include: null);

    private static SafeTensorsContent Load(Stream stream, string sourceName, Func<string, bool>? include)
    {
        RequireLittleEndianHost();
        // The file may start part way into a seekable stream; every position below is relative to this origin.
        var origin = stream.CanSeek ? stream.Position : 0;
        var headerLength = ReadHeaderLength(stream, sourceName);
        var header = ParseHeader(ReadExactly(stream, (int)headerLength, sourceName, null, "the header"), sourceName);
        var bufferStart = origin + 8 + headerLength;
        var bufferLength = stream.CanSeek ? stream.Length - bufferStart : (long?)null;
        CheckEntries(header.Entries, bufferLength, sourceName);
        var wanted = include is null ? header.Entries : header.Entries.Where(e => include(e.Name)).ToList();
        var tensors = ReadTensors(stream, bufferStart, wanted, sourceName);
        return new SafeTensorsContent(tensors, header.Metadata);
    }

    // ---- writing ----

    /// <summary>
    /// Wider dtypes first, then by name: every tensor then starts at a multiple of its element size (the header
    /// is padded to 8 bytes), so a reader can map the buffer without copying. The reference writer does the same.
    /// </summary>
    private static List<KeyValuePair<string, Tensor>> StorageOrder(IReadOnlyDictionary<string, Tensor> tensors) =>
        tensors.OrderByDescending(kv => SafeTensorsDType.Of(kv.Value.dtype, kv.Key).Size)
            .ThenBy(kv => kv.Key, StringComparer.Ordinal)
            .ToList();

    private static byte[] HeaderBytes(List<KeyValuePair<string, Tensor>> order, IReadOnlyDictionary<string, string>? metadata)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in order)
            {
                var dtype = SafeTensorsDType.Of(tensor.dtype, name);
                var bytes = tensor.numel() * dtype.Size;
                writer.WriteStartObject(name);
                writer.WriteString("dtype", dtype.Name);
                writer.WriteStartArray("shape");
                foreach (var side in tensor.shape)
                {
                    writer.WriteNumberValue(side);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + bytes);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += bytes;
            }
            writer.WriteEndObject();
        }
        return PadToEight(json.ToArray());
    }

    /// <summary>Trailing spaces are valid JSON whitespace; they align the data buffer to 8 bytes.</summary>
    private static byte[] PadToEight(byte[] header)
    {
        var padded = (header.Length + 7) / 8 * 8;
        if (padded == header.Length)
        {
            return header;
        }
        var result = new byte[padded];
        header.CopyTo(result, 0);
        result.AsSpan(header.Length).Fill((byte)' ');
        return result;
    }

    /// <summary>Copies the tensor's storage in one block; a CPU contiguous copy is made only when needed.</summary>
    private static void WriteTensorBytes(Stream stream, Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var host = tensor.detach().cpu().contiguous();
        if (host.numel() == 0)
        {
            return;
        }
        // Tensor.bytes is a view of native memory; the tensor must outlive the write.
        stream.Write(host.bytes);
        GC.KeepAlive(host);
    }

    // ---- reading ----

    private static long ReadHeaderLength(Stream stream, string source)
    {
        var prefix = ReadExactly(stream, 8, source, null, "the 8-byte header length");
        var length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length == 0 || length > MaxHeaderBytes)
        {
            throw new WeightsFileException(source, null, $"header length {length} is not plausible (expected 1..{MaxHeaderBytes} bytes); not a safetensors file?");
        }
        if (stream.CanSeek && (long)length > stream.Length - stream.Position)
        {
            throw new WeightsFileException(source, null, $"header length {length} runs past the end of the file ({stream.Length} bytes); the file is truncated or not safetensors");
        }
        return (long)length;
    }

    private sealed record Entry(string Name, SafeTensorsDType DType, long[] Shape, long Begin, long End);

    private sealed record Header(List<Entry> Entries, IReadOnlyDictionary<string, string> Metadata);

    private static Header ParseHeader(byte[] bytes, string source)
    {
        JsonDocument document;
        try
        {
            // Decoded strictly first: JsonDocument checks UTF-8 only when a name is read, and then throws InvalidOperationException.
            document = JsonDocument.Parse(StrictUtf8.GetString(bytes));
        }
        catch (DecoderFallbackException e)
        {
            throw new WeightsFileException(source, null, "the header is not valid UTF-8", e);
        }
        catch (JsonException e)
        {
            throw new WeightsFileException(source, null, $"the header is not valid JSON ({e.Message})", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new WeightsFileException(source, null, "the header is not a JSON object");
            }
            var entries = new List<Entry>();
            var names = new HashSet<string>();
            IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    metadata = ParseMetadata(property.Value, source);
                }
                else if (!names.Add(property.Name))
                {
                    throw new WeightsFileException(source, property.Name, "the header names this tensor twice");
                }
                else
                {
                    entries.Add(ParseEntry(property.Name, property.Value, source));
                }
            }
            return new Header(entries, metadata);
        }
    }

    private static Dictionary<string, string> ParseMetadata(JsonElement element, string source)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsFileException(source, null, $"\"{MetadataKey}\" must be an object of strings");
        }
        var metadata = new Dictionary<string, string>();
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw new WeightsFileException(source, null, $"\"{MetadataKey}\" entry '{item.Name}' is not a string");
            }
            metadata[item.Name] = item.Value.GetString()!;
        }
        return metadata;
    }

    private static Entry ParseEntry(string name, JsonElement element, string source)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new WeightsFileException(source, name, "the header entry is not an object");
        }
        var dtypeName = RequireProperty(element, "dtype", JsonValueKind.String, name, source).GetString()!;
        var dtype = SafeTensorsDType.Parse(dtypeName, source, name);
        var shape = ReadLongs(RequireProperty(element, "shape", JsonValueKind.Array, name, source), "shape", name, source);
        var offsets = ReadLongs(RequireProperty(element, "data_offsets", JsonValueKind.Array, name, source), "data_offsets", name, source);
        if (offsets.Length != 2)
        {
            throw new WeightsFileException(source, name, $"data_offsets has {offsets.Length} numbers, expected 2");
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static JsonElement RequireProperty(JsonElement entry, string property, JsonValueKind kind, string name, string source)
    {
        if (!entry.TryGetProperty(property, out var value) || value.ValueKind != kind)
        {
            throw new WeightsFileException(source, name, $"the header entry lacks \"{property}\" (a JSON {kind.ToString().ToLowerInvariant()})");
        }
        return value;
    }

    private static long[] ReadLongs(JsonElement array, string property, string name, string source)
    {
        var values = new long[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var value) || value < 0)
            {
                throw new WeightsFileException(source, name, $"{property} holds {item.GetRawText()}, expected non-negative integers");
            }
            values[i++] = value;
        }
        return values;
    }

    /// <summary>Every range inside the buffer and exactly as long as its shape and dtype say.</summary>
    private static void CheckEntries(List<Entry> entries, long? bufferLength, string source)
    {
        foreach (var entry in entries)
        {
            if (entry.End < entry.Begin)
            {
                throw new WeightsFileException(source, entry.Name, $"data_offsets [{entry.Begin}, {entry.End}] end before they begin");
            }
            if (bufferLength is { } length && entry.End > length)
            {
                throw new WeightsFileException(source, entry.Name, $"data_offsets [{entry.Begin}, {entry.End}] run past the data buffer ({length} bytes); the file is truncated or corrupt");
            }
            var expected = ExpectedBytes(entry, source);
            if (entry.End - entry.Begin != expected)
            {
                throw new WeightsFileException(source, entry.Name,
                    $"data_offsets [{entry.Begin}, {entry.End}] hold {entry.End - entry.Begin} bytes, but shape [{string.Join(", ", entry.Shape)}] of {entry.DType.Name} needs {expected}");
            }
        }
    }

    private static long ExpectedBytes(Entry entry, string source)
    {
        try
        {
            return checked(entry.Shape.Aggregate(1L, (product, side) => product * side) * entry.DType.Size);
        }
        catch (OverflowException e)
        {
            throw new WeightsFileException(source, entry.Name, $"shape [{string.Join(", ", entry.Shape)}] is too large", e);
        }
    }

    /// <summary>Reads in buffer order, so a forward-only stream works too; gaps between ranges are skipped.</summary>
    private static Dictionary<string, Tensor> ReadTensors(Stream stream, long bufferStart, List<Entry> entries, string source)
    {
        var tensors = new Dictionary<string, Tensor>(entries.Count);
        try
        {
            long position = 0;
            foreach (var entry in entries.OrderBy(e => e.Begin))
            {
                position = MoveTo(stream, bufferStart, position, entry.Begin, source, entry.Name);
                tensors[entry.Name] = ReadTensor(stream, entry, source);
                position = entry.End;
            }
            return tensors;
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

    private static long MoveTo(Stream stream, long bufferStart, long position, long begin, string source, string name)
    {
        if (begin == position)
        {
            return position;
        }
        if (stream.CanSeek)
        {
            stream.Position = bufferStart + begin;
            return begin;
        }
        if (begin < position)
        {
            // Overlapping ranges on a forward-only stream: the spec forbids overlaps anyway.
            throw new WeightsFileException(source, name, "data_offsets overlap an earlier tensor");
        }
        ReadExactly(stream, checked((int)(begin - position)), source, name, "the gap before the tensor");
        return begin;
    }

    /// <summary>Reads straight into the new tensor's storage: no managed copy of the data is made.</summary>
    private static Tensor ReadTensor(Stream stream, Entry entry, string source)
    {
        var tensor = torch.empty(entry.Shape, entry.DType.TorchType, device: torch.CPU).DetachFromDisposeScope();
        try
        {
            if (entry.End > entry.Begin)
            {
                var target = tensor.bytes;
                FillExactly(stream, target, source, entry.Name);
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

    private static byte[] ReadExactly(Stream stream, int count, string source, string? tensor, string what)
    {
        var buffer = new byte[count];
        FillExactly(stream, buffer, source, tensor, what);
        return buffer;
    }

    private static void FillExactly(Stream stream, Span<byte> target, string source, string? tensor, string what = "the tensor data")
    {
        try
        {
            stream.ReadExactly(target);
        }
        catch (EndOfStreamException e)
        {
            throw new WeightsFileException(source, tensor, $"the file ends inside {what}; it is truncated", e);
        }
    }

    private static void RequireLittleEndianHost()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("safetensors data is little-endian; this reader copies bytes as they are and needs a little-endian machine");
        }
    }
}

/// <summary>What a safetensors file holds. Owns its tensors: disposing it disposes them.</summary>
public sealed class SafeTensorsContent : IDisposable
{
    internal SafeTensorsContent(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The tensors by name, on the CPU, in their stored dtype, outside any dispose scope.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The "__metadata__" map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public void Dispose()
    {
        foreach (var tensor in Tensors.Values)
        {
            tensor.Dispose();
        }
    }
}

/// <summary>A safetensors dtype name with its TorchSharp type and byte size.</summary>
internal sealed record SafeTensorsDType(string Name, ScalarType TorchType, int Size)
{
    private static readonly SafeTensorsDType[] All =
    [
        new("F64", ScalarType.Float64, 8),
        new("F32", ScalarType.Float32, 4),
        new("F16", ScalarType.Float16, 2),
        new("BF16", ScalarType.BFloat16, 2),
        new("I64", ScalarType.Int64, 8),
        new("I32", ScalarType.Int32, 4),
        new("I16", ScalarType.Int16, 2),
        new("I8", ScalarType.Int8, 1),
        new("U8", ScalarType.Byte, 1),
        new("BOOL", ScalarType.Bool, 1),
    ];

    public static SafeTensorsDType Parse(string name, string source, string tensor) =>
        All.FirstOrDefault(d => d.Name == name)
        ?? throw new WeightsFileException(source, tensor, $"dtype \"{name}\" is not supported (supported: {string.Join(", ", All.Select(d => d.Name))})");

    public static SafeTensorsDType Of(ScalarType type, string tensor) =>
        All.FirstOrDefault(d => d.TorchType == type)
        ?? throw new ArgumentException($"tensor '{tensor}': dtype {type} cannot be stored in safetensors by StyleFarm", nameof(type));
}

using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;

namespace StyleFarm.Engine.Onnx;

/// <summary>
/// The parts of an ONNX model (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) that StyleFarm reads weights
/// from: the graph's nodes, initializers, inputs and outputs. There is no generated ONNX class in the build, so the
/// protobuf wire format is walked by hand; fields we do not need are skipped, so newer files still read.
/// </summary>
public sealed class OnnxModel
{
    private OnnxModel(string source, string producer, IReadOnlyList<OnnxNode> nodes, IReadOnlyDictionary<string, OnnxTensor> initializers,
        IReadOnlyList<OnnxValueInfo> inputs, IReadOnlyList<OnnxValueInfo> outputs)
    {
        Source = source;
        Producer = producer;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>The file (or name) the model was read from; every error about it starts with this.</summary>
    public string Source { get; }

    /// <summary>ModelProto.producer_name, e.g. "CNTK".</summary>
    public string Producer { get; }

    /// <summary>The graph's nodes in file order, which ONNX requires to be topological.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>Constant tensors (weights) by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }

    /// <summary>Declared graph inputs; older IR versions list the initializers here too.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Reads an ONNX file; a missing file or one that is not an ONNX model gives an error naming it.</summary>
    public static OnnxModel Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"ONNX model not found: {path}", path, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{path}: cannot read the ONNX model ({e.Message})", e);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses ONNX model bytes; <paramref name="source"/> names them in errors.</summary>
    public static OnnxModel Parse(byte[] bytes, string source)
    {
        try
        {
            return ParseModel(new Wire(bytes), source);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or MalformedWireException)
        {
            throw Corrupt(source, $"the protobuf data is malformed ({e.Message}); the file is truncated or not ONNX", e);
        }
    }

    /// <summary>
    /// Returns a copy of the model bytes whose graph also outputs the named float tensors, so a runtime can be asked
    /// for intermediate values. Everything else is kept byte for byte; the new ValueInfoProto entries are appended to
    /// the graph (protobuf merges repeated fields in any order) and the graph field is re-emitted with its new length.
    /// </summary>
    public static byte[] WithExtraGraphOutputs(byte[] model, IEnumerable<string> tensorNames)
    {
        var extra = EncodeFloatOutputs(tensorNames);
        using var result = new MemoryStream(model.Length + extra.Length + 16);
        var wire = new Wire(model);
        var sawGraph = false;
        while (wire.Next())
        {
            if (wire.Field == ModelField.Graph && wire.IsBytes)
            {
                var graph = wire.Payload();
                WriteLengthDelimitedHeader(result, ModelField.Graph, graph.Count + extra.Length);
                result.Write(graph);
                result.Write(extra);
                sawGraph = true;
            }
            else
            {
                result.Write(wire.WholeField());
            }
        }
        if (!sawGraph)
        {
            throw new InvalidDataException("the ONNX model has no graph to add outputs to");
        }
        return result.ToArray();
    }

    public override string ToString() => $"{Source}: {Producer} model, {Nodes.Count} nodes, {Initializers.Count} initializers";

    // ---- ModelProto / GraphProto ----

    private static class ModelField
    {
        public const int ProducerName = 2;
        public const int Graph = 7;
    }

    private static class GraphField
    {
        public const int Node = 1;
        public const int Initializer = 5;
        public const int Input = 11;
        public const int Output = 12;
    }

    private static OnnxModel ParseModel(Wire model, string source)
    {
        var producer = "";
        ArraySegment<byte>? graph = null;
        while (model.Next())
        {
            switch (model.Field)
            {
                case ModelField.ProducerName when model.IsBytes: producer = model.String(); break;
                case ModelField.Graph when model.IsBytes: graph = model.Payload(); break;
                default: model.Skip(); break;
            }
        }
        if (graph is null)
        {
            throw Corrupt(source, "it has no graph (ModelProto field 7); the file is not an ONNX model");
        }
        return ParseGraph(new Wire(graph.Value), source, producer);
    }

    private static OnnxModel ParseGraph(Wire graph, string source, string producer)
    {
        var nodes = new List<OnnxNode>();
        var initializers = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        while (graph.Next())
        {
            switch (graph.Field)
            {
                case GraphField.Node when graph.IsBytes:
                    nodes.Add(ParseNode(graph.Message(), source));
                    break;
                case GraphField.Initializer when graph.IsBytes:
                    var tensor = ParseTensor(graph.Message(), source);
                    if (!initializers.TryAdd(tensor.Name, tensor))
                    {
                        throw Corrupt(source, $"initializer '{tensor.Name}' appears twice");
                    }
                    break;
                case GraphField.Input when graph.IsBytes:
                    inputs.Add(ParseValueInfo(graph.Message()));
                    break;
                case GraphField.Output when graph.IsBytes:
                    outputs.Add(ParseValueInfo(graph.Message()));
                    break;
                default:
                    graph.Skip();
                    break;
            }
        }
        if (nodes.Count == 0)
        {
            throw Corrupt(source, "its graph has no nodes");
        }
        return new OnnxModel(source, producer, nodes, initializers, inputs, outputs);
    }

    // ---- NodeProto / AttributeProto ----

    private static OnnxNode ParseNode(Wire node, string source)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, OnnxAttribute>(StringComparer.Ordinal);
        string name = "", opType = "";
        while (node.Next())
        {
            switch (node.Field)
            {
                case 1 when node.IsBytes: inputs.Add(node.String()); break;
                case 2 when node.IsBytes: outputs.Add(node.String()); break;
                case 3 when node.IsBytes: name = node.String(); break;
                case 4 when node.IsBytes: opType = node.String(); break;
                case 5 when node.IsBytes:
                    var attribute = ParseAttribute(node.Message(), source);
                    attributes[attribute.Name] = attribute;
                    break;
                default: node.Skip(); break;
            }
        }
        if (opType.Length == 0)
        {
            throw Corrupt(source, $"node '{name}' has no op_type");
        }
        return new OnnxNode(name, opType, inputs, outputs, attributes);
    }

    private static OnnxAttribute ParseAttribute(Wire attribute, string source)
    {
        string name = "";
        var type = OnnxAttributeType.Undefined;
        float? f = null;
        long? i = null;
        string? s = null;
        OnnxTensor? t = null;
        var floats = new FloatChunks();
        var ints = new List<long>();
        while (attribute.Next())
        {
            switch (attribute.Field)
            {
                case 1 when attribute.IsBytes: name = attribute.String(); break;
                case 2 when attribute.Type == WireFormat.WireType.Fixed32: f = attribute.Input.ReadFloat(); break;
                case 3 when attribute.Type == WireFormat.WireType.Varint: i = attribute.Input.ReadInt64(); break;
                case 4 when attribute.IsBytes: s = Encoding.UTF8.GetString(attribute.Payload()); break;
                case 5 when attribute.IsBytes: t = ParseTensor(attribute.Message(), source); break;
                case 7: floats.Read(attribute); break;
                case 8: ReadInt64s(attribute, ints); break;
                case 20 when attribute.Type == WireFormat.WireType.Varint: type = (OnnxAttributeType)attribute.Input.ReadEnum(); break;
                default: attribute.Skip(); break;
            }
        }
        return new OnnxAttribute(name, type, f, i, s, t, floats.ToArray(), ints.ToArray());
    }

    // ---- TensorProto ----

    private const int FloatType = 1;
    private const int Int64Type = 7;

    private static OnnxTensor ParseTensor(Wire tensor, string source)
    {
        var dims = new List<long>();
        var dataType = 0;
        var name = "";
        var floats = new FloatChunks();
        var int64s = new List<long>();
        ArraySegment<byte>? raw = null;
        var external = false;
        while (tensor.Next())
        {
            switch (tensor.Field)
            {
                case 1: ReadInt64s(tensor, dims); break;
                case 2 when tensor.Type == WireFormat.WireType.Varint: dataType = tensor.Input.ReadInt32(); break;
                case 4: floats.Read(tensor); break;
                case 7: ReadInt64s(tensor, int64s); break;
                case 8 when tensor.IsBytes: name = tensor.String(); break;
                case 9 when tensor.IsBytes: raw = tensor.Payload(); break;
                case 14 when tensor.Type == WireFormat.WireType.Varint: external = tensor.Input.ReadEnum() == 1; break;
                default: tensor.Skip(); break;
            }
        }
        if (external)
        {
            throw Corrupt(source, $"tensor '{name}' keeps its data in an external file, which StyleFarm does not read");
        }
        var dimArray = dims.ToArray();
        return dataType switch
        {
            FloatType => new OnnxTensor(name, dimArray, dataType, CheckedCount(raw is { } r ? RawToArray<float>(r, name, source) : floats.ToArray(), dimArray, name, source), null),
            Int64Type => new OnnxTensor(name, dimArray, dataType, null, CheckedCount(raw is { } r ? RawToArray<long>(r, name, source) : int64s.ToArray(), dimArray, name, source)),
            _ => new OnnxTensor(name, dimArray, dataType, null, null),
        };
    }

    /// <summary>raw_data is fixed-width little-endian, which is the memory layout of T on every host we run on.</summary>
    private static T[] RawToArray<T>(ArraySegment<byte> raw, string tensor, string source) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this reader needs a little-endian machine");
        }
        if (raw.Count % Marshal.SizeOf<T>() != 0)
        {
            throw Corrupt(source, $"tensor '{tensor}' has {raw.Count} raw bytes, not a whole number of {typeof(T).Name} values");
        }
        return MemoryMarshal.Cast<byte, T>(raw.AsSpan()).ToArray();
    }

    private static T[] CheckedCount<T>(T[] data, long[] dims, string tensor, string source)
    {
        var expected = dims.Aggregate(1L, (product, side) => product * side);
        if (data.Length != expected)
        {
            throw Corrupt(source, $"tensor '{tensor}' has {data.Length} values but its shape [{string.Join(", ", dims)}] needs {expected}");
        }
        return data;
    }

    // ---- ValueInfoProto / TypeProto ----

    private static OnnxValueInfo ParseValueInfo(Wire valueInfo)
    {
        var name = "";
        var elementType = 0;
        long?[]? shape = null;
        while (valueInfo.Next())
        {
            switch (valueInfo.Field)
            {
                case 1 when valueInfo.IsBytes: name = valueInfo.String(); break;
                case 2 when valueInfo.IsBytes: (elementType, shape) = ParseTypeProto(valueInfo.Message()); break;
                default: valueInfo.Skip(); break;
            }
        }
        return new OnnxValueInfo(name, elementType, shape);
    }

    /// <summary>TypeProto.tensor_type (1); other kinds (sequence, map) give (0, null).</summary>
    private static (int ElementType, long?[]? Shape) ParseTypeProto(Wire typeProto)
    {
        var result = (0, (long?[]?)null);
        while (typeProto.Next())
        {
            if (typeProto.Field == 1 && typeProto.IsBytes)
            {
                result = ParseTensorType(typeProto.Message());
            }
            else
            {
                typeProto.Skip();
            }
        }
        return result;
    }

    /// <summary>TypeProto.Tensor: elem_type (1) and shape (2).</summary>
    private static (int ElementType, long?[]? Shape) ParseTensorType(Wire tensorType)
    {
        var elementType = 0;
        long?[]? shape = null;
        while (tensorType.Next())
        {
            switch (tensorType.Field)
            {
                case 1 when tensorType.Type == WireFormat.WireType.Varint: elementType = tensorType.Input.ReadInt32(); break;
                case 2 when tensorType.IsBytes: shape = ParseShape(tensorType.Message()); break;
                default: tensorType.Skip(); break;
            }
        }
        return (elementType, shape);
    }

    /// <summary>TensorShapeProto.dim (1), each a dim_value (1) or a symbolic dim_param (2), which becomes null.</summary>
    private static long?[] ParseShape(Wire shape)
    {
        var dims = new List<long?>();
        while (shape.Next())
        {
            if (shape.Field == 1 && shape.IsBytes)
            {
                dims.Add(ParseDimension(shape.Message()));
            }
            else
            {
                shape.Skip();
            }
        }
        return dims.ToArray();
    }

    private static long? ParseDimension(Wire dimension)
    {
        long? value = null;
        while (dimension.Next())
        {
            if (dimension.Field == 1 && dimension.Type == WireFormat.WireType.Varint)
            {
                value = dimension.Input.ReadInt64();
            }
            else
            {
                dimension.Skip();
            }
        }
        return value;
    }

    // ---- writing ----

    /// <summary>GraphProto.output entries: ValueInfoProto{ name, type: TypeProto{ tensor_type: { elem_type: FLOAT } } }.</summary>
    private static byte[] EncodeFloatOutputs(IEnumerable<string> names)
    {
        using var buffer = new MemoryStream();
        foreach (var name in names)
        {
            var tensorType = Message(o => { o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt32(FloatType); });
            var typeProto = Message(o => { o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(tensorType)); });
            var valueInfo = Message(o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteString(name);
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(typeProto));
            });
            var entry = Message(o => { o.WriteTag(GraphField.Output, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(valueInfo)); });
            buffer.Write(entry);
        }
        return buffer.ToArray();
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
        }
        return buffer.ToArray();
    }

    private static void WriteLengthDelimitedHeader(Stream stream, int field, int length)
    {
        using var output = new CodedOutputStream(stream, leaveOpen: true);
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(length);
    }

    // ---- wire helpers ----

    /// <summary>Repeated int64s may come packed (one length-delimited run of varints) or one varint per tag.</summary>
    private static void ReadInt64s(Wire wire, List<long> into)
    {
        switch (wire.Type)
        {
            case WireFormat.WireType.LengthDelimited:
                var packed = wire.Message();
                while (!packed.Input.IsAtEnd)
                {
                    into.Add(packed.Input.ReadInt64());
                }
                break;
            case WireFormat.WireType.Varint:
                into.Add(wire.Input.ReadInt64());
                break;
            default:
                wire.Skip();
                break;
        }
    }

    /// <summary>
    /// Repeated floats, packed (one length-delimited run of fixed32, the usual case: kept as one array, copied once)
    /// or one fixed32 per tag.
    /// </summary>
    private sealed class FloatChunks
    {
        private readonly List<float[]> _chunks = [];

        public void Read(Wire wire)
        {
            switch (wire.Type)
            {
                case WireFormat.WireType.LengthDelimited:
                    var packed = wire.Payload();
                    if (packed.Count % sizeof(float) != 0)
                    {
                        throw new MalformedWireException($"a packed float field holds {packed.Count} bytes, not a multiple of 4");
                    }
                    _chunks.Add(MemoryMarshal.Cast<byte, float>(packed.AsSpan()).ToArray());
                    break;
                case WireFormat.WireType.Fixed32:
                    _chunks.Add([wire.Input.ReadFloat()]);
                    break;
                default:
                    wire.Skip();
                    break;
            }
        }

        public float[] ToArray() => _chunks.Count == 1 ? _chunks[0] : _chunks.SelectMany(c => c).ToArray();
    }

    /// <summary>
    /// A cursor over one message's bytes. Sub-messages and byte fields are handed out as ranges of the one buffer the
    /// file was read into, so the 60 MB of weights are copied once, into their float arrays, and not at every level.
    /// </summary>
    private sealed class Wire(ArraySegment<byte> bytes)
    {
        private readonly byte[] _buffer = bytes.Array ?? [];

        public Wire(byte[] bytes) : this(new ArraySegment<byte>(bytes))
        {
        }

        public CodedInputStream Input { get; } = new(bytes.Array ?? [], bytes.Offset, bytes.Count);

        private uint _tag;
        private int _fieldStart;

        public int Field => WireFormat.GetTagFieldNumber(_tag);

        public WireFormat.WireType Type => WireFormat.GetTagWireType(_tag);

        public bool IsBytes => Type == WireFormat.WireType.LengthDelimited;

        /// <summary>Moves to the next field; false at the end of the message.</summary>
        public bool Next()
        {
            _fieldStart = (int)Input.Position;
            _tag = Input.ReadTag();
            return _tag != 0;
        }

        public void Skip() => Input.SkipLastField();

        public string String() => Input.ReadString();

        /// <summary>The current length-delimited field's content, as a range of the buffer (Position is absolute).</summary>
        public ArraySegment<byte> Payload()
        {
            var afterTag = (int)Input.Position;
            Input.SkipLastField();
            var end = (int)Input.Position;
            var prefix = new CodedInputStream(_buffer, afterTag, end - afterTag);
            prefix.ReadLength();
            var start = (int)prefix.Position;
            return new ArraySegment<byte>(_buffer, start, end - start);
        }

        public Wire Message() => new(Payload());

        /// <summary>The current field as it is in the file, tag included (after reading nothing but the tag).</summary>
        public ArraySegment<byte> WholeField()
        {
            Input.SkipLastField();
            return new ArraySegment<byte>(_buffer, _fieldStart, (int)Input.Position - _fieldStart);
        }
    }

    /// <summary>A wire-format fault our own checks find; Parse turns it into an error naming the file.</summary>
    private sealed class MalformedWireException(string message) : Exception(message);

    private static InvalidDataException Corrupt(string source, string problem, Exception? inner = null) =>
        new($"{source}: not a usable ONNX model: {problem}", inner);
}

/// <summary>AttributeProto.AttributeType, the values StyleFarm distinguishes.</summary>
public enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
}

/// <summary>One graph node. Inputs and outputs are value names; an empty input name means "omitted".</summary>
public sealed record OnnxNode(
    string Name,
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, OnnxAttribute> Attributes)
{
    /// <summary>The ints attribute, or <paramref name="fallback"/> when the node does not set it.</summary>
    public long[] Ints(string name, long[] fallback) => Attributes.TryGetValue(name, out var a) && a.Ints.Length > 0 ? a.Ints : fallback;

    public long Int(string name, long fallback) => Attributes.TryGetValue(name, out var a) && a.I is { } i ? i : fallback;

    public float Float(string name, float fallback) => Attributes.TryGetValue(name, out var a) && a.F is { } f ? f : fallback;

    public string? String(string name) => Attributes.TryGetValue(name, out var a) ? a.S : null;

    /// <summary>"Conv 'Convolution249' (Input247 → Convolution249_Output_0)", for error messages.</summary>
    public string Describe() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)} → {string.Join(", ", Outputs)})";
}

/// <summary>A node attribute; exactly one of the value fields is meaningful, as <see cref="Type"/> says.</summary>
public sealed record OnnxAttribute(
    string Name,
    OnnxAttributeType Type,
    float? F,
    long? I,
    string? S,
    OnnxTensor? T,
    float[] Floats,
    long[] Ints);

/// <summary>A constant tensor. Float and int64 data are decoded; other element types keep only their shape.</summary>
public sealed class OnnxTensor(string name, long[] dims, int dataType, float[]? floats, long[]? int64s)
{
    public string Name { get; } = name;

    public long[] Dims { get; } = dims;

    /// <summary>TensorProto.DataType: 1 float, 7 int64, …</summary>
    public int DataType { get; } = dataType;

    public long ElementCount => Dims.Aggregate(1L, (product, side) => product * side);

    /// <summary>The values in row-major order; only for float tensors.</summary>
    public float[] FloatData => floats ?? throw new InvalidOperationException($"tensor '{Name}' holds ONNX data type {DataType}, not float");

    /// <summary>The values in row-major order; only for int64 tensors.</summary>
    public long[] Int64Data => int64s ?? throw new InvalidOperationException($"tensor '{Name}' holds ONNX data type {DataType}, not int64");

    public override string ToString() => $"{Name} [{string.Join(", ", Dims)}] (type {DataType})";
}

/// <summary>A declared graph input or output: its element type (TensorProto.DataType) and shape, null where symbolic.</summary>
public sealed record OnnxValueInfo(string Name, int ElementType, IReadOnlyList<long?>? Shape);

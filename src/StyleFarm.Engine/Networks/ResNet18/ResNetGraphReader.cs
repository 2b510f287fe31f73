using StyleFarm.Engine.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Networks.ResNet18;

/// <summary>
/// Walks a ResNet ONNX graph (stem conv → BN → ReLU → max pool, then residual blocks of Conv/BatchNormalization/Relu
/// with an Add) from its input, and returns the layout with every batch normalisation folded into its convolution.
/// Strides and pads come from the node attributes. Anything that does not fit that pattern is an error naming the
/// node, rather than a network that silently computes something else.
/// </summary>
internal sealed class ResNetGraphReader
{
    /// <summary>What ONNX BatchNormalization assumes when the attribute is absent.</summary>
    private const float DefaultEpsilon = 1e-5f;

    private readonly OnnxModel _model;
    private readonly Dictionary<string, List<OnnxNode>> _consumers;
    private readonly Dictionary<string, Tensor> _weights = new(StringComparer.Ordinal);

    private ResNetGraphReader(OnnxModel model)
    {
        _model = model;
        _consumers = model.Nodes
            .SelectMany(node => node.Inputs.Distinct().Select(input => (input, node)))
            .GroupBy(pair => pair.input, pair => pair.node, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.ToList(), StringComparer.Ordinal);
    }

    /// <summary>The layout and its folded float32 weights (CPU, outside any dispose scope; the caller owns them).</summary>
    public static (ResNetLayout Layout, Dictionary<string, Tensor> Weights) Read(OnnxModel model)
    {
        var reader = new ResNetGraphReader(model);
        try
        {
            var layout = reader.ReadLayout();
            return (layout, reader._weights);
        }
        catch
        {
            foreach (var tensor in reader._weights.Values)
            {
                tensor.Dispose();
            }
            throw;
        }
    }

    private ResNetLayout ReadLayout()
    {
        var (stem, stemOut) = ReadConvBn(SingleConsumer(GraphInput(), "Conv"), "stem");
        var stemRelu = SingleConsumer(stemOut, "Relu");
        var poolNode = SingleConsumer(stemRelu.Outputs[0], "MaxPool");
        var pool = ReadPool(poolNode);
        var stages = ReadStages(poolNode.Outputs[0]);
        if (stages.Count != 4)
        {
            throw Unexpected($"found {stages.Count} residual stages, expected 4 (layer1 … layer4)");
        }
        return new ResNetLayout(stem, pool, stages);
    }

    /// <summary>The one graph input that is not an initializer (IR 3 lists weights as inputs too).</summary>
    private string GraphInput()
    {
        var inputs = _model.Inputs.Where(i => !_model.Initializers.ContainsKey(i.Name)).ToList();
        return inputs.Count == 1
            ? inputs[0].Name
            : throw Unexpected($"the graph has {inputs.Count} non-constant inputs, expected one image input");
    }

    /// <summary>
    /// Blocks follow each other until the running value feeds no convolution (the classifier's pooling). A block with
    /// a projection shortcut changes resolution or width and so starts a stage; the first stage starts after the pool.
    /// </summary>
    private List<StageSpec> ReadStages(string current)
    {
        var stages = new List<List<BlockSpec>>();
        while (Consumers(current).Any(n => n.OpType == "Conv"))
        {
            if (stages.Count == 0 || IsProjectionBlock(current))
            {
                stages.Add([]);
            }
            var (block, output) = ReadBlock(current, $"layer{stages.Count}.{stages[^1].Count}");
            stages[^1].Add(block);
            current = output;
        }
        return stages.Select((blocks, i) => new StageSpec($"layer{i + 1}", blocks)).ToList();
    }

    private bool IsProjectionBlock(string input) => Consumers(input).Count(n => n.OpType == "Conv") == 2;

    /// <summary>One block: main path conv→BN→ReLU→conv→BN, shortcut either the input or conv→BN, then Add and ReLU.</summary>
    private (BlockSpec Block, string Output) ReadBlock(string input, string key)
    {
        var convs = Consumers(input).Where(n => n.OpType == "Conv").ToList();
        if (convs.Count is not (1 or 2))
        {
            throw Unexpected($"value '{input}' feeds {convs.Count} convolutions; a residual block has one or two");
        }
        // The main path's first conv is followed by a ReLU; a projection shortcut's BN goes straight into the Add.
        var firstNode = convs.Single(c => FollowsWithRelu(c));
        var shortcutNode = convs.SingleOrDefault(c => c != firstNode);

        var (first, firstOut) = ReadConvBn(firstNode, $"{key}.conv1");
        var middle = SingleConsumer(firstOut, "Relu").Outputs[0];
        var (second, secondOut) = ReadConvBn(SingleConsumer(middle, "Conv"), $"{key}.conv2");
        ConvSpec? shortcut = null;
        var shortcutOut = input;
        if (shortcutNode is not null)
        {
            (shortcut, shortcutOut) = ReadConvBn(shortcutNode, $"{key}.shortcut");
        }
        var add = SingleConsumer(secondOut, "Add", "Sum");
        if (!add.Inputs.Order().SequenceEqual(new[] { secondOut, shortcutOut }.Order()))
        {
            throw Unexpected($"{add.Describe()} should add '{secondOut}' and '{shortcutOut}'");
        }
        var output = SingleConsumer(add.Outputs[0], "Relu").Outputs[0];
        return (new BlockSpec(first, second, shortcut), output);
    }

    private bool FollowsWithRelu(OnnxNode conv) =>
        Consumers(conv.Outputs[0]) is [{ OpType: "BatchNormalization" } bn] && Consumers(bn.Outputs[0]) is [{ OpType: "Relu" }];

    // ---- conv + batch norm ----

    /// <summary>Reads a Conv and the BatchNormalization after it, stores the folded weights, returns the BN's output.</summary>
    private (ConvSpec Spec, string Output) ReadConvBn(OnnxNode conv, string key)
    {
        RequirePlainConv(conv);
        var bn = SingleConsumer(conv.Outputs[0], "BatchNormalization");
        if (bn.Inputs.Count < 5)
        {
            throw Unexpected($"{bn.Describe()} has {bn.Inputs.Count} inputs, expected X, scale, bias, mean, var");
        }
        var weight = Initializer(conv.Inputs[1], conv);
        var convBias = conv.Inputs.Count > 2 && conv.Inputs[2].Length > 0 ? Initializer(conv.Inputs[2], conv) : null;
        var (folded, bias) = BatchNormFolding.Fold(weight, convBias,
            scale: Initializer(bn.Inputs[1], bn), shift: Initializer(bn.Inputs[2], bn),
            mean: Initializer(bn.Inputs[3], bn), variance: Initializer(bn.Inputs[4], bn),
            epsilon: bn.Float("epsilon", DefaultEpsilon));
        var spec = new ConvSpec(key, Pair(conv.Ints("strides", [1, 1]), conv, "strides"), Quad(conv.Ints("pads", [0, 0, 0, 0]), conv));
        _weights[spec.WeightName] = folded;
        _weights[spec.BiasName] = bias;
        return (spec, bn.Outputs[0]);
    }

    /// <summary>Grouped, dilated or auto-padded convolutions would need more than this rebuild does.</summary>
    private void RequirePlainConv(OnnxNode conv)
    {
        if (conv.Inputs.Count < 2)
        {
            throw Unexpected($"{conv.Describe()} has no weight input");
        }
        if (conv.Int("group", 1) != 1)
        {
            throw Unexpected($"{conv.Describe()} is grouped");
        }
        if (conv.Ints("dilations", [1, 1]).Any(d => d != 1))
        {
            throw Unexpected($"{conv.Describe()} is dilated");
        }
        RequireExplicitPads(conv);
    }

    private void RequireExplicitPads(OnnxNode node)
    {
        if (node.String("auto_pad") is { } autoPad && autoPad != "NOTSET")
        {
            throw Unexpected($"{node.Describe()} uses auto_pad {autoPad}; only explicit pads are supported");
        }
    }

    private PoolSpec ReadPool(OnnxNode pool)
    {
        RequireExplicitPads(pool);
        if (pool.Int("ceil_mode", 0) != 0 || pool.Ints("dilations", [1, 1]).Any(d => d != 1))
        {
            throw Unexpected($"{pool.Describe()} uses ceil_mode or dilations");
        }
        var kernel = Pair(pool.Ints("kernel_shape", []), pool, "kernel_shape");
        return new PoolSpec(kernel, Pair(pool.Ints("strides", [1, 1]), pool, "strides"), Quad(pool.Ints("pads", [0, 0, 0, 0]), pool));
    }

    // ---- graph helpers ----

    private IReadOnlyList<OnnxNode> Consumers(string value) =>
        _consumers.TryGetValue(value, out var nodes) ? nodes : [];

    private OnnxNode SingleConsumer(string value, params string[] opTypes)
    {
        var consumers = Consumers(value);
        return consumers is [var only] && opTypes.Contains(only.OpType)
            ? only
            : throw Unexpected($"value '{value}' should feed exactly one {string.Join(" or ", opTypes)} node; it feeds [{string.Join(", ", consumers.Select(n => n.Describe()))}]");
    }

    private OnnxTensor Initializer(string name, OnnxNode node) =>
        _model.Initializers.TryGetValue(name, out var tensor) && tensor.DataType == 1
            ? tensor
            : throw Unexpected($"{node.Describe()} reads '{name}', which is not a float initializer");

    private long[] Pair(long[] values, OnnxNode node, string attribute) =>
        values.Length == 2 ? values : throw Unexpected($"{node.Describe()} has {attribute} [{string.Join(", ", values)}], expected two values");

    private long[] Quad(long[] pads, OnnxNode node) =>
        pads.Length == 4 ? pads : throw Unexpected($"{node.Describe()} has pads [{string.Join(", ", pads)}], expected four values");

    private InvalidDataException Unexpected(string problem) =>
        new($"{_model.Source}: not the ResNet graph StyleFarm expects: {problem}");
}

/// <summary>Folds inference-mode batch normalisation into the convolution before it.</summary>
internal static class BatchNormFolding
{
    /// <summary>
    /// BN(conv(x)) = s·(W∗x + c − mean) + shift with s = scale/√(var+ε), which is a conv with weights s·W and bias
    /// s·(c − mean) + shift. Each value is computed in double and rounded once to float32. Plain loops: for 11 M
    /// weights they beat building float64 tensors, which cost more in copies than the arithmetic does.
    /// </summary>
    public static (Tensor Weight, Tensor Bias) Fold(OnnxTensor weight, OnnxTensor? convBias, OnnxTensor scale, OnnxTensor shift,
        OnnxTensor mean, OnnxTensor variance, float epsilon)
    {
        var channels = checked((int)weight.Dims[0]);
        foreach (var perChannel in new[] { scale, shift, mean, variance }.Concat(convBias is null ? [] : [convBias]))
        {
            if (perChannel.ElementCount != channels)
            {
                throw new InvalidDataException($"batch normalisation tensor '{perChannel.Name}' has {perChannel.ElementCount} values for {channels} output channels of '{weight.Name}'");
            }
        }
        var w = weight.FloatData;
        var perOutput = w.Length / channels;
        var foldedWeight = new float[w.Length];
        var foldedBias = new float[channels];
        for (var o = 0; o < channels; o++)
        {
            var s = scale.FloatData[o] / Math.Sqrt(variance.FloatData[o] + (double)epsilon);
            for (var k = o * perOutput; k < (o + 1) * perOutput; k++)
            {
                foldedWeight[k] = (float)(w[k] * s);
            }
            var c = convBias?.FloatData[o] ?? 0.0;
            foldedBias[o] = (float)((c - mean.FloatData[o]) * s + shift.FloatData[o]);
        }
        return (NativeTensor(foldedWeight, weight.Dims), NativeTensor(foldedBias, [channels]));
    }

    /// <summary>A float32 CPU tensor owning a copy of <paramref name="data"/>, outside any dispose scope.</summary>
    private static Tensor NativeTensor(float[] data, long[] dims)
    {
        var tensor = torch.empty(dims, float32).DetachFromDisposeScope();
        data.CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.bytes));
        return tensor;
    }
}

using StyleFarm.Engine.Devices;
using StyleFarm.Engine.Onnx;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace StyleFarm.Engine.Networks.ResNet18;

/// <summary>
/// The pretrained ImageNet ResNet18 that ML.NET ships as an ONNX graph (a CNTK export: stage 4 has three blocks,
/// 22 convolutions, uneven pads), rebuilt in TorchSharp with batch normalisation folded into the convolutions.
/// Layers: <c>stem</c> (the first ReLU) and <c>layer1</c> … <c>layer4</c> (the ReLU that ends each stage).
/// </summary>
public sealed class ResNet18Network : IFeatureNetwork
{
    /// <summary>The environment variable that points at another copy of the ONNX file.</summary>
    public const string OnnxPathVariable = "STYLEFARM_RESNET18_ONNX";

    /// <summary>The package the graph comes from, named in the error when it is missing.</summary>
    public const string SourcePackage = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>
    /// The graph's training means in BGR order. ResNetPreprocess.onnx, which ML.NET runs before the graph, subtracts
    /// a 224×224 mean image whose channel means these are; a constant per channel fits any image size.
    /// </summary>
    public static readonly IReadOnlyList<float> BgrMeans = [103.06f, 115.90f, 123.15f];

    /// <summary>The readable layers in forward order: the first ReLU, then the end of each stage.</summary>
    public static IReadOnlyList<string> LayerNamesInOrder { get; } = ["stem", "layer1", "layer2", "layer3", "layer4"];

    private static readonly string[] Layers = [.. LayerNamesInOrder];

    private readonly ResNetLayout _layout;
    private Dictionary<string, Tensor> _weights;
    private Dictionary<string, Tensor> _nchwWeights = new(StringComparer.Ordinal); // the wide stages' convolutions, on a CPU
    private Tensor _bgrMeans;
    private bool _disposed;

    private ResNet18Network(ResNetLayout layout, Dictionary<string, Tensor> weights, bool loadedFromCache, string? cacheFile)
    {
        _layout = layout;
        _weights = weights.ToDictionary(kv => kv.Key, kv => ChannelsLast.Relayout(kv.Value, torch.CPU), StringComparer.Ordinal);
        foreach (var weight in _weights.Values)
        {
            weight.requires_grad_(false);
        }
        _bgrMeans = torch.tensor(BgrMeans.ToArray(), [1, 3, 1, 1]).DetachFromDisposeScope();
        Device = torch.CPU;
        _nchwWeights = NchwCopiesOfWideStages();
        LoadedFromCache = loadedFromCache;
        CacheFile = cacheFile;
    }

    public string Name => "resnet18";

    public IReadOnlyList<string> LayerNames => Layers;

    /// <summary>Five stride-2 steps: a side that is not a multiple of 32 leaves the shortcut and main paths disagreeing.</summary>
    public int SideMultiple => 32;

    public NetworkDefaults Defaults => DefaultSettings;

    /// <summary>The defaults without loading the network (a sweep resolves its jobs' settings with them).</summary>
    public static NetworkDefaults DefaultSettings { get; } = new(
        ContentLayer: "layer3",
        StyleLayers: Layers.ToDictionary(layer => layer, _ => 1.0),
        LossForm: LossForm.Relative,
        ContentWeight: 1,
        StyleWeight: 10,
        // Smooths the rainbow noise that ImageNet features leave in flat areas (seen at 256 px on Tübingen × Starry Night).
        TvWeight: 10,
        LearningRate: 0.03,
        Steps: 300);

    public Device Device { get; private set; }

    /// <summary>
    /// On a CPU a stage of 512 channels whose output has from <see cref="NchwDeepStageMinPositions"/> to this many
    /// positions per image (rows × columns; per image, so that a batch takes each of its images' path) runs in NCHW.
    /// There oneDNN's channels-last kernels lose to plain NCHW (measured on 2 AVX2 cores, forward and input gradient:
    /// at 13×9, 13.5 against 12 ms; at 8×6, 9 against 6 ms; at 4×4, 4 against 3 ms), while from about 16×16 on they
    /// win, as they do at every size in the narrower stages. Tests set 0 to run every stage channels-last.
    /// </summary>
    internal long NchwDeepStageMaxPositions { get; set; } = 256;

    /// <summary>
    /// Below this many positions the NCHW kernels fall off a cliff and channels-last wins by far (measured as above: at
    /// 3×3, 5 against 13.5 ms; at 2×3, 3 against 10.5 ms; at 3×4, even): a 64 px image's last stage is 2×2.
    /// </summary>
    private const long NchwDeepStageMinPositions = 12;

    public ScalarType DType => ScalarType.Float32;

    /// <summary>True when the weights came from the cache file rather than from the ONNX graph.</summary>
    public bool LoadedFromCache { get; }

    /// <summary>The cache file read or written; null when no cache could be written.</summary>
    public string? CacheFile { get; }

    /// <summary>
    /// Loads the pretrained network: from the weight cache when it holds this ONNX file's conversion, else by reading
    /// the graph (about half a second) and writing the cache. <paramref name="onnxPath"/> defaults to
    /// $STYLEFARM_RESNET18_ONNX, else models/ResNet18.onnx beside the application; <paramref name="cacheDirectory"/>
    /// to $STYLEFARM_CACHE, else $XDG_CACHE_HOME/stylefarm, else ~/.cache/stylefarm.
    /// </summary>
    public static ResNet18Network LoadPretrained(Device? device = null, string? onnxPath = null, string? cacheDirectory = null)
    {
        var path = onnxPath ?? DefaultOnnxPath();
        RequireOnnxFile(path, onnxPath is not null);
        var cacheFile = ResNetWeightCache.FileFor(cacheDirectory ?? ResNetWeightCache.DefaultDirectory(), path);
        var network = FromCache(cacheFile) ?? FromOnnx(path, cacheFile);
        if (device is not null)
        {
            network.MoveTo(device);
        }
        return network;
    }

    /// <summary>$STYLEFARM_RESNET18_ONNX, else models/ResNet18.onnx in the application's folder.</summary>
    public static string DefaultOnnxPath() =>
        Environment.GetEnvironmentVariable(OnnxPathVariable) is { Length: > 0 } configured
            ? configured
            : Path.Combine(AppContext.BaseDirectory, "models", "ResNet18.onnx");

    private static void RequireOnnxFile(string path, bool given)
    {
        if (File.Exists(path))
        {
            return;
        }
        var why = given ? "the path given" : Environment.GetEnvironmentVariable(OnnxPathVariable) is { Length: > 0 } ? $"${OnnxPathVariable}" : "the default location";
        throw new FileNotFoundException(
            $"The pretrained ResNet18 graph is missing: looked for '{path}' ({why}). It comes from the NuGet package {SourcePackage}, " +
            $"which the StyleFarm.Engine build restores and copies to <output>/models/ResNet18.onnx; rebuild (with access to the package feed), " +
            $"or set {OnnxPathVariable} to the ResNet18.onnx inside that package (tools/DnnImageModels/ResNet18Onnx/).",
            path);
    }

    private static ResNet18Network? FromCache(string cacheFile) =>
        ResNetWeightCache.TryLoad(cacheFile) is { } cached ? new ResNet18Network(cached.Layout, cached.Weights, loadedFromCache: true, cacheFile) : null;

    private static ResNet18Network FromOnnx(string onnxPath, string cacheFile)
    {
        var (layout, weights) = ResNetGraphReader.Read(OnnxModel.Load(onnxPath));
        var saved = ResNetWeightCache.TrySave(cacheFile, layout, weights, onnxPath);
        return new ResNet18Network(layout, weights, loadedFromCache: false, saved ? cacheFile : null);
    }

    // ---- forward ----

    /// <summary>
    /// Features at <paramref name="layers"/> of an RGB [0,1] batch [N,3,H,W], H and W multiples of 32. The caller owns
    /// the returned tensors; everything computed on the way is freed, while autograd keeps what backward needs.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> Extract(Tensor rgb01, IReadOnlyCollection<string> layers) =>
        Features(rgb01, layers, preprocess: true);

    /// <summary>
    /// Features of an input already in the graph's convention (BGR, 0–255, means subtracted): what the ONNX file
    /// computes from its own input. <see cref="Extract"/> is this after <see cref="Preprocess"/>.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> ExtractPreprocessed(Tensor bgrCentred, IReadOnlyCollection<string> layers) =>
        Features(bgrCentred, layers, preprocess: false);

    /// <summary>
    /// The graph's own input from RGB [0,1]: ×255, channels reversed to BGR, BGR means subtracted (no division).
    /// Differentiable; the caller owns the result.
    /// </summary>
    public Tensor Preprocess(Tensor rgb01)
    {
        ThrowIfDisposed();
        using var scope = torch.NewDisposeScope();
        return rgb01.flip(1).mul(255).sub_(_bgrMeans).MoveToOuterDisposeScope();
    }

    private Dictionary<string, Tensor> Features(Tensor image, IReadOnlyCollection<string> layers, bool preprocess)
    {
        RequireImage(image);
        var depth = DeepestIndex(layers);
        var features = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (depth < 0)
        {
            return features;
        }
        using var scope = torch.NewDisposeScope();
        var input = image.dtype == DType ? image : image.to(DType);
        var graphInput = preprocess ? Preprocess(input) : input;
        var x = Stem(ChannelsLast.PreferredOn(Device) ? ChannelsLast.Of(graphInput) : graphInput);
        Keep(features, layers, Layers[0], x);
        for (var stage = 0; stage < depth; stage++)
        {
            var spec = _layout.Stages[stage];
            var stageInput = stage == 0 ? MaxPool(x, _layout.Pool) : x;
            x = RunsInNchw(spec, stageInput)
                ? Stage(spec, stageInput.contiguous(), _nchwWeights)
                : Stage(spec, stageInput, _weights);
            Keep(features, layers, Layers[stage + 1], x);
        }
        scope.MoveToOuter(features.Values);
        return features;
    }

    private static void Keep(Dictionary<string, Tensor> features, IReadOnlyCollection<string> layers, string name, Tensor value)
    {
        if (layers.Contains(name))
        {
            features[name] = value;
        }
    }

    private Tensor Stem(Tensor input) => Conv(input, _layout.Stem, _weights).relu_();

    private static Tensor Stage(StageSpec stage, Tensor x, Dictionary<string, Tensor> weights) =>
        stage.Blocks.Aggregate(x, (input, block) => Block(input, block, weights));

    /// <summary>relu(conv2(relu(conv1(x))) + shortcut(x)). In-place ops only touch values no backward reads.</summary>
    private static Tensor Block(Tensor x, BlockSpec block, Dictionary<string, Tensor> weights)
    {
        var main = Conv(Conv(x, block.First, weights).relu_(), block.Second, weights);
        var shortcut = block.Shortcut is null ? x : Conv(x, block.Shortcut, weights);
        return main.add_(shortcut).relu_();
    }

    /// <summary>Whether this stage runs on the NCHW copies of its weights (see <see cref="NchwDeepStageMaxPositions"/>).</summary>
    private bool RunsInNchw(StageSpec stage, Tensor input)
    {
        if (!_nchwWeights.ContainsKey(stage.Blocks[0].First.WeightName)) return false;
        var strides = stage.Blocks[0].First.Strides;
        long positions = (input.shape[2] / strides[0]) * (input.shape[3] / strides[1]);
        return positions >= NchwDeepStageMinPositions && positions <= NchwDeepStageMaxPositions;
    }

    /// <summary>On a CPU, NCHW copies of the convolutions of every stage of 512 channels or more; none elsewhere.</summary>
    private Dictionary<string, Tensor> NchwCopiesOfWideStages()
    {
        var copies = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (!ChannelsLast.PreferredOn(Device)) return copies;
        foreach (var stage in _layout.Stages.Where(s => _weights[s.Blocks[0].First.WeightName].shape[0] >= 512))
        {
            foreach (var conv in stage.Blocks.SelectMany(b => new[] { b.First, b.Second, b.Shortcut }).OfType<ConvSpec>())
            {
                copies[conv.WeightName] = _weights[conv.WeightName].contiguous().DetachFromDisposeScope();
                copies[conv.BiasName] = _weights[conv.BiasName];
            }
        }
        return copies;
    }

    /// <summary>
    /// CNTK pads the far side less on stride-2 layers. When the far side's extra padding would never be read (the
    /// last window ends inside the near side's pad, as it does on even sides), the symmetric pad gives the same
    /// output and conv2d pads in place; otherwise zeros are added first, as ONNX's Conv does.
    /// </summary>
    private static Tensor Conv(Tensor x, ConvSpec spec, Dictionary<string, Tensor> weights)
    {
        var weight = weights[spec.WeightName];
        var bias = weights[spec.BiasName];
        if (SymmetricPadding(x, weight.shape[2], weight.shape[3], spec.Strides, spec.Pads) is { } padding)
        {
            return BatchInvariantConv.Conv2d(x, weight, bias, spec.Strides, padding);
        }
        var (top, left, bottom, right) = (spec.Pads[0], spec.Pads[1], spec.Pads[2], spec.Pads[3]);
        return BatchInvariantConv.Conv2d(F.pad(x, [left, right, top, bottom]), weight, bias, spec.Strides);
    }

    /// <summary>ONNX MaxPool ignores padded cells, so an explicit pad value is −∞ rather than zero.</summary>
    private static Tensor MaxPool(Tensor x, PoolSpec pool)
    {
        if (SymmetricPadding(x, pool.Kernel[0], pool.Kernel[1], pool.Strides, pool.Pads) is { } padding)
        {
            return F.max_pool2d(x, pool.Kernel, pool.Strides, padding);
        }
        var (top, left, bottom, right) = (pool.Pads[0], pool.Pads[1], pool.Pads[2], pool.Pads[3]);
        return F.max_pool2d(F.pad(x, [left, right, top, bottom], value: double.NegativeInfinity), pool.Kernel, pool.Strides);
    }

    /// <summary>
    /// The [top, left] padding that, applied to both sides, gives exactly what the ONNX pads (top, left, bottom,
    /// right) give for this input; null when it would not.
    /// </summary>
    private static long[]? SymmetricPadding(Tensor x, long kernelHeight, long kernelWidth, long[] strides, long[] pads)
    {
        static bool SameOutput(long side, long kernel, long stride, long near, long far) =>
            far <= near && (side + 2 * near - kernel) / stride == (side + near + far - kernel) / stride;

        bool rowsMatch = SameOutput(x.shape[2], kernelHeight, strides[0], pads[0], pads[2]);
        bool columnsMatch = SameOutput(x.shape[3], kernelWidth, strides[1], pads[1], pads[3]);
        return rowsMatch && columnsMatch ? [pads[0], pads[1]] : null;
    }

    // ---- checks ----

    private void RequireImage(Tensor image)
    {
        ThrowIfDisposed();
        if (image.dim() != 4 || image.shape[1] != 3)
        {
            throw new ArgumentException($"resnet18 expects an image batch [N,3,H,W]; got [{string.Join(", ", image.shape)}]", nameof(image));
        }
        var (height, width) = (image.shape[2], image.shape[3]);
        if (height % SideMultiple != 0 || width % SideMultiple != 0)
        {
            throw new ArgumentException(
                $"resnet18 needs image sides that are multiples of {SideMultiple} (its shortcut and main paths disagree otherwise); " +
                $"got {width}×{height}. Resize to e.g. {RoundToMultiple(width)}×{RoundToMultiple(height)}.", nameof(image));
        }
        if (image.device.type != Device.type || (Device.type != DeviceType.CPU && image.device.index != Device.index))
        {
            throw new ArgumentException($"resnet18 is on {Device}; got an image on {image.device}. Move one of them.", nameof(image));
        }
    }

    private long RoundToMultiple(long side) => Math.Max(SideMultiple, (side + SideMultiple / 2) / SideMultiple * SideMultiple);

    /// <summary>How many stages the deepest requested layer needs: 0 for the stem alone, −1 for no layer at all.</summary>
    private static int DeepestIndex(IReadOnlyCollection<string> layers)
    {
        var unknown = layers.Where(layer => Array.IndexOf(Layers, layer) < 0).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"resnet18 has no layer {string.Join(", ", unknown.Select(l => $"'{l}'"))}; its layers are {string.Join(", ", Layers)}", nameof(layers));
        }
        return layers.Count == 0 ? -1 : layers.Max(layer => Array.IndexOf(Layers, layer));
    }

    // ---- cost ----

    /// <summary>
    /// 2·Cout·Cin·kh·kw per output position of every convolution (shortcuts included) up to the deepest layer asked
    /// for. Batch norm is folded away; ReLU, pooling, padding and the adds are memory-bound and left out.
    /// </summary>
    public double ForwardFlops(long height, long width, IReadOnlyCollection<string> layers)
    {
        ThrowIfDisposed();
        var depth = DeepestIndex(layers);
        if (depth < 0)
        {
            return 0;
        }
        var (flops, h, w) = ConvCost(_layout.Stem, height, width);
        (h, w) = (PooledSide(h, _layout.Pool, 0), PooledSide(w, _layout.Pool, 1));
        foreach (var block in _layout.Stages.Take(depth).SelectMany(stage => stage.Blocks))
        {
            var first = ConvCost(block.First, h, w);
            var second = ConvCost(block.Second, first.Height, first.Width);
            flops += first.Flops + second.Flops + (block.Shortcut is null ? 0 : ConvCost(block.Shortcut, h, w).Flops);
            (h, w) = (second.Height, second.Width);
        }
        return flops;
    }

    private (double Flops, long Height, long Width) ConvCost(ConvSpec conv, long height, long width)
    {
        var shape = _weights[conv.WeightName].shape; // [Cout, Cin, kh, kw]
        var outHeight = OutputSide(height, conv.Pads[0] + conv.Pads[2], shape[2], conv.Strides[0]);
        var outWidth = OutputSide(width, conv.Pads[1] + conv.Pads[3], shape[3], conv.Strides[1]);
        return (2.0 * shape[0] * shape[1] * shape[2] * shape[3] * outHeight * outWidth, outHeight, outWidth);
    }

    private static long PooledSide(long side, PoolSpec pool, int axis) =>
        OutputSide(side, pool.Pads[axis] + pool.Pads[axis + 2], pool.Kernel[axis], pool.Strides[axis]);

    private static long OutputSide(long side, long pads, long kernel, long stride) => (side + pads - kernel) / stride + 1;

    // ---- device and lifetime ----

    public void MoveTo(Device device)
    {
        ThrowIfDisposed();
        DisposeNchwCopies();
        _weights = _weights.ToDictionary(kv => kv.Key, kv => ChannelsLast.Relayout(ComputeDevice.MoveOwned(kv.Value, device), device), StringComparer.Ordinal);
        _bgrMeans = ComputeDevice.MoveOwned(_bgrMeans, device);
        Device = device;
        _nchwWeights = NchwCopiesOfWideStages();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        DisposeNchwCopies();
        foreach (var weight in _weights.Values)
        {
            weight.Dispose();
        }
        _bgrMeans.Dispose();
    }

    /// <summary>The NCHW weight copies (the biases in the table are the network's own and stay).</summary>
    private void DisposeNchwCopies()
    {
        foreach (var (name, copy) in _nchwWeights)
        {
            if (!ReferenceEquals(copy, _weights[name]))
            {
                copy.Dispose();
            }
        }
        _nchwWeights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
    }
}

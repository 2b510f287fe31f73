using StyleFarm.Engine.Devices;
using System.Text.RegularExpressions;
using StyleFarm.Engine.Weights;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace StyleFarm.Engine.Networks.Vgg19;

/// <summary>How pixels in [0,1] are normalised before the first convolution.</summary>
public enum Vgg19Normalisation
{
    /// <summary>ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), as torchvision and timm VGG19 were trained.</summary>
    ImageNet,
    /// <summary>Mean 0.5 and std 0.5 per channel, as the seed's exercise does.</summary>
    Half,
}

/// <summary>
/// The 16 convolutions of VGG19 in torchvision's layout, run with plain functional calls on weight tensors:
/// conv 3×3 (padding 1) → ReLU, with a 2×2 max pool after conv1_2, conv2_2, conv3_4 and conv4_4. The feature
/// named "convX_Y" is that convolution's output before its ReLU, as in the Udacity exercise the seed follows.
/// Weights come from a torchvision or timm state dict (<c>features.N.weight</c> / <c>.bias</c>); the classifier
/// is never read.
/// </summary>
public sealed class Vgg19Network : IFeatureNetwork
{
    /// <summary>One convolution: its StyleFarm name, its index in torchvision's <c>features</c>, its channels, and whether a pool follows.</summary>
    private sealed record ConvLayer(string Name, int FeatureIndex, int InChannels, int OutChannels, bool PoolAfter)
    {
        public string WeightKey => $"features.{FeatureIndex}.weight";

        public string BiasKey => $"features.{FeatureIndex}.bias";
    }

    private static readonly ConvLayer[] Layers = BuildLayers();

    /// <summary>Convolutions per block and their widths; each block but the last ends in a pool.</summary>
    private static ConvLayer[] BuildLayers()
    {
        (int Convs, int Width)[] blocks = [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)];
        var layers = new List<ConvLayer>();
        var featureIndex = 0;
        var inChannels = 3;
        for (var b = 0; b < blocks.Length; b++)
        {
            for (var c = 0; c < blocks[b].Convs; c++)
            {
                var last = c == blocks[b].Convs - 1;
                var pool = last && b < blocks.Length - 1;
                layers.Add(new ConvLayer($"conv{b + 1}_{c + 1}", featureIndex, inChannels, blocks[b].Width, pool));
                inChannels = blocks[b].Width;
                featureIndex += pool ? 3 : 2; // torchvision's Sequential: conv, relu[, pool]
            }
        }
        return [.. layers];
    }

    /// <summary>The readable layers in forward order: conv1_1 … conv5_4 (each convolution before its ReLU).</summary>
    public static IReadOnlyList<string> LayerNamesInOrder { get; } = Layers.Select(l => l.Name).ToArray();

    private static IReadOnlyList<string> Names => LayerNamesInOrder;

    private static readonly Dictionary<string, int> Depth = Layers.Select((l, i) => (l.Name, i)).ToDictionary(p => p.Name, p => p.i);

    /// <summary>A key in the VGG convolution stack, after any prefix such as "module." or "model.".</summary>
    private static readonly Regex FeatureKey = new(@"^(?<prefix>(?:.*\.)?)features\.(?<index>\d+)\.(?:weight|bias)$", RegexOptions.Compiled);

    /// <summary>The defaults without loading the network (a sweep resolves its jobs' settings with them).</summary>
    public static NetworkDefaults DefaultSettings { get; } = new(
        ContentLayer: "conv4_2",
        StyleLayers: new Dictionary<string, double>
        {
            ["conv1_1"] = 1.0,
            ["conv2_1"] = 0.75,
            ["conv3_1"] = 0.2,
            ["conv4_1"] = 0.2,
            ["conv5_1"] = 0.2,
        },
        LossForm: LossForm.MeanSquared,
        ContentWeight: 1,
        StyleWeight: 1e6,
        TvWeight: 0,
        LearningRate: 0.01,
        Steps: 300);

    private readonly Tensor[] _weights;
    private readonly Tensor[] _biases;
    private readonly Vgg19Normalisation _normalisation;
    private Tensor _mean;
    private Tensor _std;
    private bool _disposed;

    private Vgg19Network(Tensor[] weights, Tensor[] biases, Vgg19Normalisation normalisation, Device device)
    {
        _weights = weights.Select(w => ChannelsLast.Relayout(w, device)).ToArray();
        _biases = biases;
        _normalisation = normalisation;
        Device = device;
        (_mean, _std) = NormalisationTensors(normalisation, device);
    }

    public string Name => "vgg19";

    public IReadOnlyList<string> LayerNames => Names;

    /// <summary>Any side works: the pools floor odd sides, as in torchvision.</summary>
    public int SideMultiple => 1;

    public NetworkDefaults Defaults => DefaultSettings;

    public Device Device { get; private set; }

    public ScalarType DType => ScalarType.Float32;

    public Vgg19Normalisation Normalisation => _normalisation;

    /// <summary>Reads a torchvision or timm VGG19 state dict (.safetensors, .pth, .pt, .bin); only the convolutions are read.</summary>
    public static Vgg19Network Load(string weightsPath, Device? device = null, Vgg19Normalisation normalisation = Vgg19Normalisation.ImageNet)
    {
        using var stateDict = StateDict.Load(weightsPath, include: IsConvolutionKey);
        return FromStateDict(stateDict, weightsPath, device, normalisation);
    }

    /// <summary>
    /// Builds the network from tensors already in memory; <paramref name="sourceName"/> names them in errors. The
    /// network copies what it needs (float32, on <paramref name="device"/>), so the caller still owns the dict.
    /// </summary>
    public static Vgg19Network FromStateDict(
        IReadOnlyDictionary<string, Tensor> stateDict, string sourceName, Device? device = null, Vgg19Normalisation normalisation = Vgg19Normalisation.ImageNet)
    {
        device ??= torch.CPU;
        var prefix = KeyPrefix(stateDict, sourceName);
        var weights = new List<Tensor>();
        var biases = new List<Tensor>();
        try
        {
            foreach (var layer in Layers)
            {
                weights.Add(Take(stateDict, prefix + layer.WeightKey, [layer.OutChannels, layer.InChannels, 3, 3], sourceName, device));
                biases.Add(Take(stateDict, prefix + layer.BiasKey, [layer.OutChannels], sourceName, device));
            }
        }
        catch
        {
            weights.Concat(biases).ToList().ForEach(t => t.Dispose());
            throw;
        }
        return new Vgg19Network([.. weights], [.. biases], normalisation, device);
    }

    /// <summary>
    /// VGG19 with He-initialised random weights: the real shapes without a download. For benchmarks (speed does
    /// not depend on the weights) and tests; it transfers colour but not brush strokes.
    /// </summary>
    public static Vgg19Network WithRandomWeights(long seed = 0, Device? device = null)
    {
        var generator = new torch.Generator((ulong)seed);
        using var scope = torch.NewDisposeScope();
        var stateDict = new Dictionary<string, Tensor>();
        foreach (var layer in Layers)
        {
            double heScale = Math.Sqrt(2.0 / (layer.InChannels * 9));
            stateDict[layer.WeightKey] = torch.randn([layer.OutChannels, layer.InChannels, 3, 3], generator: generator) * heScale;
            stateDict[layer.BiasKey] = torch.zeros(layer.OutChannels);
        }
        return FromStateDict(stateDict, "random VGG19", device);
    }

    /// <summary>Whether a state dict key belongs to the convolution stack (so a loader can skip the classifier).</summary>
    public static bool IsConvolutionKey(string key)
    {
        var match = FeatureKey.Match(key);
        return match.Success
            && int.TryParse(match.Groups["index"].Value, out var index)
            && Layers.Any(l => l.FeatureIndex == index);
    }

    /// <summary>
    /// The prefix in front of "features.0.weight": none for torchvision and timm, "module." from DataParallel,
    /// "model." from many training scripts. With several candidates the shortest wins.
    /// </summary>
    private static string KeyPrefix(IReadOnlyDictionary<string, Tensor> stateDict, string source)
    {
        var prefixes = stateDict.Keys
            .Select(k => FeatureKey.Match(k))
            .Where(m => m.Success && m.Groups["index"].Value == "0" && m.Value.EndsWith(".weight", StringComparison.Ordinal))
            .Select(m => m.Groups["prefix"].Value)
            .OrderBy(p => p.Length)
            .ToList();
        if (prefixes.Count == 0)
        {
            var sample = stateDict.Count > 0 ? $"; its keys include {string.Join(", ", stateDict.Keys.Take(5))}" : "";
            throw new WeightsFileException(source, Layers[0].WeightKey,
                $"missing: no key ends in features.0.weight, so this is not a torchvision/timm VGG19 state dict{sample}");
        }
        return prefixes[0];
    }

    /// <summary>One weight, checked against VGG19's shape, as a float32 copy on the device that never requires grad.</summary>
    private static Tensor Take(IReadOnlyDictionary<string, Tensor> stateDict, string key, long[] shape, string source, Device device)
    {
        if (!stateDict.TryGetValue(key, out var tensor))
        {
            throw new WeightsFileException(source, key, "missing from the state dict (a torchvision/timm VGG19 has 16 convolutions, features.0 … features.34)");
        }
        if (!tensor.shape.SequenceEqual(shape))
        {
            throw new WeightsFileException(source, key, $"shape [{string.Join(", ", tensor.shape)}], expected [{string.Join(", ", shape)}]");
        }
        if (!torch.is_floating_point(tensor))
        {
            throw new WeightsFileException(source, key, $"dtype {tensor.dtype}, expected a floating-point type");
        }
        using var scope = torch.NewDisposeScope();
        var copy = tensor.detach().to(ScalarType.Float32, device, copy: true).contiguous();
        copy.requires_grad = false;
        return copy.DetachFromDisposeScope();
    }

    private static (Tensor Mean, Tensor Std) NormalisationTensors(Vgg19Normalisation normalisation, Device device)
    {
        var (mean, std) = normalisation switch
        {
            Vgg19Normalisation.ImageNet => (new[] { 0.485f, 0.456f, 0.406f }, new[] { 0.229f, 0.224f, 0.225f }),
            Vgg19Normalisation.Half => (new[] { 0.5f, 0.5f, 0.5f }, new[] { 0.5f, 0.5f, 0.5f }),
            _ => throw new ArgumentOutOfRangeException(nameof(normalisation)),
        };
        using var scope = torch.NewDisposeScope();
        return (torch.tensor(mean, [1, 3, 1, 1], device: device).DetachFromDisposeScope(),
                torch.tensor(std, [1, 3, 1, 1], device: device).DetachFromDisposeScope());
    }

    public IReadOnlyDictionary<string, Tensor> Extract(Tensor rgb01, IReadOnlyCollection<string> layers)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckInput(rgb01);
        var wanted = layers.Select(LayerIndex).ToHashSet();
        var features = new Dictionary<string, Tensor>();
        if (wanted.Count == 0)
        {
            return features;
        }
        var deepest = wanted.Max();
        using var scope = torch.NewDisposeScope();
        var x = Normalise(rgb01);
        if (ChannelsLast.PreferredOn(Device)) x = ChannelsLast.Of(x);
        for (var i = 0; i <= deepest; i++)
        {
            var conv = BatchInvariantConv.Conv2d(x, _weights[i], _biases[i], strides: [1, 1], padding: [1, 1]);
            if (wanted.Contains(i))
            {
                features[Layers[i].Name] = conv.MoveToOuterDisposeScope();
            }
            if (i == deepest)
            {
                break;
            }
            // In place saves a full-size allocation per layer; ReLU's backward needs only its output, and the
            // convolution's backward needs its input and weights, never its own output. A returned feature must
            // stay the pre-ReLU value, so it gets a copy.
            x = wanted.Contains(i) ? F.relu(conv) : conv.relu_();
            if (Layers[i].PoolAfter)
            {
                x = F.max_pool2d(x, kernel_size: 2, stride: 2);
            }
        }
        return features;
    }

    private Tensor Normalise(Tensor rgb01)
    {
        var input = rgb01.dtype == DType ? rgb01 : rgb01.to(DType);
        return input.sub(_mean).div_(_std);
    }

    /// <summary>
    /// 2·(Cin·9)·Cout per output position for each convolution up to the deepest layer asked for; the sides halve
    /// (floored) at each pool. ReLU, pooling and the bias are left out: they are memory-bound, not arithmetic.
    /// </summary>
    public double ForwardFlops(long height, long width, IReadOnlyCollection<string> layers)
    {
        if (layers.Count == 0)
        {
            return 0;
        }
        var deepest = layers.Max(LayerIndex);
        double flops = 0;
        for (var i = 0; i <= deepest; i++)
        {
            var layer = Layers[i];
            flops += 2.0 * layer.InChannels * 9 * layer.OutChannels * height * width;
            if (layer.PoolAfter)
            {
                (height, width) = (height / 2, width / 2);
            }
        }
        return flops;
    }

    private int LayerIndex(string layer) => Depth.TryGetValue(layer, out var index)
        ? index
        : throw new ArgumentException($"vgg19 has no layer '{layer}'; its layers are {string.Join(", ", Names)}", nameof(layer));

    private void CheckInput(Tensor rgb01)
    {
        if (rgb01.dim() != 4 || rgb01.shape[1] != 3)
        {
            throw new ArgumentException($"expected an RGB batch [N,3,H,W], got [{string.Join(", ", rgb01.shape)}]", nameof(rgb01));
        }
        if (rgb01.device_type != Device.type || (rgb01.device_type != DeviceType.CPU && rgb01.device_index != Device.index))
        {
            throw new ArgumentException($"the input is on {rgb01.device}, the network on {Device}", nameof(rgb01));
        }
    }

    public void MoveTo(Device device)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var i = 0; i < _weights.Length; i++)
        {
            _weights[i] = ChannelsLast.Relayout(ComputeDevice.MoveOwned(_weights[i], device), device);
            _biases[i] = ComputeDevice.MoveOwned(_biases[i], device);
        }
        _mean = ComputeDevice.MoveOwned(_mean, device);
        _std = ComputeDevice.MoveOwned(_std, device);
        Device = device;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var tensor in _weights.Concat(_biases).Append(_mean).Append(_std))
        {
            tensor.Dispose();
        }
    }
}

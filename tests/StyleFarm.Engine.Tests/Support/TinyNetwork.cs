using StyleFarm.Engine.Networks;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Support;

/// <summary>A three-layer random CNN: fast enough for gradient checks and many-step runs in tests.</summary>
public sealed class TinyNetwork : IFeatureNetwork
{
    private readonly (string Name, Tensor Weight, Tensor Bias, long Stride)[] _convs;

    public TinyNetwork(ScalarType dtype = ScalarType.Float32, long seed = 7)
    {
        DType = dtype;
        var generator = new Generator((ulong)seed);
        (string, Tensor, Tensor, long) Conv(string name, long cin, long cout, long stride) =>
            (name, (randn([cout, cin, 3, 3], generator: generator) * (1.0 / Math.Sqrt(cin * 9))).to(dtype).DetachFromDisposeScope(),
             (randn([cout], generator: generator) * 0.1).to(dtype).DetachFromDisposeScope(), stride);
        _convs = [Conv("conv1", 3, 4, 1), Conv("conv2", 4, 6, 2), Conv("conv3", 6, 8, 1)];
    }

    public string Name => "tiny";
    public IReadOnlyList<string> LayerNames => _convs.Select(c => c.Name).ToArray();
    public int SideMultiple => 1;
    public Device Device { get; private set; } = CPU;
    public ScalarType DType { get; }

    public NetworkDefaults Defaults { get; } = new(
        "conv2", new Dictionary<string, double> { ["conv1"] = 1, ["conv2"] = 1, ["conv3"] = 1 },
        LossForm.Relative, 1, 10, 0, 0.03, 30);

    public IReadOnlyDictionary<string, Tensor> Extract(Tensor rgb01, IReadOnlyCollection<string> layers)
    {
        var features = new Dictionary<string, Tensor>();
        Tensor x = rgb01 - 0.5;
        foreach (var (name, weight, bias, stride) in _convs)
        {
            if (features.Count == layers.Count) break;
            x = nn.functional.conv2d(x, weight, bias, strides: [stride, stride], padding: [1, 1]).relu();
            if (layers.Contains(name)) features[name] = x;
        }
        return features;
    }

    public void MoveTo(Device device) => Device = device;

    public void Dispose()
    {
        foreach (var (_, w, b, _) in _convs) { w.Dispose(); b.Dispose(); }
    }
}

/// <summary>Small generated images for engine tests.</summary>
public static class TestImages
{
    /// <summary>A smooth, deterministic RGB pattern in [0,1], [1,3,H,W].</summary>
    public static Tensor Pattern(int height, int width, double phase, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        var y = linspace(0, 1, height).reshape(1, 1, height, 1);
        var x = linspace(0, 1, width).reshape(1, 1, 1, width);
        var r = (sin((x * 6 + phase) * Math.PI) * cos(y * 4 * Math.PI) + 1) / 2;
        var g = (sin((y * 5 - phase) * Math.PI) + 1) / 2 * (x * 0 + 1);
        var b = ((x + y) / 2 + phase / 10).remainder(1.0);
        return cat([r, g, b], 1).to(dtype).MoveToOuterDisposeScope();
    }
}

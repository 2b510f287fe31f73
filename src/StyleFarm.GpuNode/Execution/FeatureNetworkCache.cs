using StyleFarm.Engine.Networks;
using static TorchSharp.torch;

namespace StyleFarm.GpuNode.Execution;

/// <summary>
/// Loaded feature networks of one device, by name and weights: loading VGG19 reads half a gigabyte, so a device
/// keeps what it has loaded for the next unit. Weights arrive as blobs and are read from a local file.
/// </summary>
public sealed class FeatureNetworkCache(Device device, Func<string, string> weightsFileOfBlob) : IDisposable
{
    private readonly Dictionary<(string Network, string? Weights), IFeatureNetwork> _loaded = [];

    public IFeatureNetwork Get(string network, string? weightsBlob)
    {
        var key = (network.ToLowerInvariant(), weightsBlob);
        if (_loaded.TryGetValue(key, out IFeatureNetwork? cached)) return cached;
        string? weightsPath = weightsBlob is null ? null : weightsFileOfBlob(weightsBlob);
        IFeatureNetwork loaded = FeatureNetworks.Load(key.Item1, weightsPath, device);
        _loaded[key] = loaded;
        return loaded;
    }

    public void Dispose()
    {
        foreach (IFeatureNetwork network in _loaded.Values) network.Dispose();
        _loaded.Clear();
    }
}

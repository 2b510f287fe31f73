using StyleFarm.Engine.Networks;
using static TorchSharp.torch;

namespace StyleFarm.GpuNode.Execution;

/// <summary>
/// Loaded feature networks of one device, by name and weights: loading VGG19 reads half a gigabyte, so a device
/// keeps what it has loaded for the next unit. Weights arrive as blobs and are read from a local file.
/// </summary>
/// <param name="load">How a network is loaded (name, weights file, device); <see cref="FeatureNetworks.Load"/> by default.</param>
public sealed class FeatureNetworkCache(Device device, Func<string, string> weightsFileOfBlob,
    Func<string, string?, Device, IFeatureNetwork>? load = null) : IDisposable
{
    private readonly Func<string, string?, Device, IFeatureNetwork> _load = load ?? FeatureNetworks.Load;
    private readonly Dictionary<(string Network, string? Weights), IFeatureNetwork> _loaded = [];

    public IFeatureNetwork Get(string network, string? weightsBlob)
    {
        var key = (network.ToLowerInvariant(), weightsBlob);
        if (_loaded.TryGetValue(key, out IFeatureNetwork? cached)) return cached;
        string? weightsPath = weightsBlob is null ? null : weightsFileOfBlob(weightsBlob);
        IFeatureNetwork loaded = _load(key.Item1, weightsPath, device);
        _loaded[key] = loaded;
        return loaded;
    }

    public void Dispose()
    {
        foreach (IFeatureNetwork network in _loaded.Values) network.Dispose();
        _loaded.Clear();
    }
}

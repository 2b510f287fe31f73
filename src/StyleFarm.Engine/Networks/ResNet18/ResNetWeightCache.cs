using System.Security.Cryptography;
using StyleFarm.Engine.Weights;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Networks.ResNet18;

/// <summary>
/// The folded weights of a converted ONNX file, kept as safetensors so later processes skip the graph walk. The file
/// name carries a SHA-256 of the ONNX file (about 0.1 s for its 64 MB, measured), so a changed or different graph
/// never meets a stale cache, wherever the file was copied to. The layout travels in the metadata.
/// </summary>
internal static class ResNetWeightCache
{
    /// <summary>Bump when the conversion changes, so caches written by older code are ignored.</summary>
    private const string Format = "stylefarm/resnet18-folded-bn/1";

    private const string FormatKey = "stylefarm.format";
    private const string LayoutKey = "stylefarm.layout";
    private const string SourceKey = "stylefarm.source";

    /// <summary>$STYLEFARM_CACHE, else $XDG_CACHE_HOME/stylefarm, else ~/.cache/stylefarm.</summary>
    public static string DefaultDirectory()
    {
        if (Environment.GetEnvironmentVariable("STYLEFARM_CACHE") is { Length: > 0 } explicitDirectory)
        {
            return explicitDirectory;
        }
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
        return Path.Combine(root, "stylefarm");
    }

    /// <summary>Where the converted weights of <paramref name="onnxPath"/> live in <paramref name="directory"/>.</summary>
    public static string FileFor(string directory, string onnxPath) =>
        Path.Combine(directory, $"resnet18-{Fingerprint(onnxPath)}.safetensors");

    /// <summary>The first 16 bytes of the file's SHA-256, in hex; the conversion format is hashed in too.</summary>
    private static string Fingerprint(string onnxPath)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(Format));
        using (var stream = new FileStream(onnxPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan))
        {
            var buffer = new byte[1 << 20];
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..32];
    }

    /// <summary>
    /// The cached layout and weights, or null when there is no usable cache: missing, unreadable, truncated, from an
    /// older format or missing a tensor. A cache is only ever a shortcut, so nothing about it is worth failing for.
    /// </summary>
    public static (ResNetLayout Layout, Dictionary<string, Tensor> Weights)? TryLoad(string file)
    {
        if (!File.Exists(file))
        {
            return null;
        }
        try
        {
            using var content = SafeTensors.Load(file);
            var layout = LayoutOf(content);
            return layout is not null && HasEveryWeight(layout, content.Tensors) ? (layout, TakeWeights(layout, content.Tensors)) : null;
        }
        catch (Exception e) when (e is WeightsFileException or IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Writes the cache atomically; false (and no file) when the directory cannot be written.</summary>
    public static bool TrySave(string file, ResNetLayout layout, IReadOnlyDictionary<string, Tensor> weights, string onnxPath)
    {
        var metadata = new Dictionary<string, string>
        {
            [FormatKey] = Format,
            [LayoutKey] = layout.ToJson(),
            [SourceKey] = Path.GetFullPath(onnxPath),
        };
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            SafeTensors.Save(file, weights, metadata);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static ResNetLayout? LayoutOf(SafeTensorsContent content) =>
        content.Metadata.TryGetValue(FormatKey, out var format) && format == Format && content.Metadata.TryGetValue(LayoutKey, out var json)
            ? ResNetLayout.FromJson(json)
            : null;

    /// <summary>Every conv has a float32 4-D weight and a bias with one value per output channel.</summary>
    private static bool HasEveryWeight(ResNetLayout layout, IReadOnlyDictionary<string, Tensor> tensors) =>
        layout.Convolutions.All(conv =>
            tensors.TryGetValue(conv.WeightName, out var weight) && tensors.TryGetValue(conv.BiasName, out var bias)
            && weight.dtype == ScalarType.Float32 && bias.dtype == ScalarType.Float32
            && weight.dim() == 4 && bias.dim() == 1 && bias.shape[0] == weight.shape[0]);

    /// <summary>New handles on the loaded storage, so the content can be disposed while the weights live on.</summary>
    private static Dictionary<string, Tensor> TakeWeights(ResNetLayout layout, IReadOnlyDictionary<string, Tensor> tensors) =>
        layout.Convolutions
            .SelectMany(conv => new[] { conv.WeightName, conv.BiasName })
            .ToDictionary(name => name, name => tensors[name].detach().DetachFromDisposeScope(), StringComparer.Ordinal);
}

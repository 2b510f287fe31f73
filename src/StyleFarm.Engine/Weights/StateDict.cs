using System.Collections;
using System.Diagnostics.CodeAnalysis;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Weights;

/// <summary>
/// A network's named weights as read from a file: a read-only name → tensor map that owns its tensors, so one
/// <c>using</c> frees them. The tensors are on the CPU, in the dtype the file stores, outside any dispose scope.
/// </summary>
public sealed class StateDict : IReadOnlyDictionary<string, Tensor>, IDisposable
{
    private readonly IReadOnlyDictionary<string, Tensor> _tensors;

    public StateDict(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file's metadata (safetensors "__metadata__"); empty for PyTorch files.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The extensions <see cref="Load(string, Func{string, bool}?)"/> understands.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".safetensors", ".pth", ".pt", ".bin"];

    /// <summary>
    /// Reads a state dict, choosing the reader by extension: .safetensors, or a torch.save file (.pth, .pt, .bin).
    /// Only tensors whose names pass <paramref name="include"/> are kept (a PyTorch file skips reading the rest).
    /// </summary>
    public static StateDict Load(string path, Func<string, bool>? include = null)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".safetensors" => FromSafeTensors(path, include),
            ".pth" or ".pt" or ".bin" => PthWeights.Load(path, include),
            _ => throw new WeightsFileException(path, null,
                $"unknown weights file extension '{extension}'; expected one of {string.Join(", ", Extensions)}"),
        };
    }

    private static StateDict FromSafeTensors(string path, Func<string, bool>? include)
    {
        // The content's tensors pass to the state dict, which disposes them.
        var content = SafeTensors.Load(path, include);
        return new StateDict(content.Tensors, content.Metadata);
    }

    public Tensor this[string key] => _tensors[key];

    public IEnumerable<string> Keys => _tensors.Keys;

    public IEnumerable<Tensor> Values => _tensors.Values;

    public int Count => _tensors.Count;

    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out Tensor value) => _tensors.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _tensors.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var tensor in _tensors.Values)
        {
            tensor.Dispose();
        }
    }
}

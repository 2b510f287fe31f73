using System.Text.Json;
using System.Text.Json.Serialization;

namespace StyleFarm.Engine.Networks.ResNet18;

/// <summary>
/// The shape of the network as the ONNX graph describes it: which convolutions, with which strides and pads, in which
/// blocks and stages. Weights live beside it, keyed by <see cref="ConvSpec.Key"/>. The layout is stored in the weight
/// cache's metadata, so a cached load rebuilds the network without reading the graph again.
/// </summary>
internal sealed record ResNetLayout(ConvSpec Stem, PoolSpec Pool, IReadOnlyList<StageSpec> Stages)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public IEnumerable<ConvSpec> Convolutions =>
        Stages.SelectMany(s => s.Blocks).SelectMany(b => b.Shortcut is null ? new[] { b.First, b.Second } : new[] { b.First, b.Second, b.Shortcut })
            .Prepend(Stem);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The layout stored in a cache file; null when the text is not one (an old or damaged cache).</summary>
    public static ResNetLayout? FromJson(string json)
    {
        try
        {
            var layout = JsonSerializer.Deserialize<ResNetLayout>(json, Json);
            return layout is { Stem: not null, Pool: not null, Stages.Count: > 0 } && layout.IsComplete() ? layout : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>JSON may omit members; every nested spec must be there before the forward pass trusts it.</summary>
    private bool IsComplete() =>
        Pool.Kernel is { Length: 2 } && Pool.Strides is { Length: 2 } && Pool.Pads is { Length: 4 }
        && Stages.All(s => s is { Name: not null, Blocks.Count: > 0 } && s.Blocks.All(b => b is { First: not null, Second: not null }))
        && Convolutions.All(c => c is { Key: not null, Strides.Length: 2, Pads.Length: 4 });
}

/// <summary>
/// A convolution whose batch normalisation is folded in. <see cref="Pads"/> are in ONNX order: top, left, bottom,
/// right; they are uneven in this graph (CNTK pads the far side less on stride-2 layers).
/// </summary>
internal sealed record ConvSpec(string Key, long[] Strides, long[] Pads)
{
    [JsonIgnore]
    public string WeightName => $"{Key}.weight";

    [JsonIgnore]
    public string BiasName => $"{Key}.bias";
}

/// <summary>Max pooling with ONNX-order pads (top, left, bottom, right); padded cells never win the max.</summary>
internal sealed record PoolSpec(long[] Kernel, long[] Strides, long[] Pads);

/// <summary>A basic residual block: relu(second(relu(first(x))) + shortcut(x)), shortcut the identity when null.</summary>
internal sealed record BlockSpec(ConvSpec First, ConvSpec Second, ConvSpec? Shortcut);

/// <summary>A stage (layer1 … layer4); its output is the ReLU that ends its last block.</summary>
internal sealed record StageSpec(string Name, IReadOnlyList<BlockSpec> Blocks);

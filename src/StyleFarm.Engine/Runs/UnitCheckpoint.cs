using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StyleFarm.Engine.Weights;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Runs;

/// <summary>
/// Everything needed to go on with a unit in another process and get the same result: the images of the
/// variants still running, the optimiser's state, the step reached and the loss traces so far. Stored as a
/// safetensors file whose metadata holds the step, the spec's fingerprint and the traces.
/// </summary>
public sealed class UnitCheckpoint : IDisposable
{
    private const string MetadataKey = "stylefarm.checkpoint";
    private const string ImagesKey = "images";

    public required int Step { get; init; }
    public required string SpecFingerprint { get; init; }
    public required IReadOnlyList<string> ActiveVariants { get; init; }
    /// <summary>[active variants,3,H,W] on the CPU.</summary>
    public required Tensor Images { get; init; }
    public required IReadOnlyDictionary<string, Tensor> OptimizerState { get; init; }
    public required IReadOnlyDictionary<string, LossTrace> Traces { get; init; }

    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        SafeTensors.Save(stream, Tensors(), Metadata());
        return stream.ToArray();
    }

    public void Save(string path) => SafeTensors.Save(path, Tensors(), Metadata());

    public static UnitCheckpoint FromBytes(byte[] bytes, string sourceName = "checkpoint")
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return FromContent(SafeTensors.Load(stream, sourceName), sourceName);
    }

    public static UnitCheckpoint Load(string path) => FromContent(SafeTensors.Load(path), path);

    /// <summary>A stable hash of what a checkpoint may be resumed with: the spec and the image shape.</summary>
    public static string Fingerprint(UnitSpec spec, long[] imageShape)
    {
        string canonical = JsonSerializer.Serialize(new
        {
            spec.ContentLayer,
            spec.StyleLayers,
            LossForm = spec.LossForm.ToString(),
            Optimizer = spec.Optimizer.ToString(),
            Init = spec.Init.ToString(),
            spec.Seed,
            spec.SaveEvery,
            Variants = spec.Variants.Select(v => new
            {
                v.Id, v.ContentWeight, v.StyleWeight, v.TvWeight, v.LearningRate, v.OutputSteps,
                Layers = v.StyleLayerWeights.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray(),
            }),
            Shape = imageShape,
        });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    public void Dispose()
    {
        Images.Dispose();
        foreach (Tensor t in OptimizerState.Values) t.Dispose();
    }

    private Dictionary<string, Tensor> Tensors()
    {
        var tensors = new Dictionary<string, Tensor>(OptimizerState) { [ImagesKey] = Images };
        return tensors;
    }

    private Dictionary<string, string> Metadata() => new()
    {
        [MetadataKey] = JsonSerializer.Serialize(new CheckpointHeader(
            Step, SpecFingerprint, ActiveVariants.ToArray(),
            Traces.ToDictionary(kv => kv.Key, kv => kv.Value.ToCsv()))),
    };

    private static UnitCheckpoint FromContent(SafeTensorsContent content, string source)
    {
        if (!content.Metadata.TryGetValue(MetadataKey, out string? json) || !content.Tensors.ContainsKey(ImagesKey))
        {
            content.Dispose();
            throw new EngineException($"{source}: not a StyleFarm checkpoint");
        }
        CheckpointHeader header = JsonSerializer.Deserialize<CheckpointHeader>(json)
            ?? throw new EngineException($"{source}: empty checkpoint header");
        return new UnitCheckpoint
        {
            Step = header.Step,
            SpecFingerprint = header.Fingerprint,
            ActiveVariants = header.Active,
            Images = content.Tensors[ImagesKey],
            OptimizerState = content.Tensors.Where(kv => kv.Key != ImagesKey).ToDictionary(kv => kv.Key, kv => kv.Value),
            Traces = header.Traces.ToDictionary(kv => kv.Key, kv => LossTrace.FromCsv(kv.Value)),
        };
    }

    private sealed record CheckpointHeader(int Step, string Fingerprint, string[] Active, Dictionary<string, string> Traces);
}

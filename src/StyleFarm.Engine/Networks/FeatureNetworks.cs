using StyleFarm.Engine.Networks.ResNet18;
using StyleFarm.Engine.Networks.Vgg19;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Networks;

/// <summary>Builds a feature network by the name a sweep or the command line uses.</summary>
public static class FeatureNetworks
{
    public const string ResNet18 = "resnet18";
    public const string Vgg19 = "vgg19";
    public static readonly IReadOnlyList<string> Names = [ResNet18, Vgg19];

    /// <summary>A network's defaults by name, without loading it.</summary>
    public static NetworkDefaults DefaultsFor(string name) => name.ToLowerInvariant() switch
    {
        ResNet18 => ResNet18Network.DefaultSettings,
        Vgg19 => Vgg19Network.DefaultSettings,
        _ => throw new EngineException($"unknown network '{name}': expected one of {string.Join(", ", Names)}"),
    };

    /// <summary>The layers a network can read features from, without loading it.</summary>
    public static IReadOnlyList<string> LayersOf(string name) => name.ToLowerInvariant() switch
    {
        ResNet18 => ResNet18Network.LayerNamesInOrder,
        Vgg19 => Vgg19Network.LayerNamesInOrder,
        _ => throw new EngineException($"unknown network '{name}': expected one of {string.Join(", ", Names)}"),
    };

    /// <param name="weightsPath">vgg19: the state dict to load (required); resnet18: an ONNX file other than the packaged one.</param>
    public static IFeatureNetwork Load(string name, string? weightsPath, Device device)
    {
        try
        {
            return Create(name, weightsPath, device);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            // The packaged ONNX graph missing or damaged: say so in the engine's own terms.
            throw new EngineException(e.Message, e);
        }
    }

    private static IFeatureNetwork Create(string name, string? weightsPath, Device device) => name.ToLowerInvariant() switch
    {
        ResNet18 => ResNet18Network.LoadPretrained(device, weightsPath),
        Vgg19 => weightsPath is null
            ? throw new EngineException("vgg19 needs a weights file: a torchvision or timm VGG19 state dict (.safetensors or .pth), given with --weights")
            : Vgg19Network.Load(weightsPath, device),
        _ => throw new EngineException($"unknown network '{name}': expected one of {string.Join(", ", Names)}"),
    };
}

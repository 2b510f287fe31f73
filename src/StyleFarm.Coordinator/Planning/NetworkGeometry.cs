namespace StyleFarm.Coordinator.Planning;

/// <summary>
/// One readable layer of a feature network, as the memory estimate sees it. Sizes are in floats per pixel of the
/// input image (H·W): every downsampling in both networks halves the sides, so a tensor of C channels at 1/s of
/// the input side holds C/s² floats per input pixel whatever the image size.
/// </summary>
/// <param name="Name">The layer's name in sweeps (conv4_2, layer3, …).</param>
/// <param name="FeatureFloats">The layer's output: C/s² floats per input pixel.</param>
/// <param name="Channels">C, for the Gram matrix (C×C) a style layer adds.</param>
/// <param name="SavedFloats">
/// What autograd keeps for backward from the end of the previous layer up to this layer's output: every
/// convolution's output (the ReLUs run in place on it and it is the next convolution's saved input), shortcut
/// convolutions, and max pools' outputs and int64 indices (2 floats each).
/// </param>
/// <param name="CopiedWhenRead">
/// True when reading the layer costs a second tensor: vgg19 returns the convolution's output before its ReLU, so
/// the ReLU can no longer run in place on it; resnet18 returns the ReLU's output itself.
/// </param>
internal sealed record LayerGeometry(string Name, double FeatureFloats, int Channels, double SavedFloats, bool CopiedWhenRead);

/// <summary>
/// The shapes of the two feature networks that the memory estimate needs, written out here so the coordinator can
/// plan without loading a network. They follow Vgg19Network and ResNet18Network's forward passes; a change there
/// (another in-place op, another copy) should be mirrored here.
/// </summary>
/// <param name="FirstConvColumns">
/// The first convolution's input lowered to columns (Cin·k²/stride² floats per pixel): CPU convolutions of three
/// input channels run as im2col + GEMM, forward and backward, over the whole batch. Measured on resnet18 at 512 px
/// batched, it is what a step needs per row beyond the saved activations.
/// </param>
internal sealed record NetworkGeometry(string Name, int SideMultiple, long Parameters, double FirstConvColumns, IReadOnlyList<LayerGeometry> Layers)
{
    // Declared before the geometries built from them: static fields initialise in text order.
    private static readonly (int Convs, int Width)[] Vgg19Blocks = [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)];

    private static readonly (string Name, int Blocks, int Width)[] ResNetStages =
        [("layer1", 2, 64), ("layer2", 2, 128), ("layer3", 2, 256), ("layer4", 3, 512)];

    public static NetworkGeometry Of(string network) => network.ToLowerInvariant() switch
    {
        "vgg19" => Vgg19,
        "resnet18" => ResNet18,
        _ => throw new ArgumentException($"no memory model for network '{network}' (known: vgg19, resnet18)", nameof(network)),
    };

    /// <summary>The layers the forward pass runs through to reach every layer in <paramref name="used"/>.</summary>
    public IReadOnlyList<LayerGeometry> LayersThrough(IEnumerable<string> used)
    {
        int deepest = used.Select(IndexOf).DefaultIfEmpty(-1).Max();
        return Layers.Take(deepest + 1).ToArray();
    }

    public LayerGeometry Layer(string name) => Layers[IndexOf(name)];

    private int IndexOf(string name)
    {
        for (int i = 0; i < Layers.Count; i++)
            if (string.Equals(Layers[i].Name, name, StringComparison.Ordinal)) return i;
        throw new ArgumentException($"{Name} has no layer '{name}' (its layers: {string.Join(", ", Layers.Select(l => l.Name))})", nameof(name));
    }

    /// <summary>
    /// torchvision VGG19's 16 convolutions (3×3, padding 1), a 2×2 max pool after conv1_2, conv2_2, conv3_4 and
    /// conv4_4. One tensor per convolution; a pool adds its output (¼) and its indices (2 × ¼) of its input.
    /// </summary>
    private static readonly NetworkGeometry Vgg19 = new("vgg19", 1, Vgg19Parameters(), FirstConvColumns: 3 * 9, Vgg19Layers());

    private static LayerGeometry[] Vgg19Layers()
    {
        var layers = new List<LayerGeometry>();
        for (int b = 0; b < Vgg19Blocks.Length; b++)
        {
            var (convs, width) = Vgg19Blocks[b];
            double tensor = width / Math.Pow(4, b);
            for (int c = 0; c < convs; c++)
            {
                bool poolAfter = c == convs - 1 && b < Vgg19Blocks.Length - 1;
                layers.Add(new LayerGeometry($"conv{b + 1}_{c + 1}", tensor, width, tensor + (poolAfter ? 0.75 * tensor : 0), CopiedWhenRead: true));
            }
        }
        return [.. layers];
    }

    private static long Vgg19Parameters()
    {
        long parameters = 0, inChannels = 3;
        foreach (var (convs, width) in Vgg19Blocks)
            for (int c = 0; c < convs; c++, inChannels = width)
                parameters += inChannels * 9 * width + width;
        return parameters;
    }

    /// <summary>
    /// The CNTK ResNet18 in ML.NET's package: a 7×7 stride-2 stem, a stride-2 max pool, then stages of 2, 2, 2 and
    /// 3 basic blocks (64, 128, 256, 512 channels at 1/4 … 1/32 of the side). A block keeps two convolution
    /// outputs (the add and the last ReLU run in place on the second), plus its 1×1 shortcut's output when it
    /// downsamples.
    /// </summary>
    private static readonly NetworkGeometry ResNet18 = new("resnet18", 32, ResNet18Parameters(), FirstConvColumns: 3 * 49 / 4.0, ResNet18Layers());

    private static LayerGeometry[] ResNet18Layers()
    {
        double stem = 64 / 4.0;                       // 64 channels at ½ side
        double pooled = 64 / 16.0;                    // 64 channels at ¼ side
        var layers = new List<LayerGeometry> { new("stem", stem, 64, stem, CopiedWhenRead: false) };
        for (int s = 0; s < ResNetStages.Length; s++)
        {
            var (name, blocks, width) = ResNetStages[s];
            double tensor = width / Math.Pow(4, s + 2);
            double saved = 2 * blocks * tensor + (s > 0 ? tensor : 0) + (s == 0 ? 3 * pooled : 0);
            layers.Add(new LayerGeometry(name, tensor, width, saved, CopiedWhenRead: false));
        }
        return [.. layers];
    }

    private static long ResNet18Parameters()
    {
        long parameters = 64 * 3 * 49 + 64, inChannels = 64;
        foreach (var (_, blocks, width) in ResNetStages)
        {
            if (inChannels != width) parameters += inChannels * width + width;   // 1×1 shortcut
            for (int b = 0; b < blocks; b++, inChannels = width)
                parameters += inChannels * 9 * width + width + width * 9 * width + width;
        }
        return parameters;
    }
}

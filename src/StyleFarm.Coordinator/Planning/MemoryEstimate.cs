using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Planning;

/// <summary>
/// How many bytes a work unit needs on a device: a part paid once per unit and a part per variant (row of the
/// batch). Both are float32 element counts × 4, before the safety factor; <see cref="BytesFor"/> applies it.
/// <para>
/// The image is taken as square, S×S with S the job's size rounded up to the network's side multiple: the engine
/// scales the longest side to the size, so a square image is the largest it can be. With P = S² pixels, and the
/// layers "read" being the content layer and the style layers, "used" all layers up to the deepest read one:
/// </para>
/// <code>
/// per variant = P · ( 15                                   image, its gradient, the network's preprocessed copy,
///                                                          the two total-variation differences (3 floats each)
///                   + 12 (Adam) | 75 (L-BFGS)              Adam: m, v and two step temporaries;
///                                                          L-BFGS: 10 (s, y) pairs, previous image and gradient, 3 temporaries
///                   + Σ_used saved activations            what autograd keeps for backward (see LayerGeometry)
///                   + Σ_read copies                        vgg19: a read layer's pre-ReLU copy
///                   + content layer                        the content difference kept for its square's backward
///                   + 2 · widest used layer                gradient in and out of the widest layer during backward
///                   + 2 · first conv columns )             its input lowered to columns (im2col), forward and backward
///             + Σ_style 3·C²                               Gram, its difference to the target, its gradient
/// per unit    = network parameters                         the whole network sits on the device
///             + P · ( 6 + content layer                    content and style images, the content target
///                   + 3 + 2 · widest used layer )          the target pass (no grad): input and two live layers
///             + Σ_style C²                                 style Gram targets
///             + 16 Mi floats                               convolution workspace (oneDNN / cuDNN)
/// bytes(n)    = SafetyFactor · 4 · (per unit + n · per variant)
/// </code>
/// The safety factor (1.5) covers what the count leaves out: the caching allocator's rounding and fragmentation,
/// kernel-chosen workspaces larger than the allowance, and the variants' loss tables and traces.
/// <para>
/// Checked against the engine on CPU (peak RSS growth over a 3-step run, network already loaded): resnet18 512 px,
/// batched, about 200 MB a row measured against 210 MB estimated (133 MB before the im2col term; image by image,
/// the engine's fallback, 101 MB); vgg19 400 px batched, 454 MB a row against 473 MB. Without the safety factor
/// the estimate stayed above every measured peak (parameters included), by 3–40 %. GPUs were not measured: cuDNN
/// chooses its own workspaces, which is what the safety factor is for.
/// </para>
/// </summary>
public sealed record MemoryEstimate(long FixedBytes, long BytesPerVariant, double SafetyFactor = MemoryEstimate.DefaultSafetyFactor)
{
    public const double DefaultSafetyFactor = 1.5;

    private const int BytesPerFloat = 4;
    private const double ImageFloats = 15;
    private const double AdamFloats = 12;
    private const double LbfgsFloats = 75;
    private const double WorkspaceFloats = 16 * 1024 * 1024;

    /// <summary>The estimate for the unit a job belongs to (its network, size, layers and optimizer).</summary>
    public static MemoryEstimate For(JobSettings job) =>
        For(job.Network, job.Size, job.ContentLayer, job.StyleLayers.Select(l => l.Layer), job.Optimizer);

    public static MemoryEstimate For(string network, int size, string contentLayer, IEnumerable<string> styleLayers, string optimizer)
    {
        NetworkGeometry geometry = NetworkGeometry.Of(network);
        string[] style = styleLayers.Distinct().ToArray();
        string[] read = style.Append(contentLayer).Distinct().ToArray();
        IReadOnlyList<LayerGeometry> used = geometry.LayersThrough(read);
        double pixels = Math.Pow(RoundUp(size, geometry.SideMultiple), 2);
        double widest = used.Max(l => l.FeatureFloats);
        double content = geometry.Layer(contentLayer).FeatureFloats;
        double grams = style.Sum(l => Math.Pow(geometry.Layer(l).Channels, 2));

        double perVariant = pixels * (ImageFloats + OptimizerFloats(optimizer)
                                      + used.Sum(l => l.SavedFloats)
                                      + read.Select(geometry.Layer).Where(l => l.CopiedWhenRead).Sum(l => l.FeatureFloats)
                                      + content + 2 * widest + 2 * geometry.FirstConvColumns)
                            + 3 * grams;
        double perUnit = geometry.Parameters + pixels * (6 + content + 3 + 2 * widest) + grams + WorkspaceFloats;
        return new MemoryEstimate(ToBytes(perUnit), ToBytes(perVariant));
    }

    /// <summary>The bytes a unit of <paramref name="variants"/> rows needs, safety factor included.</summary>
    public long BytesFor(int variants) => (long)Math.Ceiling(SafetyFactor * (FixedBytes + (double)variants * BytesPerVariant));

    /// <summary>How many variants fit in <paramref name="freeBytes"/>; 0 when not even one does.</summary>
    public int MaxVariants(long freeBytes)
    {
        double room = freeBytes / SafetyFactor - FixedBytes;
        int n = room <= 0 ? 0 : (int)Math.Min(int.MaxValue - 1, Math.Floor(room / BytesPerVariant));
        // Rounding in the division may be off by one either way; settle on exactly what BytesFor accepts.
        while (n > 0 && BytesFor(n) > freeBytes) n--;
        while (n < int.MaxValue - 1 && BytesFor(n + 1) <= freeBytes) n++;
        return n;
    }

    public static bool IsLbfgs(string optimizer) =>
        string.Equals(optimizer, "lbfgs", StringComparison.OrdinalIgnoreCase) || string.Equals(optimizer, "l-bfgs", StringComparison.OrdinalIgnoreCase);

    private static double OptimizerFloats(string optimizer) => IsLbfgs(optimizer) ? LbfgsFloats : AdamFloats;

    private static int RoundUp(int size, int multiple) => (size + multiple - 1) / multiple * multiple;

    private static long ToBytes(double floats) => (long)Math.Ceiling(floats * BytesPerFloat);
}

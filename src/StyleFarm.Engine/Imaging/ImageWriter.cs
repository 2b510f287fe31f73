using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using Tensor = TorchSharp.torch.Tensor;

namespace StyleFarm.Engine.Imaging;

/// <summary>
/// Writes RGB tensors in [0,1] as 8-bit PNGs. Files are written atomically: the PNG is encoded in memory, written to a
/// temporary file in the target folder, flushed, and renamed over the target, so a reader never sees half a file and
/// a failure leaves neither a partial output nor the temporary file behind.
/// </summary>
public static class ImageWriter
{
    private static readonly PngEncoder Encoder = new()
    {
        ColorType = PngColorType.Rgb,
        BitDepth = PngBitDepth.Bit8,
        CompressionLevel = PngCompressionLevel.DefaultCompression,
    };

    /// <summary>Saves a floating-point [3,H,W] or [1,3,H,W] tensor (any device) as a PNG; values are clamped to [0,1], NaN becomes 0.</summary>
    public static void SavePng(Tensor rgb01, string path) => WriteAtomically(path, EncodePng(rgb01));

    /// <summary>Saves an image as a PNG, atomically.</summary>
    public static void SavePng(Image<Rgb24> image, string path) => WriteAtomically(path, EncodePng(image));

    /// <summary>The PNG bytes of a floating-point [3,H,W] or [1,3,H,W] tensor (any device), clamped to [0,1].</summary>
    public static byte[] EncodePng(Tensor rgb01)
    {
        using Image<Rgb24> image = ToImage(rgb01);
        return EncodePng(image);
    }

    /// <summary>The PNG bytes of an image (8-bit RGB).</summary>
    public static byte[] EncodePng(Image<Rgb24> image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var buffer = new MemoryStream();
        image.Save(buffer, Encoder);
        return buffer.ToArray();
    }

    /// <summary>
    /// Converts a floating-point [3,H,W] or [1,3,H,W] tensor in [0,1] to an 8-bit image: clamp, scale by 255, round
    /// half to even. The tensor is not modified and every intermediate tensor is disposed.
    /// </summary>
    public static Image<Rgb24> ToImage(Tensor rgb01)
    {
        ArgumentNullException.ThrowIfNull(rgb01);
        long[] shape = rgb01.shape;
        bool batched = shape.Length == 4 && shape[0] == 1;
        if (!(shape.Length == 3 || batched) || shape[^3] != 3)
        {
            throw new ArgumentException($"Expected an RGB tensor of shape [3,H,W] or [1,3,H,W], got [{string.Join(",", shape)}].", nameof(rgb01));
        }

        if (!rgb01.is_floating_point())
        {
            throw new ArgumentException($"Expected a floating-point tensor with values in [0,1], got {rgb01.dtype}.", nameof(rgb01));
        }

        int height = checked((int)shape[^2]);
        int width = checked((int)shape[^1]);
        if (height < 1 || width < 1)
        {
            throw new ArgumentException($"Cannot save an empty image [{string.Join(",", shape)}].", nameof(rgb01));
        }

        byte[] pixels;
        using (torch.NewDisposeScope())
        {
            using var noGrad = torch.no_grad();
            Tensor chw = batched ? rgb01.detach()[0] : rgb01.detach();
            Tensor hwc = chw.to(torch.ScalarType.Float32).cpu()
                .nan_to_num(0.0, 1.0, 0.0)
                .clamp(0.0, 1.0)
                .mul(255.0)
                .round()
                .to(torch.ScalarType.Byte)
                .permute(1, 2, 0)
                .contiguous();
            pixels = hwc.data<byte>().ToArray();
        }

        return Image.LoadPixelData<Rgb24>(pixels, width, height);
    }

    private static void WriteAtomically(string path, byte[] bytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string target = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{path}' has no folder.", nameof(path));
        string temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing more can be done; the original failure is what the caller needs to see.
        }
    }
}

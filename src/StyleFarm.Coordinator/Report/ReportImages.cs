using SkiaSharp;

namespace StyleFarm.Coordinator.Report;

/// <summary>Decoding, scaling and encoding the report's pictures, and the font its text is drawn in.</summary>
public static class ReportImages
{
    private static readonly Lazy<SKTypeface> Sans = new(() =>
        SKFontManager.Default.MatchFamily("DejaVu Sans") ?? SKTypeface.FromFamilyName("sans-serif") ?? SKTypeface.Default);

    /// <summary>
    /// A sans-serif face where the machine has one (DejaVu Sans on Debian). Skia's fontconfig-free build finds fonts
    /// under /usr/share/fonts; without any, text is simply not drawn and the pictures are still right.
    /// </summary>
    public static SKTypeface Typeface => Sans.Value;

    /// <summary>
    /// The image scaled so its longest side is <paramref name="longestSide"/> (up or down, aspect kept), as 8-bit RGBA.
    /// Throws <see cref="InvalidDataException"/> for bytes that are not an image.
    /// </summary>
    public static SKBitmap Thumbnail(byte[] encoded, int longestSide)
    {
        using SKCodec codec = SKCodec.Create(new SKMemoryStream(encoded)) ?? throw new InvalidDataException("not a readable image");
        using SKBitmap original = SKBitmap.Decode(codec) ?? throw new InvalidDataException("the image could not be decoded");
        double scale = (double)longestSide / Math.Max(original.Width, original.Height);
        var size = new SKImageInfo(
            Math.Max(1, (int)Math.Round(original.Width * scale)), Math.Max(1, (int)Math.Round(original.Height * scale)),
            SKColorType.Rgba8888, SKAlphaType.Premul);
        return original.Resize(size, new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new InvalidDataException("the image could not be scaled");
    }

    public static byte[] EncodePng(SKSurface surface)
    {
        using SKImage image = surface.Snapshot();
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A JPEG for the page: a tenth the size of a PNG of a stylised image, and good enough for a thumbnail.</summary>
    public static byte[] EncodeJpeg(SKBitmap bitmap, int quality = 85)
    {
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality)
            ?? throw new InvalidOperationException("Skia could not encode a JPEG");
        return data.ToArray();
    }

    public static string DataUri(string mediaType, byte[] bytes) => $"data:{mediaType};base64,{Convert.ToBase64String(bytes)}";
}

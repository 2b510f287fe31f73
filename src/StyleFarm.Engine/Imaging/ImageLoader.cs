using System.Globalization;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors.Transforms;
using TorchSharp;
using Tensor = TorchSharp.torch.Tensor;

namespace StyleFarm.Engine.Imaging;

/// <summary>
/// Reads content and style images into float32 tensors of shape [1,3,H,W], RGB in [0,1], on the CPU.
/// <list type="bullet">
/// <item>The header is read first and an image with more than <c>maxPixels</c> pixels is refused before any pixel is
/// decoded (the count is of the stored image, which EXIF rotation does not change).</item>
/// <item>EXIF orientation is applied, so a portrait photo stays portrait.</item>
/// <item>Any pixel format becomes RGB; transparent pixels are composited onto white.</item>
/// <item>Animated GIF and multi-page TIFF: only the first frame is decoded.</item>
/// <item>Cut-off files are refused (ImageSharp 2.1 would decode them with the missing part filled in).</item>
/// <item>Resampling is bicubic (antialiased when shrinking), in the stored sRGB values, as torchvision does.</item>
/// </list>
/// Every failure caused by the input is an <see cref="ImageInputException"/> naming the file; bad arguments are
/// <see cref="ArgumentException"/>s.
/// </summary>
public static class ImageLoader
{
    /// <summary>The default limit on the stored image's pixel count (about a 7,700 × 5,200 photo).</summary>
    public const long DefaultMaxPixels = 40_000_000;

    private static readonly IResampler Resampler = KnownResamplers.Bicubic;

    /// <summary>Decoders as in the default configuration, except that GIF and TIFF decode only their first frame.</summary>
    private static readonly Configuration Decoding = CreateDecodingConfiguration();

    // ---- content ----

    /// <summary>
    /// Loads a content image, resized so its longest side is <paramref name="longestSide"/>, then each side rounded to
    /// the nearest multiple of <paramref name="sideMultiple"/> (at least one multiple). See <see cref="ContentSize"/>.
    /// </summary>
    public static Tensor LoadContent(string path, int longestSide, int sideMultiple = 1, long maxPixels = DefaultMaxPixels)
    {
        CheckContentArguments(longestSide, sideMultiple, maxPixels);
        return LoadFile(path, maxPixels, (h, w) => ContentSize(h, w, longestSide, sideMultiple));
    }

    /// <inheritdoc cref="LoadContent(string, int, int, long)"/>
    /// <param name="data">The encoded image (PNG, JPEG, ...).</param>
    /// <param name="sourceName">A name for messages, e.g. the original file name or blob hash.</param>
    public static Tensor LoadContent(byte[] data, string sourceName, int longestSide, int sideMultiple = 1, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckContentArguments(longestSide, sideMultiple, maxPixels);
        using var stream = new MemoryStream(data, writable: false);
        return LoadSeekable(stream, sourceName, maxPixels, (h, w) => ContentSize(h, w, longestSide, sideMultiple));
    }

    /// <inheritdoc cref="LoadContent(string, int, int, long)"/>
    /// <param name="stream">The encoded image, read from its current position to its end; it is not closed.</param>
    /// <param name="sourceName">A name for messages, e.g. the original file name or blob hash.</param>
    public static Tensor LoadContent(Stream stream, string sourceName, int longestSide, int sideMultiple = 1, long maxPixels = DefaultMaxPixels)
    {
        CheckContentArguments(longestSide, sideMultiple, maxPixels);
        return LoadStream(stream, sourceName, maxPixels, (h, w) => ContentSize(h, w, longestSide, sideMultiple));
    }

    // ---- style ----

    /// <summary>Loads a style image stretched to exactly <paramref name="height"/> × <paramref name="width"/> (the content's shape).</summary>
    public static Tensor LoadStyle(string path, int height, int width, long maxPixels = DefaultMaxPixels)
    {
        CheckStyleArguments(height, width, maxPixels);
        return LoadFile(path, maxPixels, (_, _) => (height, width));
    }

    /// <inheritdoc cref="LoadStyle(string, int, int, long)"/>
    public static Tensor LoadStyle(byte[] data, string sourceName, int height, int width, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckStyleArguments(height, width, maxPixels);
        using var stream = new MemoryStream(data, writable: false);
        return LoadSeekable(stream, sourceName, maxPixels, (_, _) => (height, width));
    }

    /// <inheritdoc cref="LoadStyle(string, int, int, long)"/>
    public static Tensor LoadStyle(Stream stream, string sourceName, int height, int width, long maxPixels = DefaultMaxPixels)
    {
        CheckStyleArguments(height, width, maxPixels);
        return LoadStream(stream, sourceName, maxPixels, (_, _) => (height, width));
    }

    // ---- sizes and conversion ----

    /// <summary>
    /// The shape a content image of <paramref name="height"/> × <paramref name="width"/> (already oriented) is resized
    /// to: scaled so the longest side is <paramref name="longestSide"/>, then each side rounded to the nearest multiple
    /// of <paramref name="sideMultiple"/> (halves round up), and never below one multiple.
    /// E.g. 480 × 640 at 400, multiple 32 → 288 × 416 (300 → 9.4 multiples → 9; 400 → 12.5 → 13).
    /// </summary>
    public static (int Height, int Width) ContentSize(int height, int width, int longestSide, int sideMultiple = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        CheckContentArguments(longestSide, sideMultiple, long.MaxValue);
        double scale = (double)longestSide / Math.Max(width, height);
        return (RoundToMultiple(height * scale, sideMultiple), RoundToMultiple(width * scale, sideMultiple));
    }

    /// <summary>
    /// Copies an image's pixels into a float32 tensor [1,3,H,W] in [0,1] on the CPU (alpha composited onto white).
    /// Rows are converted in bulk into one array and handed to Torch in a single call.
    /// </summary>
    public static Tensor ToTensor<TPixel>(Image<TPixel> image)
        where TPixel : unmanaged, IPixel<TPixel>
    {
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width, height = image.Height;
        int plane = checked(width * height);
        var data = new float[checked(3 * plane)];
        image.ProcessPixelRows(accessor =>
        {
            var rgba = new Rgba32[width];
            var operations = PixelOperations<TPixel>.Instance;
            for (int y = 0; y < accessor.Height; y++)
            {
                operations.ToRgba32(Configuration.Default, accessor.GetRowSpan(y), rgba);
                int offset = y * width;
                for (int x = 0; x < width; x++)
                {
                    Rgba32 p = rgba[x];
                    // Over white: c·a + 1·(1−a), in exact integers (·255²) and rounded once; opaque gives exactly c/255.
                    int background = 255 * (255 - p.A);
                    data[offset + x] = (p.R * p.A + background) / 65025f;
                    data[plane + offset + x] = (p.G * p.A + background) / 65025f;
                    data[2 * plane + offset + x] = (p.B * p.A + background) / 65025f;
                }
            }
        });
        return torch.tensor(data, [1L, 3L, height, width], dtype: torch.ScalarType.Float32);
    }

    // ---- the pipeline ----

    /// <summary>Computes the target (height, width) from the oriented source (height, width).</summary>
    private delegate (int Height, int Width) TargetSize(int height, int width);

    private static Tensor LoadFile(string path, long maxPixels, TargetSize target)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            throw new ImageInputException(path, ImageInputProblem.NotFound, "is a folder, not an image file.");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageInputException(path, ImageInputProblem.NotFound, "does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ImageInputException(path, ImageInputProblem.Unreadable, $"cannot be opened: {e.Message}", e);
        }

        using (stream)
        {
            return LoadSeekable(stream, path, maxPixels, target);
        }
    }

    private static Tensor LoadStream(Stream stream, string sourceName, long maxPixels, TargetSize target)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream is not readable.", nameof(stream));
        }

        if (stream.CanSeek)
        {
            return LoadSeekable(stream, sourceName, maxPixels, target);
        }

        // The header is read twice (identify, then decode), so a forward-only stream is buffered first.
        using var buffered = new MemoryStream();
        try
        {
            stream.CopyTo(buffered);
        }
        catch (IOException e)
        {
            throw new ImageInputException(sourceName, ImageInputProblem.Unreadable, $"cannot be read: {e.Message}", e);
        }

        buffered.Position = 0;
        return LoadSeekable(buffered, sourceName, maxPixels, target);
    }

    private static Tensor LoadSeekable(Stream stream, string sourceName, long maxPixels, TargetSize target)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        long start = stream.Position;
        long length = stream.Length - start;
        if (length <= 0)
        {
            throw new ImageInputException(sourceName, ImageInputProblem.Empty, "is empty (0 bytes).");
        }

        // 1. The header only.
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(Decoding, stream, out format);
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw new ImageInputException(sourceName, ImageInputProblem.Corrupt, $"is corrupt: its header cannot be read ({e.Message}).", e);
        }

        if (info is null || format is null)
        {
            throw new ImageInputException(
                sourceName, ImageInputProblem.UnsupportedFormat,
                $"is not in a supported image format ({length.ToString("N0", CultureInfo.InvariantCulture)} bytes; " +
                $"supported: {SupportedFormats()}).");
        }

        CheckDeclaredSize(sourceName, format, info.Width, info.Height, maxPixels);

        // The output's pixel count does not depend on orientation (a swap gives the swapped shape).
        (int outHeight, int outWidth) = target(info.Height, info.Width);
        if ((long)outHeight * outWidth > maxPixels)
        {
            throw new ArgumentOutOfRangeException(
                nameof(maxPixels), $"Resizing '{sourceName}' to {outWidth} x {outHeight} would exceed the limit of {maxPixels} pixels.");
        }

        // 2. Is the whole image there?
        string? truncation;
        try
        {
            truncation = ImageIntegrity.FindTruncation(stream, start, length, format);
        }
        catch (IOException e)
        {
            throw new ImageInputException(sourceName, ImageInputProblem.Unreadable, $"cannot be read: {e.Message}", e);
        }

        if (truncation is not null)
        {
            throw new ImageInputException(sourceName, ImageInputProblem.Corrupt, $"{truncation} ({format.Name}, {length.ToString("N0", CultureInfo.InvariantCulture)} bytes).");
        }

        // 3. Decode, orient, resize, convert.
        stream.Position = start;
        Image<Rgba32> image;
        try
        {
            image = Image.Load<Rgba32>(Decoding, stream);
        }
        catch (Exception e) when (IsDecodeFailure(e))
        {
            throw new ImageInputException(sourceName, ImageInputProblem.Corrupt, $"is corrupt: the {format.Name} data cannot be decoded ({e.Message}).", e);
        }

        using (image)
        {
            image.Mutate(x => x.AutoOrient());
            (int height, int width) = target(image.Height, image.Width);
            if (width != image.Width || height != image.Height)
            {
                image.Mutate(x => x.Resize(new ResizeOptions
                {
                    Size = new Size(width, height),
                    Mode = ResizeMode.Stretch,
                    Sampler = Resampler,
                }));
            }

            return ToTensor(image);
        }
    }

    private static void CheckDeclaredSize(string sourceName, IImageFormat format, int width, int height, long maxPixels)
    {
        if (width == 0 || height == 0)
        {
            throw new ImageInputException(sourceName, ImageInputProblem.ZeroSize, $"has zero size ({width} x {height} pixels, {format.Name}).");
        }

        if (width < 0 || height < 0)
        {
            // ImageSharp reads sizes as int; a header beyond int.MaxValue comes out negative.
            throw new ImageInputException(sourceName, ImageInputProblem.Corrupt, $"is corrupt: its {format.Name} header declares an impossible size.");
        }

        long pixels = (long)width * height;
        if (pixels > maxPixels)
        {
            var c = CultureInfo.InvariantCulture;
            throw new ImageInputException(
                sourceName, ImageInputProblem.TooManyPixels,
                $"is too large: {width.ToString(c)} x {height.ToString(c)} = {pixels.ToString("N0", c)} pixels, " +
                $"over the limit of {maxPixels.ToString("N0", c)} pixels. It was not decoded; shrink it first.");
        }
    }

    /// <summary>Decoders throw their own types for bad data, but also ArgumentException, IndexOutOfRange and the like.</summary>
    private static bool IsDecodeFailure(Exception e) =>
        e is not (OutOfMemoryException or OperationCanceledException or StackOverflowException or AccessViolationException);

    private static string SupportedFormats() =>
        string.Join(", ", Decoding.ImageFormats.Select(f => f.Name).Order(StringComparer.Ordinal));

    private static Configuration CreateDecodingConfiguration()
    {
        Configuration configuration = Configuration.Default.Clone();
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    private static int RoundToMultiple(double side, int multiple)
    {
        double multiples = Math.Round(side / multiple, MidpointRounding.AwayFromZero);
        return (int)Math.Max(1, multiples) * multiple;
    }

    private static void CheckContentArguments(int longestSide, int sideMultiple, long maxPixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(longestSide, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sideMultiple, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        // The rounded side is at most longestSide + multiple/2 (or one multiple); keep it in int.
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)longestSide + sideMultiple, 1L << 20, nameof(longestSide));
    }

    private static void CheckStyleArguments(int height, int width, long maxPixels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
    }
}

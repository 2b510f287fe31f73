using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using StyleFarm.Engine.Imaging;
using TorchSharp;
using StyleFarm.Engine.Tests.Support;

namespace StyleFarm.Engine.Tests.Imaging;

public sealed class ImageLoaderTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    private string SavePng(string name, Image image)
    {
        string path = temp.File(name);
        image.SaveAsPng(path);
        return path;
    }

    private string SaveBytes(string name, byte[] bytes)
    {
        string path = temp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static float[] Values(torch.Tensor t) => t.data<float>().ToArray();

    // ---- sizes ----

    [Theory]
    [InlineData(480, 640, 400, 32, 288, 416)] // 300 → 9.4 multiples → 9; 400 → 12.5 → 13
    [InlineData(100, 50, 64, 1, 64, 32)]
    [InlineData(50, 100, 64, 1, 32, 64)]
    [InlineData(1000, 10, 96, 32, 96, 32)] // 0.96 px → at least one multiple
    [InlineData(64, 64, 40, 32, 32, 32)] // 1.25 multiples → 1
    [InlineData(30, 20, 48, 16, 48, 32)]
    [InlineData(3, 7, 70, 1, 30, 70)]
    public void ContentSize_ScalesLongestSideAndRoundsToMultiples(int height, int width, int longest, int multiple, int expectedHeight, int expectedWidth)
    {
        Assert.Equal((expectedHeight, expectedWidth), ImageLoader.ContentSize(height, width, longest, multiple));
    }

    [Fact]
    public void LoadContent_ResizesSoTheLongestSideMatches()
    {
        using Image<Rgb24> landscape = SampleImages.Noise(80, 40, seed: 1);
        string path = SavePng("landscape.png", landscape);

        using torch.Tensor t = ImageLoader.LoadContent(path, longestSide: 64);

        Assert.Equal(new long[] { 1, 3, 32, 64 }, t.shape);
        Assert.Equal(torch.ScalarType.Float32, t.dtype);
        Assert.Equal(DeviceType.CPU, t.device_type);
        Assert.InRange(t.min().item<float>(), 0f, 1f);
        Assert.InRange(t.max().item<float>(), 0f, 1f);
    }

    [Fact]
    public void LoadContent_RoundsBothSidesToTheMultiple()
    {
        using Image<Rgb24> landscape = SampleImages.Noise(80, 40, seed: 2);
        string path = SavePng("landscape.png", landscape);

        // 64 × 32 → multiples of 24: 64/24 = 2.67 → 72, 32/24 = 1.33 → 24.
        using torch.Tensor t = ImageLoader.LoadContent(path, longestSide: 64, sideMultiple: 24);

        Assert.Equal(new long[] { 1, 3, 24, 72 }, t.shape);
    }

    [Fact]
    public void LoadContent_PortraitAndUpscaling()
    {
        using Image<Rgb24> portrait = SampleImages.Noise(20, 40, seed: 3);
        string path = SavePng("portrait.png", portrait);

        using torch.Tensor t = ImageLoader.LoadContent(path, longestSide: 96, sideMultiple: 32);

        Assert.Equal(new long[] { 1, 3, 96, 64 }, t.shape); // 48 → 1.5 multiples → 2
    }

    [Fact]
    public void LoadStyle_StretchesToTheGivenShape()
    {
        using Image<Rgb24> image = SampleImages.Make(80, 40, (x, _) => x < 40 ? new Rgb24(255, 0, 0) : new Rgb24(0, 0, 255));
        string path = SavePng("style.png", image);

        using torch.Tensor t = ImageLoader.LoadStyle(path, height: 48, width: 32);

        Assert.Equal(new long[] { 1, 3, 48, 32 }, t.shape);
        float[] v = Values(t);
        int plane = 48 * 32;
        Assert.Equal(1f, v[(10 * 32) + 2], 2); // left half red: R
        Assert.Equal(1f, v[(2 * plane) + (10 * 32) + 29], 2); // right half blue: B
    }

    // ---- pixel values ----

    [Fact]
    public void LoadContent_KnownColoursRoundTripThroughPng()
    {
        Rgb24[] palette =
        [
            new(255, 0, 0), new(0, 255, 0), new(0, 0, 255), new(255, 255, 255),
            new(0, 0, 0), new(12, 200, 77), new(128, 128, 128), new(1, 254, 100),
        ];
        // Column blocks of 6 px per colour; the bottom half is a horizontal ramp.
        using Image<Rgb24> image = SampleImages.Make(48, 32, (x, y) => y < 16 ? palette[x / 6] : new Rgb24((byte)(x * 5), (byte)(255 - (x * 5)), (byte)(y * 7)));
        string path = SavePng("colours.png", image);

        using torch.Tensor t = ImageLoader.LoadContent(path, longestSide: 48); // already 48 wide: no resampling

        Assert.Equal(new long[] { 1, 3, 32, 48 }, t.shape);
        float[] v = Values(t);
        int plane = 32 * 48;
        for (int y = 0; y < 32; y++)
        {
            for (int x = 0; x < 48; x++)
            {
                Rgb24 expected = image[x, y];
                int i = (y * 48) + x;
                Assert.True(Math.Abs(v[i] - (expected.R / 255f)) <= 1f / 255, $"R at ({x},{y})");
                Assert.True(Math.Abs(v[plane + i] - (expected.G / 255f)) <= 1f / 255, $"G at ({x},{y})");
                Assert.True(Math.Abs(v[(2 * plane) + i] - (expected.B / 255f)) <= 1f / 255, $"B at ({x},{y})");
            }
        }
    }

    [Fact]
    public void LoadContent_CompositesTransparencyOnWhite()
    {
        using var image = new Image<Rgba32>(32, 32);
        for (int y = 0; y < 32; y++)
        {
            for (int x = 0; x < 32; x++)
            {
                image[x, y] = x < 16 ? new Rgba32(255, 0, 0, 0) : new Rgba32(0, 0, 255, 255); // left: invisible red
            }
        }

        image[20, 20] = new Rgba32(255, 0, 0, 128); // half-transparent red
        string path = SavePng("alpha.png", image);

        using torch.Tensor t = ImageLoader.LoadContent(path, longestSide: 32);

        float[] v = Values(t);
        int plane = 32 * 32;
        int left = (5 * 32) + 5, half = (20 * 32) + 20;
        Assert.Equal(1f, v[left], 5); // fully transparent → white
        Assert.Equal(1f, v[plane + left], 5);
        Assert.Equal(1f, v[(2 * plane) + left], 5);
        Assert.Equal(1f, v[half], 5); // red over white: R stays 1, G and B = 1 − α
        Assert.Equal(127f / 255, v[plane + half], 5);
        Assert.Equal(127f / 255, v[(2 * plane) + half], 5);
    }

    [Fact]
    public void LoadContent_HonoursExifOrientation()
    {
        // Stored 64 wide × 32 tall: blue, with a red 16×16 block in the stored top-left corner.
        using Image<Rgb24> image = SampleImages.Make(64, 32, (x, y) => x < 16 && y < 16 ? new Rgb24(255, 0, 0) : new Rgb24(0, 0, 255));
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, (ushort)6); // "rotate 90° clockwise to display"
        string path = temp.File("rotated.jpg");
        image.SaveAsJpeg(path, new JpegEncoder { Quality = 95 });
        Assert.Equal((ushort)6, Image.Identify(path).Metadata.ExifProfile?.GetValue(ExifTag.Orientation)?.Value);

        using torch.Tensor t = ImageLoader.LoadContent(path, longestSide: 64);

        // Displayed 32 wide × 64 tall; the stored top-left corner is now the top-right one.
        Assert.Equal(new long[] { 1, 3, 64, 32 }, t.shape);
        using torch.Tensor topRight = t[0, .., 0..16, 16..32].mean([1, 2]);
        using torch.Tensor topLeft = t[0, .., 0..16, 0..16].mean([1, 2]);
        float[] red = Values(topRight), blue = Values(topLeft);
        Assert.True(red[0] > 0.85f && red[2] < 0.15f, $"top-right should be red, is {string.Join(",", red)}");
        Assert.True(blue[2] > 0.85f && blue[0] < 0.15f, $"top-left should be blue, is {string.Join(",", blue)}");
    }

    // ---- bytes and streams ----

    [Fact]
    public void BytesAndStreams_GiveTheSameTensorAsTheFile()
    {
        using Image<Rgb24> image = SampleImages.Noise(60, 45, seed: 4);
        string path = SavePng("noise.png", image);
        byte[] bytes = File.ReadAllBytes(path);

        using torch.Tensor fromFile = ImageLoader.LoadContent(path, 40, 8);
        using torch.Tensor fromBytes = ImageLoader.LoadContent(bytes, "blob:noise", 40, 8);
        using torch.Tensor fromStream = ImageLoader.LoadContent(new MemoryStream(bytes), "blob:noise", 40, 8);
        using torch.Tensor fromPipe = ImageLoader.LoadContent(new ForwardOnlyStream(new MemoryStream(bytes)), "pipe:noise", 40, 8);
        using torch.Tensor styleFromBytes = ImageLoader.LoadStyle(bytes, "blob:noise", 24, 40);
        using torch.Tensor styleFromFile = ImageLoader.LoadStyle(path, 24, 40);

        Assert.Equal(Values(fromFile), Values(fromBytes));
        Assert.Equal(Values(fromFile), Values(fromStream));
        Assert.Equal(Values(fromFile), Values(fromPipe));
        Assert.Equal(Values(styleFromFile), Values(styleFromBytes));
        Assert.Equal(new long[] { 1, 3, 24, 40 }, styleFromBytes.shape);
    }

    [Fact]
    public void Bytes_ErrorsNameTheSource()
    {
        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(Array.Empty<byte>(), "blob:sha256-abc", 64));
        Assert.Equal(ImageInputProblem.Empty, e.Problem);
        Assert.Contains("blob:sha256-abc", e.Message);
    }

    // ---- the pixel limit ----

    [Fact]
    public void PixelLimit_RefusesAHugeHeaderWithoutDecoding()
    {
        // 100,000 × 100,000 = 10¹⁰ pixels (30 GB as RGB) declared in a file of a few dozen bytes.
        string path = SaveBytes("huge.png", SampleImages.PngWithHeader(100_000, 100_000));
        Assert.True(new FileInfo(path).Length < 100);

        var clock = Stopwatch.StartNew();
        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
        clock.Stop();

        Assert.Equal(ImageInputProblem.TooManyPixels, e.Problem);
        Assert.Contains(path, e.Message);
        Assert.Contains("100000 x 100000", e.Message);
        Assert.Contains("10,000,000,000", e.Message);
        Assert.Contains("40,000,000", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public void PixelLimit_IsInclusiveAndAppliesToStyleToo()
    {
        using Image<Rgb24> image = SampleImages.Noise(64, 64, seed: 5);
        string path = SavePng("square.png", image);

        using (ImageLoader.LoadContent(path, 32, maxPixels: 4096))
        {
        }

        var content = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 32, maxPixels: 4095));
        var style = Assert.Throws<ImageInputException>(() => ImageLoader.LoadStyle(path, 32, 32, maxPixels: 4095));
        Assert.Equal(ImageInputProblem.TooManyPixels, content.Problem);
        Assert.Equal(ImageInputProblem.TooManyPixels, style.Problem);
        Assert.Contains("4,095", content.Message);
    }

    // ---- bad input ----

    [Fact]
    public void MissingFile_IsNamed()
    {
        string path = temp.File("nope.png");
        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
        Assert.Equal(ImageInputProblem.NotFound, e.Problem);
        Assert.Contains(path, e.Message);
        Assert.Contains("does not exist", e.Message);

        var style = Assert.Throws<ImageInputException>(() => ImageLoader.LoadStyle(path, 32, 32));
        Assert.Equal(ImageInputProblem.NotFound, style.Problem);
    }

    [Fact]
    public void MissingFolderOrAFolder_IsNotFound()
    {
        Assert.Equal(ImageInputProblem.NotFound, Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(temp.File("no/such/dir.png"), 64)).Problem);
        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(temp.Path, 64));
        Assert.Equal(ImageInputProblem.NotFound, e.Problem);
        Assert.Contains("folder", e.Message);
    }

    [Fact]
    public void EmptyFile_IsNamed()
    {
        string path = SaveBytes("empty.png", []);
        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
        Assert.Equal(ImageInputProblem.Empty, e.Problem);
        Assert.Contains(path, e.Message);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void RandomBytes_AreRefused()
    {
        var bytes = new byte[2000];
        new Random(6).NextBytes(bytes);
        bytes[0] = 0x00; // make sure it does not start like any image format by chance
        string path = SaveBytes("random.png", bytes);

        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
        Assert.Equal(ImageInputProblem.UnsupportedFormat, e.Problem);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void PngSignatureFollowedByGarbage_IsCorrupt()
    {
        var bytes = new byte[2000];
        new Random(7).NextBytes(bytes);
        byte[] signature = [137, 80, 78, 71, 13, 10, 26, 10];
        signature.CopyTo(bytes, 0);
        string path = SaveBytes("garbage.png", bytes);

        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
        Assert.Equal(ImageInputProblem.Corrupt, e.Problem);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TextFile_IsAnUnsupportedFormat()
    {
        string path = temp.File("notes.png");
        File.WriteAllText(path, "this is not an image, whatever its name says\n");

        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
        Assert.Equal(ImageInputProblem.UnsupportedFormat, e.Problem);
        Assert.Contains(path, e.Message);
        Assert.Contains("PNG", e.Message); // lists what is supported
    }

    [Fact]
    public void ZeroSizeHeader_IsRefused()
    {
        string path = SaveBytes("zero.png", SampleImages.PngWithHeader(0, 10));
        var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
        Assert.Equal(ImageInputProblem.ZeroSize, e.Problem);
        Assert.Contains(path, e.Message);
    }

    public static TheoryData<string> Formats => ["png", "jpeg", "bmp", "gif", "webp", "tiff", "tga"];

    [Theory]
    [MemberData(nameof(Formats))]
    public void TruncatedFiles_AreCorruptButCompleteOnesLoad(string format)
    {
        using Image<Rgb24> image = SampleImages.Noise(64, 64, seed: 8);
        byte[] whole = SampleImages.Encode(image, (i, s) =>
        {
            switch (format)
            {
                case "png": i.SaveAsPng(s); break;
                case "jpeg": i.SaveAsJpeg(s); break;
                case "bmp": i.SaveAsBmp(s); break;
                case "gif": i.SaveAsGif(s); break;
                case "webp": i.SaveAsWebp(s); break;
                case "tiff": i.SaveAsTiff(s); break;
                case "tga": i.SaveAsTga(s); break;
            }
        });
        string complete = SaveBytes($"whole.{format}", whole);
        using (torch.Tensor t = ImageLoader.LoadContent(complete, 64))
        {
            Assert.Equal(new long[] { 1, 3, 64, 64 }, t.shape);
        }

        foreach (double fraction in new[] { 0.98, 0.75, 0.5 })
        {
            string path = SaveBytes($"cut-{fraction}.{format}", whole[..(int)(whole.Length * fraction)]);
            var e = Assert.Throws<ImageInputException>(() => ImageLoader.LoadContent(path, 64));
            Assert.Equal(ImageInputProblem.Corrupt, e.Problem);
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void BadArguments_AreArgumentExceptions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLoader.LoadContent(temp.File("x.png"), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLoader.LoadContent(temp.File("x.png"), 64, sideMultiple: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLoader.LoadStyle(temp.File("x.png"), 0, 10));
        Assert.ThrowsAny<ArgumentException>(() => ImageLoader.LoadContent("", 64));
    }
}

using System.Security.Cryptography;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StyleFarm.Engine.Imaging;
using TorchSharp;
using StyleFarm.Engine.Tests.Support;

namespace StyleFarm.Engine.Tests.Imaging;

public sealed class DemoImagesTests
{
    private static byte[] Pixels(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    private static (double MeanR, double MeanG, double MeanB, double LumaStd) Stats(Image<Rgb24> image)
    {
        byte[] p = Pixels(image);
        int n = p.Length / 3;
        double r = 0, g = 0, b = 0, luma = 0, luma2 = 0;
        for (int i = 0; i < n; i++)
        {
            r += p[3 * i];
            g += p[(3 * i) + 1];
            b += p[(3 * i) + 2];
            double l = ((0.299 * p[3 * i]) + (0.587 * p[(3 * i) + 1]) + (0.114 * p[(3 * i) + 2])) / 255;
            luma += l;
            luma2 += l * l;
        }

        double mean = luma / n;
        return (r / n / 255, g / n / 255, b / n / 255, Math.Sqrt((luma2 / n) - (mean * mean)));
    }

    public static TheoryData<string, int, int> Cases => new()
    {
        { "scene", 96, 64 }, { "scene", 33, 47 }, { "texture", 96, 64 }, { "texture", 40, 90 },
    };

    private static Image<Rgb24> Make(string kind, int width, int height) =>
        kind == "scene" ? DemoImages.Scene(width, height) : DemoImages.PainterlyTexture(width, height);

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameSize_SameBytes(string kind, int width, int height)
    {
        using Image<Rgb24> first = Make(kind, width, height);
        using Image<Rgb24> second = Make(kind, width, height);

        Assert.Equal((width, height), (first.Width, first.Height));
        Assert.Equal(Pixels(first), Pixels(second));
        Assert.Equal(ImageWriter.EncodePng(first), ImageWriter.EncodePng(second));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void NotFlat(string kind, int width, int height)
    {
        using Image<Rgb24> image = Make(kind, width, height);
        byte[] p = Pixels(image);
        int distinct = Enumerable.Range(0, p.Length / 3).Select(i => (p[3 * i] << 16) | (p[(3 * i) + 1] << 8) | p[(3 * i) + 2]).Distinct().Count();

        Assert.True(Stats(image).LumaStd > 0.08, $"luma std {Stats(image).LumaStd}");
        Assert.True(distinct > 100, $"{distinct} distinct colours");
    }

    [Fact]
    public void Scene_LooksLikeALandscape()
    {
        using Image<Rgb24> scene = DemoImages.Scene(96, 64);
        Rgb24 sky = scene[10, 2], ground = scene[2, 62];
        Assert.True(sky.B > sky.R && sky.B > 150, $"sky {sky}");
        Assert.True(ground.G > ground.R && ground.G > ground.B, $"ground {ground}");
    }

    [Fact]
    public void Texture_IsMostlyBlueWithYellowStrokes()
    {
        using Image<Rgb24> texture = DemoImages.PainterlyTexture(96, 64);
        var (r, _, b, _) = Stats(texture);
        byte[] p = Pixels(texture);
        int yellow = Enumerable.Range(0, p.Length / 3).Count(i => p[3 * i] > 180 && p[(3 * i) + 1] > 150 && p[(3 * i) + 2] < 140);

        Assert.True(b > r + 0.1, $"mean B {b} vs R {r}");
        Assert.True(yellow > p.Length / 3 / 100, $"{yellow} yellow pixels");
    }

    /// <summary>
    /// Pins the exact pixels so a change of platform, runtime or library that alters the output is noticed.
    /// After a deliberate change to the drawing, replace the hashes with the new values from the failure message.
    /// </summary>
    [Theory]
    [InlineData("scene", "E65B81CC5F437C14AB2976573933ED48EC5FACAC8FCC7BF5C21F4FDA9DDD3BC7")]
    [InlineData("texture", "C0B69734EA282C20758378D0113F8C536218774DCF794570FFE60152C952F6DF")]
    public void Pixels_MatchThePinnedHash(string kind, string expected)
    {
        using Image<Rgb24> image = Make(kind, 64, 48);
        Assert.Equal(expected, Convert.ToHexString(SHA256.HashData(Pixels(image))));
    }

    [Fact]
    public void WriteDemoPair_WritesLoadableContentAndStyle()
    {
        using var temp = new TempFolder();
        string folder = temp.File("demo");

        DemoImages.WriteDemoPair(folder, out string contentPath, out string stylePath, width: 64, height: 48);

        Assert.Equal(Path.Combine(folder, "content.png"), contentPath);
        Assert.Equal(Path.Combine(folder, "style.png"), stylePath);
        using torch.Tensor content = ImageLoader.LoadContent(contentPath, 64, 32);
        using torch.Tensor style = ImageLoader.LoadStyle(stylePath, (int)content.shape[2], (int)content.shape[3]);
        Assert.Equal(new long[] { 1, 3, 64, 64 }, content.shape); // 48 → 1.5 multiples → 2
        Assert.Equal(content.shape, style.shape);
        using Image<Rgb24> expected = DemoImages.Scene(64, 48);
        Assert.Equal(ImageWriter.EncodePng(expected), File.ReadAllBytes(contentPath));
    }
}

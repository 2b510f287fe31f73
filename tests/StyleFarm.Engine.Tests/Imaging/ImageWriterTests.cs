using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StyleFarm.Engine.Imaging;
using TorchSharp;
using StyleFarm.Engine.Tests.Support;

namespace StyleFarm.Engine.Tests.Imaging;

public sealed class ImageWriterTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void SavePng_RoundTripsWithinHalfAStep()
    {
        torch.manual_seed(1);
        using torch.Tensor original = torch.rand(1, 3, 20, 30);
        string path = temp.File("out.png");

        ImageWriter.SavePng(original, path);

        using torch.Tensor loaded = ImageLoader.LoadContent(path, longestSide: 30);
        Assert.Equal(original.shape, loaded.shape);
        using torch.Tensor difference = (loaded - original).abs().max();
        Assert.True(difference.item<float>() <= (0.5f / 255) + 1e-6f, $"max difference {difference.item<float>()}");
        Assert.Equal(["out.png"], Directory.GetFiles(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void SavePng_AcceptsChwAndGradientTensorsAndMatchesEncodePng()
    {
        using torch.Tensor image = torch.linspace(0, 1, 3 * 8 * 12).reshape(3, 8, 12).requires_grad_(true);
        string path = temp.File("chw.png");

        ImageWriter.SavePng(image, path);

        Assert.Equal(ImageWriter.EncodePng(image), File.ReadAllBytes(path));
        using Image<Rgb24> decoded = Image.Load<Rgb24>(path);
        Assert.Equal((12, 8), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void EncodePng_ClampsAndRoundsAndZeroesNaN()
    {
        using torch.Tensor t = torch.tensor(new float[] { -0.5f, 0f, 0.5f, 1f, 1.7f, float.NaN, 0.2f / 255, 0.6f / 255, 1.4f / 255 }, [1, 3, 1, 3]);

        using Image<Rgb24> image = Image.Load<Rgb24>(ImageWriter.EncodePng(t));

        Assert.Equal(new Rgb24(0, 255, 0), image[0, 0]); // R = −0.5, G = 1, B = 0.2/255
        Assert.Equal(new Rgb24(0, 255, 1), image[1, 0]); // R = 0, G = 1.7, B = 0.6/255
        Assert.Equal(new Rgb24(128, 0, 1), image[2, 0]); // R = 0.5 (127.5 rounds to even 128), G = NaN, B = 1.4/255
    }

    [Fact]
    public void SavePng_WorksFromAnyDtype()
    {
        using torch.Tensor t = torch.full(3, 4, 4, 0.25, dtype: torch.ScalarType.Float64);
        using Image<Rgb24> image = Image.Load<Rgb24>(ImageWriter.EncodePng(t));
        Assert.Equal(new Rgb24(64, 64, 64), image[3, 3]);
    }

    [Fact]
    public void SavePng_IntoAMissingFolder_FailsAndLeavesNothing()
    {
        using torch.Tensor t = torch.rand(3, 8, 8);
        string path = temp.File("missing/out.png");

        Assert.Throws<DirectoryNotFoundException>(() => ImageWriter.SavePng(t, path));

        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void SavePng_WhenTheRenameFails_DeletesTheTemporaryFile()
    {
        using torch.Tensor t = torch.rand(3, 8, 8);
        string path = temp.File("taken");
        Directory.CreateDirectory(path); // a folder where the file should go: writing the temp works, the rename fails

        Assert.ThrowsAny<IOException>(() => ImageWriter.SavePng(t, path));

        Assert.True(Directory.Exists(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void SavePng_ReplacesAnExistingFileWhole()
    {
        string path = temp.File("out.png");
        File.WriteAllText(path, "an older, longer file that must be replaced entirely, not overwritten in place........");
        using torch.Tensor t = torch.zeros(3, 4, 4);

        ImageWriter.SavePng(t, path);

        Assert.Equal(ImageWriter.EncodePng(t), File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(temp.Path));
    }

    [Theory]
    [InlineData(new long[] { 4, 8, 8 })]
    [InlineData(new long[] { 2, 3, 8, 8 })]
    [InlineData(new long[] { 8, 8 })]
    [InlineData(new long[] { 3, 0, 8 })]
    public void SavePng_RefusesOtherShapesBeforeWriting(long[] shape)
    {
        using torch.Tensor t = torch.zeros(shape);
        string path = temp.File("bad.png");

        Assert.Throws<ArgumentException>(() => ImageWriter.SavePng(t, path));

        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void SavePng_RefusesIntegerTensors()
    {
        using torch.Tensor t = torch.zeros(3, 4, 4, dtype: torch.ScalarType.Byte);
        Assert.Throws<ArgumentException>(() => ImageWriter.EncodePng(t));
    }
}

using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using StyleFarm.Coordinator.Sweeps;

namespace StyleFarm.Coordinator.Tests.Sweeps;

/// <summary>A temporary folder holding a sweep file and the small images it names.</summary>
internal sealed class SweepFolder : IDisposable
{
    public SweepFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "stylefarm-sweeps-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>
    /// Writes an 8×8 image of one grey level, encoded by the name's extension (.png, .jpg); different shades give
    /// different bytes and so different hashes.
    /// </summary>
    public string Image(string name, byte shade = 128, int width = 8, int height = 8)
    {
        string path = PathOf(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(width, height, new Rgb24(shade, shade, shade));
        image.Save(path);
        return path;
    }

    /// <summary>
    /// A 24-bit BMP's headers alone, declaring <paramref name="width"/> × <paramref name="height"/>: enough for a
    /// header check, without the cost of encoding a real image that large.
    /// </summary>
    public string BmpHeaderOnly(string name, int width, int height)
    {
        string path = PathOf(name);
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write("BM"u8);
        writer.Write(54u + (uint)(((width * 3) + 3) / 4 * 4 * height)); // the file size the pixels would need
        writer.Write(0u);                                                 // reserved
        writer.Write(54u);                                                // pixel data offset
        writer.Write(40u);                                                // BITMAPINFOHEADER
        writer.Write(width);
        writer.Write(height);
        writer.Write((ushort)1);                                          // planes
        writer.Write((ushort)24);                                         // bits per pixel
        writer.Write(new byte[24]);                                       // no compression, sizes, palette
        return path;
    }

    public string Write(string name, string text)
    {
        string path = PathOf(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes the standard pair content.png / style.png.</summary>
    public SweepFolder WithImages()
    {
        Image("content.png", 40);
        Image("style.png", 200);
        return this;
    }

    public ExpandedSweep Load(string yaml, string name = "sweep.yaml") => SweepLoader.Load(Write(name, yaml));

    /// <summary>The errors the file is rejected with; fails the test if it is accepted.</summary>
    public IReadOnlyList<SweepError> Errors(string yaml, string name = "sweep.yaml") =>
        Assert.Throws<SweepValidationException>(() => Load(yaml, name)).Errors;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

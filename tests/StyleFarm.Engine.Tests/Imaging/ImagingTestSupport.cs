using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace StyleFarm.Engine.Tests.Imaging;

internal static class SampleImages
{
    /// <summary>An image whose pixel (x, y) is <paramref name="color"/>(x, y).</summary>
    public static Image<Rgb24> Make(int width, int height, Func<int, int, Rgb24> color)
    {
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                image[x, y] = color(x, y);
            }
        }

        return image;
    }

    /// <summary>Noise, so that encoders cannot compress it to a few bytes (truncation tests need real data).</summary>
    public static Image<Rgb24> Noise(int width, int height, int seed)
    {
        var random = new Random(seed);
        return Make(width, height, (_, _) => new Rgb24((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
    }

    public static byte[] Encode(Image image, Action<Image, Stream> save)
    {
        using var stream = new MemoryStream();
        save(image, stream);
        return stream.ToArray();
    }

    /// <summary>
    /// A minimal, valid-looking PNG whose header declares any size: signature, IHDR (8-bit RGB), one tiny IDAT, IEND.
    /// A few dozen bytes on disk, whatever it claims.
    /// </summary>
    public static byte[] PngWithHeader(uint width, uint height)
    {
        using var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type: RGB
        WriteChunk(png, "IHDR", ihdr);
        WriteChunk(png, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]); // an empty zlib stream
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        png.Write(word);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        png.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        png.Write(word);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}

/// <summary>A stream that cannot seek, like a network or pipe stream.</summary>
internal sealed class ForwardOnlyStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}

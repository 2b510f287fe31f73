using System.Buffers.Binary;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;

namespace StyleFarm.Engine.Imaging;

/// <summary>
/// Structural checks that an encoded image is complete. ImageSharp 2.1 decodes a cut-off PNG, JPEG, BMP, GIF or WebP
/// without complaint and fills the missing part with black, grey or transparent pixels; a style transfer of such an
/// image is silently wrong, so we look at the container before decoding. (TIFF and TGA decoders already throw.)
/// </summary>
internal static class ImageIntegrity
{
    /// <summary>Null if the data looks complete, else what is missing.</summary>
    public static string? FindTruncation(Stream stream, long start, long length, IImageFormat format)
    {
        var reader = new Reader(stream, start, length);
        return format switch
        {
            PngFormat => CheckPng(reader),
            JpegFormat => CheckJpeg(reader),
            GifFormat => CheckGif(reader),
            BmpFormat => CheckBmp(reader),
            WebpFormat => CheckWebp(reader),
            _ => null,
        };
    }

    // Every chunk must fit in the file, and the image must end with IEND.
    private static string? CheckPng(Reader r)
    {
        Span<byte> head = stackalloc byte[8];
        long pos = 8; // signature
        while (true)
        {
            if (!r.TryRead(pos, head))
            {
                return "is truncated: it ends before its IEND chunk";
            }

            long dataLength = BinaryPrimitives.ReadUInt32BigEndian(head);
            long next = pos + 12 + dataLength;
            if (next > r.Length)
            {
                string type = System.Text.Encoding.ASCII.GetString(head[4..]);
                return $"is truncated: its {type} chunk runs past the end of the data";
            }

            if (head[4] == (byte)'I' && head[5] == (byte)'E' && head[6] == (byte)'N' && head[7] == (byte)'D')
            {
                return null;
            }

            pos = next;
        }
    }

    // Scanning back from the end, the end-of-image marker (FF D9) must come before the last start-of-scan (FF DA).
    // Entropy-coded data cannot contain either pair (FF is stuffed as FF 00), so a cut inside a scan finds FF DA first.
    private static string? CheckJpeg(Reader r)
    {
        const int Block = 1 << 16;
        var buffer = new byte[Block + 1];
        long end = r.Length;
        while (end > 1)
        {
            long begin = Math.Max(0, end - Block);
            int count = (int)(end - begin);
            // Read one byte past the block (already scanned) so a marker split across blocks is seen.
            int withOverlap = (int)Math.Min(count + 1, r.Length - begin);
            if (!r.TryRead(begin, buffer.AsSpan(0, withOverlap)))
            {
                return "cannot be read to its end";
            }

            for (int i = withOverlap - 2; i >= 0; i--)
            {
                if (buffer[i] != 0xFF)
                {
                    continue;
                }

                if (buffer[i + 1] == 0xD9)
                {
                    return null;
                }

                if (buffer[i + 1] == 0xDA)
                {
                    return "is truncated: its last scan has no end-of-image marker";
                }
            }

            end = begin;
        }

        return "is truncated: it has no image scan";
    }

    // The first image (the only one we decode) must be complete: walk the blocks up to the end of its pixel data.
    private static string? CheckGif(Reader r)
    {
        Span<byte> b = stackalloc byte[13];
        const string Cut = "is truncated: it ends inside its first image";
        if (!r.TryRead(0, b))
        {
            return Cut;
        }

        long pos = 13; // signature, logical screen descriptor
        if ((b[10] & 0x80) != 0)
        {
            pos += 3L << ((b[10] & 7) + 1); // global colour table
        }

        while (true)
        {
            if (!r.TryRead(pos, b[..1]))
            {
                return Cut;
            }

            switch (b[0])
            {
                case 0x21: // extension: introducer, label, sub-blocks
                    pos = SkipSubBlocks(r, pos + 2);
                    if (pos < 0)
                    {
                        return Cut;
                    }

                    break;
                case 0x2C: // image descriptor
                    if (!r.TryRead(pos, b[..10]))
                    {
                        return Cut;
                    }

                    pos += 10;
                    if ((b[9] & 0x80) != 0)
                    {
                        pos += 3L << ((b[9] & 7) + 1); // local colour table
                    }

                    pos = SkipSubBlocks(r, pos + 1); // after the LZW minimum code size
                    return pos < 0 ? Cut : null;
                default: // trailer or garbage before any image
                    return "is corrupt: it contains no image";
            }
        }
    }

    private static long SkipSubBlocks(Reader r, long pos)
    {
        Span<byte> size = stackalloc byte[1];
        while (true)
        {
            if (!r.TryRead(pos, size))
            {
                return -1;
            }

            pos += 1 + size[0];
            if (size[0] == 0)
            {
                return pos;
            }
        }
    }

    // Uncompressed bitmaps: the pixel array must fit; otherwise trust the file size in the header when it is set.
    private static string? CheckBmp(Reader r)
    {
        Span<byte> h = stackalloc byte[34];
        if (!r.TryRead(0, h))
        {
            return "is truncated: its header is incomplete";
        }

        long declaredFileSize = BinaryPrimitives.ReadUInt32LittleEndian(h[2..]);
        long pixelOffset = BinaryPrimitives.ReadUInt32LittleEndian(h[10..]);
        long headerSize = BinaryPrimitives.ReadUInt32LittleEndian(h[14..]);
        if (headerSize >= 40)
        {
            long width = BinaryPrimitives.ReadInt32LittleEndian(h[18..]);
            long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(h[22..]));
            int bitsPerPixel = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            uint compression = BinaryPrimitives.ReadUInt32LittleEndian(h[30..]);
            if ((compression is 0 or 3 or 6) && width > 0 && bitsPerPixel > 0)
            {
                long stride = (width * bitsPerPixel + 31) / 32 * 4;
                if (pixelOffset + stride * height > r.Length)
                {
                    return "is truncated: its pixel rows run past the end of the data";
                }

                return null;
            }
        }

        return declaredFileSize > r.Length ? "is truncated: it is shorter than its header says" : null;
    }

    private static string? CheckWebp(Reader r)
    {
        Span<byte> h = stackalloc byte[8];
        if (!r.TryRead(0, h))
        {
            return "is truncated: its header is incomplete";
        }

        long riffSize = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
        return 8 + riffSize > r.Length ? "is truncated: it is shorter than its header says" : null;
    }

    /// <summary>Random access to a window [start, start+length) of a seekable stream.</summary>
    private readonly struct Reader(Stream stream, long start, long length)
    {
        public long Length => length;

        public bool TryRead(long position, Span<byte> destination)
        {
            if (position < 0 || position + destination.Length > length)
            {
                return false;
            }

            stream.Position = start + position;
            stream.ReadExactly(destination);
            return true;
        }
    }
}

using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace StyleFarm.Engine.Imaging;

/// <summary>An RGB colour with components in [0,1] (values outside are clamped when written out).</summary>
internal readonly record struct Rgb(double R, double G, double B)
{
    public static Rgb operator *(Rgb c, double f) => new(c.R * f, c.G * f, c.B * f);

    public static Rgb operator +(Rgb a, Rgb b) => new(a.R + b.R, a.G + b.G, a.B + b.B);

    public static Rgb Lerp(Rgb a, Rgb b, double t) => new(a.R + (b.R - a.R) * t, a.G + (b.G - a.G) * t, a.B + (b.B - a.B) * t);

    public static Rgb Hex(int rgb) => new(((rgb >> 16) & 0xFF) / 255.0, ((rgb >> 8) & 0xFF) / 255.0, (rgb & 0xFF) / 255.0);
}

/// <summary>
/// A floating-point RGB canvas for the generated demo images. Shapes are given as inside-tests in pixel coordinates
/// (pixel (i,j) covers [i,i+1)×[j,j+1)) and antialiased by 4×4 supersampling, so edges are crisp but not jagged.
/// Only IEEE arithmetic (+ − × ÷ √) and our own <see cref="DetMath"/> are used, so the output is bit-identical on
/// every machine.
/// </summary>
internal sealed class DemoCanvas
{
    private const int Samples = 4;
    private readonly double[] r, g, b;

    public DemoCanvas(int width, int height)
    {
        Width = width;
        Height = height;
        r = new double[width * height];
        g = new double[width * height];
        b = new double[width * height];
    }

    public int Width { get; }

    public int Height { get; }

    public Rgb this[int x, int y]
    {
        get
        {
            int i = y * Width + x;
            return new Rgb(r[i], g[i], b[i]);
        }
        set
        {
            int i = y * Width + x;
            r[i] = value.R;
            g[i] = value.G;
            b[i] = value.B;
        }
    }

    /// <summary>Mixes <paramref name="color"/> into pixel (x, y) with weight <paramref name="alpha"/>.</summary>
    public void Blend(int x, int y, Rgb color, double alpha)
    {
        int i = y * Width + x;
        r[i] += (color.R - r[i]) * alpha;
        g[i] += (color.G - g[i]) * alpha;
        b[i] += (color.B - b[i]) * alpha;
    }

    /// <summary>Sets every pixel from a function of its centre.</summary>
    public void Paint(Func<double, double, Rgb> shader)
    {
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                this[x, y] = shader(x + 0.5, y + 0.5);
            }
        }
    }

    /// <summary>Fills the region where <paramref name="inside"/> holds, looking only inside the given bounds.</summary>
    public void Fill(Func<double, double, bool> inside, double left, double top, double right, double bottom, Rgb color, double opacity = 1.0)
        => Fill(inside, left, top, right, bottom, (_, _) => color, opacity);

    /// <summary>Fills a region with a colour that may vary with position (evaluated at each pixel's centre).</summary>
    public void Fill(Func<double, double, bool> inside, double left, double top, double right, double bottom, Func<double, double, Rgb> color, double opacity = 1.0)
    {
        int x0 = Math.Max(0, (int)Math.Floor(left)), x1 = Math.Min(Width - 1, (int)Math.Ceiling(right));
        int y0 = Math.Max(0, (int)Math.Floor(top)), y1 = Math.Min(Height - 1, (int)Math.Ceiling(bottom));
        for (int y = y0; y <= y1; y++)
        {
            for (int x = x0; x <= x1; x++)
            {
                int hits = 0;
                for (int sy = 0; sy < Samples; sy++)
                {
                    for (int sx = 0; sx < Samples; sx++)
                    {
                        if (inside(x + (sx + 0.5) / Samples, y + (sy + 0.5) / Samples))
                        {
                            hits++;
                        }
                    }
                }

                if (hits > 0)
                {
                    Blend(x, y, color(x + 0.5, y + 0.5), opacity * hits / (Samples * Samples));
                }
            }
        }
    }

    public void FillRect(double left, double top, double right, double bottom, Rgb color, double opacity = 1.0)
        => Fill((x, y) => x >= left && x < right && y >= top && y < bottom, left, top, right, bottom, color, opacity);

    public void FillCircle(double cx, double cy, double radius, Rgb color, double opacity = 1.0)
        => Fill((x, y) => (x - cx) * (x - cx) + (y - cy) * (y - cy) < radius * radius, cx - radius, cy - radius, cx + radius, cy + radius, color, opacity);

    /// <summary>Fills a convex or concave polygon (even-odd rule).</summary>
    public void FillPolygon(ReadOnlySpan<(double X, double Y)> points, Rgb color, double opacity = 1.0)
    {
        var p = points.ToArray();
        double left = p.Min(q => q.X), right = p.Max(q => q.X), top = p.Min(q => q.Y), bottom = p.Max(q => q.Y);
        Fill((x, y) => InsidePolygon(p, x, y), left, top, right, bottom, color, opacity);
    }

    public Image<Rgb24> ToImage()
    {
        var image = new Image<Rgb24>(Width, Height);
        image.ProcessPixelRows(accessor =>
        {
            for (int y = 0; y < accessor.Height; y++)
            {
                Span<Rgb24> row = accessor.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    int i = y * Width + x;
                    row[x] = new Rgb24(ToByte(r[i]), ToByte(g[i]), ToByte(b[i]));
                }
            }
        });
        return image;
    }

    private static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v * 255.0), 0.0, 255.0);

    private static bool InsidePolygon((double X, double Y)[] p, double x, double y)
    {
        bool inside = false;
        for (int i = 0, j = p.Length - 1; i < p.Length; j = i++)
        {
            if ((p[i].Y > y) != (p[j].Y > y) && x < (p[j].X - p[i].X) * (y - p[i].Y) / (p[j].Y - p[i].Y) + p[i].X)
            {
                inside = !inside;
            }
        }

        return inside;
    }
}

/// <summary>Sine and cosine from IEEE arithmetic only, so generated images do not depend on the platform's libm.</summary>
internal static class DetMath
{
    private const double TwoPi = 2.0 * Math.PI;

    public static double Sin(double x)
    {
        x -= TwoPi * Math.Round(x / TwoPi); // [-π, π]
        if (x > Math.PI / 2)
        {
            x = Math.PI - x;
        }
        else if (x < -Math.PI / 2)
        {
            x = -Math.PI - x;
        }

        // Taylor series to x¹⁷ in Horner form; the error on [-π/2, π/2] is below 1e-15.
        double x2 = x * x;
        return x * (1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72 * (1 - x2 / 110 * (1 - x2 / 156 * (1 - x2 / 210 * (1 - x2 / 272))))))));
    }

    public static double Cos(double x) => Sin(x + Math.PI / 2);

    /// <summary>The angle of (x, y) in (−π, π], to about 1e-5 (plenty for drawing).</summary>
    public static double Atan2(double y, double x)
    {
        double ax = Math.Abs(x), ay = Math.Abs(y);
        if (ax == 0 && ay == 0)
        {
            return 0;
        }

        // atan on [0, 1] by a polynomial in z², then undo the octant folding.
        double z = Math.Min(ax, ay) / Math.Max(ax, ay), z2 = z * z;
        double a = z * (0.99997726 + z2 * (-0.33262347 + z2 * (0.19354346 + z2 * (-0.11643287 + z2 * (0.05265332 + z2 * -0.01172120)))));
        if (ay > ax)
        {
            a = Math.PI / 2 - a;
        }

        if (x < 0)
        {
            a = Math.PI - a;
        }

        return y < 0 ? -a : a;
    }

    public static double Clamp01(double v) => v < 0 ? 0 : v > 1 ? 1 : v;

    public static double SmoothStep(double edge0, double edge1, double v)
    {
        double t = Clamp01((v - edge0) / (edge1 - edge0));
        return t * t * (3 - 2 * t);
    }
}

/// <summary>SplitMix64: a small, fixed, platform-independent random sequence for the demo images.</summary>
internal sealed class DemoRandom(ulong seed)
{
    private ulong state = seed;

    public ulong NextUInt64()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max).</summary>
    public double Range(double min, double max) => min + (max - min) * NextDouble();

    public int Next(int maxExclusive) => (int)(NextDouble() * maxExclusive);
}

using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static StyleFarm.Engine.Imaging.DetMath;

namespace StyleFarm.Engine.Imaging;

/// <summary>
/// Generated images, so the demo needs no input files: a landscape to use as content and a swirling, Starry-Night-like
/// painting to use as style. The same size gives the same pixels on every run and machine (fixed-seed SplitMix64,
/// no library transcendental functions, no clock). Layouts are relative to the size, so any size from about 32 px
/// looks alike.
/// </summary>
public static class DemoImages
{
    public const int DefaultWidth = 512;
    public const int DefaultHeight = 384;

    /// <summary>Writes <c>content.png</c> (<see cref="Scene"/>) and <c>style.png</c> (<see cref="PainterlyTexture"/>) into the folder (created if missing).</summary>
    public static void WriteDemoPair(string folder, out string contentPath, out string stylePath, int width = DefaultWidth, int height = DefaultHeight)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        contentPath = Path.Combine(folder, "content.png");
        stylePath = Path.Combine(folder, "style.png");
        using (Image<Rgb24> scene = Scene(width, height))
        {
            ImageWriter.SavePng(scene, contentPath);
        }

        using Image<Rgb24> texture = PainterlyTexture(width, height);
        ImageWriter.SavePng(texture, stylePath);
    }

    // =====================================================================================================
    // Content: a village by a river under a sunny sky.
    // =====================================================================================================

    /// <summary>
    /// A landscape with crisp edges: sky gradient, sun, clouds, distant and near hills with striped fields, a river,
    /// houses with roofs, chimneys, windows and doors, and trees.
    /// </summary>
    public static Image<Rgb24> Scene(int width, int height)
    {
        CheckSize(width, height);
        var canvas = new DemoCanvas(width, height);
        double w = width, h = height, s = Math.Min(w, h);
        var random = new DemoRandom(0x5CE7E);

        // Sky: deep blue at the top to pale at the horizon, with a warm glow around the sun.
        double sunX = 0.80 * w, sunY = 0.20 * h, sunR = 0.075 * s;
        Rgb zenith = Rgb.Hex(0x2F62C4), horizon = Rgb.Hex(0xCFE3F5), glow = Rgb.Hex(0xFFF1C2);
        canvas.Paint((x, y) =>
        {
            Rgb sky = Rgb.Lerp(zenith, horizon, SmoothStep(0, 0.62 * h, y));
            double d = Math.Sqrt((x - sunX) * (x - sunX) + (y - sunY) * (y - sunY));
            double halo = 1 - Clamp01((d - sunR) / (2.2 * sunR));
            return Rgb.Lerp(sky, glow, 0.55 * halo * halo);
        });
        canvas.FillCircle(sunX, sunY, sunR, Rgb.Hex(0xFFD84A));

        // Clouds: puffs of circles with a flat base.
        Cloud(canvas, 0.22 * w, 0.17 * h, 0.050 * s);
        Cloud(canvas, 0.52 * w, 0.09 * h, 0.038 * s);
        Cloud(canvas, 0.95 * w, 0.33 * h, 0.030 * s);

        // Distant hills (bluish with distance), then the near ground with fields in alternating greens.
        double FarHill(double x) => h * (0.50 + 0.05 * Sin(2 * Math.PI * 1.3 * x / w + 0.5) + 0.02 * Sin(2 * Math.PI * 3.7 * x / w + 1.0));
        double NearHill(double x) => h * (0.63 + 0.045 * Sin(2 * Math.PI * 0.9 * x / w + 2.0) + 0.015 * Sin(2 * Math.PI * 4.1 * x / w));
        canvas.Fill((x, y) => y > FarHill(x), 0, 0.4 * h, w, h, Rgb.Hex(0x6F9A8C));
        Rgb fieldLight = Rgb.Hex(0x6DB240), fieldDark = Rgb.Hex(0x4E9332);
        canvas.Fill((x, y) => y > NearHill(x), 0, 0.5 * h, w, h, (x, y) =>
        {
            // Bands that follow the hill and widen towards the viewer.
            double top = NearHill(x);
            double depth = Clamp01((y - top) / (h - top));
            int band = (int)Math.Floor(9 * Math.Sqrt(depth) + 0.6 * Sin(x / w * 7.0));
            return (band & 1) == 0 ? fieldLight : fieldDark;
        });

        // The river winds from the foot of the hills to the bottom edge, widening with nearness.
        double riverTop = NearHill(0.47 * w) + 0.01 * h;
        double RiverCentre(double y)
        {
            double t = (y - riverTop) / (h - riverTop);
            return w * (0.47 - 0.10 * Sin(Math.PI * 1.4 * t) + 0.06 * t);
        }

        double RiverHalfWidth(double y)
        {
            double t = Clamp01((y - riverTop) / (h - riverTop));
            return w * (0.008 + 0.11 * t * t + 0.03 * t);
        }

        Rgb waterFar = Rgb.Hex(0x7FA9DD), waterNear = Rgb.Hex(0x2F66B5);
        canvas.Fill(
            (x, y) => y > riverTop && Math.Abs(x - RiverCentre(y)) < RiverHalfWidth(y),
            0, riverTop, w, h,
            (_, y) => Rgb.Lerp(waterFar, waterNear, Clamp01((y - riverTop) / (h - riverTop))));
        // Ripples: short light dashes across the water.
        for (int i = 0; i < 26; i++)
        {
            double t = random.NextDouble();
            double y = riverTop + (h - riverTop) * (0.08 + 0.9 * t * t);
            double half = RiverHalfWidth(y);
            double x = RiverCentre(y) + half * random.Range(-0.6, 0.6);
            double length = half * random.Range(0.15, 0.35), thickness = Math.Max(0.6, 0.006 * h * (0.5 + t));
            canvas.FillRect(x - length, y, x + length, y + thickness, Rgb.Hex(0xD6E6F7), 0.9);
        }

        // Houses: (centre x, width, wall height, wall colour, roof colour) sitting on the near hill.
        House(canvas, 0.11 * w, NearHill(0.11 * w) + 0.06 * h, 0.13 * w, 0.12 * h, Rgb.Hex(0xF2E6CF), Rgb.Hex(0xA8322A), windows: 2);
        House(canvas, 0.28 * w, NearHill(0.28 * w) + 0.03 * h, 0.10 * w, 0.09 * h, Rgb.Hex(0xE3B55B), Rgb.Hex(0x5A3A2A), windows: 1);
        House(canvas, 0.66 * w, NearHill(0.66 * w) + 0.05 * h, 0.14 * w, 0.11 * h, Rgb.Hex(0xC7553D), Rgb.Hex(0x3B3B4A), windows: 2);
        House(canvas, 0.25 * w, 0.92 * h, 0.16 * w, 0.15 * h, Rgb.Hex(0xF7F4EE), Rgb.Hex(0xB8432F), windows: 2);

        // Trees: a big one on the right in front, a small one on the far hill.
        Tree(canvas, 0.87 * w, 0.88 * h, 0.34 * h, s);
        Tree(canvas, 0.40 * w, NearHill(0.40 * w) + 0.02 * h, 0.13 * h, s * 0.45);

        return canvas.ToImage();
    }

    private static void Cloud(DemoCanvas canvas, double cx, double cy, double r)
    {
        Rgb white = Rgb.Hex(0xFBFCFF);
        (double Dx, double Dy, double R)[] puffs = [(-1.6, 0.25, 0.8), (-0.7, -0.2, 1.05), (0.4, -0.45, 1.2), (1.5, 0.1, 0.85), (2.3, 0.35, 0.6)];
        double baseY = cy + 0.6 * r;
        canvas.Fill(
            (x, y) => y < baseY && puffs.Any(p => (x - cx - p.Dx * r) * (x - cx - p.Dx * r) + (y - cy - p.Dy * r) * (y - cy - p.Dy * r) < p.R * p.R * r * r),
            cx - 3 * r, cy - 2 * r, cx + 3.2 * r, baseY, white, 0.95);
    }

    private static void House(DemoCanvas canvas, double cx, double baseY, double width, double wallHeight, Rgb wall, Rgb roof, int windows)
    {
        double left = cx - width / 2, right = cx + width / 2, top = baseY - wallHeight;
        double roofHeight = 0.55 * width, overhang = 0.08 * width;
        Rgb frame = Rgb.Hex(0x3A2A1E);

        // Chimney behind the roof, then roof, walls (with a shaded right side), windows, door.
        canvas.FillRect(cx + 0.18 * width, top - 0.75 * roofHeight, cx + 0.30 * width, top, Rgb.Hex(0x7A2E22));
        canvas.FillPolygon([(left - overhang, top), (cx, top - roofHeight), (right + overhang, top)], roof);
        canvas.FillRect(left, top, right, baseY, wall);
        canvas.FillRect(right - 0.12 * width, top, right, baseY, wall * 0.82);
        canvas.FillRect(left - overhang, top, right + overhang, top + Math.Max(1, 0.04 * wallHeight), roof * 0.7);

        double pane = 0.2 * width;
        double windowY = top + 0.22 * wallHeight;
        double[] columns = windows == 1 ? [cx + 0.22 * width] : [left + 0.22 * width, right - 0.22 * width];
        foreach (double wx in columns)
        {
            double x0 = wx - pane / 2, y0 = windowY, x1 = wx + pane / 2, y1 = windowY + pane;
            double bar = Math.Max(0.7, 0.12 * pane);
            canvas.FillRect(x0 - bar, y0 - bar, x1 + bar, y1 + bar, frame);
            canvas.FillRect(x0, y0, x1, y1, Rgb.Hex(0xFFE27A));
            canvas.FillRect(wx - bar / 2, y0, wx + bar / 2, y1, frame);
            canvas.FillRect(x0, (y0 + y1) / 2 - bar / 2, x1, (y0 + y1) / 2 + bar / 2, frame);
        }

        double doorWidth = 0.2 * width, doorX = windows == 1 ? cx - 0.2 * width : cx;
        canvas.FillRect(doorX - doorWidth / 2, baseY - 0.5 * wallHeight, doorX + doorWidth / 2, baseY, Rgb.Hex(0x6B3B1F));
        canvas.FillCircle(doorX + 0.25 * doorWidth, baseY - 0.25 * wallHeight, Math.Max(0.5, 0.05 * doorWidth), Rgb.Hex(0xE8C15A));
    }

    private static void Tree(DemoCanvas canvas, double x, double baseY, double height, double scale)
    {
        double trunk = 0.035 * scale;
        canvas.FillPolygon([(x - trunk, baseY), (x - 0.6 * trunk, baseY - 0.6 * height), (x + 0.6 * trunk, baseY - 0.6 * height), (x + trunk, baseY)], Rgb.Hex(0x6B4426));
        double r = 0.11 * scale, crownY = baseY - 0.7 * height;
        Rgb dark = Rgb.Hex(0x24592A), mid = Rgb.Hex(0x2F7434), light = Rgb.Hex(0x4C9A3F);
        canvas.FillCircle(x - 0.8 * r, crownY + 0.25 * r, 0.95 * r, dark);
        canvas.FillCircle(x + 0.85 * r, crownY + 0.2 * r, 0.9 * r, dark);
        canvas.FillCircle(x, crownY - 0.55 * r, 1.1 * r, mid);
        canvas.FillCircle(x + 0.05 * r, crownY + 0.35 * r, 0.9 * r, mid);
        canvas.FillCircle(x - 0.35 * r, crownY - 0.8 * r, 0.5 * r, light);
    }

    // =====================================================================================================
    // Style: swirling brush strokes in the spirit of Starry Night.
    // =====================================================================================================

    /// <summary>
    /// A painting-like texture: a night sky of blue brush strokes that follow a flow field around a great double
    /// swirl, haloed yellow stars and a moon, dark rolling hills with a few lit windows, and a flame-like cypress.
    /// Every stroke shows its direction (tapered ends, bristle streaks along its length).
    /// </summary>
    public static Image<Rgb24> PainterlyTexture(int width, int height)
    {
        CheckSize(width, height);
        var painting = new Painting(width, height);
        painting.Paint();
        return painting.Canvas.ToImage();
    }

    private static void CheckSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 16);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((long)width * height, 16_000_000L, nameof(width));
    }

    private enum Region { Sky, Hills, Cypress }

    private readonly record struct Vortex(double X, double Y, double Radius, double Spin, double Strength);

    private readonly record struct Star(double X, double Y, double Radius, bool Moon);

    private sealed class Painting
    {
        private static readonly Rgb DeepBlue = Rgb.Hex(0x0F1F5C), Ultramarine = Rgb.Hex(0x1E3A94), Cobalt = Rgb.Hex(0x3160B8),
            SkyBlue = Rgb.Hex(0x6B9BD8), PaleBlue = Rgb.Hex(0xB4D0EA), Teal = Rgb.Hex(0x2E7A8C), Cream = Rgb.Hex(0xF2EFD2),
            Yellow = Rgb.Hex(0xF7D23A), PaleYellow = Rgb.Hex(0xFCEFA0), Orange = Rgb.Hex(0xEE9A2A),
            HillDark = Rgb.Hex(0x14244A), HillBlue = Rgb.Hex(0x2A4370), HillGreen = Rgb.Hex(0x23403A),
            CypressDark = Rgb.Hex(0x0C1A12), CypressGreen = Rgb.Hex(0x1F3A22), CypressBrown = Rgb.Hex(0x4A3418);

        private readonly double w, h, s;
        private readonly DemoRandom random = new(0x57A22E);
        private readonly Vortex[] vortices;
        private readonly Star[] stars;

        // Scratch for one stroke's footprint.
        private double[] bestDistance = [], across = [], along = [], radiusAt = [];

        public Painting(int width, int height)
        {
            Canvas = new DemoCanvas(width, height);
            w = width;
            h = height;
            s = Math.Min(w, h);
            stars =
            [
                new(0.07 * w, 0.13 * h, 0.035 * s, false), new(0.27 * w, 0.09 * h, 0.030 * s, false),
                new(0.53 * w, 0.08 * h, 0.026 * s, false), new(0.71 * w, 0.17 * h, 0.034 * s, false),
                new(0.33 * w, 0.58 * h, 0.028 * s, false), new(0.77 * w, 0.50 * h, 0.030 * s, false),
                new(0.97 * w, 0.40 * h, 0.026 * s, false), new(0.89 * w, 0.13 * h, 0.075 * s, true),
            ];
            var list = new List<Vortex>
            {
                new(0.43 * w, 0.36 * h, 0.17 * s, +1, 3.0), // the great swirl...
                new(0.64 * w, 0.31 * h, 0.11 * s, -1, 3.0), // ...and its counter-rotating twin
                new(0.18 * w, 0.36 * h, 0.09 * s, -1, 1.6),
            };
            foreach (Star star in stars)
            {
                list.Add(new(star.X, star.Y, 2.2 * star.Radius, star.X < 0.5 * w ? 1 : -1, 2.5));
            }

            vortices = [.. list];
        }

        public DemoCanvas Canvas { get; }

        public void Paint()
        {
            Underpaint();

            // Layer 1: strokes everywhere, coloured by region, about 2.5 layers deep.
            double length = Math.Max(4, 0.07 * s), radius = Math.Max(1.0, 0.010 * s);
            int count = (int)(2.5 * w * h / (length * 2 * radius));
            for (int i = 0; i < count; i++)
            {
                double x = random.Range(0, w), y = random.Range(0, h);
                Region region = RegionAt(x, y);
                Rgb color = region switch
                {
                    Region.Sky => SkyColor(x, y),
                    Region.Hills => HillColor(x, y),
                    _ => CypressColor(),
                };
                Stroke(x, y, color, region, length * random.Range(0.6, 1.3), radius * random.Range(0.7, 1.3));
            }

            // Layer 2: bright rings around stars and the swirls' light arms on top.
            int haloStrokes = (int)(0.9 * count);
            for (int i = 0; i < haloStrokes; i++)
            {
                double x = random.Range(0, w), y = random.Range(0, 0.85 * h);
                if (RegionAt(x, y) != Region.Sky || !(HaloColor(x, y) is Rgb color))
                {
                    continue;
                }

                Stroke(x, y, color, Region.Sky, length * random.Range(0.5, 1.0), radius * random.Range(0.6, 1.0));
            }

            // Layer 3: star and moon cores, short strokes circling the centre, brightest inside.
            foreach (Star star in stars)
            {
                int n = star.Moon ? 70 : 30;
                for (int i = 0; i < n; i++)
                {
                    double angle = random.Range(0, 2 * Math.PI), distance = star.Radius * Math.Sqrt(random.NextDouble());
                    double x = star.X + distance * Cos(angle), y = star.Y + distance * Sin(angle);
                    bool inner = distance < 0.55 * star.Radius;
                    Rgb color = star.Moon
                        ? (inner ? Pick((PaleYellow, 0.5), (Yellow, 0.5)) : Pick((Orange, 0.5), (Yellow, 0.5)))
                        : (inner ? Pick((Cream, 0.5), (PaleYellow, 0.5)) : Pick((PaleYellow, 0.4), (Yellow, 0.6)));
                    Stroke(x, y, Jitter(color, 0.03), Region.Sky, star.Radius * random.Range(0.5, 0.9), Math.Max(0.8, star.Radius * 0.2), centre: (star.X, star.Y));
                }
            }

            // Layer 4: a few lit windows in the village.
            for (int i = 0; i < 14; i++)
            {
                double x = random.Range(0.3 * w, 0.98 * w);
                double y = HillLine(x) + random.Range(0.04, 0.18) * h;
                if (y < h && RegionAt(x, y) == Region.Hills)
                {
                    Stroke(x, y, Pick((Yellow, 0.6), (Orange, 0.4)), Region.Hills, Math.Max(2, 0.02 * s), Math.Max(0.8, 0.006 * s));
                }
            }

            // Layer 5: the cypress in front of everything, in upward flame-like strokes.
            int cypressStrokes = (int)(0.09 * w * h / (length * radius));
            for (int i = 0; i < cypressStrokes; i++)
            {
                double y = random.Range(0.12 * h, h), x = CypressX(y) + random.Range(-1, 1) * CypressHalfWidth(y);
                if (RegionAt(x, y) == Region.Cypress)
                {
                    Stroke(x, y, CypressColor(), Region.Cypress, length * random.Range(0.6, 1.2), radius * random.Range(0.6, 1.1));
                }
            }
        }

        // ---- layout ----

        private double HillLine(double x) =>
            h * (0.76 + 0.05 * Sin(2 * Math.PI * 1.1 * x / w + 0.8) + 0.02 * Sin(2 * Math.PI * 3.3 * x / w + 2.0));

        private double CypressX(double y) => 0.17 * w + 0.012 * w * Sin(y / h * 19.0);

        private double CypressHalfWidth(double y)
        {
            double top = 0.12 * h;
            double t = Clamp01((y - top) / (h - top));
            return 0.075 * w * Math.Sqrt(t) * (1 - 0.35 * t) * (1 + 0.18 * Sin(t * 31.0));
        }

        private Region RegionAt(double x, double y)
        {
            if (y > 0.12 * h && Math.Abs(x - CypressX(y)) < CypressHalfWidth(y))
            {
                return Region.Cypress;
            }

            return y > HillLine(x) ? Region.Hills : Region.Sky;
        }

        /// <summary>The direction strokes follow at (x, y): a wavy wind bent into whirls around the vortices.</summary>
        private (double X, double Y) Flow(double x, double y, Region region)
        {
            if (region == Region.Cypress)
            {
                return Normalise(0.55 * Sin(y / s * 40.0 + x / s * 9.0), -1.0);
            }

            if (region == Region.Hills)
            {
                double slope = (HillLine(x + 1) - HillLine(x - 1)) / 2;
                return Normalise(1.0, slope + 0.25 * Sin(x / s * 18.0 + y / s * 6.0));
            }

            double fx = 1.0, fy = 0.35 * Sin(2 * Math.PI * 0.9 * x / s + 4.0 * y / s);
            foreach (Vortex v in vortices)
            {
                double dx = x - v.X, dy = y - v.Y;
                double d2 = dx * dx + dy * dy, d = Math.Sqrt(d2) + 1e-9;
                double q = d2 / (v.Radius * v.Radius);
                double weight = v.Strength / (1 + q * q);
                // Tangent (rotation) plus a little inward pull, so paths spiral.
                fx += weight * (v.Spin * -dy / d - 0.25 * dx / d);
                fy += weight * (v.Spin * dx / d - 0.25 * dy / d);
            }

            return Normalise(fx, fy);
        }

        // ---- colours ----

        private void Underpaint()
        {
            Canvas.Paint((x, y) => RegionAt(x, y) switch
            {
                Region.Sky => Rgb.Lerp(DeepBlue, Cobalt, Clamp01(y / (0.8 * h))),
                Region.Hills => Rgb.Lerp(HillBlue, HillDark, Clamp01((y - HillLine(x)) / (0.2 * h))),
                _ => CypressDark,
            });
        }

        private Rgb SkyColor(double x, double y)
        {
            double v = y / h;
            Rgb color = v < 0.35
                ? Pick((DeepBlue, 0.3), (Ultramarine, 0.35), (Cobalt, 0.25), (SkyBlue, 0.1))
                : Pick((Ultramarine, 0.2), (Cobalt, 0.35), (SkyBlue, 0.25), (Teal, 0.15), (PaleBlue, 0.05));
            return Jitter(color, 0.05);
        }

        /// <summary>Colours for the bright rings (stars, moon, swirl arms), or null where there are none.</summary>
        private Rgb? HaloColor(double x, double y)
        {
            foreach (Star star in stars)
            {
                double q = Distance(x, y, star.X, star.Y) / star.Radius;
                if (q < 1.0)
                {
                    return null; // the core is painted later
                }

                if (q < 2.8)
                {
                    int ring = (int)Math.Floor((q - 1.0) * 2.2);
                    return ring % 2 == 0
                        ? Jitter(star.Moon ? Pick((Yellow, 0.5), (Orange, 0.3), (PaleYellow, 0.2)) : Pick((PaleYellow, 0.5), (Yellow, 0.3), (Cream, 0.2)), 0.04)
                        : Jitter(Pick((PaleBlue, 0.5), (SkyBlue, 0.3), (Cream, 0.2)), 0.04);
                }
            }

            for (int i = 0; i < 3; i++)
            {
                Vortex v = vortices[i];
                double q = Distance(x, y, v.X, v.Y) / v.Radius;
                if (q < 1.5)
                {
                    // Arms: two bands that wind around the centre (a jump of 2π in the angle keeps the parity).
                    int band = (int)Math.Floor(q * 4.0 + v.Spin * Atan2(y - v.Y, x - v.X) / Math.PI);
                    return (band & 1) == 0
                        ? Jitter(Pick((PaleBlue, 0.4), (Cream, 0.3), (PaleYellow, 0.3)), 0.04)
                        : Jitter(Pick((SkyBlue, 0.5), (Cobalt, 0.3), (Teal, 0.2)), 0.04);
                }
            }

            return null;
        }

        private Rgb HillColor(double x, double y)
        {
            double depth = Clamp01((y - HillLine(x)) / (0.25 * h));
            return Jitter(depth < 0.3
                ? Pick((HillBlue, 0.5), (Cobalt * 0.7, 0.3), (HillGreen, 0.2))
                : Pick((HillDark, 0.4), (HillGreen, 0.35), (HillBlue, 0.25)), 0.04);
        }

        private Rgb CypressColor() => Jitter(Pick((CypressDark, 0.45), (CypressGreen, 0.35), (CypressBrown, 0.2)), 0.03);

        private Rgb Pick(params (Rgb Color, double Weight)[] choices)
        {
            double total = 0;
            foreach (var c in choices)
            {
                total += c.Weight;
            }

            double u = random.NextDouble() * total;
            foreach (var c in choices)
            {
                u -= c.Weight;
                if (u < 0)
                {
                    return c.Color;
                }
            }

            return choices[^1].Color;
        }

        private Rgb Jitter(Rgb c, double amount)
        {
            double light = random.Range(-amount, amount);
            return new Rgb(
                c.R + light + random.Range(-amount, amount) * 0.5,
                c.G + light + random.Range(-amount, amount) * 0.5,
                c.B + light + random.Range(-amount, amount) * 0.5);
        }

        // ---- one brush stroke ----

        /// <summary>
        /// Paints a stroke starting at (x, y) along the flow (or around <paramref name="centre"/>), staying in its region:
        /// a tapered band whose bristles streak along its length and whose paint thins towards its end.
        /// </summary>
        private void Stroke(double x, double y, Rgb color, Region region, double length, double radius, (double X, double Y)? centre = null)
        {
            const double Step = 0.5;
            int steps = Math.Max(2, (int)(length / Step));
            var path = new List<(double X, double Y, double Dx, double Dy)>(steps + 1);
            double px = x, py = y;
            for (int i = 0; i <= steps; i++)
            {
                (double dx, double dy) = centre is { } c ? Normalise(-(py - c.Y), px - c.X + 1e-6) : Midpoint(px, py, region);
                path.Add((px, py, dx, dy));
                px += Step * dx;
                py += Step * dy;
                if (px < -radius || py < -radius || px > w + radius || py > h + radius || (centre is null && RegionAt(px, py) != region))
                {
                    break;
                }
            }

            if (path.Count < 2)
            {
                return;
            }

            // Footprint: for every pixel near the path, the nearest path point and the side of the path it is on.
            double margin = radius + 1.5;
            int x0 = Math.Max(0, (int)Math.Floor(path.Min(p => p.X) - margin)), x1 = Math.Min((int)w - 1, (int)Math.Ceiling(path.Max(p => p.X) + margin));
            int y0 = Math.Max(0, (int)Math.Floor(path.Min(p => p.Y) - margin)), y1 = Math.Min((int)h - 1, (int)Math.Ceiling(path.Max(p => p.Y) + margin));
            if (x1 < x0 || y1 < y0)
            {
                return;
            }

            int boxWidth = x1 - x0 + 1, area = boxWidth * (y1 - y0 + 1);
            if (bestDistance.Length < area)
            {
                int size = Math.Max(area, 2 * bestDistance.Length);
                bestDistance = new double[size];
                across = new double[size];
                along = new double[size];
                radiusAt = new double[size];
            }

            Array.Fill(bestDistance, double.MaxValue, 0, area);
            for (int i = 0; i < path.Count; i++)
            {
                var (cx, cy, dx, dy) = path[i];
                double t = (double)i / (path.Count - 1);
                // Round, loaded head; long thinning tail.
                double r = radius * Clamp01(0.55 + 3.0 * t) * Clamp01(0.25 + 2.2 * (1 - t));
                int ix0 = Math.Max(x0, (int)Math.Floor(cx - r - 1)), ix1 = Math.Min(x1, (int)Math.Ceiling(cx + r + 1));
                int iy0 = Math.Max(y0, (int)Math.Floor(cy - r - 1)), iy1 = Math.Min(y1, (int)Math.Ceiling(cy + r + 1));
                for (int iy = iy0; iy <= iy1; iy++)
                {
                    for (int ix = ix0; ix <= ix1; ix++)
                    {
                        double qx = ix + 0.5 - cx, qy = iy + 0.5 - cy;
                        double d = Math.Sqrt(qx * qx + qy * qy);
                        int k = (iy - y0) * boxWidth + (ix - x0);
                        if (d - r < bestDistance[k] - radiusAt[k] || bestDistance[k] == double.MaxValue)
                        {
                            bestDistance[k] = d;
                            radiusAt[k] = r;
                            across[k] = (dx * qy - dy * qx) / Math.Max(r, 0.5);
                            along[k] = t;
                        }
                    }
                }
            }

            // Bristles: each streak across the stroke's width is a little lighter or darker.
            int bristleCount = 7;
            Span<double> bristles = stackalloc double[bristleCount];
            for (int i = 0; i < bristleCount; i++)
            {
                bristles[i] = random.Range(-0.13, 0.13);
            }

            double opacity = random.Range(0.82, 0.95);
            for (int iy = y0; iy <= y1; iy++)
            {
                for (int ix = x0; ix <= x1; ix++)
                {
                    int k = (iy - y0) * boxWidth + (ix - x0);
                    if (bestDistance[k] == double.MaxValue)
                    {
                        continue;
                    }

                    double coverage = Clamp01(radiusAt[k] + 0.5 - bestDistance[k]);
                    if (coverage <= 0)
                    {
                        continue;
                    }

                    double a = Math.Clamp(across[k], -1, 1);
                    int bristle = Math.Min(bristleCount - 1, (int)((a + 1) / 2 * bristleCount));
                    double shade = (1 + bristles[bristle]) * (1 - 0.22 * a * a) * (1 - 0.12 * along[k]);
                    double paint = opacity * (1 - 0.45 * along[k] * along[k]);
                    Canvas.Blend(ix, iy, color * shade, coverage * paint);
                }
            }
        }

        private (double X, double Y) Midpoint(double x, double y, Region region)
        {
            (double ax, double ay) = Flow(x, y, region);
            return Flow(x + 0.25 * ax, y + 0.25 * ay, region);
        }

        private static (double X, double Y) Normalise(double x, double y)
        {
            double n = Math.Sqrt(x * x + y * y);
            return n < 1e-12 ? (1, 0) : (x / n, y / n);
        }

        private static double Distance(double x0, double y0, double x1, double y1) =>
            Math.Sqrt((x0 - x1) * (x0 - x1) + (y0 - y1) * (y0 - y1));
    }
}

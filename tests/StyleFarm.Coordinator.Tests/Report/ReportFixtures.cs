using System.Globalization;
using System.Text;
using SkiaSharp;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StyleFarm.Engine.Runs;
using StyleFarm.Messages.Blobs;
using StoreFarm = StyleFarm.Coordinator.Tests.Store.Farm;

namespace StyleFarm.Coordinator.Tests.Report;

/// <summary>Sweep results made in memory, with their blobs in a dictionary, for the report's tests.</summary>
internal sealed class ReportFixtures
{
    public Dictionary<string, byte[]> Blobs { get; } = [];

    public Task<byte[]> Read(string hash, CancellationToken ct)
    {
        return Blobs.TryGetValue(hash, out byte[]? bytes) ? Task.FromResult(bytes) : throw new FileNotFoundException($"no blob {hash}");
    }

    public string Put(byte[] bytes)
    {
        string hash = BlobHash.Of(bytes);
        Blobs[hash] = bytes;
        return hash;
    }

    /// <summary>A job in <paramref name="state"/>; a done one gets a solid <paramref name="colour"/> image and a falling loss trace.</summary>
    public SweepResultRow Job(int index, IReadOnlyDictionary<string, string> swept, JobState state, double finalTotal = 1,
        SKColor? colour = null, int width = 8, int height = 6, int steps = 2)
    {
        var settings = StoreFarm.Job(index, steps);
        string label = JobLabels.Of(index, 3, swept);
        if (state != JobState.Done)
            return new SweepResultRow(index, settings.JobId, label, state, swept, settings, null, null, null, null, null, null, null,
                state == JobState.Failed ? 2 : 0, state == JobState.Failed ? "CUDA out of memory <again> & \"again\"" : null, null, null, []);

        var trace = new LossTrace(["layer1", "layer2"]);
        for (int step = 0; step < steps; step++)
        {
            double t = finalTotal * Math.Pow(10, 2.0 * (steps - 1 - step) / Math.Max(1, steps - 1));
            trace.Add(new LossRow(step, t, t / 4, [t / 2, t / 5], t / 100));
        }
        string image = Put(SolidPng(colour ?? SKColors.Teal, width, height));
        string traceBlob = Put(Encoding.UTF8.GetBytes(trace.ToCsv()));
        return new SweepResultRow(index, settings.JobId, label, JobState.Done, swept, settings,
            new FinalLosses(finalTotal, finalTotal / 4, finalTotal / 2, double.NaN), "node-a", "node-a/cuda:0",
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(index), 1.5 * index, 1, 1, null, image, traceBlob, []);
    }

    public static SweepResults Sweep(IReadOnlyList<SweepResultRow> jobs, string fileText = "name: demo\n", string name = "demo") =>
        new("sweep-r", name, SweepState.Done, fileText, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddMinutes(3), jobs, []);

    public static Dictionary<string, string> Swept(params (string Key, object Value)[] values) =>
        values.ToDictionary(v => v.Key, v => Convert.ToString(v.Value, CultureInfo.InvariantCulture)!);

    public static byte[] SolidPng(SKColor colour, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        bitmap.Erase(colour);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The mean colour of the pixels in <paramref name="box"/> shrunk by a quarter on each side.</summary>
    public static (double R, double G, double B) MeanColour(SKBitmap bitmap, SKRectI box)
    {
        int dx = box.Width / 4, dy = box.Height / 4;
        double r = 0, g = 0, b = 0;
        int n = 0;
        for (int y = box.Top + dy; y < box.Bottom - dy; y++)
            for (int x = box.Left + dx; x < box.Right - dx; x++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                r += c.Red;
                g += c.Green;
                b += c.Blue;
                n++;
            }
        return (r / n, g / n, b / n);
    }

    /// <summary>The band across the top quarter of a cell, clear of the placeholder word in its middle.</summary>
    public static SKRectI TopBand(SKRectI box) => SKRectI.Create(box.Left + 4, box.Top + 4, box.Width - 8, box.Height / 4);

    public static void AssertColour(SKColor expected, (double R, double G, double B) actual, double tolerance = 2)
    {
        Assert.True(Math.Abs(actual.R - expected.Red) <= tolerance && Math.Abs(actual.G - expected.Green) <= tolerance
            && Math.Abs(actual.B - expected.Blue) <= tolerance, $"expected {expected}, got ({actual.R:F1}, {actual.G:F1}, {actual.B:F1})");
    }
}

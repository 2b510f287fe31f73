using System.Globalization;
using StyleFarm.Coordinator.Results;

namespace StyleFarm.Coordinator.Report;

/// <summary>The words and numbers the report's pictures and page show, the same in each.</summary>
public static class ReportText
{
    /// <summary>A loss for people: four significant digits (1235, 0.02512, 1.036e5), invariant culture, NaN and ∞ spelled out.</summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsInfinity(value)) return value > 0 ? "∞" : "-∞";
        double size = Math.Abs(value);
        string plain = value.ToString("G4", CultureInfo.InvariantCulture);
        if (size == 0 || (size >= 1e-3 && !plain.Contains('E', StringComparison.Ordinal))) return plain;
        // 1.036e5 rather than .NET's 1.036E+05.
        int exponent = (int)Math.Floor(Math.Log10(size));
        string mantissa = (value / Math.Pow(10, exponent)).ToString("0.###", CultureInfo.InvariantCulture);
        if (mantissa is "10" or "-10")
        {
            exponent++;
            mantissa = (value / Math.Pow(10, exponent)).ToString("0.###", CultureInfo.InvariantCulture);
        }
        return $"{mantissa}e{exponent.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>"#3 style_weight=1e5 steps=200": a job in a legend; its label when nothing was swept.</summary>
    public static string JobName(SweepResultRow job) =>
        job.SweptValues.Count == 0 ? job.Label
        : $"#{job.Index} " + string.Join(" ", job.SweptValues.Select(v => $"{v.Key}={v.Value}"));

    /// <summary>
    /// <paramref name="text"/> cut with an ellipsis so that <paramref name="measure"/> finds it at most
    /// <paramref name="maxWidth"/> wide; whole when it fits, "…" alone when nothing more does.
    /// </summary>
    public static string Fit(string text, float maxWidth, Func<string, float> measure)
    {
        if (measure(text) <= maxWidth) return text;
        // Binary search on the kept prefix length: measure is monotone in it for ordinary text.
        int lo = 0, hi = text.Length;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (measure(text[..mid] + "…") <= maxWidth) lo = mid;
            else hi = mid - 1;
        }
        // Never split a surrogate pair.
        if (lo > 0 && char.IsHighSurrogate(text[lo - 1])) lo--;
        return text[..lo].TrimEnd() + "…";
    }
}

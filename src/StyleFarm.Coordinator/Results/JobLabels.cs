using System.Globalization;
using System.Text;

namespace StyleFarm.Coordinator.Results;

/// <summary>
/// Names a sweep's jobs for people and file systems: the job's position in expansion order (from 1, zero-padded to
/// at least three digits) and its swept values, e.g. <c>003_style_weight-1e5_steps-200</c>. Only ASCII letters,
/// digits and <c>. + - _</c> survive; a path value keeps its file name without extension (<c>content-tubingen</c>).
/// The same sweep always gives the same labels.
/// </summary>
public static class JobLabels
{
    /// <summary>Longest label before a collision suffix; long enough for three or four swept values.</summary>
    public const int MaxLength = 80;

    /// <summary>The labels of a sweep's jobs, given in expansion order.</summary>
    public static IReadOnlyList<string> ForSweep(IReadOnlyList<(string JobId, IReadOnlyDictionary<string, string> SweptValues)> jobs)
    {
        int width = Math.Max(3, jobs.Count.ToString(CultureInfo.InvariantCulture).Length);
        string[] labels = jobs.Select((job, i) => Of(i + 1, width, job.SweptValues)).ToArray();
        // The index alone keeps labels apart; this guard keeps them apart on case-insensitive file systems even if
        // the format above ever drops it.
        var taken = labels.GroupBy(l => l, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1)
            .Select(g => g.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < labels.Length; i++)
            if (taken.Contains(labels[i])) labels[i] = $"{labels[i]}_{jobs[i].JobId[..Math.Min(8, jobs[i].JobId.Length)]}";
        return labels;
    }

    /// <summary>The label of the job at <paramref name="index"/> (from 1), its number padded to <paramref name="width"/> digits.</summary>
    public static string Of(int index, int width, IReadOnlyDictionary<string, string> sweptValues)
    {
        var label = new StringBuilder(index.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
        foreach (var (key, value) in sweptValues)
        {
            string part = $"{Safe(key)}-{Safe(ValueForLabel(value))}";
            label.Append('_').Append(part);
        }
        return Cut(label.ToString());
    }

    /// <summary>A name safe as one path segment: safe characters only, never empty, never a dot name.</summary>
    public static string SafeName(string text, string fallback = "sweep")
    {
        string safe = Cut(Safe(text).TrimStart('-', '+', '.'));
        return safe.Length == 0 ? fallback : safe;
    }

    /// <summary>
    /// True for a label that is safe as a file name: what <see cref="ForSweep"/> makes. Labels that arrive from
    /// elsewhere (results JSON over HTTP) are checked before they become paths.
    /// </summary>
    public static bool IsSafe(string? label) =>
        !string.IsNullOrEmpty(label) && label[0] != '.' && label[0] != '-'
        && label.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '-' or '_');

    // Paths in sweep files (content: images/tubingen.jpg) read best as their file name.
    private static string ValueForLabel(string value)
    {
        if (value.IndexOfAny(['/', '\\']) < 0) return value;
        string name = value.Replace('\\', '/').TrimEnd('/');
        name = name[(name.LastIndexOf('/') + 1)..];
        return Path.GetFileNameWithoutExtension(name) is { Length: > 0 } stem ? stem : name;
    }

    /// <summary>Keeps ASCII letters, digits and <c>. + -</c>; any run of other characters becomes one '_'.</summary>
    private static string Safe(string text)
    {
        var safe = new StringBuilder(text.Length);
        foreach (char c in text.Trim())
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '-') safe.Append(c);
            else if (safe.Length > 0 && safe[^1] != '_') safe.Append('_');
        }
        return safe.ToString().Trim('_', '.');
    }

    private static string Cut(string label) =>
        label.Length <= MaxLength ? label : label[..MaxLength].TrimEnd('_', '-', '.', '+');
}

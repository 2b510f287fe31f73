using System.Globalization;
using System.Text.RegularExpressions;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// Reads one scalar (or a layer map) as the type a field needs. Each method returns the value, or null after adding
/// an error that says what was expected and what the file has.
/// </summary>
internal sealed partial class ValueReader(ErrorList errors, string baseDirectory)
{
    public long? Integer(YamlValue node, string field, long min, long max)
    {
        if (node is not YamlText { IsPlain: true } text || !IntegerSyntax().IsMatch(text.Text))
        {
            Reject(node, field, "must be an integer");
            return null;
        }

        // Digits that overflow a long are out of any range we accept; no need to parse them at all.
        bool fits = long.TryParse(text.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value);
        if (!fits || value < min || value > max)
        {
            // An open-ended range reads better as a lower bound; only the seed spans all of long.
            string range = max >= int.MaxValue && min > long.MinValue ? $"at least {min}" : $"between {min} and {max}";
            errors.Add(field, node.Line, $"must be {range}, got {Shorten(text.Text)}");
            return null;
        }

        return value;
    }

    public int? Int(YamlValue node, string field, int min, int max = int.MaxValue) =>
        Integer(node, field, min, max) is long value ? (int)value : null;

    /// <param name="exclusive">Whether <paramref name="min"/> itself is refused (a learning rate of 0 does nothing).</param>
    public double? Number(YamlValue node, string field, double min, bool exclusive = false)
    {
        if (node is not YamlText { IsPlain: true } text
            || !double.TryParse(text.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
        {
            Reject(node, field, "must be a number");
            return null;
        }

        if (!double.IsFinite(value))
        {
            errors.Add(field, node.Line, $"must be a finite number, got {Shorten(text.Text)}");
            return null;
        }

        if (value < min || (exclusive && value == min))
        {
            string bound = exclusive ? $"greater than {Show(min)}" : $"at least {Show(min)}";
            errors.Add(field, node.Line, $"must be {bound}, got {Shorten(text.Text)}");
            return null;
        }

        return value;
    }

    /// <summary>Non-empty text; a plain number is text too (a file may be called 2024.png).</summary>
    public string? Text(YamlValue node, string field, string expected)
    {
        if (node is not YamlText text || text.IsNull || text.Text.Trim().Length == 0)
        {
            Reject(node, field, $"must be {expected}");
            return null;
        }

        return text.Text.Trim();
    }

    /// <summary>One of a fixed set of names, in any case; returned lower-case so equal settings give equal job ids.</summary>
    public string? Choice(YamlValue node, string field, IReadOnlyList<string> choices, string what)
    {
        string? written = Text(node, field, $"one of {string.Join(", ", choices)}");
        if (written is null)
        {
            return null;
        }

        string lower = written.ToLowerInvariant();
        if (choices.Contains(lower))
        {
            return lower;
        }

        errors.Add(field, node.Line, $"unknown {what} '{Shorten(written)}': expected one of {string.Join(", ", choices)}"
            + SweepKeys.DidYouMean(written, choices));
        return null;
    }

    /// <summary>A file path, relative to the sweep file's folder unless absolute; returned in full.</summary>
    public string? Path(YamlValue node, string field)
    {
        if (Text(node, field, "a file path") is not string written)
        {
            return null;
        }

        try
        {
            return System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDirectory, written));
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            errors.Add(field, node.Line, $"'{Shorten(written)}' is not a usable path: {e.Message}");
            return null;
        }
    }

    /// <summary>A mapping of layer name → weight (≥ 0). The names are checked against the network later.</summary>
    public LayerPreset? LayerWeights(YamlValue node, string field, string? presetName)
    {
        if (node is not YamlMap { Entries.Count: > 0 } map)
        {
            Reject(node, field, "must map layer names to weights, e.g. { layer2: 1, layer3: 0.5 }");
            return null;
        }

        var layers = new List<LayerWeightValue>();
        foreach (YamlEntry entry in map.Entries)
        {
            string layerField = $"{field}.{entry.Key}";
            if (Number(entry.Value, layerField, 0) is double weight)
            {
                layers.Add(new LayerWeightValue(entry.Key, weight, layerField, entry.Line));
            }
        }

        return layers.Count == map.Entries.Count ? new LayerPreset(presetName, layers) : null;
    }

    /// <summary>How an error names what the file has, so a quoted number is told apart from a number.</summary>
    public static string Describe(YamlValue node) => node switch
    {
        YamlList => "a list",
        YamlMap => "a mapping",
        YamlText { IsNull: true } => "nothing",
        YamlText { IsPlain: true } text => Shorten(text.Text),
        YamlText text => $"the quoted text \"{Shorten(text.Text)}\"",
        _ => "something else",
    };

    private void Reject(YamlValue node, string field, string expectation) =>
        errors.Add(field, node.Line, $"{expectation}, got {Describe(node)}");

    /// <summary>Quotes of the file in messages stay short, however long the value.</summary>
    public static string Shorten(string text) => text.Length <= 40 ? text : text[..37] + "...";

    [GeneratedRegex(@"^[+-]?[0-9]+$")]
    private static partial Regex IntegerSyntax();

    private static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}

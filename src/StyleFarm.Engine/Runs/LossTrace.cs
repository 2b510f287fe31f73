using System.Globalization;
using System.Text;

namespace StyleFarm.Engine.Runs;

/// <summary>The losses of one image at one step, before that step's update.</summary>
public sealed record LossRow(int Step, double Total, double Content, IReadOnlyList<double> Style, double Tv);

/// <summary>A variant's losses at every step, with one style column per style layer.</summary>
public sealed class LossTrace(IReadOnlyList<string> styleLayers)
{
    private readonly List<LossRow> _rows = [];

    public IReadOnlyList<string> StyleLayers { get; } = styleLayers;
    public IReadOnlyList<LossRow> Rows => _rows;
    public LossRow? Last => _rows.Count == 0 ? null : _rows[^1];

    public void Add(LossRow row) => _rows.Add(row);

    /// <summary>The trace of the same job stopped at <paramref name="steps"/> (a prefix).</summary>
    public LossTrace UpTo(int steps)
    {
        var prefix = new LossTrace(StyleLayers);
        prefix._rows.AddRange(_rows.Where(r => r.Step <= steps));
        return prefix;
    }

    public string Header() =>
        "step,total,content," + string.Concat(StyleLayers.Select(l => $"style_{l},")) + "tv";

    public string ToCsv()
    {
        var csv = new StringBuilder(Header()).Append('\n');
        foreach (LossRow row in _rows)
        {
            csv.Append(row.Step).Append(',').Append(Format(row.Total)).Append(',').Append(Format(row.Content));
            foreach (double s in row.Style) csv.Append(',').Append(Format(s));
            csv.Append(',').Append(Format(row.Tv)).Append('\n');
        }
        return csv.ToString();
    }

    public static LossTrace FromCsv(string csv)
    {
        string[] lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] header = lines[0].Split(',');
        var layers = header.Skip(3).Take(header.Length - 4).Select(h => h["style_".Length..]).ToList();
        var trace = new LossTrace(layers);
        foreach (string line in lines.Skip(1))
        {
            double[] v = line.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            trace.Add(new LossRow((int)v[0], v[1], v[2], v[3..^1], v[^1]));
        }
        return trace;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

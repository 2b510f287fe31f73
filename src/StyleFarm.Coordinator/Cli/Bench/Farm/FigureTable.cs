using System.Globalization;

namespace StyleFarm.Coordinator.Cli.Bench.Farm;

/// <summary>Whether a figure met its target; <see cref="None"/> when it has none, <see cref="Failed"/> when it could not be measured.</summary>
internal enum Mark { Pass, Miss, None, Failed }

/// <summary>One line of the closing table.</summary>
internal sealed record Figure(string Name, string Measured, string Target, Mark Mark);

/// <summary>The figures of one run, printed together at the end so they can be read (and compared) at a glance.</summary>
internal sealed class FigureTable
{
    private readonly List<Figure> _figures = [];

    public bool AnyFailed => _figures.Any(f => f.Mark == Mark.Failed);

    public void Add(string name, string measured, string target, bool? pass) =>
        _figures.Add(new Figure(name, measured, target, pass switch { true => Mark.Pass, false => Mark.Miss, null => Mark.None }));

    public void Failed(string name, string why) => _figures.Add(new Figure(name, why, "", Mark.Failed));

    public void Print(TextWriter output)
    {
        if (_figures.Count == 0) return;
        int name = Math.Max("figure".Length, _figures.Max(f => f.Name.Length));
        int measured = Math.Max("measured".Length, _figures.Where(f => f.Mark != Mark.Failed).Select(f => f.Measured.Length).DefaultIfEmpty(0).Max());
        int target = Math.Max("target".Length, _figures.Max(f => f.Target.Length));
        output.WriteLine();
        output.WriteLine($"{"figure".PadRight(name)}  {"measured".PadLeft(measured)}  {"target".PadRight(target)}  mark");
        foreach (Figure f in _figures)
        {
            if (f.Mark == Mark.Failed)
                output.WriteLine($"{f.Name.PadRight(name)}  FAILED: {f.Measured}");
            else
                output.WriteLine($"{f.Name.PadRight(name)}  {f.Measured.PadLeft(measured)}  {f.Target.PadRight(target)}  {MarkText(f.Mark)}");
        }
    }

    private static string MarkText(Mark mark) => mark switch
    {
        Mark.Pass => "pass",
        Mark.Miss => "MISS",
        _ => "",
    };

    public static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

using System.Globalization;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// One problem in a sweep file: the field it concerns (e.g. <c>sweep.parameters.steps[1]</c>, empty for the file as a
/// whole), its 1-based line (0 when no line applies) and what is wrong.
/// </summary>
public sealed record SweepError(string Field, int Line, string Message)
{
    /// <summary>Like a compiler: <c>sweep.yaml:12: sweep.parameters.steps[1]: must be at least 1, got 0</c>.</summary>
    public string Format(string sourceName)
    {
        string where = Line > 0 ? $"{sourceName}:{Line.ToString(CultureInfo.InvariantCulture)}: " : $"{sourceName}: ";
        string field = Field.Length > 0 ? $"{Field}: " : "";
        return where + field + Message;
    }
}

/// <summary>A sweep file that cannot run, with every problem found in it (not just the first).</summary>
public sealed class SweepValidationException : Exception
{
    public SweepValidationException(string sourceName, IReadOnlyList<SweepError> errors)
        : base(Describe(sourceName, errors))
    {
        SourceName = sourceName;
        Errors = errors;
    }

    public string SourceName { get; }

    public IReadOnlyList<SweepError> Errors { get; }

    /// <summary>One formatted line per error, ready to print.</summary>
    public IEnumerable<string> FormattedErrors => Errors.Select(e => e.Format(SourceName));

    private static string Describe(string sourceName, IReadOnlyList<SweepError> errors)
    {
        string count = errors.Count == 1 ? "1 error" : $"{errors.Count.ToString(CultureInfo.InvariantCulture)} errors";
        return $"{sourceName}: {count}{Environment.NewLine}"
            + string.Join(Environment.NewLine, errors.Select(e => e.Format(sourceName)));
    }
}

/// <summary>Collects errors as validation goes on, so one pass reports them all.</summary>
internal sealed class ErrorList
{
    private readonly List<SweepError> _errors = [];

    public bool Any => _errors.Count > 0;

    public void Add(string field, int line, string message) => _errors.Add(new SweepError(field, line, message));

    /// <summary>In the order a reader meets them in the file; errors on one line keep the order they were found in.</summary>
    public IReadOnlyList<SweepError> InLineOrder() => _errors.OrderBy(e => e.Line).ToArray();
}

using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Report;

/// <summary>One swept parameter laid along an axis, its values in the order the sweep expanded them.</summary>
public sealed record GridAxis(string Key, IReadOnlyList<string> Values);

/// <summary>What a grid cell shows.</summary>
public enum CellKind
{
    /// <summary>The job is done and has an image.</summary>
    Image,

    /// <summary>The job failed for good.</summary>
    Failed,

    /// <summary>No such job, or it has no image (queued, running, cancelled, or its image could not be read).</summary>
    Missing,
}

/// <summary>
/// One block of the contact sheet: the jobs sharing the values of the keys that are on neither axis
/// (<see cref="Fixed"/>, empty when at most two keys are swept), as rows × columns.
/// </summary>
public sealed record GridSection(IReadOnlyList<KeyValuePair<string, string>> Fixed, IReadOnlyList<IReadOnlyList<SweepResultRow?>> Cells)
{
    /// <summary>"content = tubingen, seed = 2", or empty for the only section of a sweep with at most two keys.</summary>
    public string Title => string.Join(", ", Fixed.Select(f => $"{f.Key} = {f.Value}"));
}

/// <summary>
/// How a sweep's jobs sit on the contact sheet and in the report's grid. Built by <see cref="Build"/>:
/// <list type="bullet">
/// <item>no swept key: one row of every job (normally just one);</item>
/// <item>one key: one row, a column per value;</item>
/// <item>two or more: the two keys with the most distinct values are the axes (ties go to the key earlier in the
/// sweep file), the earlier of the two in the file down the rows, the later across the columns; every further key
/// makes one section per combination of its values, stacked top to bottom in expansion order.</item>
/// </list>
/// Values keep the order the sweep expanded them, i.e. the order the file lists them. A combination no job has is a
/// missing cell; two jobs with the same swept values (which a sweep file cannot produce) show the first and list the
/// rest in <see cref="Hidden"/>.
/// </summary>
public sealed record SweepGrid(GridAxis? Rows, GridAxis? Columns, IReadOnlyList<string> SectionKeys, IReadOnlyList<GridSection> Sections,
    IReadOnlyList<SweepResultRow> Hidden)
{
    public int RowCount => Sections[0].Cells.Count;

    public int ColumnCount => Sections[0].Cells[0].Count;

    /// <summary>The text of the cell's caption: the job's number and its final total loss or its fate.</summary>
    public static string Caption(SweepResultRow? job, CellKind kind)
    {
        if (job is null) return "missing";
        string number = $"#{job.Index}";
        return kind switch
        {
            CellKind.Image when job.FinalLosses is { } losses => $"{number}  loss {ReportText.Number(losses.Total)}",
            CellKind.Image => number,
            CellKind.Failed => $"{number}  failed",
            _ => $"{number}  {job.State.ToString().ToLowerInvariant()}",
        };
    }

    /// <summary>What a cell shows, given whether the job's image could be read.</summary>
    public static CellKind KindOf(SweepResultRow? job, Func<SweepResultRow, bool> hasImage) => job switch
    {
        { State: JobState.Done } when hasImage(job) => CellKind.Image,
        { State: JobState.Failed } => CellKind.Failed,
        _ => CellKind.Missing,
    };

    /// <summary>The word drawn on a cell without an image.</summary>
    public static string Placeholder(CellKind kind) => kind == CellKind.Failed ? "failed" : "missing";

    /// <summary>The axes chosen for swept keys given in file order with their number of distinct values.</summary>
    public static (string? Rows, string? Columns, IReadOnlyList<string> Sections) ChooseAxes(IReadOnlyList<(string Key, int Distinct)> keys)
    {
        switch (keys.Count)
        {
            case 0: return (null, null, []);
            case 1: return (null, keys[0].Key, []);
        }
        // OrderByDescending is stable: equal counts keep file order.
        var axes = keys.Select((k, i) => (k.Key, k.Distinct, Order: i)).OrderByDescending(k => k.Distinct).Take(2)
            .OrderBy(k => k.Order).ToArray();
        var rest = keys.Select(k => k.Key).Where(k => k != axes[0].Key && k != axes[1].Key).ToArray();
        return (axes[0].Key, axes[1].Key, rest);
    }

    public static SweepGrid Build(IReadOnlyList<SweepResultRow> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var keys = jobs.SelectMany(j => j.SweptValues.Keys).Distinct(StringComparer.Ordinal).ToArray();
        var values = keys.ToDictionary(k => k, k => jobs.Select(j => ValueOf(j, k)).Distinct(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        var (rowKey, columnKey, sectionKeys) = ChooseAxes(keys.Select(k => (k, values[k].Length)).ToArray());

        if (columnKey is null)
        {
            // No swept key: nothing to arrange by, so one row in expansion order.
            SweepResultRow?[] row = jobs.Count == 0 ? [null] : [.. jobs];
            return new SweepGrid(null, null, [], [new GridSection([], [row])], []);
        }

        GridAxis columns = new(columnKey, values[columnKey]);
        GridAxis? rows = rowKey is null ? null : new GridAxis(rowKey, values[rowKey]);
        var rowIndex = IndexOfValues(rows);
        var columnIndex = IndexOfValues(columns);
        var hidden = new List<SweepResultRow>();
        var sections = new List<GridSection>();
        foreach (var group in jobs.GroupBy(j => string.Join('\u0001', sectionKeys.Select(k => ValueOf(j, k))), StringComparer.Ordinal))
        {
            var cells = new SweepResultRow?[rows?.Values.Count ?? 1, columns.Values.Count];
            foreach (SweepResultRow job in group)
            {
                int r = rows is null ? 0 : rowIndex[ValueOf(job, rows.Key)], c = columnIndex[ValueOf(job, columns.Key)];
                if (cells[r, c] is null) cells[r, c] = job;
                else hidden.Add(job);
            }
            SweepResultRow first = group.First();
            sections.Add(new GridSection(
                sectionKeys.Select(k => KeyValuePair.Create(k, ValueOf(first, k))).ToArray(),
                Enumerable.Range(0, cells.GetLength(0))
                    .Select(r => (IReadOnlyList<SweepResultRow?>)Enumerable.Range(0, cells.GetLength(1)).Select(c => cells[r, c]).ToArray())
                    .ToArray()));
        }
        return new SweepGrid(rows, columns, sectionKeys, sections, hidden);
    }

    private static Dictionary<string, int> IndexOfValues(GridAxis? axis) =>
        (axis?.Values ?? []).Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal);

    private static string ValueOf(SweepResultRow job, string key) => job.SweptValues.TryGetValue(key, out string? v) ? v : "";
}

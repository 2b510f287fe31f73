using System.Globalization;
using System.Net;
using System.Text;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Report;

/// <summary>
/// <c>report.html</c>: one file that opens anywhere, offline. Everything is inside it: images as data: URIs, the
/// style and the sorting script inline, and a Content-Security-Policy that forbids any request, so the page makes
/// none even if a sweep's text names a URL. Every piece of text from the sweep is HTML-escaped.
/// </summary>
public static class ReportHtml
{
    /// <summary>The policy in the page's head: data: images, inline style and script, nothing fetched.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

    /// <summary>Click a header to sort by it, again to reverse; numbers as numbers, blanks last.</summary>
    public const string SortScript = """
        for (const table of document.querySelectorAll('table.sortable')) {
          const heads = table.tHead.rows[0].cells;
          for (let i = 0; i < heads.length; i++) heads[i].addEventListener('click', () => sortBy(table, i));
        }
        function sortBy(table, column) {
          const heads = table.tHead.rows[0].cells;
          const dir = heads[column].getAttribute('aria-sort') === 'ascending' ? -1 : 1;
          for (const h of heads) h.removeAttribute('aria-sort');
          heads[column].setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
          const key = row => { const c = row.cells[column]; return c.dataset.sort ?? c.textContent.trim(); };
          const body = table.tBodies[0];
          body.append(...Array.from(body.rows).sort((a, b) => compare(key(a), key(b), dir)));
        }
        function compare(a, b, dir) {
          if (a === '' || b === '') return a === b ? 0 : a === '' ? 1 : -1;
          const x = Number(a), y = Number(b);
          if (!Number.isNaN(x) && !Number.isNaN(y)) return (x - y) * dir;
          return a.localeCompare(b, undefined, { numeric: true }) * dir;
        }
        """;

    private const string Style = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { margin-bottom: 0.2em; } .meta { color: #555; margin-top: 0; }
        .notes { background: #fff4e5; border-left: 4px solid #e8a33d; padding: 0.5em 1em; }
        pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
        table.grid { border-collapse: collapse; margin-bottom: 1.5em; }
        table.grid th { font-weight: normal; color: #333; padding: 2px 6px; }
        table.grid th.axis { font-weight: bold; }
        table.grid td { vertical-align: top; padding: 4px; text-align: center; }
        table.grid img { max-width: 200px; max-height: 200px; display: block; margin: auto; }
        .placeholder { width: 200px; height: 150px; background: #ccc; color: #555; display: flex; align-items: center;
          justify-content: center; font-size: 16px; }
        td.failed .placeholder { color: #a01e1e; }
        figure { margin: 0; } figcaption { font-size: 12px; color: #444; }
        img.curves { max-width: 100%; }
        table.results { border-collapse: collapse; }
        table.results th, table.results td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
        table.results td { white-space: nowrap; } table.results td.reason { white-space: normal; min-width: 16em; }
        table.results td.num { text-align: right; font-variant-numeric: tabular-nums; }
        table.results th { background: #f0f0f0; cursor: pointer; user-select: none; white-space: nowrap; }
        table.results th[aria-sort=ascending]::after { content: " ▲"; }
        table.results th[aria-sort=descending]::after { content: " ▼"; }
        tr.failed td { background: #fdeaea; } tr.missing td { color: #777; }
        """;

    /// <param name="thumbnailUri">A done job's thumbnail as a data: URI, or null when it has none.</param>
    /// <param name="lossCurvesUri">loss-curves.png as a data: URI, or null when it could not be drawn.</param>
    /// <param name="notes">What went wrong making the report (shown at the top), e.g. an unreadable image.</param>
    public static string Build(SweepResults results, SweepGrid grid, Func<SweepResultRow, string?> thumbnailUri, string? lossCurvesUri,
        IReadOnlyList<string> notes)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(thumbnailUri);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"").Append(ContentSecurityPolicy).Append("\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(E(results.Name)).Append(" · StyleFarm sweep report</title>\n")
            .Append("<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");

        html.Append("<h1>").Append(E(results.Name)).Append("</h1>\n<p class=\"meta\">").Append(E(Summary(results))).Append("</p>\n");
        if (notes.Count > 0)
        {
            html.Append("<div class=\"notes\"><p>Parts of this report could not be made:</p><ul>\n");
            foreach (string note in notes) html.Append("<li>").Append(E(note)).Append("</li>\n");
            html.Append("</ul></div>\n");
        }

        html.Append("<h2>Images</h2>\n");
        AppendGrid(html, grid, thumbnailUri);

        html.Append("<h2>Loss curves</h2>\n");
        html.Append(lossCurvesUri is null
            ? "<p>No loss curves: they could not be drawn.</p>\n"
            : $"<img class=\"curves\" alt=\"Total loss of every job against step, and the style loss per layer of the best jobs\" src=\"{E(lossCurvesUri)}\">\n");

        html.Append("<h2>Results</h2>\n<p>Click a column's header to sort by it.</p>\n");
        AppendResults(html, results);

        html.Append("<h2>Sweep file</h2>\n<pre>").Append(E(results.FileText)).Append("</pre>\n");
        html.Append("<script>\n").Append(SortScript).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>"sweep 1a2b… · done · 10 of 12 jobs done, 2 failed · created 2025-01-02 10:00:00Z · finished …".</summary>
    public static string Summary(SweepResults results)
    {
        int total = results.Jobs.Count, done = results.CountOf(JobState.Done), failed = results.CountOf(JobState.Failed);
        var parts = new List<string>
        {
            $"sweep {results.SweepId}",
            results.State.ToString().ToLowerInvariant(),
            $"{done} of {total} jobs done" + (failed > 0 ? $", {failed} failed" : ""),
            $"created {Time(results.CreatedAt)}",
        };
        if (results.FinishedAt is { } finished)
            parts.Add($"finished {Time(finished)} ({RunSummary.Duration(finished - results.CreatedAt)})");
        return string.Join(" · ", parts);
    }

    private static void AppendGrid(StringBuilder html, SweepGrid grid, Func<SweepResultRow, string?> thumbnailUri)
    {
        foreach (GridSection section in grid.Sections)
        {
            if (section.Fixed.Count > 0) html.Append("<h3>").Append(E(section.Title)).Append("</h3>\n");
            html.Append("<table class=\"grid\">\n");
            if (grid.Columns is { } columns)
            {
                string corner = grid.Rows is null ? "" : "<th></th>";
                html.Append("<tr>").Append(corner).Append("<th class=\"axis\" colspan=\"")
                    .Append(columns.Values.Count.ToString(CultureInfo.InvariantCulture)).Append("\">").Append(E(columns.Key)).Append("</th></tr>\n");
                html.Append("<tr>");
                if (grid.Rows is { } rowAxis) html.Append("<th class=\"axis\">").Append(E(rowAxis.Key)).Append("</th>");
                foreach (string value in columns.Values) html.Append("<th>").Append(E(value)).Append("</th>");
                html.Append("</tr>\n");
            }
            for (int r = 0; r < section.Cells.Count; r++)
            {
                html.Append("<tr>");
                if (grid.Rows is { } rowAxis) html.Append("<th>").Append(E(rowAxis.Values[r])).Append("</th>");
                foreach (SweepResultRow? job in section.Cells[r])
                    AppendCell(html, job, job is null ? null : thumbnailUri(job), grid.Columns is null);
                html.Append("</tr>\n");
            }
            html.Append("</table>\n");
        }
    }

    private static void AppendCell(StringBuilder html, SweepResultRow? job, string? image, bool withLabel)
    {
        CellKind kind = SweepGrid.KindOf(job, _ => image is not null);
        string css = kind switch { CellKind.Image => "done", CellKind.Failed => "failed", _ => "missing" };
        html.Append("<td class=\"cell ").Append(css).Append("\"><figure>");
        if (kind == CellKind.Image)
            html.Append("<img src=\"").Append(E(image!)).Append("\" alt=\"").Append(E(job!.Label)).Append("\" title=\"").Append(E(job.Label)).Append("\">");
        else
            html.Append("<div class=\"placeholder\">").Append(SweepGrid.Placeholder(kind)).Append("</div>");
        html.Append("<figcaption>");
        if (withLabel && job is not null) html.Append(E(job.Label)).Append("<br>");
        html.Append(E(SweepGrid.Caption(job, kind))).Append("</figcaption></figure></td>");
    }

    private static void AppendResults(StringBuilder html, SweepResults results)
    {
        IReadOnlyList<string> swept = ResultsCsv.SweptKeys(results);
        string[] headers =
        [
            "#", "label", "state", .. swept, "total loss", "content loss", "style loss", "tv loss", "device", "engine s", "attempts", "failure",
        ];
        html.Append("<table class=\"results sortable\" id=\"results\">\n<thead><tr>");
        foreach (string header in headers) html.Append("<th>").Append(E(header)).Append("</th>");
        html.Append("</tr></thead>\n<tbody>\n");
        foreach (SweepResultRow job in results.Jobs)
        {
            string state = job.State.ToString().ToLowerInvariant();
            string css = job.State switch { JobState.Done => "done", JobState.Failed => "failed", _ => "missing" };
            html.Append("<tr class=\"").Append(css).Append("\" data-job=\"").Append(E(job.JobId)).Append("\">");
            Num(html, job.Index);
            Text(html, job.Label);
            Text(html, state);
            foreach (string key in swept) Text(html, job.SweptValues.TryGetValue(key, out string? v) ? v : "");
            Num(html, job.FinalLosses?.Total);
            Num(html, job.FinalLosses?.Content);
            Num(html, job.FinalLosses?.Style);
            Num(html, job.FinalLosses?.Tv);
            Text(html, job.Device ?? "");
            Num(html, job.EngineSeconds);
            Num(html, job.Attempts);
            Text(html, job.FailureReason?.Split('\n', 2)[0] ?? "", job.FailureReason, "reason");
            html.Append("</tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
    }

    private static void Text(StringBuilder html, string text, string? title = null, string? css = null)
    {
        html.Append("<td");
        if (css is not null) html.Append(" class=\"").Append(css).Append('"');
        if (title is not null && title != text) html.Append(" title=\"").Append(E(title)).Append('"');
        html.Append('>').Append(E(text)).Append("</td>");
    }

    /// <summary>A number shown for people, sorted by its exact value; NaN and missing ones sort as blanks.</summary>
    private static void Num(StringBuilder html, double? value)
    {
        string sort = value is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";
        html.Append("<td class=\"num\" data-sort=\"").Append(sort).Append("\">")
            .Append(value is { } shown ? E(ReportText.Number(shown)) : "").Append("</td>");
    }

    private static string Time(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>HTML-escaped: &amp; &lt; &gt; " ' all encoded, safe in text and in quoted attributes.</summary>
    public static string E(string text) => WebUtility.HtmlEncode(text);
}

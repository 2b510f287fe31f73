using StyleFarm.Coordinator.Report;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using static StyleFarm.Coordinator.Tests.Report.ReportFixtures;

namespace StyleFarm.Coordinator.Tests.Report;

public sealed class SweepGridTests
{
    private readonly ReportFixtures _fixtures = new();

    [Fact]
    public void No_swept_key_has_no_axes()
    {
        Assert.Equal((null, null), Axes(SweepGrid.ChooseAxes([])));
        Assert.Empty(SweepGrid.ChooseAxes([]).Sections);
    }

    [Fact]
    public void One_swept_key_runs_across_the_columns()
    {
        var axes = SweepGrid.ChooseAxes([("steps", 3)]);
        Assert.Equal((null, "steps"), Axes(axes));
        Assert.Empty(axes.Sections);
    }

    [Theory]
    [InlineData(2, 5)]
    [InlineData(5, 2)]
    public void Two_swept_keys_are_rows_then_columns_in_file_order_whatever_their_counts(int first, int second)
    {
        var axes = SweepGrid.ChooseAxes([("style_weight", first), ("steps", second)]);
        Assert.Equal(("style_weight", "steps"), Axes(axes));
        Assert.Empty(axes.Sections);
    }

    [Fact]
    public void Of_three_swept_keys_the_two_with_most_values_are_axes_and_the_third_makes_sections()
    {
        var axes = SweepGrid.ChooseAxes([("content", 2), ("style_weight", 3), ("steps", 4)]);
        Assert.Equal(("style_weight", "steps"), Axes(axes));
        Assert.Equal(["content"], axes.Sections);

        // A tie goes to the key earlier in the file; the axes keep file order.
        axes = SweepGrid.ChooseAxes([("content", 3), ("style_weight", 2), ("steps", 3)]);
        Assert.Equal(("content", "steps"), Axes(axes));
        Assert.Equal(["style_weight"], axes.Sections);
    }

    [Fact]
    public void Four_swept_keys_leave_two_section_keys_in_file_order()
    {
        var axes = SweepGrid.ChooseAxes([("a", 2), ("b", 2), ("c", 5), ("d", 4)]);
        Assert.Equal(("c", "d"), Axes(axes));
        Assert.Equal(["a", "b"], axes.Sections);
    }

    [Fact]
    public void Three_keys_build_one_section_per_value_of_the_third_with_each_job_in_its_cell()
    {
        var jobs = new List<SweepResultRow>();
        int index = 1;
        foreach (string content in new[] { "a.jpg", "b.jpg" })
            foreach (string weight in new[] { "1e4", "1e5", "1e6" })
                foreach (int steps in new[] { 100, 200, 400 })
                    jobs.Add(_fixtures.Job(index++, Swept(("content", content), ("style_weight", weight), ("steps", steps)), JobState.Queued));
        jobs.RemoveAt(4); // no job for a.jpg at 1e5 × 200: a missing cell

        SweepGrid grid = SweepGrid.Build(jobs);

        Assert.Equal(("style_weight", "steps"), (grid.Rows!.Key, grid.Columns!.Key));
        Assert.Equal(["1e4", "1e5", "1e6"], grid.Rows.Values);
        Assert.Equal(["100", "200", "400"], grid.Columns.Values);
        Assert.Equal(["content = a.jpg", "content = b.jpg"], grid.Sections.Select(s => s.Title));
        Assert.Equal((3, 3), (grid.RowCount, grid.ColumnCount));
        Assert.All(grid.Sections, s => Assert.Equal(3, s.Cells.Count));
        Assert.Null(grid.Sections[0].Cells[1][1]);
        foreach (GridSection section in grid.Sections)
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++)
                    if (section.Cells[r][c] is { } job)
                        Assert.Equal((section.Fixed[0].Value, grid.Rows.Values[r], grid.Columns.Values[c]),
                            (job.SweptValues["content"], job.SweptValues["style_weight"], job.SweptValues["steps"]));
        Assert.Equal(jobs.Count, grid.Sections.Sum(s => s.Cells.Sum(row => row.Count(c => c is not null))));
        Assert.Empty(grid.Hidden);
    }

    [Fact]
    public void Without_swept_keys_every_job_sits_in_one_row()
    {
        SweepResultRow[] jobs = [_fixtures.Job(1, Swept(), JobState.Done), _fixtures.Job(2, Swept(), JobState.Failed)];

        SweepGrid grid = SweepGrid.Build(jobs);

        Assert.Null(grid.Rows);
        Assert.Null(grid.Columns);
        Assert.Equal((1, 2), (grid.RowCount, grid.ColumnCount));
        Assert.Equal(jobs, grid.Sections[0].Cells[0]);
    }

    [Fact]
    public void One_key_makes_one_row_with_a_column_per_value_in_expansion_order()
    {
        SweepResultRow[] jobs =
        [
            _fixtures.Job(1, Swept(("steps", 400)), JobState.Done),
            _fixtures.Job(2, Swept(("steps", 100)), JobState.Done),
        ];

        SweepGrid grid = SweepGrid.Build(jobs);

        Assert.Null(grid.Rows);
        Assert.Equal(["400", "100"], grid.Columns!.Values);
        Assert.Equal(jobs, grid.Sections.Single().Cells.Single());
    }

    [Fact]
    public void Jobs_with_the_same_values_show_the_first_and_list_the_rest_as_hidden()
    {
        SweepResultRow[] jobs =
        [
            _fixtures.Job(1, Swept(("steps", 100)), JobState.Done),
            _fixtures.Job(2, Swept(("steps", 100)), JobState.Done),
        ];

        SweepGrid grid = SweepGrid.Build(jobs);

        Assert.Equal([jobs[0]], grid.Sections.Single().Cells.Single());
        Assert.Equal([jobs[1]], grid.Hidden);
    }

    [Fact]
    public void Cells_say_failed_or_missing_and_captions_give_the_job_and_its_loss()
    {
        SweepResultRow done = _fixtures.Job(3, Swept(("steps", 100)), JobState.Done, finalTotal: 1234.5678);
        SweepResultRow failed = _fixtures.Job(4, Swept(("steps", 200)), JobState.Failed);
        SweepResultRow queued = _fixtures.Job(5, Swept(("steps", 300)), JobState.Queued);

        Assert.Equal(CellKind.Image, SweepGrid.KindOf(done, _ => true));
        Assert.Equal(CellKind.Missing, SweepGrid.KindOf(done, _ => false));
        Assert.Equal(CellKind.Failed, SweepGrid.KindOf(failed, _ => true));
        Assert.Equal(CellKind.Missing, SweepGrid.KindOf(queued, _ => true));
        Assert.Equal(CellKind.Missing, SweepGrid.KindOf(null, _ => true));
        Assert.Equal(("failed", "missing"), (SweepGrid.Placeholder(CellKind.Failed), SweepGrid.Placeholder(CellKind.Missing)));
        Assert.Equal("#3  loss 1235", SweepGrid.Caption(done, CellKind.Image));
        Assert.Equal("#4  failed", SweepGrid.Caption(failed, CellKind.Failed));
        Assert.Equal("#5  queued", SweepGrid.Caption(queued, CellKind.Missing));
        Assert.Equal("missing", SweepGrid.Caption(null, CellKind.Missing));
    }

    [Fact]
    public void Fit_cuts_long_text_with_an_ellipsis_to_the_width()
    {
        static float Measure(string s) => s.Length * 10;
        Assert.Equal("short", ReportText.Fit("short", 50, Measure));
        Assert.Equal("abcd…", ReportText.Fit("abcdefghij", 50, Measure));
        Assert.Equal("…", ReportText.Fit("abcdefghij", 5, Measure));
    }

    [Theory]
    [InlineData(1234.5678, "1235")]
    [InlineData(0.025123, "0.02512")]
    [InlineData(103600, "1.036e5")]
    [InlineData(-0.00012345, "-1.235e-4")]
    [InlineData(99999.9, "1e5")]
    [InlineData(0, "0")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "∞")]
    public void Numbers_are_short_and_culture_free(double value, string text) => Assert.Equal(text, ReportText.Number(value));

    private static (string? Rows, string? Columns) Axes((string? Rows, string? Columns, IReadOnlyList<string> Sections) axes) =>
        (axes.Rows, axes.Columns);
}

using SkiaSharp;
using StyleFarm.Coordinator.Results;

namespace StyleFarm.Coordinator.Report;

/// <summary>How a piece of text on the contact sheet looks.</summary>
public enum SheetTextRole
{
    Title,
    SectionTitle,
    AxisTitle,
    /// <summary>The row axis' title, drawn turned a quarter left.</summary>
    VerticalAxisTitle,
    AxisValue,
    Caption,
    Placeholder,
}

/// <summary>A line of text: centred on <paramref name="X"/> (left-aligned for titles), baseline at <paramref name="Y"/>, cut to <paramref name="MaxWidth"/>.</summary>
public sealed record SheetText(string Text, float X, float Y, float MaxWidth, SheetTextRole Role);

/// <summary>One grid cell: where its image (or grey placeholder) goes and its caption.</summary>
public sealed record SheetCell(int Section, int Row, int Column, SweepResultRow? Job, CellKind Kind, SKRectI ImageBox);

/// <summary>
/// Where everything on the contact sheet goes, in pixels; pure arithmetic so it can be checked without drawing.
/// Top to bottom: the sweep's title, then per section its title (when there are sections), the column key's title,
/// the column values, and the rows, each row headed on the left by its value under the row key's turned title.
/// </summary>
public sealed record ContactSheetLayout(int Width, int Height, SKSizeI Box, IReadOnlyList<SheetCell> Cells, IReadOnlyList<SheetText> Texts)
{
    public const int Margin = 16;
    public const int Gap = 8;
    public const int TitleHeight = 32;
    public const int SectionTitleHeight = 28;
    public const int SectionGap = 20;
    public const int AxisTitleHeight = 22;
    public const int AxisValueHeight = 20;
    public const int CaptionHeight = 18;
    public const int VerticalTitleWidth = 22;
    public const int MinRowHeaderWidth = 40;
    public const int MaxRowHeaderWidth = 200;

    /// <summary>The longest side of a thumbnail on the sheet.</summary>
    public const int ThumbnailSize = 256;

    /// <summary>Font sizes in pixels, by role.</summary>
    public static float FontSize(SheetTextRole role) => role switch
    {
        SheetTextRole.Title => 18,
        SheetTextRole.SectionTitle => 15,
        SheetTextRole.AxisTitle or SheetTextRole.VerticalAxisTitle => 14,
        SheetTextRole.AxisValue => 13,
        SheetTextRole.Placeholder => 16,
        _ => 12,
    };

    /// <summary>A cell's image box: wide and tall enough for every thumbnail; 4:3 when there is none.</summary>
    public static SKSizeI BoxFor(IEnumerable<SKSizeI> thumbnails)
    {
        var sizes = thumbnails.ToArray();
        return sizes.Length == 0
            ? new SKSizeI(ThumbnailSize, ThumbnailSize * 3 / 4)
            : new SKSizeI(sizes.Max(s => s.Width), sizes.Max(s => s.Height));
    }

    /// <param name="measureAxisValue">The width of a row value in the <see cref="SheetTextRole.AxisValue"/> font.</param>
    public static ContactSheetLayout Compute(SweepGrid grid, string title, SKSizeI box, Func<SweepResultRow, CellKind> kindOf,
        Func<string, float> measureAxisValue)
    {
        ArgumentNullException.ThrowIfNull(grid);
        int rows = grid.RowCount, columns = grid.ColumnCount;
        int verticalTitle = grid.Rows is null ? 0 : VerticalTitleWidth;
        int rowHeader = grid.Rows is null ? 0
            : Math.Clamp((int)Math.Ceiling(grid.Rows.Values.Max(v => measureAxisValue(v)) + 12), MinRowHeaderWidth, MaxRowHeaderWidth);
        int gridLeft = Margin + verticalTitle + rowHeader;
        int gridWidth = columns * box.Width + (columns - 1) * Gap;
        int width = gridLeft + gridWidth + Margin;
        int rowPitch = box.Height + CaptionHeight + Gap;
        bool titled = grid.Sections.Count > 1 || grid.SectionKeys.Count > 0;

        var cells = new List<SheetCell>();
        var texts = new List<SheetText> { new(title, Margin, Margin + 20, width - 2 * Margin, SheetTextRole.Title) };
        int y = Margin + TitleHeight;
        for (int s = 0; s < grid.Sections.Count; s++)
        {
            GridSection section = grid.Sections[s];
            if (s > 0) y += SectionGap;
            if (titled)
            {
                texts.Add(new SheetText(section.Title, Margin, y + 19, width - 2 * Margin, SheetTextRole.SectionTitle));
                y += SectionTitleHeight;
            }
            if (grid.Columns is { } columnAxis)
            {
                texts.Add(new SheetText(columnAxis.Key, gridLeft + gridWidth / 2f, y + 16, gridWidth, SheetTextRole.AxisTitle));
                y += AxisTitleHeight;
                for (int c = 0; c < columns; c++)
                    texts.Add(new SheetText(columnAxis.Values[c], gridLeft + c * (box.Width + Gap) + box.Width / 2f, y + 14,
                        box.Width, SheetTextRole.AxisValue));
                y += AxisValueHeight;
            }
            int rowsTop = y;
            for (int r = 0; r < rows; r++)
            {
                if (grid.Rows is { } rowAxis)
                    texts.Add(new SheetText(rowAxis.Values[r], Margin + verticalTitle + rowHeader / 2f, y + box.Height / 2f + 5,
                        rowHeader - 4, SheetTextRole.AxisValue));
                for (int c = 0; c < columns; c++)
                {
                    SweepResultRow? job = section.Cells[r][c];
                    CellKind kind = job is null ? CellKind.Missing : kindOf(job);
                    int x = gridLeft + c * (box.Width + Gap);
                    var imageBox = SKRectI.Create(x, y, box.Width, box.Height);
                    cells.Add(new SheetCell(s, r, c, job, kind, imageBox));
                    if (kind != CellKind.Image)
                        texts.Add(new SheetText(SweepGrid.Placeholder(kind), x + box.Width / 2f, y + box.Height / 2f + 6, box.Width - 4,
                            SheetTextRole.Placeholder));
                    texts.Add(new SheetText(SweepGrid.Caption(job, kind), x + box.Width / 2f, y + box.Height + 13, box.Width,
                        SheetTextRole.Caption));
                }
                y += rowPitch;
            }
            y -= Gap;
            if (grid.Rows is { } axis)
                texts.Add(new SheetText(axis.Key, Margin + 15, (rowsTop + y) / 2f, y - rowsTop, SheetTextRole.VerticalAxisTitle));
        }
        return new ContactSheetLayout(width, y + Margin, box, cells, texts);
    }
}

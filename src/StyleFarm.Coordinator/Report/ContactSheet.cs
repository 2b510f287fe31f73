using SkiaSharp;
using StyleFarm.Coordinator.Results;

namespace StyleFarm.Coordinator.Report;

/// <summary>A drawn contact sheet and where everything on it went.</summary>
public sealed record RenderedSheet(byte[] Png, ContactSheetLayout Layout);

/// <summary>
/// <c>contact-sheet.png</c>: the final images on the grid <see cref="SweepGrid"/> chose, axis titles and values
/// around it, each cell captioned; a failed or missing job is a grey cell saying so. Drawn with SkiaSharp.
/// </summary>
public static class ContactSheet
{
    public static readonly SKColor Background = SKColors.White;
    public static readonly SKColor PlaceholderFill = new(0xCC, 0xCC, 0xCC);
    private static readonly SKColor Ink = new(0x22, 0x22, 0x22);
    private static readonly SKColor PlaceholderInk = new(0x55, 0x55, 0x55);
    private static readonly SKColor FailedInk = new(0xA0, 0x1E, 0x1E);

    /// <param name="thumbnails">Thumbnails of the done jobs by job id, at most <see cref="ContactSheetLayout.ThumbnailSize"/> a side;
    /// a done job without one shows as missing.</param>
    public static RenderedSheet Render(SweepGrid grid, string title, IReadOnlyDictionary<string, SKBitmap> thumbnails)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(thumbnails);
        using var fonts = new Fonts();
        SKSizeI box = ContactSheetLayout.BoxFor(thumbnails.Values.Select(t => new SKSizeI(t.Width, t.Height)));
        ContactSheetLayout layout = ContactSheetLayout.Compute(grid, title, box,
            job => SweepGrid.KindOf(job, j => thumbnails.ContainsKey(j.JobId)),
            text => fonts.Of(SheetTextRole.AxisValue).MeasureText(text));

        using var surface = SKSurface.Create(new SKImageInfo(layout.Width, layout.Height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not make a {layout.Width}×{layout.Height} surface");
        SKCanvas canvas = surface.Canvas;
        canvas.Clear(Background);
        using var fill = new SKPaint { Color = PlaceholderFill, IsAntialias = false };
        foreach (SheetCell cell in layout.Cells)
        {
            if (cell.Kind == CellKind.Image && cell.Job is not null && thumbnails.TryGetValue(cell.Job.JobId, out SKBitmap? thumbnail))
            {
                // Centred in its box: thumbnails of one sweep differ only when the image size was swept.
                int x = cell.ImageBox.Left + (cell.ImageBox.Width - thumbnail.Width) / 2;
                int y = cell.ImageBox.Top + (cell.ImageBox.Height - thumbnail.Height) / 2;
                canvas.DrawBitmap(thumbnail, x, y);
            }
            else
            {
                canvas.DrawRect(cell.ImageBox, fill);
            }
        }
        foreach (SheetText text in layout.Texts)
            Draw(canvas, fonts, text);
        return new RenderedSheet(ReportImages.EncodePng(surface), layout);
    }

    private static void Draw(SKCanvas canvas, Fonts fonts, SheetText text)
    {
        SKFont font = fonts.Of(text.Role);
        string fitted = ReportText.Fit(text.Text, text.MaxWidth, t => font.MeasureText(t));
        using var paint = new SKPaint
        {
            IsAntialias = true,
            Color = text.Role == SheetTextRole.Placeholder ? (text.Text == SweepGrid.Placeholder(CellKind.Failed) ? FailedInk : PlaceholderInk) : Ink,
        };
        switch (text.Role)
        {
            case SheetTextRole.Title or SheetTextRole.SectionTitle:
                canvas.DrawText(fitted, text.X, text.Y, SKTextAlign.Left, font, paint);
                break;
            case SheetTextRole.VerticalAxisTitle:
                canvas.Save();
                canvas.RotateDegrees(-90, text.X, text.Y);
                canvas.DrawText(fitted, text.X, text.Y, SKTextAlign.Center, font, paint);
                canvas.Restore();
                break;
            default:
                canvas.DrawText(fitted, text.X, text.Y, SKTextAlign.Center, font, paint);
                break;
        }
    }

    /// <summary>One font per role, made once per sheet.</summary>
    private sealed class Fonts : IDisposable
    {
        private readonly Dictionary<SheetTextRole, SKFont> _fonts = [];

        public SKFont Of(SheetTextRole role)
        {
            if (!_fonts.TryGetValue(role, out SKFont? font))
            {
                font = new SKFont(ReportImages.Typeface, ContactSheetLayout.FontSize(role))
                {
                    Embolden = role is SheetTextRole.Title or SheetTextRole.SectionTitle or SheetTextRole.AxisTitle or SheetTextRole.VerticalAxisTitle,
                    Subpixel = true,
                    Edging = SKFontEdging.Antialias,
                };
                _fonts[role] = font;
            }
            return font;
        }

        public void Dispose()
        {
            foreach (SKFont font in _fonts.Values) font.Dispose();
        }
    }
}

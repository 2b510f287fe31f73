using System.Text;
using SkiaSharp;
using StyleFarm.Coordinator.Results;
using StyleFarm.Coordinator.Store;
using StyleFarm.Engine.Runs;
using StyleFarm.Messages.Blobs;

namespace StyleFarm.Coordinator.Report;

/// <summary>What writing a sweep's report did.</summary>
/// <param name="FilesWritten">Report files (re)written, relative to the run folder.</param>
/// <param name="FilesUnchanged">Report files that already held the right bytes and were left alone.</param>
/// <param name="Problems">What could not be made, one line each (an unreadable image, a file that failed); empty when all went well.</param>
public sealed record SweepReportSummary(IReadOnlyList<string> FilesWritten, int FilesUnchanged, IReadOnlyList<string> Problems);

/// <summary>
/// The files a person looks at first when a sweep ends, beside its results in the run folder:
/// <code>
/// contact-sheet.png   the final images on a grid of two swept parameters (SweepGrid says which)
/// loss-curves.png     every job's total loss by step, and the best jobs' style loss per layer
/// report.html         all of it in one self-contained page, with the sweep file and a sortable results table
/// </code>
/// Images and traces come from the run folder when <see cref="RunFolderWriter"/> already put them there (checked
/// against their hash), else from <c>readBlob</c>. Best effort: a file that cannot be made is reported in
/// <see cref="SweepReportSummary.Problems"/> and the others are still written; only cancellation is thrown.
/// Writing is idempotent like the run folder's: the same results give the same bytes, and a file that already
/// holds them is not touched.
/// </summary>
public static class SweepReport
{
    public const string ContactSheetFile = "contact-sheet.png";
    public const string LossCurvesFile = "loss-curves.png";
    public const string ReportFile = "report.html";

    public static async Task<SweepReportSummary> WriteAsync(
        SweepResults results,
        Func<string, CancellationToken, Task<byte[]>> readBlob,
        string runFolder,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(readBlob);
        ArgumentException.ThrowIfNullOrWhiteSpace(runFolder);
        string root = Path.GetFullPath(runFolder);
        var problems = new List<string>();
        var written = new List<string>();
        int unchanged = 0;

        async Task PutAsync(string file, Func<byte[]> make)
        {
            try
            {
                if (await ReportFiles.PutAsync(Path.Combine(root, file), make(), ct)) written.Add(file);
                else unchanged++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                problems.Add($"{file} could not be written: {e.Message}");
            }
        }

        var sources = new Sources(root, readBlob);
        var thumbnails = new Dictionary<string, SKBitmap>(StringComparer.Ordinal);
        try
        {
            var traced = new List<TracedJob>();
            foreach (SweepResultRow job in results.Jobs.Where(j => j.State == JobState.Done))
            {
                if (job.ImageBlob is { } image)
                {
                    try
                    {
                        byte[] bytes = await sources.ReadAsync(image, RunFolderWriter.ImagePath, job, "image", ct);
                        thumbnails[job.JobId] = ReportImages.Thumbnail(bytes, ContactSheetLayout.ThumbnailSize);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        problems.Add($"the image of {job.Label} could not be read: {e.Message}");
                    }
                }
                if (job.TraceBlob is { } trace)
                {
                    try
                    {
                        byte[] bytes = await sources.ReadAsync(trace, RunFolderWriter.TracePath, job, "loss trace", ct);
                        traced.Add(new TracedJob(job, LossTrace.FromCsv(Encoding.UTF8.GetString(bytes))));
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        problems.Add($"the loss trace of {job.Label} could not be read: {e.Message}");
                    }
                }
            }

            SweepGrid grid = SweepGrid.Build(results.Jobs);
            await PutAsync(ContactSheetFile, () => ContactSheet.Render(grid, Title(results), thumbnails).Png);
            byte[]? curves = null;
            await PutAsync(LossCurvesFile, () => curves = LossCurves.Render(traced));

            // The page last, so it can say what went wrong with the pictures.
            var thumbnailUris = thumbnails.ToDictionary(t => t.Key, t => ReportImages.DataUri("image/jpeg", ReportImages.EncodeJpeg(t.Value)));
            IReadOnlyList<string> notes = [.. problems];
            await PutAsync(ReportFile, () => Encoding.UTF8.GetBytes(ReportHtml.Build(results, grid,
                job => thumbnailUris.GetValueOrDefault(job.JobId),
                curves is null ? null : ReportImages.DataUri("image/png", curves), notes)));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            problems.Add($"the report could not be made: {e.Message}");
        }
        finally
        {
            foreach (SKBitmap thumbnail in thumbnails.Values) thumbnail.Dispose();
        }
        return new SweepReportSummary(written, unchanged, problems);
    }

    /// <summary>The contact sheet's heading: "demo sweep: 10 of 12 jobs done".</summary>
    public static string Title(SweepResults results) =>
        $"{results.Name}: {results.CountOf(JobState.Done)} of {results.Jobs.Count} jobs done";

    /// <summary>A job's blob, from its run-folder file when that holds the right bytes, else fetched and checked.</summary>
    private sealed class Sources(string root, Func<string, CancellationToken, Task<byte[]>> readBlob)
    {
        public async Task<byte[]> ReadAsync(string hash, Func<string, string> pathOf, SweepResultRow job, string purpose, CancellationToken ct)
        {
            if (JobLabels.IsSafe(job.Label))
            {
                string path = Path.Combine(root, pathOf(job.Label).Replace('/', Path.DirectorySeparatorChar));
                if (File.Exists(path))
                {
                    byte[] local = await File.ReadAllBytesAsync(path, ct);
                    if (BlobHash.Of(local) == hash) return local;
                }
            }
            byte[] bytes = await readBlob(hash, ct);
            string actual = BlobHash.Of(bytes);
            if (actual != hash) throw new BlobMismatchException(hash, actual, $"{purpose} of {job.Label}");
            return bytes;
        }
    }
}

/// <summary>Writes report files like the run folder does: whole or not at all, and only when their bytes changed.</summary>
internal static class ReportFiles
{
    /// <summary>True when the file was (re)written, false when it already held <paramref name="bytes"/>.</summary>
    public static async Task<bool> PutAsync(string path, byte[] bytes, CancellationToken ct)
    {
        if (File.Exists(path) && (await File.ReadAllBytesAsync(path, ct)).AsSpan().SequenceEqual(bytes)) return false;
        await Results.RunFolderWriter.WriteAtomicallyAsync(path, bytes, ct);
        return true;
    }
}

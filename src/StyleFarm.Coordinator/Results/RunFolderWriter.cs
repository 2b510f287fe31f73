using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StyleFarm.Coordinator.Report;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Blobs;

namespace StyleFarm.Coordinator.Results;

/// <summary>What writing a run folder did.</summary>
/// <param name="FilesWritten">Files (re)written, relative to the folder, '/'-separated.</param>
/// <param name="FilesUnchanged">Files that already held the right bytes and were left alone.</param>
/// <param name="JobsMissing">Jobs neither done nor failed (queued, running, cancelled): no image.</param>
public sealed record RunFolderSummary(
    string Directory,
    IReadOnlyList<string> FilesWritten,
    int FilesUnchanged,
    int JobsDone,
    int JobsFailed,
    int JobsMissing)
{
    /// <summary>What the sweep report (contact sheet, loss curves, report.html) could not make; empty when all went well.</summary>
    public IReadOnlyList<string> ReportProblems { get; init; } = [];
}

/// <summary>
/// Writes a sweep's results as a folder people open (callers pass <c>runs/&lt;sweep-name&gt;</c>):
/// <code>
/// images/003_style_weight-1e5_steps-200.png      every done job's final image
/// snapshots/003_…/step-000100.png                its save_every snapshots
/// traces/003_….csv                               its loss trace, per step
/// results.json  results.csv                      every job, done or not (see SweepResults, ResultsCsv)
/// sweep.yaml                                     the sweep file as submitted
/// contact-sheet.png  loss-curves.png  report.html the sweep report (see Report/SweepReport), best effort
/// </code>
/// Each file appears whole or not at all (written beside, then renamed). Writing the same folder again is
/// idempotent: a file that already holds the right bytes is neither fetched nor touched. Every fetched blob is
/// checked against its hash before it is written. Files the writer does not own are never touched, and nothing
/// is ever deleted.
/// </summary>
public static class RunFolderWriter
{
    public const string ResultsJsonFile = "results.json";
    public const string ResultsCsvFile = "results.csv";
    public const string SweepFile = "sweep.yaml";
    public const string DefaultRunsRoot = "runs";

    /// <summary>Where a sweep's run folder goes by default: <c>runs/&lt;name&gt;</c>, the name made safe as one folder name.</summary>
    public static string FolderFor(string sweepName, string runsRoot = DefaultRunsRoot) =>
        Path.Combine(runsRoot, JobLabels.SafeName(sweepName));

    /// <summary>
    /// <c>runs/&lt;name&gt;</c>, unless another sweep of that name (other jobs) already wrote its results there: then
    /// <c>runs/&lt;name&gt;-&lt;sweep id&gt;</c>, so two sweeps never mix their images in one folder. The same sweep
    /// file run again (a new sweep id, the same jobs) goes back to its folder.
    /// </summary>
    public static string FolderFor(SweepResults results, string runsRoot = DefaultRunsRoot)
    {
        ArgumentNullException.ThrowIfNull(results);
        string folder = FolderFor(results.Name, runsRoot);
        return OtherSweepIn(folder, results) is null ? folder : $"{folder}-{results.SweepId}";
    }

    /// <summary>
    /// The id of the sweep whose results.json the folder holds when that sweep had other jobs than
    /// <paramref name="results"/>; null when the folder is free, holds these jobs, or holds no readable results.json.
    /// </summary>
    public static string? OtherSweepIn(string folder, SweepResults results)
    {
        string path = Path.Combine(folder, ResultsJsonFile);
        if (!File.Exists(path)) return null;
        SweepResults there;
        try
        {
            there = SweepResultsJson.Deserialize(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
        {
            return null; // not ours to judge; the writer leaves files it does not own alone anyway
        }
        if (there.SweepId == results.SweepId) return null;
        var jobsThere = there.Jobs.Select(j => j.JobId).ToHashSet(StringComparer.Ordinal);
        return jobsThere.SetEquals(results.Jobs.Select(j => j.JobId)) ? null : there.SweepId;
    }

    /// <summary>A blob reader over the coordinator's own blob store (the embedded farm, the coordinator's API).</summary>
    public static Func<string, CancellationToken, Task<byte[]>> ReadFrom(BlobStore blobs) =>
        (hash, ct) => File.ReadAllBytesAsync(blobs.PathOf(hash), ct);

    public static string ImagePath(string label) => $"images/{label}.png";

    public static string TracePath(string label) => $"traces/{label}.csv";

    public static string SnapshotPath(string label, int step) =>
        $"snapshots/{label}/step-{step.ToString("D6", CultureInfo.InvariantCulture)}.png";

    public static async Task<RunFolderSummary> WriteAsync(
        SweepResults results,
        Func<string, CancellationToken, Task<byte[]>> readBlob,
        string outDirectory,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(readBlob);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDirectory);
        CheckLabels(results);
        if (OtherSweepIn(outDirectory, results) is { } other)
            throw new InvalidDataException(
                $"{outDirectory} holds the results of sweep {other}, which had other jobs; write sweep {results.SweepId} to another folder.");
        var folder = new Folder(Path.GetFullPath(outDirectory), readBlob);
        Directory.CreateDirectory(folder.Root);

        var rows = new List<SweepResultRow>(results.Jobs.Count);
        foreach (SweepResultRow job in results.Jobs)
        {
            var snapshots = new List<string>();
            foreach (SnapshotBlob snapshot in job.Snapshots)
            {
                string path = SnapshotPath(job.Label, snapshot.Step);
                await folder.PutBlobAsync(path, snapshot.Blob, $"snapshot of {job.Label} at step {snapshot.Step}", ct);
                snapshots.Add(path);
            }
            string? image = null, trace = null;
            if (job.State == JobState.Done && job.ImageBlob is not null)
                await folder.PutBlobAsync(image = ImagePath(job.Label), job.ImageBlob, $"image of {job.Label}", ct);
            if (job.State == JobState.Done && job.TraceBlob is not null)
                await folder.PutBlobAsync(trace = TracePath(job.Label), job.TraceBlob, $"loss trace of {job.Label}", ct);
            rows.Add(job with { Files = new RunFiles(image, trace, snapshots) });
        }

        // The tables last: whatever they name is already in place.
        SweepResults written = results with { Jobs = rows };
        await folder.PutTextAsync(SweepFile, results.FileText, ct);
        await folder.PutTextAsync(ResultsCsvFile, ResultsCsv.Write(written), ct);
        await folder.PutTextAsync(ResultsJsonFile, SweepResultsJson.Serialize(written) + "\n", ct);

        // Sweep report (Report/SweepReport): last, from the files just written; best effort, never fails the folder.
        SweepReportSummary report = await SweepReport.WriteAsync(written, readBlob, folder.Root, ct);

        int done = results.CountOf(JobState.Done), failed = results.CountOf(JobState.Failed);
        return new RunFolderSummary(folder.Root, [.. folder.Written, .. report.FilesWritten], folder.Unchanged + report.FilesUnchanged,
            done, failed, results.Jobs.Count - done - failed) { ReportProblems = report.Problems };
    }

    /// <summary>Labels become paths: results that came over the wire must not name a file outside the folder.</summary>
    private static void CheckLabels(SweepResults results)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (SweepResultRow job in results.Jobs)
        {
            if (!JobLabels.IsSafe(job.Label))
                throw new InvalidDataException($"Job {job.JobId} has the label '{job.Label}', which is not a safe file name.");
            if (!seen.Add(job.Label))
                throw new InvalidDataException($"Two jobs of sweep {results.SweepId} have the label '{job.Label}'.");
        }
    }

    /// <summary>Beside the target, then renamed over it: a reader sees the old file or the new one, never half.</summary>
    internal static async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken ct)
    {
        string folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        string temp = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await File.WriteAllBytesAsync(temp, bytes, ct);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private sealed class Folder(string root, Func<string, CancellationToken, Task<byte[]>> readBlob)
    {
        private readonly List<string> _written = [];

        public string Root { get; } = root;

        public IReadOnlyList<string> Written => _written;

        public int Unchanged { get; private set; }

        public async Task PutBlobAsync(string relativePath, string hash, string purpose, CancellationToken ct)
        {
            string path = FullPath(relativePath);
            if (File.Exists(path) && await HashOfFileAsync(path, ct) == hash)
            {
                Unchanged++;
                return;
            }
            byte[] bytes = await readBlob(hash, ct);
            string actual = BlobHash.Of(bytes);
            if (actual != hash) throw new BlobMismatchException(hash, actual, purpose);
            await WriteAtomicallyAsync(path, bytes, ct);
            _written.Add(relativePath);
        }

        public async Task PutTextAsync(string relativePath, string text, CancellationToken ct)
        {
            string path = FullPath(relativePath);
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            if (File.Exists(path) && (await File.ReadAllBytesAsync(path, ct)).AsSpan().SequenceEqual(bytes))
            {
                Unchanged++;
                return;
            }
            await WriteAtomicallyAsync(path, bytes, ct);
            _written.Add(relativePath);
        }

        private string FullPath(string relativePath) => Path.Combine(Root, relativePath.Replace('/', Path.DirectorySeparatorChar));

        private static async Task<string> HashOfFileAsync(string path, CancellationToken ct)
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, ct));
        }

    }
}

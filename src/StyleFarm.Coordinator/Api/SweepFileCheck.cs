using System.Globalization;
using System.Numerics;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;

namespace StyleFarm.Coordinator.Api;

/// <summary>What <see cref="SweepFileCheck"/> found.</summary>
/// <param name="Submission">The loaded sweep when it has no error; null otherwise.</param>
/// <param name="Jobs">The jobs the sweep expands to (before equal jobs merge when it is invalid).</param>
internal sealed record SweepFileCheckResult(
    SweepFileSubmission? Submission,
    string? Name,
    int Jobs,
    IReadOnlyList<ApiError> Errors,
    IReadOnlyList<SweepFileView> Files)
{
    public bool Valid => Submission is not null && Errors.Count == 0;
}

/// <summary>
/// Checks a sweep file sent over HTTP with the real loader. The loader reads the files a sweep names from a folder,
/// so this lays the request's attached blobs out under their written names in a private folder (symbolic links to
/// the blob store; copies where links are not allowed) and loads the sweep from there. Before anything touches the
/// disk it reads the sweep's outline: a name that would leave the folder (absolute, or with ..) is refused, since the
/// loader would otherwise read the server's own files; and a sweep with too many jobs is refused unread. Messages
/// never show the private folder; a file the sweep names but the request did not attach says to attach it.
/// </summary>
internal sealed class SweepFileCheck(BlobStore blobs)
{
    public const string DefaultFileName = "sweep.yaml";

    public SweepFileCheckResult Check(SweepFileRequest request)
    {
        ArgumentNullException.ThrowIfNull(request.FileText);
        string fileName = FileNameOf(request);
        DirectoryInfo folder = Directory.CreateTempSubdirectory("stylefarm-sweep-");
        try
        {
            return Check(request, fileName, folder.FullName);
        }
        finally
        {
            // Links only: deleting them leaves the blobs alone.
            try
            {
                folder.Delete(recursive: true);
            }
            catch (IOException)
            {
                // The temp cleaner gets it.
            }
        }
    }

    /// <summary>The request's file name without any folder, or <see cref="DefaultFileName"/>.</summary>
    public static string FileNameOf(SweepFileRequest request) =>
        string.IsNullOrWhiteSpace(request.FileName) ? DefaultFileName : Path.GetFileName(request.FileName.Trim()) is { Length: > 0 } name ? name : DefaultFileName;

    private SweepFileCheckResult Check(SweepFileRequest request, string fileName, string root)
    {
        var errors = new List<ApiError>();
        var sent = new HashSet<string>(StringComparer.Ordinal); // every name the request sent, usable blob or not
        Dictionary<string, string> attached = AttachedFiles(request, root, sent, errors);

        // Nothing is read from disk yet: the outline only resolves the sweep's paths against the private folder.
        SweepOutline outline = SweepOutline.Read(request.FileText, root);
        var files = new List<SweepFileView>();
        var unattached = new List<SweepFileReference>();
        var blocked = errors.Count > 0;
        foreach (SweepFileReference file in outline.Files)
        {
            bool inside = IsInside(root, file.FullPath);
            bool isAttached = inside && attached.ContainsKey(file.FullPath);
            files.Add(new SweepFileView(file.Written, file.Field, file.Line, isAttached));
            if (!inside)
            {
                errors.Add(new ApiError(file.Field, file.Line,
                    $"'{file.Written}' is outside the sweep's folder; name each file relative to the sweep file, inside its folder (like content.jpg), and attach it"));
                blocked = true;
            }
            else if (!isAttached && !sent.Contains(file.FullPath)) // a name sent with a bad blob has its own error
            {
                unattached.Add(file);
            }
        }
        if (outline.JobCount > outline.MaxJobs || outline.JobCount > SubmissionChecks.MaxJobsPerRequest)
        {
            if (outline.JobCount > SubmissionChecks.MaxJobsPerRequest && outline.JobCount <= outline.MaxJobs)
                errors.Add(new ApiError(SweepKeys.MaxJobs, 0,
                    $"the sweep expands to {N(outline.JobCount)} jobs; one submission takes at most {N(SubmissionChecks.MaxJobsPerRequest)}"));
            blocked = true;
        }
        int jobs = (int)BigInteger.Min(outline.JobCount, int.MaxValue);

        if (blocked || outline.Name is null)
        {
            // Refused before any file is laid out: report what the outline found and every file still to attach.
            errors.AddRange(outline.Errors.Select(e => new ApiError(e.Field, e.Line, Scrub(e.Message, root))));
            errors.AddRange(unattached.Select(AttachError));
            return new SweepFileCheckResult(null, outline.Name, jobs, InLineOrder(errors), files);
        }

        foreach (SweepFileReference file in outline.Files.Where(f => attached.ContainsKey(f.FullPath)).DistinctBy(f => f.FullPath))
            LayOut(attached[file.FullPath], file.FullPath);

        try
        {
            SweepFileSubmission submission = SweepFileSubmission.Parse(fileName, request.FileText, root);
            return new SweepFileCheckResult(submission, submission.Sweep.Name, submission.Sweep.Jobs.Count, [], files);
        }
        catch (SweepValidationException e)
        {
            foreach (SweepError error in e.Errors)
            {
                SweepFileReference? missing = unattached.FirstOrDefault(f => f.Field == error.Field && f.Line == error.Line);
                errors.Add(missing is not null && error.Message.StartsWith("cannot find", StringComparison.Ordinal)
                    ? AttachError(missing)
                    : new ApiError(error.Field, error.Line, Scrub(error.Message, root)));
            }
            return new SweepFileCheckResult(null, outline.Name, jobs, InLineOrder(errors), files);
        }
    }

    /// <summary>
    /// The request's files as full path in the private folder → blob hash; a name that would leave the folder, a
    /// value that is not a blob hash, or a blob the coordinator lacks is an error (field <c>files[name]</c>).
    /// </summary>
    private Dictionary<string, string> AttachedFiles(SweepFileRequest request, string root, HashSet<string> sent, List<ApiError> errors)
    {
        var attached = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string hash) in request.Files ?? new Dictionary<string, string>())
        {
            string field = $"files[{name}]";
            if (ResolveAttached(root, name) is not { } fullPath)
            {
                errors.Add(new ApiError(field, 0,
                    $"'{name}' is not a file name inside the sweep's folder; attach files by the relative path the sweep file writes (like content.jpg), without .. or a leading /"));
                continue;
            }
            sent.Add(fullPath);
            if (!BlobAddress.IsValid(hash))
                errors.Add(new ApiError(field, 0, $"'{hash}' is not a blob hash (64 lower-case hex characters of a SHA-256)"));
            else if (!blobs.Exists(hash))
                errors.Add(new ApiError(field, 0, $"blob {hash} is not on the coordinator; upload '{name}' first with PUT /api/v1/blobs/{hash}"));
            else if (attached.TryGetValue(fullPath, out string? other) && other != hash)
                errors.Add(new ApiError(field, 0, $"'{name}' names the same file as another attached name, with different bytes"));
            else
                attached[fullPath] = hash;
        }
        return attached;
    }

    private static string? ResolveAttached(string root, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || Path.IsPathRooted(name) || name.Contains('\0')
            || name.Split('/', '\\').Contains("..")) return null;
        try
        {
            string fullPath = Path.GetFullPath(Path.Combine(root, name));
            return IsInside(root, fullPath) ? fullPath : null;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
    }

    /// <summary>Strictly below the folder: the folder itself is not a file the sweep may name.</summary>
    private static bool IsInside(string root, string fullPath) =>
        fullPath.StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The blob as a file at <paramref name="fullPath"/>: a link (a weights file is half a gigabyte), else a copy.</summary>
    private void LayOut(string hash, string fullPath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        try
        {
            File.CreateSymbolicLink(fullPath, blobs.PathOf(hash));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            File.Copy(blobs.PathOf(hash), fullPath, overwrite: true);
        }
    }

    private static ApiError AttachError(SweepFileReference file) =>
        new(file.Field, file.Line, $"attach '{file.Written}': the sweep names this file, and none was attached under that name");

    /// <summary>Messages speak of files as the sweep writes them, never of the server's private folder.</summary>
    private static string Scrub(string message, string root) =>
        message.Replace(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, "", StringComparison.Ordinal)
            .Replace(root, ".", StringComparison.Ordinal);

    private static ApiError[] InLineOrder(List<ApiError> errors) => [.. errors.OrderBy(e => e.Line)];

    private static string N(BigInteger n) => n.ToString("N0", CultureInfo.InvariantCulture);
}

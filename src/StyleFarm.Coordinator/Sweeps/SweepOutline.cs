using System.Numerics;
using static StyleFarm.Coordinator.Sweeps.SweepKeys;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>A file a sweep names (content, style or weights), where the file names it.</summary>
/// <param name="Written">The path as the file writes it, e.g. <c>images/content.jpg</c>.</param>
/// <param name="FullPath">That path resolved against the sweep's folder.</param>
public sealed record SweepFileReference(string Written, string FullPath, string Field, int Line);

/// <summary>
/// A sweep file read and checked without touching the files it names: its name, how many jobs it expands to, the
/// files it names, and every problem that is not about those files. A server reads this first, to vet the paths
/// and the size of a sweep from elsewhere before it looks at (or lays out) any file.
/// </summary>
/// <param name="Name">The sweep's name, null when the file could not be read as a sweep.</param>
/// <param name="JobCount">Jobs the sweep expands to before equal jobs merge (0 when unread).</param>
/// <param name="MaxJobs">The sweep's max_jobs (its default when unset; 0 when unread).</param>
/// <param name="Files">Each value of content, style and weights that is a usable path, in file order.</param>
public sealed record SweepOutline(
    string? Name,
    BigInteger JobCount,
    int MaxJobs,
    IReadOnlyList<SweepFileReference> Files,
    IReadOnlyList<SweepError> Errors)
{
    /// <summary>Reads sweep text as <see cref="SweepLoader.Parse"/> does, short of the file checks and expansion.</summary>
    /// <param name="baseDirectory">The folder relative paths resolve against (it need not exist).</param>
    public static SweepOutline Read(string text, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        var errors = new ErrorList();
        SweepSpec? spec = SweepLoader.ReadSpec(text, baseDirectory, errors);
        if (spec is null)
        {
            return new SweepOutline(null, 0, 0, [], errors.InLineOrder());
        }

        SweepChecks.Run(spec, files: null, errors);
        SweepFileReference[] files =
        [
            .. new[] { Content, Style, Weights }
                .SelectMany(spec.ValuesOf)
                .Select(v => v.Value)
                .Where(v => v.Value is string)
                .OrderBy(v => v.Line)
                .Select(v => new SweepFileReference(v.Display, (string)v.Value!, v.Field, v.Line)),
        ];
        BigInteger jobs = Combinations.Count(spec.Method, [.. spec.Swept.Select(s => s.Values.Count)], spec.Samples);
        return new SweepOutline(spec.Name, jobs, spec.MaxJobs, files, errors.InLineOrder());
    }
}

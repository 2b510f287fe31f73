using StyleFarm.Coordinator.Sweeps;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// A sweep file loaded for submission: its name, its text, and the jobs that text expands to. `stylefarm submit`
/// (from a path) and POST /api/v1/sweeps/file (from a request, its files laid out by the server) both build one and
/// turn it into the same <see cref="SubmitSweepRequest"/>, so the two submit identical jobs.
/// </summary>
/// <param name="FileName">The sweep file's name (no folder), for messages and the run folder.</param>
/// <param name="FileText">The text the jobs were expanded from, kept with the sweep.</param>
public sealed record SweepFileSubmission(string FileName, string FileText, ExpandedSweep Sweep)
{
    /// <summary>
    /// Reads the file once and loads that text (its paths relative to its folder), so the text stored with the sweep
    /// is the text that produced its jobs even if the file is edited meanwhile.
    /// </summary>
    /// <exception cref="SweepValidationException">The file cannot be read or has errors; errors name it as <paramref name="path"/>.</exception>
    public static SweepFileSubmission Load(string path)
    {
        string text = SweepLoader.ReadFile(path);
        string fullPath = Path.GetFullPath(path);
        return new SweepFileSubmission(Path.GetFileName(fullPath), text, SweepLoader.Parse(text, path, Path.GetDirectoryName(fullPath)!));
    }

    /// <summary>Loads sweep text whose relative paths start from <paramref name="baseDirectory"/>.</summary>
    /// <exception cref="SweepValidationException">The text has errors; errors name it as <paramref name="fileName"/>.</exception>
    public static SweepFileSubmission Parse(string fileName, string fileText, string baseDirectory) =>
        new(fileName, fileText, SweepLoader.Parse(fileText, fileName, baseDirectory));

    /// <summary>The submission POST /api/v1/sweeps takes: every job's full settings (files as blob hashes) and swept values.</summary>
    public SubmitSweepRequest ToRequest() =>
        new(FileName, FileText, Sweep.Name, Sweep.Priority, Sweep.Retries, Sweep.MaxJobs,
            Sweep.Jobs.Select(j => new SubmitSweepJob(j.Settings, j.SweptValues)).ToArray());
}

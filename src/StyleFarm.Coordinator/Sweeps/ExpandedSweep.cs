using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>
/// A validated sweep with every job resolved.
/// </summary>
/// <param name="Jobs">In expansion order, each job once (jobs with the same <see cref="JobSettings.JobId"/> are merged).</param>
/// <param name="Images">
/// Every file the jobs name by hash: content hash → local path for the images, and the same for any weights file,
/// since that too travels as a content-addressed blob.
/// </param>
public sealed record ExpandedSweep(
    string Name,
    int Priority,
    int Retries,
    int MaxJobs,
    IReadOnlyList<SweepJob> Jobs,
    IReadOnlyDictionary<string, string> Images);

/// <summary>One job of a sweep.</summary>
/// <param name="SweptValues">
/// The swept parameters' values for this job as the file wrote them (a preset's name for <c>style_layers</c>, the
/// path as written for <c>content</c> and <c>style</c>), in the file's order; the report lays its grid out by these.
/// </param>
public sealed record SweepJob(JobSettings Settings, IReadOnlyDictionary<string, string> SweptValues);

using System.Globalization;
using System.Text;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Engine.Imaging;

namespace StyleFarm.Coordinator.Cli.Bench.Farm;

/// <summary>A sweep as submitted: the expanded jobs and the file text the store keeps.</summary>
internal sealed record BenchSweep(ExpandedSweep Expanded, string Text)
{
    public int Jobs => Expanded.Jobs.Count;
}

/// <summary>
/// The sweeps the farm benchmark submits. They are written as sweep files and read by the real loader, so that the
/// jobs are exactly what a user's sweep would make. Seeds are never fused (they are part of the fusion key) and
/// style weights are (rows of one batch), so seeds × style weights sets the jobs per unit.
/// </summary>
internal sealed class BenchSweeps
{
    private readonly string _folder;

    /// <summary>Writes the demo images (small: the no-op engine never reads them, the real sweep resizes them) into <paramref name="folder"/>.</summary>
    public BenchSweeps(string folder)
    {
        _folder = folder;
        DemoImages.WriteDemoPair(folder, out _, out _, width: 128, height: 96);
    }

    /// <summary>
    /// About <paramref name="jobs"/> jobs in units of <paramref name="jobsPerUnit"/> (rounded up to whole units) for
    /// the no-op engine: one seed per unit, <paramref name="jobsPerUnit"/> style weights within it. Seeds start at
    /// <paramref name="firstSeed"/>: a job id is its settings, so sweeps of one farm that must not reuse each other's
    /// results take seeds apart.
    /// </summary>
    public BenchSweep Dispatch(string name, int jobs, int jobsPerUnit, long firstSeed)
    {
        int units = (jobs + jobsPerUnit - 1) / jobsPerUnit;
        return Grid(name, size: 64, steps: 1, Enumerable.Range(0, units).Select(i => firstSeed + i),
            Enumerable.Range(1, jobsPerUnit).Select(w => (double)w));
    }

    /// <summary>
    /// A real sweep shaped like DESIGN.md's fusion target: one unit per seed, one variant per style weight, each
    /// read out at a quarter, half and all of <paramref name="steps"/> (so 100/200/400 at 400 steps).
    /// </summary>
    public BenchSweep Real(string name, int size, int steps, IEnumerable<long> seeds, IEnumerable<double> styleWeights) =>
        Grid(name, size, steps, seeds, styleWeights, stepCounts: [Math.Max(1, steps / 4), Math.Max(1, steps / 2), steps]);

    private BenchSweep Grid(string name, int size, int steps, IEnumerable<long> seeds, IEnumerable<double> styleWeights,
        IReadOnlyList<int>? stepCounts = null)
    {
        string seedList = string.Join(", ", seeds.Select(s => s.ToString(CultureInfo.InvariantCulture)));
        string weightList = string.Join(", ", styleWeights.Select(w => w.ToString("R", CultureInfo.InvariantCulture)));
        string? stepList = stepCounts is null ? null : string.Join(", ", stepCounts.Distinct().Select(n => n.ToString(CultureInfo.InvariantCulture)));
        int count = seedList.Split(',').Length * weightList.Split(',').Length * (stepList?.Split(',').Length ?? 1);
        var text = new StringBuilder()
            .AppendLine(CultureInfo.InvariantCulture, $"name: {name}")
            .AppendLine("content: content.png")
            .AppendLine("style: style.png")
            .AppendLine(CultureInfo.InvariantCulture, $"base: {{ network: resnet18, size: {size}, steps: {steps} }}")
            .AppendLine(CultureInfo.InvariantCulture, $"max_jobs: {count}")
            .AppendLine("sweep:")
            .AppendLine("  method: grid")
            .AppendLine("  parameters:")
            .AppendLine(CultureInfo.InvariantCulture, $"    seed: [{seedList}]")
            .AppendLine(CultureInfo.InvariantCulture, $"    style_weight: [{weightList}]")
            .Append(stepList is null ? "" : $"    steps: [{stepList}]\n")
            .ToString();
        return new BenchSweep(SweepLoader.Parse(text, $"{name}.yaml", _folder), text);
    }
}

using StyleFarm.Messages.Jobs;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>Expands a valid <see cref="SweepSpec"/> into its jobs.</summary>
internal static class SweepExpansion
{
    public static ExpandedSweep Expand(SweepSpec spec)
    {
        var hashes = new FileHashes();
        var resolver = new JobResolver(hashes);
        var jobs = new List<SweepJob>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int[] sizes = [.. spec.Swept.Select(s => s.Values.Count)];
        foreach (int[] row in Combinations.Of(spec.Method, sizes, spec.Samples, spec.RandomSeed))
        {
            JobSettings settings = resolver.Resolve(ValuesOfRow(spec, row));
            // Two rows can mean one job (a value listed twice, a ratio equal to explicit weights): run it once.
            if (seen.Add(settings.JobId))
            {
                jobs.Add(new SweepJob(settings, SweptValuesOfRow(spec, row)));
            }
        }

        return new ExpandedSweep(spec.Name, spec.Priority, spec.Retries, spec.MaxJobs, jobs, hashes.PathsByHash);
    }

    private static Dictionary<string, SettingValue> ValuesOfRow(SweepSpec spec, int[] row)
    {
        var values = new Dictionary<string, SettingValue>(spec.Fixed, StringComparer.Ordinal);
        for (int d = 0; d < row.Length; d++)
        {
            values[spec.Swept[d].Key] = spec.Swept[d].Values[row[d]];
        }

        return values;
    }

    private static Dictionary<string, string> SweptValuesOfRow(SweepSpec spec, int[] row)
    {
        var shown = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int d = 0; d < row.Length; d++)
        {
            shown[spec.Swept[d].Key] = spec.Swept[d].Values[row[d]].Display;
        }

        return shown;
    }
}

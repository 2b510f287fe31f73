namespace StyleFarm.Coordinator.Sweeps;

/// <summary>The keys a sweep file may use, by where they may appear.</summary>
internal static class SweepKeys
{
    // Top level.
    public const string Name = "name";
    public const string Content = "content";
    public const string Style = "style";
    public const string Base = "base";
    public const string Sweep = "sweep";
    public const string Priority = "priority";
    public const string Retries = "retries";
    public const string MaxJobs = "max_jobs";

    // Inside sweep.
    public const string Method = "method";
    public const string Samples = "samples";
    public const string Seed = "seed";
    public const string Parameters = "parameters";

    // Settings of a render (base, or swept in sweep.parameters).
    public const string Network = "network";
    public const string Weights = "weights";
    public const string Size = "size";
    public const string Steps = "steps";
    public const string ContentWeight = "content_weight";
    public const string StyleWeight = "style_weight";
    public const string TvWeight = "tv_weight";
    public const string ContentStyleRatio = "content_style_ratio";
    public const string LearningRate = "learning_rate";
    public const string Optimizer = "optimizer";
    public const string Init = "init";
    public const string ContentLayer = "content_layer";
    public const string StyleLayers = "style_layers";
    public const string SaveEvery = "save_every";

    public static readonly IReadOnlyList<string> TopLevel = [Name, Content, Style, Base, Sweep, Priority, Retries, MaxJobs];

    public static readonly IReadOnlyList<string> SweepSection = [Method, Samples, Seed, Parameters];

    public static readonly IReadOnlyList<string> Settings =
    [
        Network, Weights, Size, Steps, ContentWeight, StyleWeight, TvWeight, ContentStyleRatio, LearningRate,
        Optimizer, Init, Seed, SaveEvery, ContentLayer, StyleLayers,
    ];

    /// <summary>The images may be swept too, as lists; they are named at the top level rather than in base.</summary>
    public static readonly IReadOnlyList<string> Sweepable = [.. Settings, Content, Style];

    public const string Grid = "grid";
    public const string Random = "random";
    public const string Zip = "zip";
    public static readonly IReadOnlyList<string> Methods = [Grid, Random, Zip];

    public const string Adam = "adam";
    public const string Lbfgs = "lbfgs";
    public static readonly IReadOnlyList<string> Optimizers = [Adam, Lbfgs];

    public static readonly IReadOnlyList<string> Inits = ["content", "noise", "style"];

    /// <summary>A hint for a misspelt name: the closest candidate if it is close enough to be a plausible typo.</summary>
    public static string DidYouMean(string written, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in candidates)
        {
            int distance = EditDistance(written.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        int tolerance = Math.Max(2, written.Length / 3);
        return best is not null && bestDistance <= tolerance ? $"; did you mean '{best}'?" : "";
    }

    /// <summary>Levenshtein distance, one row at a time.</summary>
    private static int EditDistance(string a, string b)
    {
        int[] previous = Enumerable.Range(0, b.Length + 1).ToArray();
        int[] current = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}

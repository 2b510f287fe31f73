using StyleFarm.Coordinator.Planning;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;

namespace StyleFarm.Coordinator.Tests.Planning;

/// <summary>Resolved job settings to plan, and small units to schedule.</summary>
internal static class PlanningFixtures
{
    public const long PlentyOfMemory = 64L << 30;

    public static readonly string ContentHash = new('c', 64);
    public static readonly string StyleHash = new('s', 64);

    /// <summary>A resnet18 job with its defaults, as sweep expansion would resolve it.</summary>
    public static JobSettings Job(double styleWeight = 10, int steps = 100) => new(
        Network: "resnet18",
        WeightsBlob: null,
        Size: 256,
        Steps: steps,
        ContentWeight: 1,
        StyleWeight: styleWeight,
        TvWeight: 1e-5,
        LearningRate: 0.03,
        Optimizer: "adam",
        Init: "content",
        Seed: 0,
        SaveEvery: 100,
        ContentLayer: "layer3",
        StyleLayers: new[] { "stem", "layer1", "layer2", "layer3", "layer4" }.Select(l => new StyleLayerWeight(l, 1)).ToArray(),
        ContentImage: ContentHash,
        StyleImage: StyleHash);

    /// <summary>Every combination of the style weights and step counts, as a grid sweep expands it.</summary>
    public static JobSettings[] Grid(IEnumerable<double> styleWeights, IEnumerable<int> steps) =>
        styleWeights.SelectMany(w => steps.Select(s => Job(w, s))).ToArray();

    /// <summary>A planner whose units need 100 bytes per variant and nothing else: sizes in tests stay readable.</summary>
    public static FusionPlanner HundredBytesPerVariant() => new(_ => new MemoryEstimate(FixedBytes: 0, BytesPerVariant: 100, SafetyFactor: 1));

    /// <summary>One unit of <paramref name="variants"/> variants, its own by <paramref name="tag"/> (a content image of its own).</summary>
    public static WorkUnit Unit(string sweepId, string tag, int variants = 1, int priority = 50)
    {
        JobSettings[] jobs = Enumerable.Range(1, variants)
            .Select(i => Job(styleWeight: i) with { ContentImage = tag.PadLeft(64, '0') })
            .ToArray();
        return HundredBytesPerVariant().Plan(sweepId, priority, jobs, PlentyOfMemory).Single();
    }

    public static string[] JobIds(this IEnumerable<WorkUnit> units) => units.SelectMany(u => u.Jobs).Select(j => j.JobId).ToArray();
}

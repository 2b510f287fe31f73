using StyleFarm.Engine.Runs;
using StyleFarm.Engine.Tests.Support;
using static StyleFarm.Engine.Tests.Support.RunFixtures;
using static TorchSharp.torch;

namespace StyleFarm.Engine.Tests.Runs;

public class FusedRunnerTests : IDisposable
{
    private readonly TinyNetwork _network = new();
    private readonly Tensor _content = TestImages.Pattern(24, 32, 0.1);
    private readonly Tensor _style = TestImages.Pattern(24, 32, 0.8);

    public void Dispose()
    {
        _network.Dispose();
        _content.Dispose();
        _style.Dispose();
    }

    [Theory]
    [InlineData(OptimizerKind.Adam, InitKind.Content)]
    [InlineData(OptimizerKind.Lbfgs, InitKind.Content)]
    [InlineData(OptimizerKind.Adam, InitKind.Noise)]
    public void LossFallsOverThirtySteps(OptimizerKind optimizer, InitKind init)
    {
        double lr = optimizer == OptimizerKind.Lbfgs ? 1 : 0.03;
        var spec = Unit(_network, optimizer, init, Variant("a", lr: lr, steps: [30]));
        var (_, traces) = RunToArrays(_network, spec, _content, _style);
        var rows = traces["a"].Rows;
        Assert.Equal(30, rows.Count);
        Assert.True(rows[^1].Total < 0.5 * rows[0].Total, $"total loss went from {rows[0].Total} to {rows[^1].Total}");
    }

    [Fact]
    public void SameSeedGivesBitIdenticalOutput()
    {
        var spec = Unit(_network, OptimizerKind.Adam, InitKind.Noise, Variant("a", steps: [15]), Variant("b", styleWeight: 50, steps: [15]));
        var first = RunToArrays(_network, spec, _content, _style).Images;
        var second = RunToArrays(_network, spec, _content, _style).Images;
        foreach (var key in first.Keys) Assert.Equal(first[key], second[key]);

        var otherSeed = spec with { Seed = spec.Seed + 1 };
        var third = RunToArrays(_network, otherSeed, _content, _style).Images;
        Assert.NotEqual(first[("a", 15)], third[("a", 15)]);
    }

    [Fact]
    public void FusedVariantsEqualTheSameJobsRunAlone()
    {
        VariantSpec[] variants =
        [
            Variant("low", styleWeight: 1, lr: 0.02, steps: [12]),
            Variant("mid", styleWeight: 10, lr: 0.03, steps: [6, 20], tv: 0.5),
            Variant("high", styleWeight: 100, lr: 0.05, steps: [20], layers: new() { ["conv1"] = 0.2, ["conv3"] = 1 }),
        ];
        var fused = RunToArrays(_network, Unit(_network, variants), _content, _style);
        Assert.Equal(4, fused.Images.Count);
        foreach (VariantSpec variant in variants)
        {
            var alone = RunToArrays(_network, Unit(_network, variant), _content, _style);
            foreach (int step in variant.OutputSteps)
            {
                var (max, mean) = Difference(fused.Images[(variant.Id, step)], alone.Images[(variant.Id, step)]);
                Assert.True(max <= 1e-3 && mean <= 1e-5, $"{variant.Id}@{step}: max {max}, mean {mean}");
            }
            Assert.Equal(alone.Traces[variant.Id].Rows.Count, fused.Traces[variant.Id].Rows.Count);
        }
        // Variants differ from each other, so equality above is not an accident of identical settings.
        Assert.True(Difference(fused.Images[("low", 12)], fused.Images[("mid", 20)]).Max > 1e-2);
    }

    [Fact]
    public void ShortJobIsThePrefixOfALongerOne()
    {
        var shortRun = RunToArrays(_network, Unit(_network, Variant("a", steps: [10])), _content, _style);
        var longRun = RunToArrays(_network, Unit(_network, Variant("a", steps: [10, 30])), _content, _style);
        Assert.Equal(shortRun.Images[("a", 10)], longRun.Images[("a", 10)]);
        Assert.Equal(30, longRun.Traces["a"].Rows.Count);
        Assert.Equal(shortRun.Traces["a"].Rows.Select(r => r.Total), longRun.Traces["a"].UpTo(10).Rows.Select(r => r.Total));
        Assert.NotEqual(longRun.Images[("a", 10)], longRun.Images[("a", 30)]);
    }

    [Fact]
    public void TraceHasEveryStepWithAColumnPerStyleLayer()
    {
        var (_, traces) = RunToArrays(_network, Unit(_network, Variant("a", steps: [5], tv: 1)), _content, _style);
        LossTrace trace = traces["a"];
        Assert.Equal([1, 2, 3, 4, 5], trace.Rows.Select(r => r.Step));
        Assert.All(trace.Rows, r => Assert.Equal(3, r.Style.Count));
        Assert.All(trace.Rows, r => Assert.True(r.Tv > 0 && r.Content >= 0));
        Assert.StartsWith("step,total,content,style_conv1,style_conv2,style_conv3,tv\n1,", trace.ToCsv());
        Assert.Equal(trace.ToCsv(), LossTrace.FromCsv(trace.ToCsv()).ToCsv());
    }

    [Fact]
    public void SnapshotsComeEverySaveEveryAndAtEachOutputStep()
    {
        var spec = Unit(_network, Variant("a", steps: [7, 10])) with { SaveEvery = 4 };
        var seen = new List<(string, int, bool, long[])>();
        var options = new RunOptions { OnSnapshot = s => seen.Add((s.VariantId, s.Step, s.IsOutput, s.Image.shape)) };
        using var result = new FusedRunner(_network).Run(spec, _content, _style, options);
        Assert.Equal([4, 7, 8, 10], seen.Select(s => s.Item2));
        Assert.Equal([false, true, false, true], seen.Select(s => s.Item3));
        Assert.All(seen, s => Assert.Equal(new long[] { 3, 24, 32 }, s.Item4));
    }

    [Fact]
    public void ProgressReportsEveryStepWithLosses()
    {
        var steps = new List<int>();
        var options = new RunOptions { OnStep = p => { steps.Add(p.Step); Assert.Equal(2, p.Variants.Count); Assert.Equal(6, p.MaxSteps); } };
        using var result = new FusedRunner(_network).Run(Unit(_network, Variant("a", steps: [6]), Variant("b", steps: [6])), _content, _style, options);
        Assert.Equal(Enumerable.Range(1, 6), steps);
    }

    [Fact]
    public void CancellationStopsWithinOneStep()
    {
        using var cancel = new CancellationTokenSource();
        int last = 0;
        var options = new RunOptions { OnStep = p => { last = p.Step; if (p.Step == 4) cancel.Cancel(); } };
        Assert.Throws<OperationCanceledException>(() =>
            new FusedRunner(_network).Run(Unit(_network, Variant("a", steps: [100])), _content, _style, options, cancel.Token));
        Assert.Equal(4, last);
    }

    [Theory]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.Lbfgs)]
    public void ResumedCheckpointGivesTheSameResult(OptimizerKind optimizer)
    {
        double lr = optimizer == OptimizerKind.Lbfgs ? 1 : 0.03;
        var variants = optimizer == OptimizerKind.Adam
            ? new[] { Variant("a", lr: lr, steps: [8, 20]), Variant("b", styleWeight: 30, lr: lr, steps: [12]) }
            : new[] { Variant("a", lr: lr, steps: [20]) };
        var spec = Unit(_network, optimizer, InitKind.Content, variants);
        var straight = RunToArrays(_network, spec, _content, _style);

        // Stop at step 10 keeping a checkpoint as bytes, as it would travel to another process.
        byte[]? saved = null;
        using var cancel = new CancellationTokenSource();
        var first = new RunOptions
        {
            CheckpointEvery = 10,
            OnCheckpoint = c => { using (c) saved = c.ToBytes(); cancel.Cancel(); },
        };
        Assert.Throws<OperationCanceledException>(() => new FusedRunner(_network).Run(spec, _content, _style, first, cancel.Token));
        Assert.NotNull(saved);

        using var checkpoint = UnitCheckpoint.FromBytes(saved);
        Assert.Equal(10, checkpoint.Step);
        using var freshNetwork = new TinyNetwork();
        var resumed = RunToArrays(freshNetwork, spec, _content, _style, new RunOptions { ResumeFrom = checkpoint });
        foreach (var key in resumed.Images.Keys) Assert.Equal(straight.Images[key], resumed.Images[key]);
        Assert.Equal(straight.Traces["a"].Rows.Select(r => r.Total), resumed.Traces["a"].Rows.Select(r => r.Total));
    }

    [Fact]
    public void CheckpointOfAnotherUnitIsRefused()
    {
        UnitCheckpoint? taken = null;
        var spec = Unit(_network, Variant("a", steps: [6]));
        using (new FusedRunner(_network).Run(spec, _content, _style, new RunOptions { CheckpointEvery = 3, OnCheckpoint = c => taken = c })) { }
        using var checkpoint = taken!;
        var other = Unit(_network, Variant("a", styleWeight: 99, steps: [6]));
        var error = Assert.Throws<EngineException>(() => new FusedRunner(_network).Run(other, _content, _style, new RunOptions { ResumeFrom = checkpoint }));
        Assert.Contains("another unit", error.Message);
    }

    [Fact]
    public void InvalidSpecsAreRefusedWithTheirReason()
    {
        var runner = new FusedRunner(_network);
        Assert.Contains("not a layer of tiny", Assert.Throws<EngineException>(() =>
            runner.Run(Unit(_network, Variant("a")) with { ContentLayer = "conv9" }, _content, _style)).Message);
        Assert.Contains("learning rate", Assert.Throws<EngineException>(() =>
            runner.Run(Unit(_network, Variant("a", lr: -1)), _content, _style)).Message);
        Assert.Contains("one variant", Assert.Throws<EngineException>(() =>
            runner.Run(Unit(_network, OptimizerKind.Lbfgs, InitKind.Content, Variant("a"), Variant("b")), _content, _style)).Message);
        using var otherShape = TestImages.Pattern(20, 32, 0.3);
        Assert.Contains("content's shape", Assert.Throws<EngineException>(() =>
            runner.Run(Unit(_network, Variant("a")), _content, otherShape)).Message);
    }
}

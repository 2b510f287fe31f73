using StyleFarm.Coordinator.Planning;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;
using static StyleFarm.Coordinator.Tests.Planning.PlanningFixtures;

namespace StyleFarm.Coordinator.Tests.Planning;

public class FusionPlannerTests
{
    private readonly FusionPlanner _planner = new();

    [Fact]
    public void DesignExample_ThreeStyleWeightsTimesThreeStepCounts_IsOneUnitOfThreeVariants()
    {
        JobSettings[] jobs = Grid([1, 10, 100], [100, 200, 400]);

        WorkUnit unit = Assert.Single(_planner.Plan("sweep", 50, jobs, PlentyOfMemory));

        Assert.Equal(3, unit.Variants.Length);
        Assert.Equal(9, unit.Jobs.Count());
        Assert.Equal(400, unit.MaxSteps);
        Assert.Equal([1.0, 10.0, 100.0], unit.Variants.Select(v => v.StyleWeight).Order());
        foreach (UnitVariant variant in unit.Variants)
        {
            Assert.Equal([100, 200, 400], variant.Jobs.Select(j => j.Steps));
            Assert.Equal(jobs.Where(j => j.StyleWeight == variant.StyleWeight).Select(j => j.JobId).Order(),
                variant.Jobs.Select(j => j.JobId).Order());
        }
        Assert.Equal(jobs.Select(j => j.JobId).Order(), unit.Jobs.Select(j => j.JobId).Order());
        Assert.Equal(("sweep", 50), (unit.SweepId, unit.Priority));
    }

    [Fact]
    public void AUnitNeverAnswersMoreJobsThanOneMessageCarries()
    {
        // 200 style weights × 3 step counts: 600 jobs that would all fit in memory as one unit.
        JobSettings[] jobs = Grid(Enumerable.Range(1, 200).Select(i => (double)i).ToArray(), [100, 200, 400]);

        IReadOnlyList<WorkUnit> units = _planner.Plan("sweep", 50, jobs, PlentyOfMemory);

        Assert.True(units.Count > 1);
        Assert.All(units, u => Assert.True(u.Jobs.Count() <= StyleFarm.Messages.WireLimits.MaxJobsPerUnit, $"{u.Jobs.Count()} jobs"));
        Assert.Equal(600, units.Sum(u => u.Jobs.Count()));
        Assert.All(units.SelectMany(u => u.Variants), v => Assert.Equal(3, v.Jobs.Length));
    }

    [Fact]
    public void SharedSettings_AreTheFirstVariantsAtItsLastStep()
    {
        WorkUnit unit = Assert.Single(_planner.Plan("sweep", 50, Grid([1, 10], [100, 300]), PlentyOfMemory));

        UnitVariant first = unit.Variants[0];
        Assert.Equal(first.LastStep, unit.Shared.Steps);
        Assert.Equal(first.StyleWeight, unit.Shared.StyleWeight);
        Assert.Contains(unit.Shared.JobId, first.Jobs.Select(j => j.JobId));
    }

    public static TheoryData<string> SettingsThatSplitUnits() =>
    [
        "content image", "style image", "size", "network", "weights", "optimizer", "init", "seed", "save every",
        "content layer", "style layer names",
    ];

    [Theory]
    [MemberData(nameof(SettingsThatSplitUnits))]
    public void JobsThatDifferInMoreThanNumbers_GoToDifferentUnits(string setting)
    {
        JobSettings a = Job(styleWeight: 10);
        JobSettings b = setting switch
        {
            "content image" => a with { ContentImage = new string('d', 64) },
            "style image" => a with { StyleImage = new string('t', 64) },
            "size" => a with { Size = 512 },
            "network" => a with { Network = "vgg19", WeightsBlob = new string('w', 64), ContentLayer = "conv4_2",
                StyleLayers = [new("conv1_1", 1), new("conv2_1", 0.75)] },
            "weights" => a with { WeightsBlob = new string('w', 64) },
            "optimizer" => a with { Optimizer = "lbfgs" },
            "init" => a with { Init = "noise" },
            "seed" => a with { Seed = 1 },
            "save every" => a with { SaveEvery = 50 },
            "content layer" => a with { ContentLayer = "layer2" },
            "style layer names" => a with { StyleLayers = [new("layer1", 1), new("layer2", 1)] },
            _ => throw new ArgumentOutOfRangeException(nameof(setting)),
        };

        IReadOnlyList<WorkUnit> units = _planner.Plan("sweep", 50, [a, b], PlentyOfMemory);

        Assert.Equal(2, units.Count);
        Assert.All(units, u => Assert.Single(u.Jobs));
    }

    [Fact]
    public void JobsThatDifferOnlyInNumbers_AreRowsOfOneUnit()
    {
        JobSettings a = Job();
        JobSettings[] jobs =
        [
            a,
            a with { ContentWeight = 2 },
            a with { TvWeight = 0 },
            a with { LearningRate = 0.01 },
            a with { StyleLayers = a.StyleLayers.Select((l, i) => l with { Weight = i }).ToArray() },
        ];

        WorkUnit unit = Assert.Single(_planner.Plan("sweep", 50, jobs, PlentyOfMemory));

        Assert.Equal(5, unit.Variants.Length);
        Assert.Equal(5, unit.Variants.Select(v => v.VariantId).Distinct().Count());
        Assert.Contains(unit.Variants, v => v.StyleLayers.Select(l => l.Weight).SequenceEqual([0.0, 1, 2, 3, 4]));
    }

    [Fact]
    public void Lbfgs_GetsOneVariantPerUnit_AndKeepsTheStepPrefix()
    {
        JobSettings[] jobs = Grid([1, 10, 100], [100, 200]).Select(j => j with { Optimizer = "lbfgs", LearningRate = 1 }).ToArray();

        IReadOnlyList<WorkUnit> units = _planner.Plan("sweep", 50, jobs, PlentyOfMemory);

        Assert.Equal(3, units.Count);
        Assert.All(units, u => Assert.Single(u.Variants));
        Assert.All(units, u => Assert.Equal([100, 200], u.Variants[0].Jobs.Select(j => j.Steps)));
    }

    [Fact]
    public void MemoryBound_SplitsABigGridIntoBalancedUnitsThatEachFit()
    {
        JobSettings[] jobs = [.. from c in new[] { 1.0, 2, 3, 4, 5 }
                                from s in new[] { 1.0, 10, 100, 1000, 10000 }
                                from steps in new[] { 100, 200 }
                                select Job(s, steps) with { ContentWeight = c }];
        long free = MemoryEstimate.For(jobs[0]).BytesFor(6);

        IReadOnlyList<WorkUnit> units = _planner.Plan("sweep", 50, jobs, free);

        Assert.Equal([5, 5, 5, 5, 5], units.Select(u => u.Variants.Length));
        Assert.All(units, u => Assert.True(_planner.BytesFor(u) <= free));
        Assert.Equal(jobs.Select(j => j.JobId).Order(), units.JobIds().Order());
        Assert.All(units.SelectMany(u => u.Variants), v => Assert.Equal([100, 200], v.Jobs.Select(j => j.Steps)));
    }

    [Fact]
    public void MemoryBound_MatchesTheEstimate()
    {
        JobSettings job = Job();
        MemoryEstimate estimate = MemoryEstimate.For(job);

        Assert.Equal(7, _planner.BatchLimit(job, estimate.BytesFor(7)));
        Assert.Equal(6, _planner.BatchLimit(job, estimate.BytesFor(7) - 1));
        Assert.Equal(1, _planner.BatchLimit(job, 1));   // never less than one: a variant too big still gets a unit
    }

    [Fact]
    public void MaxVariantsPerUnit_CapsTheBatch()
    {
        IReadOnlyList<WorkUnit> units = _planner.Plan("sweep", 50, Grid([1, 2, 3, 4, 5, 6, 7], [100]), PlentyOfMemory, maxVariantsPerUnit: 3);

        Assert.Equal([3, 2, 2], units.Select(u => u.Variants.Length).OrderDescending());
    }

    [Fact]
    public void SameJobs_GiveTheSameUnitsWithTheSameIds_WhateverTheirOrder()
    {
        JobSettings[] jobs = [.. Grid([1, 10, 100, 1000], [100, 200, 400]), .. Grid([1, 10], [50]).Select(j => j with { Size = 128 })];
        JobSettings[] shuffled = jobs.OrderBy(j => j.JobId).Reverse().ToArray();
        long free = MemoryEstimate.For(jobs[0]).BytesFor(3);

        IReadOnlyList<WorkUnit> first = _planner.Plan("sweep", 50, jobs, free);
        IReadOnlyList<WorkUnit> second = new FusionPlanner().Plan("sweep", 50, shuffled, free);

        Assert.Equal(first.Select(Describe), second.Select(Describe));
        Assert.All(first, u => Assert.Equal(FusionPlanner.UnitIdOf("sweep", u.Jobs.Select(j => j.JobId)), u.UnitId));
        Assert.Equal(first.Count, first.Select(u => u.UnitId).Distinct().Count());
    }

    [Fact]
    public void A_units_id_starts_with_its_sweeps_id_so_that_the_store_keeps_a_sweeps_units_together()
    {
        JobSettings[] jobs = Grid([1, 10, 100], [100]).ToArray();
        long alone = MemoryEstimate.For(jobs[0]).BytesFor(1);

        IReadOnlyList<WorkUnit> units = _planner.Plan("3fa9c0d2e4b1", 50, jobs, alone);

        Assert.Equal(3, units.Count);
        Assert.All(units, u => Assert.Matches("^3fa9c0d2e4b1-[0-9a-f]{32}$", u.UnitId));
        // The part after the sweep's id tells the units apart, and the CLI shows that part.
        Assert.Equal(3, units.Select(u => Cli.DisplayIds.Short(u.UnitId)).Distinct().Count());
        Assert.All(units, u => Assert.Equal(u.UnitId[13..25], Cli.DisplayIds.Short(u.UnitId)));
        Assert.Equal(jobs[0].JobId[..12], Cli.DisplayIds.Short(jobs[0].JobId));
    }

    [Fact]
    public void UnitIds_DependOnTheSweepAndTheJobs()
    {
        JobSettings[] jobs = Grid([1, 10], [100]);

        string id = _planner.Plan("a", 50, jobs, PlentyOfMemory).Single().UnitId;

        Assert.Equal(id, _planner.Plan("a", 10, jobs, PlentyOfMemory).Single().UnitId);
        Assert.NotEqual(id, _planner.Plan("b", 50, jobs, PlentyOfMemory).Single().UnitId);
        Assert.NotEqual(id, _planner.Plan("a", 50, jobs.Take(1), PlentyOfMemory).Single().UnitId);
    }

    [Fact]
    public void DuplicateJobs_AreAnsweredOnce()
    {
        JobSettings[] jobs = Grid([1, 10], [100, 200]);

        WorkUnit unit = Assert.Single(_planner.Plan("sweep", 50, [.. jobs, .. jobs.Select(j => j with { })], PlentyOfMemory));

        Assert.Equal(4, unit.Jobs.Count());
    }

    [Fact]
    public void AnySubset_CanBeReplanned_WithStableVariantIds()
    {
        WorkUnit unit = Assert.Single(_planner.Plan("sweep", 50, Grid([1, 10, 100], [100, 200, 400]), PlentyOfMemory));
        string done = unit.Variants[0].Jobs[0].JobId;   // its first read-out already recorded
        string finished = unit.Variants[1].Jobs[^1].JobId;

        JobSettings[] remaining = FusionPlanner.JobsOf(unit).Where(j => j.JobId != done && j.JobId != finished).ToArray();
        WorkUnit replanned = Assert.Single(_planner.Plan("sweep", 50, remaining, PlentyOfMemory));

        Assert.Equal(remaining.Select(j => j.JobId).Order(), replanned.Jobs.Select(j => j.JobId).Order());
        Assert.Equal(unit.Variants.Select(v => v.VariantId).Order(), replanned.Variants.Select(v => v.VariantId).Order());
        Assert.NotEqual(unit.UnitId, replanned.UnitId);
    }

    [Fact]
    public void JobsOf_RebuildsEveryJobWithItsId()
    {
        JobSettings[] jobs = Grid([1, 10, 100], [100, 200, 400]);
        WorkUnit unit = _planner.Plan("sweep", 50, jobs, PlentyOfMemory).Single();

        Assert.Equal(jobs.OrderBy(j => j.JobId), FusionPlanner.JobsOf(unit).OrderBy(j => j.JobId));
    }

    [Fact]
    public void JobsOf_RefusesAUnitWhoseJobsItCannotRebuild()
    {
        WorkUnit unit = _planner.Plan("sweep", 50, Grid([1, 10], [100]), PlentyOfMemory).Single();
        WorkUnit forged = unit with { Shared = unit.Shared with { Seed = 7 } };

        Assert.Throws<InvalidOperationException>(() => FusionPlanner.JobsOf(forged));
    }

    [Fact]
    public void Split_CutsAUnitIntoEvenParts_WithoutCuttingTracks()
    {
        WorkUnit unit = _planner.Plan("sweep", 50, Grid(Enumerable.Range(1, 10).Select(i => (double)i), [100, 200]), PlentyOfMemory).Single();

        IReadOnlyList<WorkUnit> parts = _planner.Split(unit, 4);

        Assert.Equal([4, 3, 3], parts.Select(p => p.Variants.Length));
        Assert.Equal(unit.JobIdsInOrder(), parts.SelectMany(p => p.Jobs).Select(j => j.JobId));
        Assert.All(parts, p => Assert.Equal(FusionPlanner.UnitIdOf("sweep", p.Jobs.Select(j => j.JobId)), p.UnitId));
        Assert.All(parts, p => Assert.Equal(p.Variants[0].StyleWeight, p.Shared.StyleWeight));
        Assert.All(parts.SelectMany(FusionPlanner.JobsOf), j => Assert.Contains(j.JobId, unit.JobIdsInOrder()));
        Assert.Same(unit, Assert.Single(_planner.Split(unit, 10)));
    }

    [Fact]
    public void SplitToFit_SizesPartsToTheFreeMemory_OrSaysNothingFits()
    {
        FusionPlanner planner = HundredBytesPerVariant();
        WorkUnit unit = planner.Plan("sweep", 50, Grid([1, 2, 3, 4, 5], [100]), PlentyOfMemory).Single();

        Assert.Equal([3, 2], planner.SplitToFit(unit, 350)!.Select(p => p.Variants.Length));
        Assert.Null(planner.SplitToFit(unit, 99));
    }

    [Fact]
    public void LongestUnitsComeFirst()
    {
        JobSettings[] jobs = [.. Grid([1], [100]), .. Grid([1], [1000]).Select(j => j with { Seed = 1 }), .. Grid([1], [300]).Select(j => j with { Seed = 2 })];

        IReadOnlyList<WorkUnit> units = _planner.Plan("sweep", 50, jobs, PlentyOfMemory);

        Assert.Equal([1000, 300, 100], units.Select(u => u.MaxSteps));
    }

    [Fact]
    public void EachSizeIsBatchedByItsOwnMemoryEstimate_SeedsAlike_AndKnownIdsPlanTheSame()
    {
        // Two seeds at each of two sizes: four fusion groups, two memory estimates.
        JobSettings[] jobs = [.. from size in new[] { 64, 400 } from seed in new[] { 1L, 2L } from w in Enumerable.Range(1, 12)
                                  select Job(w) with { Size = size, Seed = seed }];
        JobSettings big = jobs.First(j => j.Size == 400), small = jobs.First(j => j.Size == 64);
        long free = new FusionPlanner().EstimateFor(big).BytesFor(3);
        int bigFits = _planner.BatchLimit(big, free), smallFits = _planner.BatchLimit(small, free);
        Assert.True(bigFits < 12 && smallFits > bigFits, $"{bigFits} at 400 px, {smallFits} at 64 px");

        IReadOnlyList<WorkUnit> units = _planner.Plan("sweep", 50, jobs, free);

        Assert.All(units.Where(u => u.Shared.Size == 400), u => Assert.True(u.Variants.Length <= bigFits));
        Assert.Equal(Math.Min(12, smallFits), units.Where(u => u.Shared.Size == 64).Max(u => u.Variants.Length));
        Assert.Equal(48, units.Sum(u => u.Jobs.Count()));
        Assert.Equal(units.Select(Describe), _planner.PlanWithIds("sweep", 50, jobs.Select(j => (j.JobId, j)), free).Select(Describe));
    }

    [Fact]
    public void NoJobs_NoUnits() => Assert.Empty(_planner.Plan("sweep", 50, [], PlentyOfMemory));

    private static string Describe(WorkUnit u) =>
        $"{u.UnitId}|{u.Shared.JobId}|{string.Join(";", u.Variants.Select(v => $"{v.VariantId}:{string.Join(",", v.Jobs.Select(j => $"{j.JobId}@{j.Steps}"))}"))}";
}

internal static class WorkUnitTestExtensions
{
    public static string[] JobIdsInOrder(this WorkUnit unit) => unit.Jobs.Select(j => j.JobId).ToArray();
}

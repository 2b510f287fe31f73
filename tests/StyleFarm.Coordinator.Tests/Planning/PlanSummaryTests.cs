using StyleFarm.Coordinator.Planning;
using StyleFarm.Messages.Jobs;
using StyleFarm.Messages.Work;
using static StyleFarm.Coordinator.Tests.Planning.PlanningFixtures;

namespace StyleFarm.Coordinator.Tests.Planning;

public class PlanSummaryTests
{
    [Fact]
    public void DesignExample_Fuses2100ImageStepsInto1200()
    {
        var planner = new FusionPlanner();
        IReadOnlyList<WorkUnit> units = planner.Plan("sweep", 50, Grid([1, 10, 100], [100, 200, 400]), PlentyOfMemory);

        PlanSummary summary = PlanSummary.Of(units, planner);

        Assert.Equal(9, summary.JobCount);
        Assert.Equal(1, summary.UnitCount);
        Assert.Equal([3], summary.BatchSizes);
        Assert.Equal(3 * (100 + 200 + 400), summary.OneByOneImageSteps);
        Assert.Equal(3 * 400, summary.FusedImageSteps);
        Assert.Equal(900, summary.SavedImageSteps);
        Assert.Equal(1.75, summary.Speedup, precision: 10);
        Assert.Equal(400, summary.BatchSteps);
        Assert.Equal(planner.BytesFor(units[0]), summary.PeakBytes);
        UnitSummary unit = Assert.Single(summary.Units);
        Assert.Equal((units[0].UnitId, 3, 9, 400, 1200L), (unit.UnitId, unit.Variants, unit.Jobs, unit.MaxSteps, unit.ImageSteps));
    }

    [Fact]
    public void LbfgsAndMemorySplits_ShowInTheBatchSizes()
    {
        var planner = new FusionPlanner();
        JobSettings[] adam = Grid([1, 2, 3, 4, 5], [100]);
        JobSettings[] lbfgs = Grid([1, 2], [100, 200]).Select(j => j with { Optimizer = "lbfgs" }).ToArray();
        long free = MemoryEstimate.For(adam[0]).BytesFor(3);

        PlanSummary summary = PlanSummary.Of(planner.Plan("sweep", 50, [.. adam, .. lbfgs], free), planner);

        Assert.Equal(9, summary.JobCount);
        Assert.Equal([3, 2, 1, 1], summary.BatchSizes.OrderDescending());
        Assert.Equal(3, summary.LargestBatch);
        Assert.Equal(500 + 2 * 300, summary.OneByOneImageSteps);
        Assert.Equal(500 + 2 * 200, summary.FusedImageSteps);
        Assert.True(summary.PeakBytes <= free);
    }

    [Fact]
    public void AnEmptyPlan_SavesNothing()
    {
        PlanSummary summary = PlanSummary.Of([]);

        Assert.Equal((0, 0, 0L, 1.0, 0L), (summary.JobCount, summary.UnitCount, summary.FusedImageSteps, summary.Speedup, summary.PeakBytes));
    }
}

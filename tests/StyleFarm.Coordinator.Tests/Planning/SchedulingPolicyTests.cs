using StyleFarm.Coordinator.Planning;
using StyleFarm.Messages.Work;
using static StyleFarm.Coordinator.Tests.Planning.PlanningFixtures;

namespace StyleFarm.Coordinator.Tests.Planning;

public class SchedulingPolicyTests
{
    private static readonly WorkRequest Gpu1 = new("node-1", "cuda:0");
    private static readonly WorkRequest Gpu2 = new("node-2", "cuda:0");

    // Units need 100 bytes a variant (see PlanningFixtures.HundredBytesPerVariant).
    private readonly SchedulingPolicy _policy = new(HundredBytesPerVariant());

    private WorkUnit Queue(string sweepId, string tag, int variants = 1)
    {
        WorkUnit unit = Unit(sweepId, tag, variants);
        Assert.True(_policy.Enqueue(unit));
        return unit;
    }

    private string? NextId(WorkRequest? request = null) => _policy.Next(request ?? Gpu1)?.Unit.UnitId;

    private string[] Drain(WorkRequest? request = null)
    {
        var ids = new List<string>();
        while (_policy.Next(request ?? Gpu1) is { } assignment)
        {
            ids.Add(assignment.Unit.UnitId);
            _policy.Completed(assignment.Unit.UnitId);
        }
        return [.. ids];
    }

    [Fact]
    public void HighestPriorityFirst()
    {
        _policy.AddSweep("low", priority: 10);
        _policy.AddSweep("high", priority: 90);
        WorkUnit low = Queue("low", "l1");
        WorkUnit high = Queue("high", "h1");

        Assert.Equal([high.UnitId, low.UnitId], Drain());
    }

    [Fact]
    public void WithinASweep_OldestFirst()
    {
        _policy.AddSweep("s", 50);
        string[] queued = new[] { "u1", "u2", "u3", "u4" }.Select(tag => Queue("s", tag).UnitId).ToArray();

        Assert.Equal(queued, Drain());
    }

    [Fact]
    public void SweepsOfEqualPriority_TakeTurns()
    {
        _policy.AddSweep("a", 50);
        _policy.AddSweep("b", 50);
        WorkUnit[] a = new[] { "a1", "a2", "a3" }.Select(tag => Queue("a", tag)).ToArray();
        WorkUnit[] b = new[] { "b1", "b2", "b3" }.Select(tag => Queue("b", tag)).ToArray();

        Assert.Equal([a[0].UnitId, b[0].UnitId, a[1].UnitId, b[1].UnitId, a[2].UnitId, b[2].UnitId], Drain());
    }

    [Fact]
    public void ASweepThatArrivesLater_JoinsTheTurnsAtOnce()
    {
        _policy.AddSweep("a", 50);
        _policy.AddSweep("b", 50);
        WorkUnit[] a = new[] { "a1", "a2" }.Select(tag => Queue("a", tag)).ToArray();
        WorkUnit[] b = new[] { "b1", "b2" }.Select(tag => Queue("b", tag)).ToArray();
        Assert.Equal(a[0].UnitId, NextId());
        Assert.Equal(b[0].UnitId, NextId(Gpu2));

        _policy.AddSweep("c", 50);
        WorkUnit c = Queue("c", "c1");

        Assert.Equal([c.UnitId, a[1].UnitId, b[1].UnitId], Drain());
    }

    [Fact]
    public void TurnsAreTakenOnlyAmongEqualPriorities()
    {
        _policy.AddSweep("a", 50);
        _policy.AddSweep("b", 50);
        _policy.AddSweep("urgent", 90);
        WorkUnit a = Queue("a", "a1");
        WorkUnit b = Queue("b", "b1");
        WorkUnit[] urgent = new[] { "u1", "u2" }.Select(tag => Queue("urgent", tag)).ToArray();

        Assert.Equal([urgent[0].UnitId, urgent[1].UnitId, a.UnitId, b.UnitId], Drain());
    }

    [Fact]
    public void PausedSweeps_AreSkipped_UntilResumed()
    {
        _policy.AddSweep("paused", 90);
        _policy.AddSweep("other", 10);
        WorkUnit paused = Queue("paused", "p1");
        WorkUnit other = Queue("other", "o1");

        _policy.Pause("paused");
        Assert.Equal(other.UnitId, NextId());
        Assert.Null(NextId());

        _policy.Resume("paused");
        Assert.Equal(paused.UnitId, NextId());
    }

    [Fact]
    public void CancelledSweeps_DropTheirUnits_AndReturnTheRunningOnes()
    {
        _policy.AddSweep("s", 50);
        WorkUnit running = Queue("s", "u1");
        Queue("s", "u2");
        Assert.Equal(running.UnitId, NextId());

        IReadOnlyList<WorkUnit> toStop = _policy.Cancel("s");

        Assert.Equal(running.UnitId, Assert.Single(toStop).UnitId);
        Assert.Null(NextId());
        Assert.Empty(_policy.PendingOf("s"));
        Assert.False(_policy.Enqueue(Unit("s", "u3")));
        Assert.Equal(FailureVerdict.Dropped, _policy.Failed(running.UnitId, "node-1", "cancelled")!.Verdict);
        Assert.True(_policy.IsIdle("s"));
    }

    [Fact]
    public void ARunningUnitOfACancelledSweep_HandedBack_IsForgotten()
    {
        _policy.AddSweep("s", 50);
        WorkUnit running = Queue("s", "u1");
        Assert.Equal(running.UnitId, NextId());

        _policy.Cancel("s");

        Assert.False(_policy.Released(running.UnitId));
        Assert.Equal(0, _policy.PendingCount);
        Assert.True(_policy.IsIdle("s"));
    }

    [Fact]
    public void ThreeFailuresOfASweepOnANode_BlockTheNodeForThatSweepOnly()
    {
        _policy.AddSweep("s", 50);
        _policy.AddSweep("other", 10);
        foreach (string tag in new[] { "u1", "u2", "u3", "u4" }) Queue("s", tag);
        WorkUnit other = Queue("other", "o1");

        var blocked = new List<bool>();
        for (int failure = 0; failure < 3; failure++)
        {
            Assignment assignment = _policy.Next(Gpu1)!;
            Assert.Equal("s", assignment.Unit.SweepId);
            blocked.Add(_policy.Failed(assignment.Unit.UnitId, "node-1", "CUDA error")!.NodeBlocked);
        }

        Assert.Equal([false, false, true], blocked);
        Assert.True(_policy.IsBlocked("s", "node-1"));
        Assert.Equal(["node-1"], _policy.BlockedNodes("s"));
        Assert.False(_policy.IsBlocked("other", "node-1"));
        Assert.Equal(other.UnitId, NextId(Gpu1));
        Assert.Null(NextId(Gpu1));
        Assert.Equal("s", _policy.Next(Gpu2)!.Unit.SweepId);
    }

    [Fact]
    public void RecordFailure_CountsPerSweepAndNode()
    {
        _policy.AddSweep("s", 50);

        Assert.False(_policy.RecordFailure("s", "node-1"));
        Assert.False(_policy.RecordFailure("s", "node-2"));
        Assert.False(_policy.RecordFailure("s", "node-1"));
        Assert.True(_policy.RecordFailure("s", "node-1"));
        Assert.False(_policy.RecordFailure("s", "node-1"));   // already blocked: no new block

        Assert.Equal(["node-1"], _policy.BlockedNodes("s"));
    }

    [Fact]
    public void AFailedUnit_IsRetriedUpToTheSweepsRetries_ThenItsJobsFailWithTheLastReason()
    {
        _policy.AddSweep("s", 50, retries: 3);
        WorkUnit unit = Queue("s", "u1", variants: 2);

        var verdicts = new List<FailureVerdict>();
        for (int attempt = 1; attempt <= 4; attempt++)
        {
            var node = new WorkRequest($"node-{attempt}", "cpu");   // another node each time: no node gets blocked
            Assignment assignment = _policy.Next(node)!;
            Assert.Equal((unit.UnitId, attempt - 1), (assignment.Unit.UnitId, assignment.Failures));
            FailureOutcome outcome = _policy.Failed(unit.UnitId, node.NodeId, $"out of memory #{attempt}")!;
            verdicts.Add(outcome.Verdict);
            if (attempt == 4)
            {
                Assert.Equal("out of memory #4", outcome.Reason);
                Assert.Equal(4, outcome.Failures);
                Assert.Equal(unit.Jobs.Select(j => j.JobId), outcome.FailedJobIds);
            }
            else
            {
                Assert.Empty(outcome.FailedJobIds);
            }
        }

        Assert.Equal([FailureVerdict.Retry, FailureVerdict.Retry, FailureVerdict.Retry, FailureVerdict.GiveUp], verdicts);
        Assert.Null(NextId());
        Assert.True(_policy.IsIdle("s"));
    }

    [Fact]
    public void NoRetries_GivesUpAtTheFirstFailure()
    {
        _policy.AddSweep("s", 50, retries: 0);
        WorkUnit unit = Queue("s", "u1");
        _policy.Next(Gpu1);

        Assert.Equal(FailureVerdict.GiveUp, _policy.Failed(unit.UnitId, "node-1", "boom")!.Verdict);
    }

    [Fact]
    public void ARetriedUnit_KeepsItsPlace_ButPrefersAnotherNode()
    {
        _policy.AddSweep("s", 50);
        WorkUnit failing = Queue("s", "u1");
        WorkUnit younger = Queue("s", "u2");
        Assert.Equal(failing.UnitId, NextId(Gpu1));
        _policy.Failed(failing.UnitId, "node-1", "NaN loss");

        Assert.Equal(younger.UnitId, NextId(Gpu1));   // node-1 failed it: it takes other work first
        Assert.Equal(failing.UnitId, NextId(Gpu2));   // another node takes it at its old place

        QueuedUnit running = Assert.Single(_policy.RunningOf("s"), u => u.Unit.UnitId == failing.UnitId);
        Assert.Equal((1, "NaN loss", ("node-2", "cuda:0")), (running.Failures, running.LastFailure, running.RunningOn!.Value));
        Assert.Equal(["node-1"], running.FailedOn);
    }

    [Fact]
    public void OnAOneNodeFarm_ARetryStillRunsOnTheNodeItFailedOn()
    {
        _policy.AddSweep("s", 50);
        WorkUnit unit = Queue("s", "u1");
        NextId();
        _policy.Failed(unit.UnitId, "node-1", "crash");

        Assert.Equal(unit.UnitId, NextId(Gpu1));
    }

    [Fact]
    public void UnitsTooBigForTheDevice_AreSkipped()
    {
        var policy = new SchedulingPolicy(HundredBytesPerVariant(), splitToFit: false);
        policy.AddSweep("s", 50);
        WorkUnit big = Unit("s", "big", variants: 4);      // 400 bytes
        WorkUnit small = Unit("s", "small", variants: 1);  // 100 bytes
        policy.Enqueue(big);
        policy.Enqueue(small);

        Assert.Equal(small.UnitId, policy.Next(Gpu1 with { FreeBytes = 250 })?.Unit.UnitId);
        Assert.Null(policy.Next(Gpu1 with { FreeBytes = 250 }));
        Assert.Equal(big.UnitId, policy.Next(Gpu2 with { FreeBytes = 400 })?.Unit.UnitId);
    }

    [Fact]
    public void AUnitTooBig_IsCutToFitTheDevice_WhenOneVariantFits()
    {
        _policy.AddSweep("s", 50);
        WorkUnit big = Queue("s", "big", variants: 5);
        WorkUnit younger = Queue("s", "small");

        Assignment assignment = _policy.Next(Gpu1 with { FreeBytes = 250 })!;

        UnitSplit split = assignment.Split!;
        Assert.Same(big, split.Original);
        Assert.Equal([2, 2, 1], split.Parts.Select(p => p.Variants.Length));
        Assert.Equal(split.Parts[0].UnitId, assignment.Unit.UnitId);
        Assert.Equal(big.Jobs.Select(j => j.JobId), split.Parts.SelectMany(p => p.Jobs).Select(j => j.JobId));
        // The rest keep the big unit's place, ahead of the younger unit.
        Assert.Equal([split.Parts[1].UnitId, split.Parts[2].UnitId, younger.UnitId], _policy.PendingOf("s").Select(u => u.Unit.UnitId));
        Assert.False(_policy.Completed(big.UnitId));
        Assert.True(_policy.Completed(assignment.Unit.UnitId));
    }

    [Fact]
    public void AUnitWhoseSingleVariantDoesNotFit_IsSkippedEvenWhenCuttingIsOn()
    {
        _policy.AddSweep("s", 50);
        Queue("s", "big", variants: 3);

        Assert.Null(_policy.Next(Gpu1 with { FreeBytes = 99 }));
        Assert.Equal(1, _policy.PendingCount);
    }

    [Fact]
    public void AUnitThatHasRun_IsNeverCut_ItsCheckpointCoversTheWholeUnit()
    {
        _policy.AddSweep("s", 50);
        WorkUnit big = Queue("s", "big", variants: 4);
        Assert.Equal(big.UnitId, _policy.Next(Gpu1 with { FreeBytes = 400 })?.Unit.UnitId);
        _policy.NodeLeft("node-1");

        Assert.Null(_policy.Next(Gpu2 with { FreeBytes = 250 }));

        var restarted = new SchedulingPolicy(HundredBytesPerVariant());
        restarted.AddSweep("s", 50);
        restarted.Enqueue(big, hasRun: true);
        Assert.Null(restarted.Next(Gpu2 with { FreeBytes = 250 }));
        Assert.Equal(big.UnitId, restarted.Next(Gpu2 with { FreeBytes = 400 })?.Unit.UnitId);
    }

    [Fact]
    public void ANodeThatLeaves_HandsItsUnitsBack_AtTheirPlace_WithoutAFailure()
    {
        _policy.AddSweep("s", 50);
        WorkUnit first = Queue("s", "u1");
        WorkUnit second = Queue("s", "u2");
        WorkUnit third = Queue("s", "u3");
        Assert.Equal(first.UnitId, NextId(Gpu1));
        Assert.Equal(second.UnitId, NextId(Gpu2));

        IReadOnlyList<WorkUnit> requeued = _policy.NodeLeft("node-1");

        Assert.Equal(first.UnitId, Assert.Single(requeued).UnitId);
        Assert.Equal([first.UnitId, third.UnitId], _policy.PendingOf("s").Select(u => u.Unit.UnitId));
        Assert.Equal(0, _policy.PendingOf("s")[0].Failures);
        Assert.False(_policy.IsBlocked("s", "node-1"));
        Assert.Equal(second.UnitId, Assert.Single(_policy.RunningOf("s")).Unit.UnitId);
    }

    [Fact]
    public void Enqueue_IgnoresAKnownUnit_AndRestoresFailuresAfterARestart()
    {
        _policy.AddSweep("s", 50, retries: 1);
        WorkUnit unit = Unit("s", "u1");

        Assert.True(_policy.Enqueue(unit, failures: 1, failedOn: ["node-1"], lastFailure: "crash"));
        Assert.False(_policy.Enqueue(unit));

        Assignment assignment = _policy.Next(Gpu2)!;
        Assert.Equal(1, assignment.Failures);
        Assert.Equal(FailureVerdict.GiveUp, _policy.Failed(unit.UnitId, "node-2", "crash again")!.Verdict);
    }

    [Fact]
    public void UnknownSweeps_AreRefused()
    {
        Assert.Throws<InvalidOperationException>(() => _policy.Enqueue(Unit("nobody", "u1")));
    }

    [Fact]
    public void ReportsOfUnknownUnits_AreIgnored()
    {
        Assert.False(_policy.Completed("nope"));
        Assert.Null(_policy.Failed("nope", "node-1", "?"));
        Assert.False(_policy.Released("nope"));
    }
}

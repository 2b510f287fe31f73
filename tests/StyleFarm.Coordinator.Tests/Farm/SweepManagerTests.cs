using Akka.TestKit;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;
using SweepState = StyleFarm.Coordinator.Store.SweepState;

namespace StyleFarm.Coordinator.Tests.Farm;

public sealed class SweepManagerTests : FarmTestKit
{
    private const string ThreeUnits = "init: [content, noise, style]";

    public SweepManagerTests(ITestOutputHelper output) : base(output) => StartManager();

    // ---- work pulling ----

    [Fact]
    public void Units_go_out_by_priority_then_in_their_sweeps_stored_order()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        SubmittedSweep low = Submit(ThreeUnits, priority: 10);
        SubmittedSweep high = Submit("init: [content, noise]", priority: 90);

        var handedOut = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            AssignUnit assign = Take(worker, "n1/cpu");
            handedOut.Add(assign.Unit.UnitId);
            Finish(worker, "n1/cpu", assign);
        }

        string[] expected = Store.UnitsOfSweep(high.Sweep.Id).Concat(Store.UnitsOfSweep(low.Sweep.Id)).Select(u => u.UnitId).ToArray();
        Assert.Equal(expected, handedOut);
        ExpectNoWork(worker, "n1/cpu");
    }

    [Fact]
    public void A_device_told_NoWork_hears_WorkAvailable_when_a_sweep_arrives()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        ExpectNoWork(worker, "n1/cpu");

        Submit(ThreeUnits);

        worker.ExpectMsg<WorkAvailable>();
        Assert.NotNull(Take(worker, "n1/cpu"));
    }

    [Fact]
    public void Sweeps_of_equal_priority_take_turns_on_the_devices()
    {
        JoinNode("n1", "a", "b", "c", "d");
        SubmittedSweep first = Submit(ThreeUnits, priority: 50);
        SubmittedSweep second = Submit(ThreeUnits, priority: 50);

        string[] sweeps = new[] { "a", "b", "c", "d" }.Select(d => Take(Worker($"n1/{d}"), $"n1/{d}").Unit.SweepId).ToArray();

        Assert.Equal([first.Sweep.Id, second.Sweep.Id, first.Sweep.Id, second.Sweep.Id], sweeps);
    }

    [Fact]
    public void A_device_of_an_unknown_node_gets_NoWork_until_its_node_joins()
    {
        Submit(ThreeUnits);
        var worker = Worker("n1/cpu");
        ExpectNoWork(worker, "n1/cpu");

        JoinNode("n1", "cpu");

        worker.ExpectMsg<WorkAvailable>();
        Take(worker, "n1/cpu");
    }

    [Fact]
    public void A_node_with_other_settings_is_refused_with_DrainNode_now()
    {
        var agent = CreateTestProbe();
        agent.Send(Manager, new NodeJoined("n9", "127.0.0.1", WireLimits.ProtocolVersion, "not-the-fingerprint", ["n9/cpu"]));
        agent.ExpectMsg<DrainNode>(d => Assert.True(d.Now));

        agent.Send(Manager, new NodeJoined("n9", "127.0.0.1", WireLimits.ProtocolVersion + 1, StyleFarmClusterSetup.SettingsFingerprint(Sys), ["n9/cpu"]));
        agent.ExpectMsg<DrainNode>(d => Assert.Equal("n9", d.NodeId));

        agent.Send(Manager, GetFarmNodes.Instance);
        Assert.Empty(agent.ExpectMsg<FarmNodes>().Nodes);
    }

    [Fact]
    public void A_unit_goes_out_without_waiting_for_its_assignment_to_commit_and_the_store_has_it_after()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        Submit(ThreeUnits);
        using (HeldCommits commits = HoldCommits())
        {
            worker.Send(Manager, new RequestWork("n1/cpu", 0));
            AssignUnit assign = worker.ExpectMsg<AssignUnit>(TimeSpan.FromSeconds(3)); // while no commit can finish

            commits.Release();
            AwaitStore(() => Store.GetUnit(assign.Unit.UnitId) is { State: UnitState.Assigned } u && u.AttemptId == assign.AttemptId,
                "the assignment stored under the attempt that went out");
        }
    }

    [Fact]
    public void A_unit_the_store_refuses_to_hand_out_is_cancelled_at_the_device_and_not_handed_out_again()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        SubmittedSweep sweep = Submit("style_weight: [1]");
        // Behind the manager's back the store no longer has the unit queued (as after a bug or a manual edit).
        string unitId = sweep.Units.Single().UnitId;
        Assert.NotNull(Store.AssignUnit(unitId, "elsewhere", "elsewhere/cpu"));

        AssignUnit assign = Take(worker, "n1/cpu");
        worker.ExpectMsg<CancelUnit>(c => Assert.Equal((unitId, assign.AttemptId, false), (c.UnitId, c.AttemptId, c.HandBack)));

        ExpectNoWork(worker, "n1/cpu");
    }

    // ---- a unit's cycle ----

    [Fact]
    public void A_unit_runs_its_cycle_with_a_chunked_upload_and_its_result_is_recorded_once_though_two_attempts_deliver()
    {
        JoinNode("n1", "cpu");
        JoinNode("n2", "cpu");
        var first = Worker("n1/cpu");
        var second = Worker("n2/cpu");
        SubmittedSweep sweep = Submit("style_weight: [1]");
        string jobId = Assert.Single(sweep.Units.Single().Jobs).JobId;
        TestProbe recorded = CreateTestProbe();
        Sys.EventStream.Subscribe(recorded.Ref, typeof(JobRecorded));

        // The first attempt hands the unit back; the second runs it. Both deliver the job's result.
        AssignUnit firstAttempt = Take(first, "n1/cpu");
        first.Send(Manager, new UnitProgress(firstAttempt.Unit.UnitId, firstAttempt.AttemptId, 10, []));
        first.Send(Manager, new HandBackUnit(firstAttempt.Unit.UnitId, firstAttempt.AttemptId, "n1/cpu", null, "draining"));
        first.ExpectMsg<HandBackAccepted>();
        AssignUnit secondAttempt = Take(second, "n2/cpu");
        Assert.Equal(firstAttempt.Unit.UnitId, secondAttempt.Unit.UnitId);
        Assert.NotEqual(firstAttempt.AttemptId, secondAttempt.AttemptId);

        byte[] image = new byte[100_000];
        new Random(7).NextBytes(image);
        string imageHash = Upload(second, image);
        string traceHash = Upload(second, "step,total\n1,2\n"u8.ToArray());
        second.Send(Manager, new UnitProgress(secondAttempt.Unit.UnitId, secondAttempt.AttemptId, 50,
            [new VariantLosses("v", new LossValues(3, 1, 1.5, 0.5))]));
        var progressed = ExpectEvent<UnitProgressed>(e => e.DeviceId == "n2/cpu");
        Assert.Equal((50, 100), (progressed.Step, progressed.MaxSteps));

        second.Send(Manager, Result(secondAttempt, jobId, "n2/cpu", imageHash, traceHash));
        second.ExpectMsg<ResultStored>(r => Assert.Equal(secondAttempt.AttemptId, r.AttemptId));
        first.Send(Manager, Result(firstAttempt, jobId, "n1/cpu"));
        first.ExpectMsg<ResultStored>(r => Assert.Equal(firstAttempt.AttemptId, r.AttemptId));
        second.Send(Manager, new UnitFinished(secondAttempt.Unit.UnitId, secondAttempt.AttemptId, "n2/cpu", 2.0));

        Assert.Equal(SweepState.Done, ExpectEvent<SweepEnded>().State);
        JobRecord job = Store.GetJob(jobId)!;
        Assert.Equal((JobState.Done, imageHash, "n2/cpu"), (job.State, job.ResultBlob, job.Device));
        Assert.Equal(image, Blobs.Read(imageHash));
        Assert.Equal(("n2/cpu", sweep.Sweep.Id), recorded.ExpectMsg<JobRecorded>(r => r.JobId == jobId) is var r ? (r.DeviceId, r.SweepId) : default);
        recorded.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_UnitDone_records_its_results_and_completes_the_unit_in_one_commit_while_the_next_unit_goes_out_at_once()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        SubmittedSweep sweep = Submit("style_weight: [1, 2]\n  init: [content, noise]"); // two units of two jobs
        TestProbe recorded = CreateTestProbe();
        Sys.EventStream.Subscribe(recorded.Ref, typeof(JobRecorded));
        AssignUnit first = Take(worker, "n1/cpu");
        JobAtStep[] jobs = first.Unit.Jobs.ToArray();
        Assert.Equal(2, jobs.Length);

        // One result went on its own and was stored; the UnitDone carries it again (as if unacknowledged) and the other.
        worker.Send(Manager, Result(first, jobs[0].JobId, "n1/cpu"));
        worker.ExpectMsg<ResultStored>();
        worker.Send(Manager, new UnitDone(first.Unit.UnitId, first.AttemptId, "n1/cpu", 1.5,
            [Result(first, jobs[0].JobId, "n1/cpu"), Result(first, jobs[1].JobId, "n1/cpu")]));
        worker.Send(Manager, new RequestWork("n1/cpu", 0));

        // The next unit needs no commit to go out; the end is answered once durable: by then the unit is done with
        // both results, each recorded once.
        AssignUnit second = worker.ExpectMsg<AssignUnit>();
        Assert.NotEqual(first.Unit.UnitId, second.Unit.UnitId);
        worker.ExpectMsg<UnitDoneStored>(d => Assert.Equal((first.Unit.UnitId, first.AttemptId), (d.UnitId, d.AttemptId)));
        Assert.Equal(UnitState.Done, Store.GetUnit(first.Unit.UnitId)!.State);
        Assert.All(jobs, j => Assert.Equal(JobState.Done, Store.GetJob(j.JobId)!.State));
        Assert.Equal(jobs.Select(j => j.JobId).Order(), new[] { recorded.ExpectMsg<JobRecorded>().JobId, recorded.ExpectMsg<JobRecorded>().JobId }.Order());
        recorded.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // A repeated UnitDone (its answer was lost) is answered again and changes nothing.
        worker.Send(Manager, new UnitDone(first.Unit.UnitId, first.AttemptId, "n1/cpu", 1.5, [Result(first, jobs[1].JobId, "n1/cpu")]));
        worker.ExpectMsg<UnitDoneStored>();
        recorded.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal(AttemptOutcome.Done, Store.GetAttempt(first.AttemptId)!.Outcome);
        Assert.Equal(sweep.Sweep.Id, Store.GetUnit(second.Unit.UnitId)!.SweepId);
    }

    [Fact]
    public void A_UnitDone_repeated_while_its_first_write_waits_for_the_commit_is_written_and_answered_once()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        Submit("style_weight: [1]");
        TestProbe recorded = CreateTestProbe();
        Sys.EventStream.Subscribe(recorded.Ref, typeof(JobRecorded));
        AssignUnit assign = Take(worker, "n1/cpu");
        string jobId = Assert.Single(assign.Unit.Jobs).JobId;
        using (HeldCommits commits = HoldCommits())
        {
            // The worker's resend interval passes while the store is slow: the same end arrives three times.
            var done = new UnitDone(assign.Unit.UnitId, assign.AttemptId, "n1/cpu", 1, [Result(assign, jobId, "n1/cpu")]);
            for (int i = 0; i < 3; i++) worker.Send(Manager, done);
            worker.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // nothing is answered before it is durable
            AwaitManagerCaughtUp(); // all three taken before the write commits
            commits.Release();

            worker.ExpectMsg<UnitDoneStored>(d => Assert.Equal(assign.AttemptId, d.AttemptId));
            worker.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
            Assert.Equal(jobId, recorded.ExpectMsg<JobRecorded>().JobId);
            recorded.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
            Assert.Equal(UnitState.Done, Store.GetUnit(assign.Unit.UnitId)!.State);
        }
    }

    [Fact]
    public void A_unit_that_ends_before_its_assignment_was_committed_is_stored_as_assigned_and_done_at_once()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        SubmittedSweep sweep = Submit("style_weight: [1]");
        TestProbe recorded = CreateTestProbe();
        Sys.EventStream.Subscribe(recorded.Ref, typeof(JobRecorded));
        // A commit of something else is under way, so the assignment waits in the queue; the unit ends meanwhile.
        using (HeldCommits commits = HoldCommitsBehindOne())
        {
            worker.Send(Manager, new RequestWork("n1/cpu", 0));
            AssignUnit assign = worker.ExpectMsg<AssignUnit>(TimeSpan.FromSeconds(3));
            string jobId = Assert.Single(assign.Unit.Jobs).JobId;
            worker.Send(Manager, new UnitDone(assign.Unit.UnitId, assign.AttemptId, "n1/cpu", 1, [Result(assign, jobId, "n1/cpu")]));
            worker.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
            AwaitManagerCaughtUp(); // the UnitDone taken while the assignment still waits
            commits.Release();

            worker.ExpectMsg<UnitDoneStored>(d => Assert.Equal(assign.AttemptId, d.AttemptId));
            Assert.Equal(jobId, recorded.ExpectMsg<JobRecorded>().JobId);
            UnitRecord unit = Store.GetUnit(assign.Unit.UnitId)!;
            Assert.Equal((UnitState.Done, 1, "n1"), (unit.State, unit.Attempts, unit.Node));
            AttemptRecord attempt = Assert.Single(Store.AttemptsOfUnit(assign.Unit.UnitId));
            Assert.Equal((assign.AttemptId, AttemptOutcome.Done, "n1/cpu"), (attempt.Id, attempt.Outcome, attempt.Device));
            Assert.Equal(JobState.Done, Store.GetJob(jobId)!.State);
            AwaitStore(() => Store.GetSweep(sweep.Sweep.Id)!.State == SweepState.Done, "the sweep done with its only unit");
            worker.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // no cancel: the folded assignment was not refused
            // One write did both: the assignment's own statement never ran.
            Assert.DoesNotContain(Store.PreparedStatements(), sql => sql.Contains("SET state = 'assigned'"));
        }
    }

    [Fact]
    public void Units_that_end_while_the_store_is_busy_are_stored_by_one_write_for_all_of_them()
    {
        JoinNode("n1", "cpu");
        JoinNode("n2", "cpu");
        TestProbe[] workers = [Worker("n1/cpu"), Worker("n2/cpu")];
        SubmittedSweep sweep = Submit("init: [content, noise]");
        TestProbe recorded = CreateTestProbe();
        Sys.EventStream.Subscribe(recorded.Ref, typeof(JobRecorded));
        using (HeldCommits commits = HoldCommitsBehindOne())
        {
            string[] devices = ["n1/cpu", "n2/cpu"];
            for (int i = 0; i < 2; i++)
            {
                workers[i].Send(Manager, new RequestWork(devices[i], 0));
                AssignUnit assign = workers[i].ExpectMsg<AssignUnit>(TimeSpan.FromSeconds(3));
                workers[i].Send(Manager, new UnitDone(assign.Unit.UnitId, assign.AttemptId, devices[i], 1,
                    [Result(assign, assign.Unit.Jobs.Single().JobId, devices[i])]));
            }
            AwaitManagerCaughtUp(); // both ends' writes wait in the queue together
            commits.Release();

            foreach (TestProbe worker in workers) worker.ExpectMsg<UnitDoneStored>();
            Assert.Equal(2, new[] { recorded.ExpectMsg<JobRecorded>(), recorded.ExpectMsg<JobRecorded>() }.Select(r => r.JobId).Distinct().Count());
            AwaitStore(() => Store.GetSweep(sweep.Sweep.Id)!.State == SweepState.Done, "the sweep done with its two units");
            Assert.All(sweep.Units, u => Assert.Equal(AttemptOutcome.Done, Assert.Single(Store.AttemptsOfUnit(u.UnitId)).Outcome));
            // Neither an assignment's statement nor the one-unit fold ran: one write for both units did it all.
            Assert.DoesNotContain(Store.PreparedStatements(), sql => sql.Contains("SET state = 'assigned'") ||
                                                                    sql.Contains("WHERE id = $unit AND state = 'queued'"));
        }
    }

    [Fact]
    public void A_UnitDone_of_a_stale_attempt_keeps_its_results_but_leaves_the_unit_to_its_new_attempt()
    {
        JoinNode("n1", "cpu");
        JoinNode("n2", "cpu");
        var first = Worker("n1/cpu");
        var second = Worker("n2/cpu");
        Submit("style_weight: [1]");
        AssignUnit lost = Take(first, "n1/cpu");
        first.Send(Manager, new HandBackUnit(lost.Unit.UnitId, lost.AttemptId, "n1/cpu", null, "draining"));
        first.ExpectMsg<HandBackAccepted>();
        AssignUnit again = Take(second, "n2/cpu");
        string jobId = lost.Unit.Jobs.Single().JobId;

        first.Send(Manager, new UnitDone(lost.Unit.UnitId, lost.AttemptId, "n1/cpu", 1, [Result(lost, jobId, "n1/cpu")]));

        first.ExpectMsg<UnitDoneStored>();
        Assert.Equal(JobState.Done, Store.GetJob(jobId)!.State);
        UnitRecord unit = Store.GetUnit(lost.Unit.UnitId)!;
        Assert.Equal((UnitState.Assigned, again.AttemptId), (unit.State, unit.AttemptId));
        // The new attempt's end completes it; its copy of the result is a duplicate.
        second.Send(Manager, new UnitDone(again.Unit.UnitId, again.AttemptId, "n2/cpu", 1, [Result(again, jobId, "n2/cpu")]));
        second.ExpectMsg<UnitDoneStored>();
        Assert.Equal(SweepState.Done, ExpectEvent<SweepEnded>().State);
        Assert.Equal("n1/cpu", Store.GetJob(jobId)!.Device);
    }

    [Fact]
    public void A_result_naming_a_blob_the_store_lacks_is_not_acknowledged()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        Submit("style_weight: [1]");
        AssignUnit assign = Take(worker, "n1/cpu");

        worker.Send(Manager, Result(assign, assign.Unit.Jobs.Single().JobId, "n1/cpu", image: BlobHash.Of([9, 9, 9])));

        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.NotEqual(JobState.Done, Store.GetJob(assign.Unit.Jobs.Single().JobId)!.State);
    }

    // ---- losing devices and nodes ----

    [Fact]
    public void A_unit_of_a_stopped_worker_runs_elsewhere_from_its_last_checkpoint()
    {
        JoinNode("n1", "cpu");
        JoinNode("n2", "cpu");
        var doomed = Worker("n1/cpu");
        var spare = Worker("n2/cpu");
        Submit("style_weight: [1]");
        AssignUnit assign = Take(doomed, "n1/cpu");
        ExpectNoWork(spare, "n2/cpu");
        Checkpoint(doomed, assign, 25);
        string latest = Checkpoint(doomed, assign, 50);

        Sys.Stop(doomed.Ref);

        spare.ExpectMsg<WorkAvailable>();
        AssignUnit again = Take(spare, "n2/cpu");
        Assert.Equal(assign.Unit.UnitId, again.Unit.UnitId);
        Assert.Equal(new ResumePoint(latest, 50), again.Resume);
        // The lost attempt's reports are stale now.
        doomed.Send(Manager, new UnitFinished(assign.Unit.UnitId, assign.AttemptId, "n1/cpu", 1));
        AwaitStore(() => Store.GetUnit(assign.Unit.UnitId)!.AttemptId == again.AttemptId, "the unit is held by the new attempt");
        Assert.Equal(AttemptOutcome.Requeued, Store.GetAttempt(assign.AttemptId)!.Outcome);
    }

    [Fact]
    public void Drain_tells_the_agent_and_the_nodes_devices_get_no_more_work()
    {
        TestProbe agent = JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        Submit(ThreeUnits);
        AssignUnit running = Take(worker, "n1/cpu");
        var client = CreateTestProbe();

        client.Send(Manager, new RequestDrain("n1", Now: false));

        agent.ExpectMsg<DrainNode>(d => Assert.Equal(("n1", false), (d.NodeId, d.Now)));
        client.ExpectMsg<NodeControlAck>(a => Assert.True(a.Applied));
        Finish(worker, "n1/cpu", running);
        ExpectNoWork(worker, "n1/cpu");
        client.Send(Manager, GetFarmNodes.Instance);
        Assert.Equal("draining", client.ExpectMsg<FarmNodes>().Nodes.Single().State);

        agent.Send(Manager, new NodeDrained("n1"));
        client.Send(Manager, new RequestDrain("n1", Now: true));
        client.ExpectMsg<NodeControlAck>(a => Assert.False(a.Applied));
        client.Send(Manager, new RequestDrain("nobody", Now: true));
        client.ExpectMsg<NodeControlAck>(a => Assert.Contains("unknown node", a.Error));
    }

    [Fact]
    public void FarmNodes_lists_nodes_in_join_order_with_their_devices_live_view()
    {
        JoinNode("n2", "cpu");
        JoinNode("n1", "cuda:0", "cuda:1");
        var worker = Worker("n1/cuda:0");
        Worker("n1/cuda:1");
        Submit("style_weight: [1]");
        AssignUnit assign = Take(worker, "n1/cuda:0");
        worker.Send(Manager, new UnitProgress(assign.Unit.UnitId, assign.AttemptId, 40, [new VariantLosses("v", new LossValues(4, 1, 2, 1))]));
        ExpectEvent<UnitProgressed>();

        var client = CreateTestProbe();
        client.Send(Manager, GetFarmNodes.Instance);
        NodeView[] nodes = client.ExpectMsg<FarmNodes>().Nodes;

        Assert.Equal(["n2", "n1"], nodes.Select(n => n.NodeId));
        DeviceView running = nodes[1].Devices.Single(d => d.DeviceId == "n1/cuda:0");
        Assert.Equal(("running", assign.Unit.UnitId, 40, 100, 4.0), (running.State, running.UnitId, running.Step, running.MaxSteps, running.LastLosses!.Total));
        Assert.Equal("idle", nodes[1].Devices.Single(d => d.DeviceId == "n1/cuda:1").State);
    }

    // ---- sweep control ----

    [Fact]
    public void Pause_brings_running_units_back_at_their_checkpoint_and_resume_hands_them_out_again()
    {
        JoinNode("n1", "a", "b");
        var a = Worker("n1/a");
        var b = Worker("n1/b");
        SubmittedSweep sweep = Submit("style_weight: [1]");
        AssignUnit assign = Take(a, "n1/a");
        string checkpoint = Checkpoint(a, assign, 25);

        SweepControlAck paused = Control(new PauseSweep(sweep.Sweep.Id)); // within a second
        Assert.True(paused.Applied);
        Assert.Equal(SweepState.Paused, Store.GetSweep(sweep.Sweep.Id)!.State);
        a.ExpectMsg<CancelUnit>(c => Assert.Equal((assign.AttemptId, true, "paused"), (c.AttemptId, c.HandBack, c.Reason)));
        a.Send(Manager, new HandBackUnit(assign.Unit.UnitId, assign.AttemptId, "n1/a", new ResumePoint(checkpoint, 25), "paused"));
        a.ExpectMsg<HandBackAccepted>();
        ExpectNoWork(b, "n1/b");

        Assert.True(Control(new ResumeSweep(sweep.Sweep.Id)).Applied);
        b.ExpectMsg<WorkAvailable>();
        AssignUnit resumed = Take(b, "n1/b");
        Assert.Equal(new ResumePoint(checkpoint, 25), resumed.Resume);
    }

    [Fact]
    public void Cancel_stops_running_units_ends_the_sweep_and_drops_the_attempts_later_reports()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        SubmittedSweep sweep = Submit(ThreeUnits);
        AssignUnit assign = Take(worker, "n1/cpu");

        Assert.True(Control(new CancelSweep(sweep.Sweep.Id)).Applied);

        worker.ExpectMsg<CancelUnit>(c => Assert.Equal((assign.AttemptId, false), (c.AttemptId, c.HandBack)));
        Assert.Equal(SweepState.Cancelled, ExpectEvent<SweepEnded>().State);
        worker.Send(Manager, new UnitProgress(assign.Unit.UnitId, assign.AttemptId, 5, []));
        worker.Send(Manager, new HandBackUnit(assign.Unit.UnitId, assign.AttemptId, "n1/cpu", null, "cancelled"));
        worker.ExpectMsg<HandBackAccepted>();
        ExpectNoWork(worker, "n1/cpu");
        Assert.Equal(SweepState.Cancelled, Store.GetSweep(sweep.Sweep.Id)!.State);
        Assert.All(Store.UnitsOfSweep(sweep.Sweep.Id), u => Assert.Equal(UnitState.Cancelled, u.State));

        SweepControlAck again = Control(new PauseSweep(sweep.Sweep.Id));
        Assert.False(again.Applied);
        Assert.False(Control(new CancelSweep("no-such-sweep")).Applied);
    }

    // ---- failures ----

    [Fact]
    public void A_failed_unit_is_retried_on_another_node()
    {
        JoinNode("n1", "cpu");
        JoinNode("n2", "cpu");
        var n1 = Worker("n1/cpu");
        var n2 = Worker("n2/cpu");
        SubmittedSweep sweep = Submit("init: [content, noise]");
        AssignUnit failing = Take(n1, "n1/cpu");

        n1.Send(Manager, new UnitFailed(failing.Unit.UnitId, failing.AttemptId, "n1/cpu", 3, "CUDA error: out of memory"));

        // n1 gets the other unit rather than the one that failed on it; n2 gets the failed one.
        AssignUnit other = Take(n1, "n1/cpu");
        Assert.NotEqual(failing.Unit.UnitId, other.Unit.UnitId);
        AssignUnit retry = Take(n2, "n2/cpu");
        Assert.Equal(failing.Unit.UnitId, retry.Unit.UnitId);
        UnitRecord stored = Store.GetUnit(failing.Unit.UnitId)!;
        Assert.Equal((1, "CUDA error: out of memory"), (stored.Failures, stored.FailureReason));
        Assert.Equal(["n1"], stored.FailedOn);
        Assert.Equal(SweepState.Running, Store.GetSweep(sweep.Sweep.Id)!.State);
    }

    [Fact]
    public void A_node_that_failed_a_sweep_three_times_gets_none_of_its_work()
    {
        JoinNode("n1", "cpu");
        JoinNode("n2", "cpu");
        var n1 = Worker("n1/cpu");
        var n2 = Worker("n2/cpu");
        Submit("init: [content, noise, style]\nstyle_weight: [1, 2]", steps: "100");

        for (int i = 0; i < 3; i++)
        {
            AssignUnit assign = Take(n1, "n1/cpu");
            n1.Send(Manager, new UnitFailed(assign.Unit.UnitId, assign.AttemptId, "n1/cpu", 0, $"boom {i}"));
        }

        ExpectNoWork(n1, "n1/cpu");
        Take(n2, "n2/cpu");
    }

    [Fact]
    public void A_unit_gives_up_after_its_retries_and_its_jobs_fail_with_the_reason()
    {
        JoinNode("n1", "cpu");
        JoinNode("n2", "cpu");
        var n1 = Worker("n1/cpu");
        var n2 = Worker("n2/cpu");
        SubmittedSweep sweep = Submit("style_weight: [1]", retries: 1);

        AssignUnit first = Take(n1, "n1/cpu");
        n1.Send(Manager, new UnitFailed(first.Unit.UnitId, first.AttemptId, "n1/cpu", 0, "first failure"));
        AssignUnit second = Take(n2, "n2/cpu");
        n2.Send(Manager, new UnitFailed(second.Unit.UnitId, second.AttemptId, "n2/cpu", 0, "second failure"));

        JobsFailed failed = ExpectEvent<JobsFailed>();
        Assert.Equal("second failure", failed.Reason);
        Assert.Equal(SweepState.Failed, ExpectEvent<SweepEnded>().State);
        JobRecord job = Store.GetJob(failed.JobIds.Single())!;
        Assert.Equal((JobState.Failed, "second failure"), (job.State, job.FailureReason));
        ExpectNoWork(n1, "n1/cpu");
        Assert.Equal(SweepState.Failed, Store.GetSweep(sweep.Sweep.Id)!.State);
    }

    [Fact]
    public void When_every_node_is_blocked_for_a_sweep_its_queued_units_fail_saying_so()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        SubmittedSweep sweep = Submit("style_weight: [1]", retries: 5);

        for (int i = 0; i < 3; i++)
        {
            AssignUnit assign = Take(worker, "n1/cpu");
            worker.Send(Manager, new UnitFailed(assign.Unit.UnitId, assign.AttemptId, "n1/cpu", 0, "driver crash"));
        }

        JobsFailed failed = ExpectEvent<JobsFailed>();
        Assert.Contains("blocked", failed.Reason);
        Assert.Contains("driver crash", failed.Reason);
        Assert.Equal(SweepState.Failed, ExpectEvent<SweepEnded>().State);
        Assert.Equal(SweepState.Failed, Store.GetSweep(sweep.Sweep.Id)!.State);
    }

    // ---- restart ----

    [Fact]
    public void A_restarted_coordinator_runs_nothing_that_completed_and_hands_out_the_rest_from_their_checkpoints()
    {
        JoinNode("n1", "cpu");
        var worker = Worker("n1/cpu");
        SubmittedSweep sweep = Submit(ThreeUnits);
        AssignUnit done = Take(worker, "n1/cpu");
        Finish(worker, "n1/cpu", done);
        AssignUnit interrupted = Take(worker, "n1/cpu");
        string checkpoint = Checkpoint(worker, interrupted, 50);
        AwaitStore(() => Store.GetUnit(interrupted.Unit.UnitId)!.Checkpoint?.Step == 50, "the checkpoint is stored");

        StopManager();
        StartManager();
        JoinNode("n1", "cpu");
        worker = Worker("n1/cpu");

        AssignUnit resumed = Take(worker, "n1/cpu");
        Assert.Equal(interrupted.Unit.UnitId, resumed.Unit.UnitId);
        Assert.Equal(new ResumePoint(checkpoint, 50), resumed.Resume);
        worker.Send(Manager, new UnitFinished(interrupted.Unit.UnitId, interrupted.AttemptId, "n1/cpu", 1)); // the old attempt: stale
        Finish(worker, "n1/cpu", resumed);
        AssignUnit last = Take(worker, "n1/cpu");
        Assert.DoesNotContain(last.Unit.UnitId, new[] { done.Unit.UnitId, interrupted.Unit.UnitId });
        Finish(worker, "n1/cpu", last);
        ExpectNoWork(worker, "n1/cpu");

        Assert.Equal(SweepState.Done, ExpectEvent<SweepEnded>().State);
        Assert.Single(Store.AttemptsOfUnit(done.Unit.UnitId));
        Assert.Equal(AttemptOutcome.Requeued, Store.GetAttempt(interrupted.AttemptId)!.Outcome);
    }

    // ---- helpers ----

    /// <summary>Offers a blob through the manager and serves the chunks its blob actor pulls.</summary>
    private string Upload(TestProbe worker, byte[] data)
    {
        string hash = BlobHash.Of(data);
        worker.Send(Manager, new BlobOffer(hash, data.Length));
        while (true)
        {
            object message = worker.ReceiveOne(TimeSpan.FromSeconds(5))!;
            switch (message)
            {
                case BlobChunkRequest request:
                    Assert.True(request.MaxBytes <= WireLimits.MaxChunkBytes);
                    worker.Reply(BlobChunker.Serve(request, data));
                    break;
                case BlobComplete complete:
                    Assert.True(complete.Stored, complete.Error);
                    return hash;
                default:
                    throw new Xunit.Sdk.XunitException($"unexpected {message}");
            }
        }
    }
}

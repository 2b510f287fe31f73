using System.Text;
using Akka.Actor;
using Akka.TestKit;
using SixLabors.ImageSharp;
using StyleFarm.Engine.Runs;
using StyleFarm.GpuNode.Blobs;
using StyleFarm.GpuNode.Devices;
using StyleFarm.GpuNode.Execution;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Node;

public sealed class DeviceWorkerTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _cacheFolder = Directory.CreateTempSubdirectory("stylefarm-node-blobs-").FullName;
    private readonly FakeCoordinator _coordinator;

    public DeviceWorkerTests(ITestOutputHelper output)
        : base(NodeTestConfig.Hocon, output: output)
    {
        _coordinator = new FakeCoordinator(this);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Directory.Delete(_cacheFolder, recursive: true);
    }

    private TestProbe Coordinator => _coordinator.Probe;

    private IActorRef StartWorker(Func<UnitRunnerContext, IUnitRunner> runner, int maxResends = 20) =>
        ChildActorOf(DeviceWorker.Props(new DeviceWorkerSetup("node-a", "cpu", _coordinator.Ref, new NodeBlobCache(_cacheFolder), runner, OneThread)
        {
            Timings = new DeviceWorkerTimings
            {
                ResendInterval = TimeSpan.FromMilliseconds(300),
                ProgressInterval = TimeSpan.FromMilliseconds(250),
                MaxResends = maxResends,
            },
        }));

    private const int OneThread = 1; // the machine's cores are shared; torch's default would oversubscribe them

    /// <summary>Waits for the worker's RequestWork and answers it with <paramref name="unit"/>.</summary>
    private AssignUnit Assign(WorkUnit unit, string attemptId = "attempt-1", int checkpointEvery = 0)
    {
        var request = Coordinator.ExpectMsg<RequestWork>(Patience);
        Assert.Equal("node-a/cpu", request.DeviceId);
        var assign = new AssignUnit(attemptId, unit, null, checkpointEvery);
        Coordinator.Reply(assign);
        return assign;
    }

    [Fact]
    public void A_real_unit_reports_progress_then_each_result_after_its_blobs_until_stored_then_ends_with_the_rest_and_asks_again()
    {
        var worker = StartWorker(context => new RealUnitRunner(context));
        var unit = NodeUnits.Demo(_coordinator, aSteps: [2, 4], bSteps: [3], saveEvery: 3);
        Assign(unit, checkpointEvery: 2);

        var progress = new List<UnitProgress>();
        var announced = new List<object>();
        var results = new Dictionary<string, JobResult>();
        var resent = new HashSet<string>();
        UnitDone? done = null;
        // Leave every result sent on its own unanswered once, to see it sent again; then store it. The jobs that end
        // with the unit (a@4) come in its UnitDone, with any result not stored yet.
        while (done is null)
        {
            var message = Coordinator.ReceiveOne(Patience) ?? throw new TimeoutException("the worker went quiet");
            switch (message)
            {
                case UnitProgress p:
                    progress.Add(p);
                    break;
                case SnapshotReady snapshot:
                    Assert.True(_coordinator.Uploaded.ContainsKey(snapshot.ImageBlob));
                    announced.Add(snapshot);
                    break;
                case UnitCheckpointed checkpointed:
                    using (var checkpoint = UnitCheckpoint.FromBytes(_coordinator.Uploaded[checkpointed.CheckpointBlob]))
                        Assert.Equal(checkpointed.Step, checkpoint.Step);
                    announced.Add(checkpointed);
                    break;
                case JobResult result when !results.ContainsKey(result.JobId):
                    // Its blobs were complete before the result was sent.
                    Assert.True(_coordinator.Uploaded.ContainsKey(result.ImageBlob));
                    Assert.True(_coordinator.Uploaded.ContainsKey(result.TraceBlob));
                    results[result.JobId] = result;
                    break;
                case JobResult result:
                    Assert.Equal(results[result.JobId], result);
                    resent.Add(result.JobId);
                    Coordinator.Send(Coordinator.LastSender, new ResultStored(result.UnitId, result.AttemptId, result.JobId));
                    break;
                case UnitDone unitDone:
                    done = unitDone;
                    break;
                default:
                    Assert.Fail($"unexpected {message}");
                    break;
            }
        }
        Assert.Equal(("unit-1", "attempt-1", "node-a/cpu"), (done.UnitId, done.AttemptId, done.DeviceId));
        Assert.True(done.EngineSeconds > 0);
        var a4 = unit.Variants.Single(v => v.VariantId == "a").Jobs.Single(j => j.Steps == 4).JobId;
        Assert.Contains(a4, done.Results.Select(r => r.JobId));
        Assert.DoesNotContain(a4, resent);
        foreach (var result in done.Results)
        {
            // Every result not stored yet, and nothing stored already.
            Assert.DoesNotContain(result.JobId, resent);
            if (results.TryGetValue(result.JobId, out var sent))
                Assert.Equal(sent, result);
            Assert.True(_coordinator.Uploaded.ContainsKey(result.ImageBlob));
            Assert.True(_coordinator.Uploaded.ContainsKey(result.TraceBlob));
            results[result.JobId] = result;
        }
        // The device asks for its next unit without waiting for the UnitDone to be stored.
        Coordinator.FishForMessage<RequestWork>(m => m is RequestWork, Patience);

        Assert.Equal(unit.Jobs.Select(j => j.JobId).Order(), results.Keys.Order());
        foreach (var job in unit.Jobs)
        {
            var result = results[job.JobId];
            var image = Image.Identify(_coordinator.Uploaded[result.ImageBlob]);
            Assert.Equal((64, 32), (image.Width, image.Height));
            var trace = LossTrace.FromCsv(Encoding.UTF8.GetString(_coordinator.Uploaded[result.TraceBlob]));
            Assert.Equal(job.Steps, trace.Rows.Count);
            Assert.Equal(trace.Last!.Total, result.FinalLosses.Total);
            Assert.Equal(2, result.Timings.BatchSize);
            Assert.Equal("node-a/cpu", result.DeviceId);
        }
        // Snapshots at save_every (step 3, both variants still running), a checkpoint every 2 steps before the end.
        Assert.Equal(["a@3", "b@3"], announced.OfType<SnapshotReady>().Select(r => $"{r.VariantId}@{r.Step}").Order());
        Assert.Equal([2], announced.OfType<UnitCheckpointed>().Select(c => c.Step));
        // Progress carries each running variant's losses, and the last step always goes out.
        Assert.NotEmpty(progress);
        Assert.Equal(4, progress[^1].Step);
        Assert.Equal(progress.Select(p => p.Step).Order(), progress.Select(p => p.Step));
        Assert.Contains(progress, p => p.Losses.Select(l => l.VariantId).SequenceEqual(["a", "b"]));
        Watch(worker);
    }

    [Fact]
    public void A_runner_that_throws_fails_the_unit_with_its_reason_and_the_device_asks_again()
    {
        StartWorker(_ => new ThrowingRunner("the GPU caught fire"));
        Assign(NodeUnits.Opaque(_coordinator, "unit-2"));

        var failed = Coordinator.ExpectMsg<UnitFailed>(Patience);
        Assert.Equal(("unit-2", "attempt-1", "node-a/cpu"), (failed.UnitId, failed.AttemptId, failed.DeviceId));
        Assert.Contains("the GPU caught fire", failed.Reason);
        Coordinator.ExpectMsg<RequestWork>(Patience);
    }

    [Fact]
    public void A_unit_whose_image_the_coordinator_cannot_serve_fails_without_running()
    {
        var runner = new GatedRunner();
        StartWorker(_ => runner);
        var unit = NodeUnits.Opaque(_coordinator, "unit-3");
        _coordinator.Served.TryRemove(unit.Shared.StyleImage, out _);
        Assign(unit);

        var failed = Coordinator.ExpectMsg<UnitFailed>(Patience);
        Assert.Contains(unit.Shared.StyleImage, failed.Reason);
        Assert.False(runner.Started.Task.IsCompleted);
        Coordinator.ExpectMsg<RequestWork>(Patience);
    }

    [Fact]
    public void Cancel_with_hand_back_checkpoints_uploads_it_and_hands_the_unit_back_until_accepted()
    {
        StartWorker(context => new RealUnitRunner(context));
        var unit = NodeUnits.Demo(_coordinator, aSteps: [400], bSteps: [400]);
        Assign(unit);
        Coordinator.FishForMessage<UnitProgress>(m => m is UnitProgress, Patience);
        var worker = Coordinator.LastSender;
        Coordinator.Send(worker, new CancelUnit("unit-1", "attempt-1", HandBack: true, "the node drains"));

        var handBack = Coordinator.FishForMessage<HandBackUnit>(m => m is HandBackUnit, Patience);
        Assert.Equal(("unit-1", "attempt-1", "node-a/cpu"), (handBack.UnitId, handBack.AttemptId, handBack.DeviceId));
        var resume = Assert.IsType<ResumePoint>(handBack.Resume);
        Assert.True(_coordinator.Uploaded.TryGetValue(resume.CheckpointBlob, out var checkpointBytes));
        using (var checkpoint = UnitCheckpoint.FromBytes(checkpointBytes))
            Assert.Equal(resume.Step, checkpoint.Step);
        Assert.InRange(resume.Step, 1, 399);

        // Unanswered, the hand-back is repeated; once accepted, the device is free.
        Assert.Equal(handBack, Coordinator.FishForMessage<HandBackUnit>(m => m is HandBackUnit, Patience));
        Coordinator.Send(worker, new HandBackAccepted("unit-1", "attempt-1"));
        Coordinator.FishForMessage<RequestWork>(m => m is RequestWork, Patience);
    }

    [Fact]
    public async Task Cancel_without_hand_back_drops_the_unit_and_reports_no_result()
    {
        var runner = new GatedRunner();
        StartWorker(_ => runner);
        Assign(NodeUnits.Opaque(_coordinator, "unit-4"));
        await runner.Started.Task.WaitAsync(Patience);
        Coordinator.Send(Coordinator.LastSender, new CancelUnit("unit-4", "attempt-1", HandBack: false, "sweep cancelled"));

        var handBack = Coordinator.ExpectMsg<HandBackUnit>(Patience);
        Assert.Null(handBack.Resume);
        // Nothing of the dropped attempt follows: no checkpoint, no result, no UnitFinished; just the next request.
        Coordinator.ExpectMsg<RequestWork>(Patience);
        Coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(BlobHashOf(GatedRunner.CheckpointBytes), _coordinator.Uploaded.Keys);
    }

    [Fact]
    public void A_device_registers_again_when_the_sweep_manager_it_registered_with_dies()
    {
        _coordinator.AnswerRegistration = false;
        var firstSweepManager = CreateTestProbe("first-sweep-manager");
        StartWorker(_ => new NoOpUnitRunner());
        var register = Coordinator.ExpectMsg<RegisterDevice>(Patience);
        Assert.Equal(("node-a/cpu", "cpu"), (register.DeviceId, register.Device));
        firstSweepManager.Send(Coordinator.LastSender, new DeviceRegistered("node-a/cpu"));
        Coordinator.FishForMessage<RequestWork>(m => m is RequestWork, Patience);

        Sys.Stop(firstSweepManager.Ref);
        Coordinator.FishForMessage<RegisterDevice>(m => m is RegisterDevice, Patience);
        Coordinator.Reply(new DeviceRegistered("node-a/cpu"));
        Coordinator.FishForMessage<RequestWork>(m => m is RequestWork, Patience);
    }

    [Fact]
    public void A_unit_end_waits_out_a_coordinator_gone_longer_than_the_resends_last_and_goes_again_once_registered()
    {
        _coordinator.AnswerRegistration = false;
        var firstSweepManager = CreateTestProbe("first-sweep-manager");
        StartWorker(_ => new NoOpUnitRunner(), maxResends: 2);
        Coordinator.ExpectMsg<RegisterDevice>(Patience);
        var worker = Coordinator.LastSender;
        firstSweepManager.Send(worker, new DeviceRegistered("node-a/cpu"));
        var unit = NodeUnits.Opaque(_coordinator, "unit-1");
        Assign(unit);
        var done = Coordinator.FishForMessage<UnitDone>(m => m is UnitDone, Patience);

        // The coordinator dies before storing it, and stays away for longer than 2 resends at 300 ms would last.
        Sys.Stop(firstSweepManager.Ref);
        Coordinator.FishForMessage<RegisterDevice>(m => m is RegisterDevice, Patience);
        Coordinator.ReceiveWhile(TimeSpan.FromSeconds(2), m => m);

        // Its successor registers the device and hears of the unit's end at once: the resends waited instead of running out.
        Coordinator.Send(worker, new DeviceRegistered("node-a/cpu"));
        var again = Coordinator.FishForMessage<UnitDone>(m => m is UnitDone, TimeSpan.FromSeconds(5));
        Assert.Equal((done.UnitId, done.AttemptId), (again.UnitId, again.AttemptId));
        Assert.Equal(Assert.Single(done.Results), Assert.Single(again.Results));
    }

    [Fact]
    public async Task Drained_while_running_the_device_finishes_its_unit_and_then_reports_drained_instead_of_asking()
    {
        var runner = new GatedRunner();
        var worker = StartWorker(_ => runner);
        Assign(NodeUnits.Opaque(_coordinator, "unit-5"));
        await runner.Started.Task.WaitAsync(Patience);
        worker.Tell(new DrainDevice(HandBack: false));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        runner.Release();
        var done = Coordinator.ExpectMsg<UnitDone>(Patience);
        Assert.Single(done.Results);
        // Drained only once the unit's end is stored: a node must not leave with its results in flight.
        ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Coordinator.Reply(new UnitDoneStored(done.UnitId, done.AttemptId));
        Assert.Equal("node-a/cpu", ExpectMsg<DeviceDrained>(Patience).DeviceId);
        // Nothing but repeats of that UnitDone sent before it was answered; no request for work.
        Assert.All(Coordinator.ReceiveWhile(TimeSpan.FromMilliseconds(400), m => m), m => Assert.IsType<UnitDone>(m));
    }

    [Fact]
    public void The_no_op_runner_finishes_at_once_its_constant_blobs_go_up_once_and_cached_inputs_are_not_fetched_again()
    {
        StartWorker(_ => new NoOpUnitRunner());
        for (var i = 1; i <= 2; i++)
        {
            var chunksBefore = _coordinator.ChunkRequestsServed;
            Assign(NodeUnits.Opaque(_coordinator, $"unit-{i}"), attemptId: $"attempt-{i}");
            // On a loaded machine the first unit's end may go again before its answer arrives: skip such repeats.
            var done = Coordinator.FishForMessage<UnitDone>(m => m is UnitDone { UnitId: var unit } && unit == $"unit-{i}", Patience);
            Assert.Equal(NoOpUnitRunner.Png, _coordinator.Uploaded[Assert.Single(done.Results).ImageBlob]);
            Coordinator.Reply(new UnitDoneStored(done.UnitId, done.AttemptId));
            if (i == 2)
            {
                Assert.Equal(chunksBefore, _coordinator.ChunkRequestsServed);
                Assert.Equal(2, _coordinator.OffersReceived); // the image and the trace, once
            }
        }
        Coordinator.FishForMessage<RequestWork>(m => m is RequestWork, Patience);
    }

    [Fact]
    public void A_unit_end_is_repeated_until_stored_while_the_device_runs_its_next_unit()
    {
        StartWorker(_ => new NoOpUnitRunner());
        var first = NodeUnits.Opaque(_coordinator, "unit-1");
        Assign(first, attemptId: "attempt-1");
        var done = Coordinator.ExpectMsg<UnitDone>(Patience);
        Assert.Equal(first.Jobs.Single().JobId, Assert.Single(done.Results).JobId);
        var worker = Coordinator.LastSender;

        // Unanswered, the first unit's end does not hold the device: it takes and runs the next unit meanwhile.
        Assign(NodeUnits.Opaque(_coordinator, "unit-2"), attemptId: "attempt-2");
        var second = Coordinator.FishForMessage<UnitDone>(m => m is UnitDone { UnitId: "unit-2" }, Patience);
        Coordinator.Send(worker, new UnitDoneStored(second.UnitId, second.AttemptId));
        Coordinator.FishForMessage<RequestWork>(m => m is RequestWork, Patience);
        var repeated = Coordinator.FishForMessage<UnitDone>(m => m is UnitDone { UnitId: "unit-1" }, Patience);
        Assert.Equal(done.AttemptId, repeated.AttemptId);
        Assert.Equal(Assert.Single(done.Results), Assert.Single(repeated.Results));
        Coordinator.Send(worker, new UnitDoneStored(done.UnitId, done.AttemptId));

        // Once stored, it is not sent again (the device now waits for its next unit). A repeat the worker's timer
        // sent before the answer reached it may still arrive; after that, three resend intervals of silence.
        Assert.All(Coordinator.ReceiveWhile(TimeSpan.FromMilliseconds(900), m => m),
            m => Assert.Equal(done.AttemptId, Assert.IsType<UnitDone>(m).AttemptId));
        Coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public void An_unanswered_unit_end_is_repeated_no_sooner_than_half_a_resend_interval_after_it_went()
    {
        // Units of 40 ms end at every phase of the worker's 300 ms resend timer; none is ever answered.
        StartWorker(_ => new SlowNoOpRunner(TimeSpan.FromMilliseconds(40)));
        var sent = new Dictionary<string, List<DateTime>>();
        int assigned = 0;
        // Until every unit has ended and its end has had a second to go again (bounded: a loaded machine is slow).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        DateTime? allEnded = null;
        DateTime Until() => allEnded is { } ended && ended.AddSeconds(1) < deadline ? ended.AddSeconds(1) : deadline;
        while (true)
        {
            TimeSpan left = Until() - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) break;
            switch (Coordinator.ReceiveOne(left))
            {
                case RequestWork when assigned < 10:
                    assigned++;
                    Coordinator.Reply(new AssignUnit($"attempt-{assigned}", NodeUnits.Opaque(_coordinator, $"unit-{assigned}"), null, 0));
                    break;
                case UnitDone done:
                    (sent.TryGetValue(done.AttemptId, out var times) ? times : sent[done.AttemptId] = []).Add(DateTime.UtcNow);
                    if (sent.Count == 10) allEnded ??= DateTime.UtcNow;
                    break;
            }
        }

        Assert.Equal(10, sent.Count);
        Assert.Contains(sent.Values, times => times.Count > 1); // unanswered ends do go again
        var gaps = sent.Values.SelectMany(times => times.Zip(times.Skip(1), (a, b) => b - a)).ToList();
        Assert.All(gaps, gap => Assert.True(gap >= TimeSpan.FromMilliseconds(120), $"a unit end went again after {gap.TotalMilliseconds:F0} ms"));
    }

    /// <summary>The no-op runner, each unit taking a while.</summary>
    private sealed class SlowNoOpRunner(TimeSpan perUnit) : IUnitRunner
    {
        private readonly NoOpUnitRunner _noOp = new();

        public void Run(WorkUnit unit, byte[]? resumeCheckpoint, ExecutionHooks hooks, CancellationToken cancel)
        {
            Thread.Sleep(perUnit);
            _noOp.Run(unit, resumeCheckpoint, hooks, cancel);
        }

        public void Dispose() => _noOp.Dispose();
    }

    private static string BlobHashOf(byte[] bytes) => Messages.Blobs.BlobHash.Of(bytes);
}

using System.Diagnostics;
using Akka.Actor;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Coordinator.Tests.Sweeps;
using StyleFarm.Messages;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;
using SweepState = StyleFarm.Coordinator.Store.SweepState;

namespace StyleFarm.Coordinator.Tests.Farm;

/// <summary>
/// Many no-op devices pulling one-job units as fast as they can: every job is recorded exactly once and the sweep
/// ends. It prints the dispatch rate (a figure to read, not an assertion); STYLEFARM_DISPATCH_JOBS, _DEVICES, _VARIANTS
/// (jobs per unit) and _SERIALIZE=off change the run.
/// </summary>
public sealed class DispatchHarnessTests(ITestOutputHelper output) : FarmTestKit(output, SerializeOverride)
{
    private readonly ITestOutputHelper _output = output;

    // STYLEFARM_DISPATCH_SERIALIZE=off measures the farm as it runs in one process, without the tests' serialization check.
    private static string? SerializeOverride =>
        Environment.GetEnvironmentVariable("STYLEFARM_DISPATCH_SERIALIZE") == "off" ? "akka.actor.serialize-messages = off" : null;

    /// <summary>Plays a DeviceWorker with an engine that does nothing: results at once, then the next unit.</summary>
    private sealed class NoOpWorker : ReceiveActor
    {
        public NoOpWorker(IActorRef manager, string deviceId, string image, string trace, TaskCompletionSource done)
        {
            int pending = 0;
            var losses = new LossValues(1, 0.5, 0.4, 0.1);
            var timings = new JobTimings(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 0, 1);
            AssignUnit? current = null;
            Receive<DeviceRegistered>(_ => manager.Tell(new RequestWork(deviceId, 0)));
            Receive<AssignUnit>(assign =>
            {
                current = assign;
                foreach (JobAtStep job in assign.Unit.Jobs)
                {
                    pending++;
                    manager.Tell(new JobResult(assign.Unit.UnitId, assign.AttemptId, job.JobId, deviceId, image, trace, losses, timings));
                }
            });
            Receive<ResultStored>(_ =>
            {
                if (--pending > 0) return;
                manager.Tell(new UnitFinished(current!.Unit.UnitId, current.AttemptId, deviceId, 0));
                manager.Tell(new RequestWork(deviceId, 0));
            });
            Receive<WorkAvailable>(_ => manager.Tell(new RequestWork(deviceId, 0)));
            Receive<NoWork>(_ => done.TrySetResult());
            Self.Tell(new Start(manager, deviceId));
            Receive<Start>(s => s.Manager.Tell(new RegisterDevice(s.DeviceId, "cpu", 0, 0)));
        }

        private sealed record Start(IActorRef Manager, string DeviceId) : INoSerializationVerificationNeeded;
    }

    [Fact]
    public async Task Many_devices_pulling_one_job_units_record_every_job_once_and_end_the_sweep()
    {
        int jobs = int.TryParse(Environment.GetEnvironmentVariable("STYLEFARM_DISPATCH_JOBS"), out int n) ? n : 400;
        int devices = int.TryParse(Environment.GetEnvironmentVariable("STYLEFARM_DISPATCH_DEVICES"), out int d) ? d : 32;
        int variants = int.TryParse(Environment.GetEnvironmentVariable("STYLEFARM_DISPATCH_VARIANTS"), out int v) ? v : 1;
        StartManager();
        string sweepId = StoreUnits(jobs, variants);
        var agent = CreateTestProbe();
        agent.Send(Manager, new NodeJoined("bench", "127.0.0.1", WireLimits.ProtocolVersion,
            StyleFarm.Cluster.StyleFarmClusterSetup.SettingsFingerprint(Sys), []));
        agent.ExpectMsg<NodeAccepted>();
        string image = Blobs.Put([1, 2, 3]), trace = Blobs.Put([4, 5]);

        var clock = Stopwatch.StartNew();
        agent.Send(Manager, new SweepSubmitted(sweepId));
        agent.ExpectMsg<SweepControlAck>(a => Assert.True(a.Applied));
        var done = Enumerable.Range(0, devices).Select(i =>
        {
            var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Sys.ActorOf(Props.Create(() => new NoOpWorker(Manager, $"bench/d{i}", image, trace, finished)));
            return finished.Task;
        }).ToArray();
        await Task.WhenAll(done).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(SweepState.Done, ExpectEvent<SweepEnded>(within: TimeSpan.FromSeconds(10)).State);
        clock.Stop();

        _output.WriteLine($"{jobs} jobs in units of {variants} on {devices} devices in {clock.Elapsed.TotalSeconds:F2} s: " +
                          $"{jobs / clock.Elapsed.TotalSeconds:F0} job dispatches/s (serialize-messages {(SerializeOverride is null ? "on" : "off")})");
        SweepProgress progress = Store.Progress(sweepId)!;
        Assert.Equal(jobs, progress.Jobs[JobState.Done]);
        int units = progress.Units[UnitState.Done];
        Assert.Equal(progress.Units.Values.Sum(), units);
        Assert.All(Store.AttemptsByNode(sweepId), a => Assert.Equal((units, units), (a.Attempts, a.Done)));
    }

    /// <summary>
    /// A sweep of <paramref name="jobs"/> jobs stored as units of <paramref name="variants"/> jobs each (1 by default:
    /// no fusion, the worst case for the farm).
    /// </summary>
    private string StoreUnits(int jobs, int variants)
    {
        using var folder = new SweepFolder();
        folder.Image("content.png", 90, 32, 32);
        folder.Image("style.png", 200, 32, 32);
        int side = (int)Math.Ceiling(Math.Sqrt(jobs));
        string weights(int count, int offset) => string.Join(", ", Enumerable.Range(1, count).Select(i => (i + offset).ToString()));
        ExpandedSweep sweep = folder.Load($$"""
            name: bench
            content: content.png
            style: style.png
            base: { size: 32, steps: 1 }
            max_jobs: {{side * side}}
            sweep: { method: grid, parameters: { style_weight: [{{weights(side, 0)}}], content_weight: [{{weights(side, 1000)}}] } }
            """);
        var chosen = sweep.Jobs.Take(jobs).ToArray();
        foreach (var (hash, path) in sweep.Images) Assert.Equal(hash, Blobs.Put(File.OpenRead(path)));
        string id = FarmStore.NewSweepId();
        IReadOnlyList<WorkUnit> units = new FusionPlanner().Plan(id, 50, chosen.Select(j => j.Settings), 8L << 30, maxVariantsPerUnit: variants);
        Store.CreateSweep(new NewSweep(id, "bench", "text", 50, 3, chosen.Select(j => new NewSweepJob(j.Settings, j.SweptValues)).ToArray(), units));
        return id;
    }
}

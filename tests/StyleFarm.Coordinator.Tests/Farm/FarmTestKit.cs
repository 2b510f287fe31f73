using Akka.Actor;
using Akka.TestKit;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Coordinator.Sweeps;
using StyleFarm.Coordinator.Tests.Sweeps;
using StyleFarm.Messages;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Farm;

/// <summary>
/// A SweepManager on a real FarmStore and BlobStore in a temp folder, in an ActorSystem with serialize-messages on
/// and the StyleFarm wire serializer, and TestProbes playing the node agents and device workers.
/// </summary>
public abstract class FarmTestKit : Akka.TestKit.Xunit2.TestKit
{
    public const string Hocon = """
        akka.loglevel = WARNING
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp.hostname = 127.0.0.1
        akka.remote.dot-netty.tcp.port = 0
        akka.cluster.log-info = off
        akka.actor.serialize-messages = on
        akka.actor.serializers {
          stylefarm-hyperion = "StyleFarm.Cluster.StyleFarmWireSerializer, StyleFarm.Cluster"
          stylefarm-local-verification = "StyleFarm.Cluster.LocalVerificationSerializer, StyleFarm.Cluster"
        }
        akka.actor.serialization-bindings {
          "StyleFarm.Messages.IStyleFarmMessage, StyleFarm.Messages" = stylefarm-hyperion
          "Akka.Cluster.ClusterEvent+IClusterDomainEvent, Akka.Cluster" = stylefarm-local-verification
        }
        """;

    private readonly SweepFolder _folder = new();
    private readonly string _data = Directory.CreateTempSubdirectory("stylefarm-farm-").FullName;
    private int _sweeps;

    /// <param name="hocon">Settings that take precedence over <see cref="Hocon"/>.</param>
    protected FarmTestKit(ITestOutputHelper output, string? hocon = null) : base(Hocon + "\n" + (hocon ?? ""), output)
    {
        Store = new FarmStore(_data);
        Blobs = new BlobStore(_data);
        _folder.Image("content.png", shade: 90, width: 32, height: 32);
        _folder.Image("style.png", shade: 200, width: 32, height: 32);
        Events = CreateTestProbe("events");
        Sys.EventStream.Subscribe(Events.Ref, typeof(IFarmEvent));
    }

    protected FarmStore Store { get; }

    /// <summary>Holds every commit of <see cref="Store"/> before it commits, until released or disposed (10 s at most).</summary>
    protected HeldCommits HoldCommits() => new(Store);

    /// <summary>
    /// Holds every commit, and has one start and wait (a pause of an unknown sweep): the writes the manager queues
    /// from now on wait in its queue together, behind that commit.
    /// </summary>
    protected HeldCommits HoldCommitsBehindOne()
    {
        HeldCommits commits = HoldCommits();
        Manager.Tell(new PauseSweep("no-such-sweep"), TestActor);
        Assert.True(commits.WaitForACommit(TimeSpan.FromSeconds(5)), "the first commit started");
        return commits;
    }

    /// <summary>Returns once the manager has handled every message sent to it before this call.</summary>
    protected void AwaitManagerCaughtUp()
    {
        Manager.Tell(GetFarmNodes.Instance, TestActor);
        ExpectMsg<FarmNodes>();
    }

    protected sealed class HeldCommits : IDisposable
    {
        private readonly FarmStore _store;
        private readonly ManualResetEventSlim _released = new(false);
        private readonly ManualResetEventSlim _waiting = new(false);

        public HeldCommits(FarmStore store)
        {
            _store = store;
            store.BeforeCommit = () =>
            {
                _waiting.Set();
                _released.Wait(TimeSpan.FromSeconds(10));
            };
        }

        /// <summary>Waits until a commit is held.</summary>
        public bool WaitForACommit(TimeSpan timeout) => _waiting.Wait(timeout);

        public void Release() => _released.Set();

        public void Dispose()
        {
            _released.Set();
            _store.BeforeCommit = null;
            _released.Dispose();
            _waiting.Dispose();
        }
    }

    protected BlobStore Blobs { get; }

    protected IActorRef Manager { get; private set; } = ActorRefs.Nobody;

    /// <summary>Receives every <see cref="IFarmEvent"/> the SweepManager publishes.</summary>
    protected TestProbe Events { get; }

    protected virtual SweepManagerSettings Settings => SweepManagerSettings.Default with { CheckpointEverySteps = 25 };

    protected IActorRef StartManager()
    {
        Manager = Sys.ActorOf(SweepManager.Props(Store, Blobs, new FusionPlanner(), Settings));
        return Manager;
    }

    /// <summary>Stops the SweepManager as a crashed coordinator would stop, and waits until it is gone.</summary>
    protected void StopManager()
    {
        TestProbe watcher = CreateTestProbe();
        watcher.Watch(Manager);
        Sys.Stop(Manager);
        watcher.ExpectTerminated(Manager);
    }

    // ---- sweeps ----

    /// <summary>
    /// Stores a sweep over the given parameters (YAML, indented under <c>parameters:</c>) and tells the manager.
    /// <c>init: [content, noise, style]</c> makes three units of one job each (init is part of the fusion key).
    /// </summary>
    protected SubmittedSweep Submit(string parameters, int priority = 50, int retries = 3, string steps = "100")
    {
        string name = $"sweep-{++_sweeps}";
        string file = _folder.Write($"{name}.yaml", $"""
            name: {name}
            content: content.png
            style: style.png
            base: {"{"} size: 32, steps: {steps} {"}"}
            priority: {priority}
            retries: {retries}
            sweep:
              method: grid
              parameters:
            {Indent(parameters, "    ")}
            """);
        ExpandedSweep sweep = SweepLoader.Load(file);
        SubmittedSweep submitted = new SweepSubmitter(Store, Blobs, new FusionPlanner(), 8L << 30).Submit(sweep, File.ReadAllText(file));
        TestProbe client = CreateTestProbe();
        client.Send(Manager, new SweepSubmitted(submitted.Sweep.Id));
        SweepControlAck ack = client.ExpectMsg<SweepControlAck>();
        Assert.True(ack.Applied, ack.Error);
        return submitted;
    }

    protected SweepControlAck Control(object command)
    {
        TestProbe client = CreateTestProbe();
        client.Send(Manager, command);
        return client.ExpectMsg<SweepControlAck>(TimeSpan.FromSeconds(1));
    }

    private static string Indent(string text, string prefix) =>
        string.Join('\n', text.Trim().Split('\n').Select(line => prefix + line.TrimStart()));

    // ---- nodes and devices ----

    protected TestProbe JoinNode(string nodeId, params string[] devices)
    {
        TestProbe agent = CreateTestProbe();
        agent.Send(Manager, new NodeJoined(nodeId, "127.0.0.1", WireLimits.ProtocolVersion,
            StyleFarmClusterSetup.SettingsFingerprint(Sys), devices.Select(d => DeviceIds.Compose(nodeId, d)).ToArray()));
        agent.ExpectMsg<NodeAccepted>(a => Assert.Equal(nodeId, a.NodeId));
        return agent;
    }

    /// <summary>A registered worker for <paramref name="deviceId"/> (node/device); its node must have joined for it to get work.</summary>
    protected TestProbe Worker(string deviceId)
    {
        TestProbe worker = CreateTestProbe();
        worker.Send(Manager, new RegisterDevice(deviceId, deviceId.Split('/')[1], 0, 0));
        worker.ExpectMsg<DeviceRegistered>(r => Assert.Equal(deviceId, r.DeviceId));
        Assert.Equal(Manager, worker.LastSender);
        return worker;
    }

    protected static AssignUnit Take(TestProbe worker, string deviceId, IActorRef manager)
    {
        worker.Send(manager, new RequestWork(deviceId, 0));
        return worker.ExpectMsg<AssignUnit>();
    }

    protected AssignUnit Take(TestProbe worker, string deviceId) => Take(worker, deviceId, Manager);

    protected void ExpectNoWork(TestProbe worker, string deviceId)
    {
        worker.Send(Manager, new RequestWork(deviceId, 0));
        worker.ExpectMsg<NoWork>();
    }

    /// <summary>Records every job of the unit (blobs put straight into the store) and finishes it.</summary>
    protected void Finish(TestProbe worker, string deviceId, AssignUnit assign)
    {
        foreach (JobAtStep job in assign.Unit.Jobs)
        {
            worker.Send(Manager, Result(assign, job.JobId, deviceId));
            worker.ExpectMsg<ResultStored>(r => Assert.Equal(job.JobId, r.JobId));
        }
        worker.Send(Manager, new UnitFinished(assign.Unit.UnitId, assign.AttemptId, deviceId, 1.0));
    }

    protected JobResult Result(AssignUnit assign, string jobId, string deviceId, string? image = null, string? trace = null) =>
        new(assign.Unit.UnitId, assign.AttemptId, jobId, deviceId,
            image ?? Blobs.Put(System.Text.Encoding.UTF8.GetBytes($"image of {jobId}")),
            trace ?? Blobs.Put(System.Text.Encoding.UTF8.GetBytes($"trace of {jobId}")),
            new LossValues(1, 0.5, 0.4, 0.1),
            new JobTimings(DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow, 1.0, assign.Unit.Variants.Length));

    /// <summary>Reports a checkpoint at <paramref name="step"/> (its blob stored first) and returns its blob.</summary>
    protected string Checkpoint(TestProbe worker, AssignUnit assign, int step)
    {
        string blob = Blobs.Put(System.Text.Encoding.UTF8.GetBytes($"checkpoint of {assign.Unit.UnitId} at {step}"));
        worker.Send(Manager, new UnitCheckpointed(assign.Unit.UnitId, assign.AttemptId, step, blob));
        return blob;
    }

    /// <summary>Waits until the store agrees (writes are committed in groups, a moment after the message).</summary>
    protected void AwaitStore(Func<bool> condition, string what) =>
        AwaitCondition(condition, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(20), what);

    protected T ExpectEvent<T>(Func<T, bool>? match = null, TimeSpan? within = null) where T : IFarmEvent
    {
        T? found = default;
        Events.FishForMessage(m => m is T t && (match?.Invoke(t) ?? true) && (found = t) is not null, within ?? TimeSpan.FromSeconds(5));
        return found!;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        Store.Dispose();
        _folder.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

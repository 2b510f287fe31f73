using Akka.Actor;
using Akka.Hosting;
using Akka.TestKit;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Tests.Cluster;
using StyleFarm.GpuNode.Devices;
using StyleFarm.GpuNode.Node;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Node;

[Collection(ClusterCollection.Name)]
public sealed class NodeAgentTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Stands in for the SweepManager proxy in the registry: forwards (keeping the sender) to a target set later.</summary>
    private sealed class Relay : ReceiveActor
    {
        private readonly List<(object Message, IActorRef Sender)> _buffer = [];
        private IActorRef? _target;

        public Relay()
        {
            Receive<RelayTo>(r =>
            {
                _target = r.Target;
                foreach (var (message, sender) in _buffer)
                    _target.Tell(message, sender);
                _buffer.Clear();
            });
            ReceiveAny(m =>
            {
                if (_target is null)
                    _buffer.Add((m, Sender));
                else
                    _target.Forward(m);
            });
        }
    }

    private sealed record RelayTo(IActorRef Target) : INoSerializationVerificationNeeded;

    private static GpuNodeSettings Settings(string cacheFolder, GatedRunner? runner = null) => new()
    {
        NodeId = "n1",
        HostName = "test-host",
        Devices = ["cpu"],
        BlobCacheFolder = cacheFolder,
        RunnerFactory = runner is null ? null : _ => runner,
        UseNoOpEngine = runner is null,
        JoinRetry = TimeSpan.FromMilliseconds(300),
        ShutdownDrainTimeout = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task The_agent_announces_the_node_until_accepted_then_its_device_registers_and_asks_for_work()
    {
        using var cache = new TempDir();
        await using var node = await ClusterNode.StartAsync(StyleFarmRoles.Gpu);
        var coordinator = new FakeCoordinator(new Akka.TestKit.Xunit2.TestKit(node.System, output));
        node.System.ActorOf(NodeAgent.Props(Settings(cache.Path), coordinator.Ref), "node");

        var joined = coordinator.Probe.ExpectMsg<NodeJoined>(Patience);
        Assert.Equal(("n1", "test-host", WireLimits.ProtocolVersion), (joined.NodeId, joined.HostName, joined.ProtocolVersion));
        Assert.Equal(StyleFarmClusterSetup.SettingsFingerprint(node.System), joined.SettingsFingerprint);
        Assert.Equal(["n1/cpu"], joined.DeviceIds);
        Assert.Equivalent(joined, coordinator.Probe.ExpectMsg<NodeJoined>(Patience), strict: true); // repeated while unanswered
        coordinator.Probe.Reply(new NodeAccepted("n1"));

        var request = coordinator.Probe.FishForMessage<RequestWork>(m => m is RequestWork, Patience);
        Assert.Equal("n1/cpu", request.DeviceId);
        coordinator.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(700)); // accepted: no more NodeJoined
    }

    [Fact]
    public async Task The_agent_announces_the_node_again_when_the_sweep_manager_that_accepted_it_dies()
    {
        using var cache = new TempDir();
        await using var node = await ClusterNode.StartAsync(StyleFarmRoles.Gpu);
        var kit = new Akka.TestKit.Xunit2.TestKit(node.System, output);
        var coordinator = new FakeCoordinator(kit);
        var firstSweepManager = kit.CreateTestProbe();
        node.System.ActorOf(NodeAgent.Props(Settings(cache.Path), coordinator.Ref), "node");

        coordinator.Probe.ExpectMsg<NodeJoined>(Patience);
        firstSweepManager.Send(coordinator.Probe.LastSender, new NodeAccepted("n1"));
        coordinator.Probe.FishForMessage<RequestWork>(m => m is RequestWork, Patience);

        node.System.Stop(firstSweepManager.Ref);
        var again = coordinator.Probe.FishForMessage<NodeJoined>(m => m is NodeJoined, Patience);
        Assert.Equal("n1", again.NodeId);
    }

    [Fact]
    public async Task Drained_not_now_the_node_finishes_its_unit_then_reports_drained_and_leaves()
    {
        using var cache = new TempDir();
        var runner = new GatedRunner();
        await using var node = await ClusterNode.StartAsync(StyleFarmRoles.Gpu);
        var coordinator = new FakeCoordinator(new Akka.TestKit.Xunit2.TestKit(node.System, output));
        var agent = node.System.ActorOf(NodeAgent.Props(Settings(cache.Path, runner), coordinator.Ref), "node");
        coordinator.Probe.ExpectMsg<NodeJoined>(Patience);
        coordinator.Probe.Reply(new NodeAccepted("n1"));
        coordinator.Probe.FishForMessage<RequestWork>(m => m is RequestWork, Patience);
        coordinator.Probe.Reply(new AssignUnit("attempt-1", NodeUnits.Opaque(coordinator, "unit-1"), null, 0));
        await runner.Started.Task.WaitAsync(Patience);

        coordinator.Probe.Send(agent, new DrainNode("n1", Now: false));
        coordinator.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // the unit runs on
        runner.Release();
        var done = coordinator.Probe.ExpectMsg<UnitDone>(Patience);
        coordinator.Probe.Reply(new UnitDoneStored(done.UnitId, done.AttemptId));
        Assert.Equal("n1", coordinator.Probe.FishForMessage<NodeDrained>(m => m is NodeDrained, Patience).NodeId);

        await node.System.WhenTerminated.WaitAsync(Patience);
        Assert.IsType<NodeDrainedReason>(CoordinatedShutdown.Get(node.System).ShutdownReason);
    }

    [Fact]
    public async Task A_node_the_coordinator_refuses_shuts_down_with_the_refused_reason()
    {
        using var cache = new TempDir();
        await using var node = await ClusterNode.StartAsync(StyleFarmRoles.Gpu);
        var coordinator = new FakeCoordinator(new Akka.TestKit.Xunit2.TestKit(node.System, output));
        node.System.ActorOf(NodeAgent.Props(Settings(cache.Path), coordinator.Ref), "node");

        coordinator.Probe.ExpectMsg<NodeJoined>(Patience);
        coordinator.Probe.Reply(new DrainNode("n1", Now: true));

        await node.System.WhenTerminated.WaitAsync(Patience);
        Assert.IsType<NodeRefusedReason>(CoordinatedShutdown.Get(node.System).ShutdownReason);
    }

    [Fact]
    public async Task On_shutdown_AddGpuNode_hands_the_running_unit_back_with_its_checkpoint_before_the_node_leaves()
    {
        using var cache = new TempDir();
        var runner = new GatedRunner();
        await using var node = await ClusterNode.StartAsync(StyleFarmRoles.Gpu, configure: builder =>
        {
            builder.WithActors((system, registry) =>
                registry.Register<SweepManagerProxyKey>(system.ActorOf(Props.Create(() => new Relay()), "relay")));
            builder.AddGpuNode(Settings(cache.Path, runner) with { RegisterSweepManagerProxy = false });
        });
        var coordinator = new FakeCoordinator(new Akka.TestKit.Xunit2.TestKit(node.System, output));
        ActorRegistry.For(node.System).Get<SweepManagerProxyKey>().Tell(new RelayTo(coordinator.Ref));
        Assert.True(ActorRegistry.For(node.System).TryGet<NodeAgent>(out _));

        coordinator.Probe.ExpectMsg<NodeJoined>(Patience);
        coordinator.Probe.Reply(new NodeAccepted("n1"));
        coordinator.Probe.FishForMessage<RequestWork>(m => m is RequestWork, Patience);
        coordinator.Probe.Reply(new AssignUnit("attempt-1", NodeUnits.Opaque(coordinator, "unit-1"), null, 0));
        await runner.Started.Task.WaitAsync(Patience);

        // What SIGTERM does through the generic host.
        _ = CoordinatedShutdown.Get(node.System).Run(CoordinatedShutdown.ClrExitReason.Instance);
        var handBack = coordinator.Probe.FishForMessage<HandBackUnit>(m => m is HandBackUnit, Patience);
        var worker = coordinator.Probe.LastSender;
        Assert.Equal(new ResumePoint(BlobHash.Of(GatedRunner.CheckpointBytes), 7), handBack.Resume);
        Assert.Equal(GatedRunner.CheckpointBytes, coordinator.Uploaded[handBack.Resume!.CheckpointBlob]);
        coordinator.Probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // the node waits for the acknowledgement
        coordinator.Probe.Send(worker, new HandBackAccepted("unit-1", "attempt-1"));
        coordinator.Probe.FishForMessage<NodeDrained>(m => m is NodeDrained, Patience);

        await node.System.WhenTerminated.WaitAsync(Patience);
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("stylefarm-agent-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}

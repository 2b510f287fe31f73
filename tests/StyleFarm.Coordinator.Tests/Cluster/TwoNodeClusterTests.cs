using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using StyleFarm.Cluster;
using StyleFarm.Messages.Blobs;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public class TwoNodeClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Stands in for a DeviceWorker: takes a unit, offers its result blob, serves the blob's chunks.</summary>
    private sealed class WorkerStub : ReceiveActor
    {
        public WorkerStub(TaskCompletionSource<AssignUnit> received, byte[] result)
        {
            var hash = BlobHash.Of(result);
            Receive<AssignUnit>(assign =>
            {
                received.TrySetResult(assign);
                Sender.Tell(new BlobOffer(hash, result.Length));
            });
            Receive<BlobChunkRequest>(request => Sender.Tell(BlobChunker.Serve(request, result)));
        }
    }

    /// <summary>Notes when the cluster first reports a member unreachable, down and removed.</summary>
    private sealed class MembershipWatch : ReceiveActor
    {
        public MembershipWatch(Address watched, Stopwatch clock,
            TaskCompletionSource<TimeSpan> unreachable, TaskCompletionSource<TimeSpan> downed, TaskCompletionSource<TimeSpan> removed)
        {
            Receive<ClusterEvent.UnreachableMember>(e => e.Member.Address == watched, _ => unreachable.TrySetResult(clock.Elapsed));
            Receive<ClusterEvent.MemberDowned>(e => e.Member.Address == watched, _ => downed.TrySetResult(clock.Elapsed));
            Receive<ClusterEvent.MemberRemoved>(e => e.Member.Address == watched, _ => removed.TrySetResult(clock.Elapsed));
            ReceiveAny(_ => { });
        }
    }

    [Fact]
    public async Task Two_nodes_on_127_0_0_1_share_their_settings_and_exchange_a_unit_and_a_blob()
    {
        await using var coordinator = await ClusterNode.StartAsync(StyleFarmRoles.Coordinator);
        await using var gpu = await ClusterNode.StartAsync(StyleFarmRoles.Gpu, seed: coordinator.Address);
        await coordinator.WaitForUpMembersAsync(2, Patience);
        await gpu.WaitForUpMembersAsync(2, Patience);

        // One host form, messages serialized even locally, and the same downing and failure detection on both.
        Assert.All([coordinator, gpu], node =>
        {
            Assert.Equal("127.0.0.1", node.Address.Host);
            Assert.Equal("stylefarm", node.Address.System);
            Assert.True(node.System.Settings.SerializeAllMessages);
            Assert.Equal("keep-majority", node.Config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
            Assert.Equal(StyleFarmRoles.Coordinator, node.Config.GetString("akka.cluster.split-brain-resolver.keep-majority.role"));
            Assert.Equal(TimeSpan.FromSeconds(3), node.Config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
            Assert.Equal(TimeSpan.FromSeconds(3), node.Config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
            Assert.Contains("SplitBrainResolverProvider", node.Config.GetString("akka.cluster.downing-provider-class"));
            Assert.Equal(128_000, node.Config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));
        });
        foreach (var (key, value) in StyleFarmClusterSetup.SharedSettings(gpu.Config))
            output.WriteLine($"{key} = {value}");
        Assert.Equal(StyleFarmClusterSetup.SharedSettings(coordinator.Config), StyleFarmClusterSetup.SharedSettings(gpu.Config));
        Assert.Equal(StyleFarmClusterSetup.SettingsFingerprint(coordinator.System), StyleFarmClusterSetup.SettingsFingerprint(gpu.System));
        Assert.Contains(StyleFarmRoles.Gpu, coordinator.Cluster.State.Members.Single(m => m.Address == gpu.Address).Roles);

        var received = new TaskCompletionSource<AssignUnit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var result = new byte[100_000];
        Random.Shared.NextBytes(result);
        gpu.System.ActorOf(Props.Create(() => new WorkerStub(received, result)), "worker");
        var worker = await coordinator.System.ActorSelection(new RootActorPath(gpu.Address) / "user" / "worker").ResolveOne(Patience);
        var assign = new AssignUnit("attempt-1", WireSamples.Unit(8), new ResumePoint(WireSamples.Hash('k'), 200), 50);

        var offer = await worker.Ask<BlobOffer>(assign, Patience);
        var arrived = await received.Task.WaitAsync(Patience);

        Assert.Equal(gpu.Address, worker.Path.Address);
        Assert.Equal(WireSamples.Render(assign), WireSamples.Render(arrived));

        var assembler = new BlobAssembler(offer.Hash, offer.Length);
        var chunks = 0;
        while (assembler.MissingRequests().FirstOrDefault() is { } request)
        {
            assembler.Accept(await worker.Ask<BlobChunk>(request, Patience));
            chunks++;
        }
        Assert.Equal(result, assembler.Complete());
        Assert.Equal(4, chunks);
    }

    [Fact]
    public async Task A_killed_node_is_unreachable_and_then_downed_by_the_survivor_once_reachability_is_stable()
    {
        await using var coordinator = await ClusterNode.StartAsync(StyleFarmRoles.Coordinator);
        var victim = await ClusterNode.StartAsync(StyleFarmRoles.Gpu, seed: coordinator.Address, crashOnTerminate: true);
        try
        {
            await coordinator.WaitForUpMembersAsync(2, Patience);
            await victim.WaitForUpMembersAsync(2, Patience);
            await Task.Delay(TimeSpan.FromSeconds(2)); // a few heartbeats, as a node that has been running a while

            var clock = new Stopwatch();
            var unreachable = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            var downed = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            var removed = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
            var victimAddress = victim.Address;
            var watch = coordinator.System.ActorOf(Props.Create(() => new MembershipWatch(victimAddress, clock, unreachable, downed, removed)));
            coordinator.Cluster.Subscribe(watch, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));

            clock.Start();
            await victim.System.Terminate().WaitAsync(Patience); // no leaving, no CoordinatedShutdown: a crash

            var unreachableAfter = await unreachable.Task.WaitAsync(Patience);
            var downedAfter = await downed.Task.WaitAsync(Patience);
            var removedAfter = await removed.Task.WaitAsync(Patience);
            output.WriteLine($"killed node unreachable after {unreachableAfter.TotalSeconds:F1} s, downed after {downedAfter.TotalSeconds:F1} s, removed after {removedAfter.TotalSeconds:F1} s");

            // About 8 s in all on an idle machine (DESIGN.md's target is 10 s). What the test must catch is a resolver
            // that waits for a long timeout (Akka's default stable-after is 20 s) rather than StableAfter, so it bounds
            // that step; detection itself, a heartbeat failure detector, runs late on a loaded CI machine (7 s seen).
            Assert.True(unreachableAfter < downedAfter);
            TimeSpan deciding = downedAfter - unreachableAfter;
            Assert.True(deciding < StyleFarmClusterSetup.StableAfter + TimeSpan.FromSeconds(4),
                $"downed {deciding.TotalSeconds:F1} s after it became unreachable (stable-after is {StyleFarmClusterSetup.StableAfter.TotalSeconds:F0} s)");
            Assert.True(unreachableAfter < TimeSpan.FromSeconds(15), $"unreachable only after {unreachableAfter.TotalSeconds:F1} s");
            await coordinator.WaitForUpMembersAsync(1, Patience);
            var deadline = DateTime.UtcNow + Patience;
            while (coordinator.Cluster.State.Members.Count > 1 && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            var survivor = Assert.Single(coordinator.Cluster.State.Members);
            Assert.Equal(coordinator.Address, survivor.Address);
            Assert.Equal(MemberStatus.Up, survivor.Status);
            Assert.Empty(coordinator.Cluster.State.Unreachable);
        }
        finally
        {
            await victim.DisposeAsync();
        }
    }
}

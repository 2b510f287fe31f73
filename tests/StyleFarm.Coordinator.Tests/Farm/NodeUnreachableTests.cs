using Akka.Actor;
using Akka.TestKit;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Planning;
using StyleFarm.Coordinator.Store;
using StyleFarm.Coordinator.Submission;
using StyleFarm.Coordinator.Tests.Cluster;
using StyleFarm.Coordinator.Tests.Sweeps;
using StyleFarm.Messages;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;
using StyleFarm.Messages.Work;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Farm;

/// <summary>Two ActorSystems in one process: a GPU node that crashes mid-unit, and the coordinator that requeues it.</summary>
[Collection(ClusterCollection.Name)]
public sealed class NodeUnreachableTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_unit_of_a_node_that_becomes_unreachable_runs_elsewhere_from_its_checkpoint()
    {
        string data = Directory.CreateTempSubdirectory("stylefarm-unreachable-").FullName;
        using var folder = new SweepFolder();
        await using var coordinator = await ClusterNode.StartAsync(StyleFarmRoles.Coordinator);
        var gpu = await ClusterNode.StartAsync(StyleFarmRoles.Gpu, seed: coordinator.Address, crashOnTerminate: true);
        var store = new FarmStore(data);
        var kit = new Akka.TestKit.Xunit2.TestKit(coordinator.System, output);
        try
        {
            await coordinator.WaitForUpMembersAsync(2, Patience);
            var blobs = new BlobStore(data);
            IActorRef manager = coordinator.System.ActorOf(
                SweepManager.Props(store, blobs, new FusionPlanner(), SweepManagerSettings.Default), "sweep-manager");
            string fingerprint = StyleFarmClusterSetup.SettingsFingerprint(coordinator.System);

            // The remote node's agent and worker talk to the manager over the wire.
            IActorRef remoteManager = await gpu.System.ActorSelection(new RootActorPath(coordinator.Address) / "user" / "sweep-manager").ResolveOne(Patience);
            TestProbe remoteAgent = kit.CreateTestProbe(gpu.System);
            TestProbe remoteWorker = kit.CreateTestProbe(gpu.System);
            remoteAgent.Send(remoteManager, new NodeJoined("gpu-1", "127.0.0.1", WireLimits.ProtocolVersion, fingerprint, ["gpu-1/cpu"]));
            remoteAgent.ExpectMsg<NodeAccepted>(Patience);
            remoteWorker.Send(remoteManager, new RegisterDevice("gpu-1/cpu", "cpu", 0, 0));
            remoteWorker.ExpectMsg<DeviceRegistered>(Patience);

            // A local node waits for work.
            TestProbe localAgent = kit.CreateTestProbe();
            TestProbe localWorker = kit.CreateTestProbe();
            localAgent.Send(manager, new NodeJoined("local", "127.0.0.1", WireLimits.ProtocolVersion, fingerprint, ["local/cpu"]));
            localAgent.ExpectMsg<NodeAccepted>();
            localWorker.Send(manager, new RegisterDevice("local/cpu", "cpu", 0, 0));
            localWorker.ExpectMsg<DeviceRegistered>();

            folder.Image("content.png", 90, 32, 32);
            folder.Image("style.png", 200, 32, 32);
            var sweep = folder.Load("""
                name: unreachable
                content: content.png
                style: style.png
                base: { size: 32, steps: 100 }
                sweep: { method: grid, parameters: { style_weight: [1] } }
                """);
            SubmittedSweep submitted = new SweepSubmitter(store, blobs, new FusionPlanner(), 8L << 30).Submit(sweep, "text");

            remoteWorker.Send(remoteManager, new RequestWork("gpu-1/cpu", 0));
            remoteWorker.ExpectMsg<NoWork>(Patience);
            manager.Tell(new SweepSubmitted(submitted.Sweep.Id), kit.TestActor);
            kit.ExpectMsg<SweepControlAck>(a => Assert.True(a.Applied));
            remoteWorker.ExpectMsg<WorkAvailable>(Patience);
            remoteWorker.Send(remoteManager, new RequestWork("gpu-1/cpu", 0));
            AssignUnit assign = remoteWorker.ExpectMsg<AssignUnit>(Patience);
            string checkpoint = blobs.Put([1, 2, 3, 4]);
            remoteWorker.Send(remoteManager, new UnitCheckpointed(assign.Unit.UnitId, assign.AttemptId, 50, checkpoint));
            localWorker.Send(manager, new RequestWork("local/cpu", 0));
            localWorker.ExpectMsg<NoWork>();
            kit.AwaitCondition(() => store.GetUnit(assign.Unit.UnitId)!.Checkpoint?.Step == 50, Patience);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await gpu.System.Terminate().WaitAsync(Patience); // a crash: no leaving

            localWorker.ExpectMsg<WorkAvailable>(Patience);
            output.WriteLine($"requeued {clock.Elapsed.TotalSeconds:F1} s after the crash");
            localWorker.Send(manager, new RequestWork("local/cpu", 0));
            AssignUnit again = localWorker.ExpectMsg<AssignUnit>();
            Assert.Equal(assign.Unit.UnitId, again.Unit.UnitId);
            Assert.Equal(new ResumePoint(checkpoint, 50), again.Resume);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"requeued after {clock.Elapsed.TotalSeconds:F1} s");
            Assert.Equal(AttemptOutcome.Requeued, store.GetAttempt(assign.AttemptId)!.Outcome);

            manager.Tell(GetFarmNodes.Instance, kit.TestActor);
            NodeView lost = kit.ExpectMsg<FarmNodes>().Nodes.Single(n => n.NodeId == "gpu-1");
            Assert.Contains(lost.State, new[] { "unreachable", "gone" });
        }
        finally
        {
            await gpu.DisposeAsync();
            await coordinator.System.Terminate().WaitAsync(Patience);
            store.Dispose();
            Directory.Delete(data, recursive: true);
        }
    }
}

using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using StyleFarm.Cluster;
using StyleFarm.Coordinator.Api;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Tests.Api;

/// <summary>ActorFarmControl against a stand-in SweepManager, every message through the wire serializer.</summary>
public sealed class ActorFarmControlTests() : Akka.TestKit.Xunit2.TestKit(Config)
{
    private static readonly Config Config = ConfigurationFactory.ParseString($$"""
        akka.loglevel = WARNING
        akka.actor.serialize-messages = on
        akka.actor.serializers.{{StyleFarmWireSerializer.SerializerName}} = "{{typeof(StyleFarmWireSerializer).AssemblyQualifiedName}}"
        akka.actor.serialization-bindings."{{typeof(StyleFarm.Messages.IStyleFarmMessage).AssemblyQualifiedName}}" = {{StyleFarmWireSerializer.SerializerName}}
        """);

    [Fact]
    public async Task CommandsAreAskedOfTheRegisteredSweepManagerAndItsAcksReturned()
    {
        IActorRef manager = Sys.ActorOf(Props.Create(() => new FakeSweepManager()));
        ActorRegistry.For(Sys).Register<SweepManagerProxyKey>(manager);
        var farm = new ActorFarmControl(new RequiredActor<SweepManagerProxyKey>(ActorRegistry.For(Sys)));

        Assert.Equal(new SweepControlAck("s1", "pause", true, null), await farm.Pause("s1"));
        Assert.Equal(new SweepControlAck("s1", "resume", true, null), await farm.Resume("s1"));
        Assert.Equal(new SweepControlAck("s1", "cancel", false, "already done"), await farm.Cancel("s1"));
        Assert.Equal(new SweepControlAck("s2", "submit", true, null), await farm.Submitted("s2"));
        Assert.Equal(new NodeControlAck("node-a", "drain-now", true, null), await farm.Drain("node-a", now: true));
        Assert.Equal("node-a", Assert.Single((await farm.Nodes()).Nodes).NodeId);
    }

    [Fact]
    public async Task ASweepManagerThatDoesNotAnswerMakesTheFarmUnavailable()
    {
        ActorRegistry.For(Sys).Register<SweepManagerProxyKey>(CreateTestProbe().Ref);
        var farm = new ActorFarmControl(new RequiredActor<SweepManagerProxyKey>(ActorRegistry.For(Sys))) { Timeout = TimeSpan.FromMilliseconds(300) };

        var error = await Assert.ThrowsAsync<FarmUnavailableException>(() => farm.Pause("s1"));

        Assert.Contains("did not answer", error.Message);
        Assert.Contains("pause sweep s1", error.Message);
    }

    [Fact]
    public async Task ASweepManagerNotYetRegisteredMakesTheFarmUnavailable()
    {
        var farm = new ActorFarmControl(new RequiredActor<SweepManagerProxyKey>(ActorRegistry.For(Sys))) { Timeout = TimeSpan.FromMilliseconds(300) };

        await Assert.ThrowsAsync<FarmUnavailableException>(() => farm.Nodes());
    }

    private sealed class FakeSweepManager : ReceiveActor
    {
        public FakeSweepManager()
        {
            Receive<PauseSweep>(m => Sender.Tell(new SweepControlAck(m.SweepId, "pause", true, null)));
            Receive<ResumeSweep>(m => Sender.Tell(new SweepControlAck(m.SweepId, "resume", true, null)));
            Receive<CancelSweep>(m => Sender.Tell(new SweepControlAck(m.SweepId, "cancel", false, "already done")));
            Receive<SweepSubmitted>(m => Sender.Tell(new SweepControlAck(m.SweepId, "submit", true, null)));
            Receive<RequestDrain>(m => Sender.Tell(new NodeControlAck(m.NodeId, m.Now ? "drain-now" : "drain", true, null)));
            Receive<GetFarmNodes>(_ => Sender.Tell(new FarmNodes([
                new NodeView("node-a", "host", "akka.tcp://stylefarm@127.0.0.1:1", "up", DateTimeOffset.UnixEpoch, [])])));
        }
    }
}

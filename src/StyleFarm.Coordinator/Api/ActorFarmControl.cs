using Akka.Actor;
using Akka.Hosting;
using StyleFarm.Cluster;
using StyleFarm.Messages;
using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// <see cref="IFarmControl"/> over Akka: asks the SweepManager through its singleton proxy, which Akka.Hosting's
/// registry holds under <see cref="SweepManagerProxyKey"/>. A question unanswered within <see cref="Timeout"/>
/// (the registry not filled yet, the singleton moving, the coordinator overloaded) becomes a
/// <see cref="FarmUnavailableException"/>, which the API turns into 503.
/// </summary>
public sealed class ActorFarmControl(IRequiredActor<SweepManagerProxyKey> sweepManager) : IFarmControl
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    public Task<SweepControlAck> Submitted(string sweepId, CancellationToken cancellationToken = default) =>
        Ask<SweepControlAck>(new SweepSubmitted(sweepId), $"take up sweep {sweepId}", cancellationToken);

    public Task<SweepControlAck> Pause(string sweepId, CancellationToken cancellationToken = default) =>
        Ask<SweepControlAck>(new PauseSweep(sweepId), $"pause sweep {sweepId}", cancellationToken);

    public Task<SweepControlAck> Resume(string sweepId, CancellationToken cancellationToken = default) =>
        Ask<SweepControlAck>(new ResumeSweep(sweepId), $"resume sweep {sweepId}", cancellationToken);

    public Task<SweepControlAck> Cancel(string sweepId, CancellationToken cancellationToken = default) =>
        Ask<SweepControlAck>(new CancelSweep(sweepId), $"cancel sweep {sweepId}", cancellationToken);

    public Task<NodeControlAck> Drain(string nodeId, bool now, CancellationToken cancellationToken = default) =>
        Ask<NodeControlAck>(new RequestDrain(nodeId, now), $"drain node {nodeId}", cancellationToken);

    public Task<FarmNodes> Nodes(CancellationToken cancellationToken = default) =>
        Ask<FarmNodes>(GetFarmNodes.Instance, "list the farm's nodes", cancellationToken);

    private async Task<T> Ask<T>(IStyleFarmMessage message, string what, CancellationToken cancellationToken)
    {
        // One deadline for finding the proxy and for the answer, so a caller never waits much over Timeout.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            IActorRef manager = await sweepManager.GetAsync(deadline.Token).ConfigureAwait(false);
            return await manager.Ask<T>(message, Timeout, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new FarmUnavailableException(
                $"the SweepManager did not answer within {Timeout.TotalSeconds:0} s when asked to {what}; " +
                "the farm may still be starting, try again shortly", e);
        }
    }
}

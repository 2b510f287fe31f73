using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using StyleFarm.Coordinator.Api;

namespace StyleFarm.Coordinator.Dashboard;

/// <summary>What the HTTP API's dashboard endpoints ask of the Dashboard: its view now, and its views as they change.</summary>
public interface IDashboardFeed
{
    /// <exception cref="FarmUnavailableException">The dashboard did not answer in time.</exception>
    Task<DashboardView> CurrentAsync(CancellationToken cancellationToken = default);

    /// <summary>The current view, then each new one; only the latest waits when the reader is slow. Dispose to stop.</summary>
    /// <exception cref="FarmUnavailableException">The dashboard could not be found in time.</exception>
    Task<DashboardSubscription> SubscribeAsync(CancellationToken cancellationToken = default);
}

/// <summary>Views as the dashboard pushes them; the reader completes when the dashboard stops.</summary>
public sealed class DashboardSubscription(ChannelReader<DashboardView> views, Func<ValueTask> stop) : IAsyncDisposable
{
    public ChannelReader<DashboardView> Views { get; } = views;

    public ValueTask DisposeAsync() => stop();
}

/// <summary>
/// <see cref="IDashboardFeed"/> over the <see cref="DashboardActor"/>: asks it for the view, and subscribes a small
/// relay actor per subscription that copies the pushed views into a channel.
/// </summary>
public sealed class ActorDashboardFeed : IDashboardFeed
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly ActorSystem _system;
    private readonly Func<CancellationToken, Task<IActorRef>> _dashboard;

    /// <summary>For the host: the dashboard as Akka.Hosting registered it.</summary>
    public ActorDashboardFeed(ActorSystem system, IRequiredActor<DashboardKey> dashboard)
    {
        _system = system;
        _dashboard = dashboard.GetAsync;
    }

    /// <summary>For a known dashboard actor (tests).</summary>
    public ActorDashboardFeed(ActorSystem system, IActorRef dashboard)
    {
        _system = system;
        _dashboard = _ => Task.FromResult(dashboard);
    }

    public async Task<DashboardView> CurrentAsync(CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            IActorRef dashboard = await _dashboard(deadline.Token).ConfigureAwait(false);
            return await dashboard.Ask<DashboardView>(GetDashboardView.Instance, Timeout, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(e);
        }
    }

    public async Task<DashboardSubscription> SubscribeAsync(CancellationToken cancellationToken = default)
    {
        IActorRef dashboard;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(Timeout);
            try
            {
                dashboard = await _dashboard(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw Unavailable(e);
            }
        }
        // One slot, newest wins: a slow reader skips views rather than falling behind.
        Channel<DashboardView> views = Channel.CreateBounded<DashboardView>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = true,
        });
        IActorRef relay = _system.ActorOf(Props.Create(() => new DashboardRelay(dashboard, views.Writer)));
        return new DashboardSubscription(views.Reader, () =>
        {
            relay.Tell(PoisonPill.Instance);
            return ValueTask.CompletedTask;
        });
    }

    private static FarmUnavailableException Unavailable(Exception e) =>
        new($"the dashboard did not answer within {Timeout.TotalSeconds:0} s; the coordinator may still be starting, try again shortly", e);

    /// <summary>Subscribes to the dashboard and copies its views into a channel; completes it when the dashboard stops.</summary>
    private sealed class DashboardRelay : ReceiveActor
    {
        private readonly IActorRef _dashboard;
        private readonly ChannelWriter<DashboardView> _views;

        public DashboardRelay(IActorRef dashboard, ChannelWriter<DashboardView> views)
        {
            _dashboard = dashboard;
            _views = views;
            Receive<DashboardChanged>(m => _views.TryWrite(m.View));
            Receive<Terminated>(_ => Context.Stop(Self));
        }

        protected override void PreStart()
        {
            Context.Watch(_dashboard);
            _dashboard.Tell(new SubscribeDashboard(Self));
        }

        protected override void PostStop()
        {
            _dashboard.Tell(new UnsubscribeDashboard(Self));
            _views.TryComplete();
        }
    }
}

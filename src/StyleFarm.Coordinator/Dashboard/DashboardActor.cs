using Akka.Actor;
using Akka.Event;
using StyleFarm.Coordinator.Farm;
using StyleFarm.Coordinator.Metrics;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages.Nodes;

namespace StyleFarm.Coordinator.Dashboard;

/// <summary>
/// Folds every <see cref="IFarmEvent"/> of this process's EventStream into a <see cref="DashboardState"/>, answers
/// <see cref="GetDashboardView"/>, and pushes throttled views to its subscribers (the HTTP API's event streams).
/// It starts from the store's unfinished sweeps, reads every sweep or unit it hears of but does not know (off its
/// thread), and feeds the <see cref="FarmMetrics"/> if it has them.
/// </summary>
public sealed class DashboardActor : ReceiveActor, IWithTimers
{
    private const string PushTimer = "push";

    private readonly FarmStore _store;
    private readonly FarmMetrics? _metrics;
    private readonly IActorRef? _sweepManager;
    private readonly DashboardSettings _settings;
    private readonly DashboardState _state;
    private readonly Dictionary<IActorRef, long> _subscribers = []; // each one's last version pushed
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private DateTimeOffset _pushedAt = DateTimeOffset.MinValue;
    private long _measuredVersion = -1;

    public DashboardActor(FarmStore store, FarmMetrics? metrics, IActorRef? sweepManager, DashboardSettings settings)
    {
        _store = store;
        _metrics = metrics;
        _sweepManager = sweepManager;
        _settings = settings;
        _state = new DashboardState(settings.Limits);

        Receive<IFarmEvent>(e =>
        {
            if (!_state.Apply(e, Now)) return;
            ObserveTimings();
            ReadWhatIsMissing();
        });
        Receive<GetDashboardView>(_ => Sender.Tell(_state.View(Now)));
        Receive<SubscribeDashboard>(m =>
        {
            if (!_subscribers.ContainsKey(m.Subscriber)) Context.Watch(m.Subscriber);
            DashboardView view = _state.View(Now);
            _subscribers[m.Subscriber] = view.Version;
            m.Subscriber.Tell(new DashboardChanged(view));
        });
        Receive<UnsubscribeDashboard>(m => Forget(m.Subscriber));
        Receive<Terminated>(m => Forget(m.ActorRef));
        Receive<Push>(_ => OnPush());
        Receive<SweepsRead>(m =>
        {
            foreach (SweepSeed seed in m.Seeds) _state.Seed(seed, Now);
            ReadWhatIsMissing();
        });
        Receive<UnitsRead>(m =>
        {
            foreach (UnitRecord unit in m.Units) _state.Seed(unit, Now);
        });
        Receive<FarmNodes>(m => _state.Seed(m));
        Receive<Status.Failure>(f => _log.Warning("The dashboard could not read the farm's state: {0}", f.Cause.Message));
    }

    public static Props Props(FarmStore store, FarmMetrics? metrics = null, IActorRef? sweepManager = null, DashboardSettings? settings = null) =>
        Akka.Actor.Props.Create(() => new DashboardActor(store, metrics, sweepManager, settings ?? DashboardSettings.Default));

    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => _settings.Time.GetUtcNow();

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(IFarmEvent));
        FarmStore store = _store;
        Task.Run(() => new SweepsRead(DashboardSeeds.Unfinished(store))).PipeTo(Self);
        // Nodes that joined before this actor subscribed are told of by the SweepManager itself.
        _sweepManager?.Ask<FarmNodes>(GetFarmNodes.Instance, TimeSpan.FromSeconds(30)).PipeTo(Self);
        Timers.StartPeriodicTimer(PushTimer, Push.Instance, _settings.PushEvery);
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void OnPush()
    {
        DateTimeOffset now = Now;
        bool metricsDue = _metrics is not null && _state.Version != _measuredVersion;
        bool refreshDue = now - _pushedAt >= _settings.RefreshEvery;
        bool pushDue = _subscribers.Values.Any(seen => seen != _state.Version) || refreshDue && _subscribers.Count > 0;
        if (!metricsDue && !pushDue) return;
        DashboardView view = _state.View(now);
        if (metricsDue)
        {
            _metrics!.Update(view);
            _measuredVersion = view.Version;
        }
        if (!pushDue) return;
        var message = new DashboardChanged(view);
        foreach ((IActorRef subscriber, long seen) in _subscribers.ToArray())
        {
            if (seen == view.Version && !refreshDue) continue;
            subscriber.Tell(message);
            _subscribers[subscriber] = view.Version;
        }
        _pushedAt = now;
    }

    private void ObserveTimings()
    {
        IReadOnlyList<UnitTiming> timings = _state.TakeTimings();
        if (_metrics is null) return;
        foreach (UnitTiming timing in timings) _metrics.Observe(timing);
    }

    /// <summary>Reads, off this actor's thread, the sweeps and units the events named but the state never saw.</summary>
    private void ReadWhatIsMissing()
    {
        FarmStore store = _store;
        if (_state.TakeMissingSweeps() is { Count: > 0 } sweeps)
            Task.Run(() => new SweepsRead(DashboardSeeds.Of(store, sweeps))).PipeTo(Self);
        if (_state.TakeMissingUnits() is { Count: > 0 } units)
            Task.Run(() => new UnitsRead(DashboardSeeds.Units(store, units))).PipeTo(Self);
    }

    private void Forget(IActorRef subscriber)
    {
        if (_subscribers.Remove(subscriber)) Context.Unwatch(subscriber);
    }

    private sealed class Push : INoSerializationVerificationNeeded
    {
        public static readonly Push Instance = new();
    }

    private sealed record SweepsRead(IReadOnlyList<SweepSeed> Seeds) : INoSerializationVerificationNeeded;

    private sealed record UnitsRead(IReadOnlyList<UnitRecord> Units) : INoSerializationVerificationNeeded;
}

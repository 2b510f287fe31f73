using Akka.Actor;

namespace StyleFarm.Coordinator.Dashboard;

// The Dashboard actor's protocol. Local only: the dashboard lives beside the HTTP API in the coordinator's process.

/// <summary>Asks for the current view; answered with a <see cref="DashboardView"/>.</summary>
public sealed record GetDashboardView : INoSerializationVerificationNeeded
{
    public static GetDashboardView Instance { get; } = new();
}

/// <summary>
/// <paramref name="Subscriber"/> gets a <see cref="DashboardChanged"/> with the current view at once, then one
/// whenever the view changed, at most every <see cref="DashboardSettings.PushEvery"/> (and at least every
/// <see cref="DashboardSettings.RefreshEvery"/>, so ETAs move on). The dashboard watches it and forgets it when it stops.
/// </summary>
public sealed record SubscribeDashboard(IActorRef Subscriber) : INoSerializationVerificationNeeded;

public sealed record UnsubscribeDashboard(IActorRef Subscriber) : INoSerializationVerificationNeeded;

/// <summary>Dashboard → subscriber: the view now (whole: it is small, and a late subscriber needs no history).</summary>
public sealed record DashboardChanged(DashboardView View) : INoSerializationVerificationNeeded;

/// <summary>The Dashboard's pace and memory.</summary>
public sealed record DashboardSettings
{
    public static readonly DashboardSettings Default = new();

    /// <summary>The least time between two views pushed to subscribers (≤ 5 a second).</summary>
    public TimeSpan PushEvery { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The most time between two views pushed, changed or not (ETAs and rates move with time).</summary>
    public TimeSpan RefreshEvery { get; init; } = TimeSpan.FromSeconds(5);

    public DashboardLimits Limits { get; init; } = DashboardLimits.Default;

    /// <summary>The clock the events are stamped with (tests pass their own).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

using StyleFarm.Messages;

namespace StyleFarm.Coordinator.Farm.SweepManager;

/// <summary>How the SweepManager runs the farm. The defaults suit a real farm; tests shorten the timings.</summary>
public sealed record SweepManagerSettings
{
    public static SweepManagerSettings Default { get; } = new();

    /// <summary>Sent in every AssignUnit: a device checkpoints its unit every this many steps (0: only on drain).</summary>
    public int CheckpointEverySteps { get; init; } = 50;

    /// <summary>
    /// The re-poll hint: devices told NoWork get WorkAvailable again this often while units are queued, in case
    /// they wait for work that only a change the coordinator does not track (e.g. more free memory) lets them take.
    /// </summary>
    public TimeSpan NudgeWaitingDevicesEvery { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>False to only skip units too big for a device's free memory, never cut them to fit.</summary>
    public bool SplitUnitsToFit { get; init; } = true;

    /// <summary>Gone nodes stay in <c>FarmNodes</c> this long, so the dashboard shows who left.</summary>
    public TimeSpan ForgetGoneNodesAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Chunk requests a blob upload keeps outstanding (each of <see cref="WireLimits.MaxChunkBytes"/>).</summary>
    public int UploadWindow { get; init; } = 4;

    /// <summary>An upload with no chunk for this long is abandoned, and the holder told so.</summary>
    public TimeSpan UploadStallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Subscribe to cluster membership (unreachable, removed). Off only where the ActorSystem has no cluster.</summary>
    public bool WatchClusterMembership { get; init; } = true;
}

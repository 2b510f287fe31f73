namespace StyleFarm.Messages.Work;

// Work is pulled, never pushed: an idle DeviceWorker asks, the Dispatcher answers with a unit or with NoWork, and
// nudges the devices it told NoWork once work arrives. Actor references never travel inside a message: the
// coordinator answers the Sender, and remembers the workers that registered.

/// <summary>DeviceWorker → coordinator (Dispatcher): this device is idle; answered by <see cref="AssignUnit"/> or <see cref="NoWork"/>.</summary>
/// <param name="FreeMemoryBytes">The device's free memory now; bounds the batch of the unit it gets.</param>
public sealed record RequestWork(string DeviceId, long FreeMemoryBytes) : IStyleFarmMessage;

/// <summary>
/// Coordinator → DeviceWorker: nothing to run now (queue empty, sweeps paused, or this node blocked for what is
/// queued). The worker waits for <see cref="WorkAvailable"/> (or asks again after a long timeout).
/// </summary>
public sealed record NoWork : IStyleFarmMessage
{
    public static NoWork Instance { get; } = new();
}

/// <summary>Coordinator → DeviceWorkers that were told <see cref="NoWork"/>: there is work now; ask with <see cref="RequestWork"/>.</summary>
public sealed record WorkAvailable : IStyleFarmMessage
{
    public static WorkAvailable Instance { get; } = new();
}

/// <summary>Where a unit resumes: the checkpoint blob (SHA-256 hex) written at <paramref name="Step"/>.</summary>
public sealed record ResumePoint(string CheckpointBlob, int Step) : IStyleFarmMessage;

/// <summary>
/// Coordinator → DeviceWorker, the answer to <see cref="RequestWork"/>: run this unit. Every report about the
/// unit carries <paramref name="AttemptId"/>, so that reports of an attempt the coordinator gave up on (its node
/// was unreachable and the unit ran elsewhere) are recognised and dropped.
/// </summary>
/// <param name="Resume">The checkpoint to resume from, or null to start at step 0.</param>
/// <param name="CheckpointEverySteps">Send a <see cref="UnitCheckpointed"/> every this many steps (0: only on drain).</param>
public sealed record AssignUnit(string AttemptId, WorkUnit Unit, ResumePoint? Resume, int CheckpointEverySteps) : IStyleFarmMessage;

/// <summary>
/// Coordinator → DeviceWorker: stop this attempt at its next step (cancel, pause, or the unit was reassigned).
/// With <paramref name="HandBack"/> the worker checkpoints first; either way it answers <see cref="HandBackUnit"/>.
/// </summary>
public sealed record CancelUnit(string UnitId, string AttemptId, bool HandBack, string Reason) : IStyleFarmMessage;

/// <summary>
/// DeviceWorker → coordinator: this device gives the unit back unfinished (drain, SIGTERM, or after
/// <see cref="CancelUnit"/>), with the checkpoint to resume from if it has one. Answered by
/// <see cref="HandBackAccepted"/> once the coordinator has stored it; a draining node waits for that before it leaves.
/// </summary>
public sealed record HandBackUnit(string UnitId, string AttemptId, string DeviceId, ResumePoint? Resume, string Reason) : IStyleFarmMessage;

/// <summary>Coordinator → DeviceWorker: the hand-back is durable; the device is free.</summary>
public sealed record HandBackAccepted(string UnitId, string AttemptId) : IStyleFarmMessage;

namespace StyleFarm.Messages.Work;

// What a DeviceWorker reports about the unit it runs. Images, traces and checkpoints travel as blobs first
// (StyleFarm.Messages.Blobs); these messages name them by their SHA-256, once the coordinator has them.

/// <summary>The losses of one variant at one step (the weighted terms of the total).</summary>
public sealed record LossValues(double Total, double Content, double Style, double Tv) : IStyleFarmMessage;

/// <summary>One variant's losses.</summary>
public sealed record VariantLosses(string VariantId, LossValues Losses) : IStyleFarmMessage;

/// <summary>
/// DeviceWorker → coordinator: the unit reached <paramref name="Step"/>. Throttled by the sender to a few a second
/// per unit (the full per-step trace travels as a blob with the result).
/// </summary>
public sealed record UnitProgress(string UnitId, string AttemptId, int Step, VariantLosses[] Losses) : IStyleFarmMessage;

/// <summary>DeviceWorker → coordinator: the snapshot of a variant at <paramref name="Step"/> (a save_every step) is uploaded as <paramref name="ImageBlob"/>.</summary>
public sealed record SnapshotReady(string UnitId, string AttemptId, string VariantId, int Step, string ImageBlob) : IStyleFarmMessage;

/// <summary>
/// DeviceWorker → coordinator: the unit has written its checkpoint at <paramref name="Step"/> as
/// <paramref name="CheckpointBlob"/> (already uploaded). A requeued unit resumes from the last one.
/// </summary>
public sealed record UnitCheckpointed(string UnitId, string AttemptId, int Step, string CheckpointBlob) : IStyleFarmMessage;

/// <summary>When and how long a job ran.</summary>
/// <param name="EngineSeconds">Engine time of the unit up to this job's last step.</param>
/// <param name="BatchSize">How many variants ran fused with it.</param>
public sealed record JobTimings(DateTimeOffset StartedAt, DateTimeOffset FinishedAt, double EngineSeconds, int BatchSize) : IStyleFarmMessage;

/// <summary>
/// DeviceWorker → coordinator: a job of the unit is done (its variant reached the job's step count); its image and
/// loss trace are uploaded. Answered by <see cref="ResultStored"/>; the worker repeats it until then. The
/// coordinator records a job's result once, whichever attempt delivers it first.
/// </summary>
public sealed record JobResult(
    string UnitId,
    string AttemptId,
    string JobId,
    string DeviceId,
    string ImageBlob,
    string TraceBlob,
    LossValues FinalLosses,
    JobTimings Timings) : IStyleFarmMessage;

/// <summary>Coordinator → DeviceWorker: the result of <paramref name="JobId"/> is durable.</summary>
public sealed record ResultStored(string UnitId, string AttemptId, string JobId) : IStyleFarmMessage;

/// <summary>DeviceWorker → coordinator: every job of the unit has its result stored; the device asks for work next.</summary>
public sealed record UnitFinished(string UnitId, string AttemptId, string DeviceId, double EngineSeconds) : IStyleFarmMessage;

/// <summary>
/// DeviceWorker → coordinator: the unit ran to its end. <paramref name="Results"/> holds every result of it not yet
/// answered by <see cref="ResultStored"/> (at most <see cref="WireLimits.MaxResultsPerUnitDone"/>; a unit with more
/// sends them as <see cref="JobResult"/>s and ends with <see cref="UnitFinished"/>). The coordinator records them
/// (once per job, as for JobResult) and completes the unit in one commit, then answers <see cref="UnitDoneStored"/>.
/// The device does not wait for that: it asks for its next unit right behind this message, so that the results, the
/// unit's end and the next assignment share one commit, and repeats UnitDone until answered (a node drains only
/// then). From an attempt that no longer holds the unit, the results are still recorded and answered.
/// </summary>
public sealed record UnitDone(string UnitId, string AttemptId, string DeviceId, double EngineSeconds, JobResult[] Results) : IStyleFarmMessage;

/// <summary>Coordinator → DeviceWorker: the <see cref="UnitDone"/> of this attempt, its results and the unit's end, are durable.</summary>
public sealed record UnitDoneStored(string UnitId, string AttemptId) : IStyleFarmMessage;

/// <summary>
/// DeviceWorker → coordinator: the unit threw at <paramref name="Step"/>. The coordinator retries it on another
/// device (up to the sweep's retries) and keeps <paramref name="Reason"/> (clip it with <see cref="WireLimits.Clip"/>).
/// </summary>
public sealed record UnitFailed(string UnitId, string AttemptId, string DeviceId, int Step, string Reason) : IStyleFarmMessage;

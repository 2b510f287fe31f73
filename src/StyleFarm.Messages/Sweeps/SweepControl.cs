namespace StyleFarm.Messages.Sweeps;

// Client side (HTTP API, CLI, dashboard) → SweepManager (the cluster singleton on the coordinator role), each
// answered by a SweepControlAck once the change is durable. The SweepManager acts on running units with
// CancelUnit (StyleFarm.Messages.Work).

/// <summary>Client → SweepManager: hand out no more units of the sweep; running units checkpoint and come back.</summary>
public sealed record PauseSweep(string SweepId) : IStyleFarmMessage;

/// <summary>Client → SweepManager: hand out the sweep's units again.</summary>
public sealed record ResumeSweep(string SweepId) : IStyleFarmMessage;

/// <summary>Client → SweepManager: cancel every unfinished job of the sweep; running units stop at their next step.</summary>
public sealed record CancelSweep(string SweepId) : IStyleFarmMessage;

/// <summary>SweepManager → client: whether the command (Pause, Resume, Cancel) was applied, and why not.</summary>
public sealed record SweepControlAck(string SweepId, string Command, bool Applied, string? Error) : IStyleFarmMessage;

/// <summary>
/// Client → SweepManager: a sweep was just stored (by the submitter, in one transaction); load its units and hand
/// them out. Answered by <see cref="SweepControlAck"/> with Command "submit".
/// </summary>
public sealed record SweepSubmitted(string SweepId) : IStyleFarmMessage;

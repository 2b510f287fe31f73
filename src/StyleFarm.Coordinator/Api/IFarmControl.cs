using StyleFarm.Messages.Nodes;
using StyleFarm.Messages.Sweeps;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// What the HTTP API asks of the running farm (the SweepManager singleton). Reads of stored state go to the
/// FarmStore directly; only commands and the live node view go through here.
/// </summary>
public interface IFarmControl
{
    /// <summary>A sweep was just stored: load its units and hand them out.</summary>
    Task<SweepControlAck> Submitted(string sweepId, CancellationToken cancellationToken = default);

    Task<SweepControlAck> Pause(string sweepId, CancellationToken cancellationToken = default);

    Task<SweepControlAck> Resume(string sweepId, CancellationToken cancellationToken = default);

    Task<SweepControlAck> Cancel(string sweepId, CancellationToken cancellationToken = default);

    Task<NodeControlAck> Drain(string nodeId, bool now, CancellationToken cancellationToken = default);

    Task<FarmNodes> Nodes(CancellationToken cancellationToken = default);
}

/// <summary>The farm did not answer (not started yet, busy, or gone); the API answers 503 with this message.</summary>
public sealed class FarmUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

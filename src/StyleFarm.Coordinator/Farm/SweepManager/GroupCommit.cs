using Akka.Actor;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Farm.SweepManager;

/// <summary>
/// Group commit for an actor that must make state changes durable before it answers: writes are queued with what
/// to do once they are durable, and committed together in one <see cref="FarmStore.Batch(Action)"/> on a pool
/// thread (a commit is an fsync of milliseconds; the actor keeps handling messages meanwhile). One batch is in
/// flight at a time, and batches commit in the order their writes were queued, so a later write sees the effect of
/// an earlier one. Not thread-safe: the owning actor calls everything but the writes themselves.
/// </summary>
internal sealed class GroupCommit(FarmStore store)
{
    private List<PendingWrite> _queued = [];
    private Task? _inFlight;

    /// <summary>A write runs on the commit thread: it may use only the store and what it captured, never actor state.</summary>
    internal sealed record PendingWrite(Func<FarmStore, object?> Write, Action<object?, Exception?> Then);

    /// <summary>A batch that committed (or whose commit failed), for the actor to finish on its own thread.</summary>
    public sealed class Committed : INoSerializationVerificationNeeded
    {
        internal Committed(IReadOnlyList<PendingWrite> writes, object?[] results, Exception?[] errors)
        {
            Writes = writes;
            Results = results;
            Errors = errors;
        }

        internal IReadOnlyList<PendingWrite> Writes { get; }
        internal object?[] Results { get; }
        internal Exception?[] Errors { get; }
        public int Count => Writes.Count;
    }

    public bool IsCommitting => _inFlight is not null;

    public int QueuedCount => _queued.Count;

    /// <summary>
    /// Queues a write. <paramref name="then"/> runs on the actor's thread after the commit, with the write's result
    /// or the exception it threw (a failed write is rolled back alone; the rest of the batch still commits).
    /// </summary>
    public void Add(Func<FarmStore, object?> write, Action<object?, Exception?> then) => _queued.Add(new PendingWrite(write, then));

    /// <summary>Starts committing what is queued, unless a batch is in flight or nothing is queued; the task completes with the batch.</summary>
    public Task<Committed>? Start()
    {
        if (_inFlight is not null || _queued.Count == 0) return null;
        List<PendingWrite> batch = _queued;
        _queued = [];
        Task<Committed> commit = Task.Run(() => Commit(batch));
        _inFlight = commit;
        return commit;
    }

    /// <summary>Runs every write's continuation in order; call on the actor's thread when the batch's task completed.</summary>
    public void Finish(Committed batch)
    {
        _inFlight = null;
        for (int i = 0; i < batch.Count; i++) batch.Writes[i].Then(batch.Results[i], batch.Errors[i]);
    }

    /// <summary>Waits (bounded) for the batch in flight, so the store is not closed under it.</summary>
    public void WaitForInFlight(TimeSpan timeout)
    {
        try
        {
            _inFlight?.Wait(timeout);
        }
        catch (AggregateException)
        {
            // The actor is stopping; its supervisor has seen (or will see) the failure.
        }
    }

    private Committed Commit(List<PendingWrite> batch)
    {
        var results = new object?[batch.Count];
        var errors = new Exception?[batch.Count];
        store.Batch(() =>
        {
            for (int i = 0; i < batch.Count; i++)
            {
                try
                {
                    results[i] = batch[i].Write(store);
                }
                catch (Exception e)
                {
                    // The store undid this call (a savepoint per call); the others stand.
                    errors[i] = e;
                }
            }
        });
        return new Committed(batch, results, errors);
    }
}

using Akka.Actor;
using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Farm.SweepManager;

/// <summary>
/// Group commit for an actor that must make state changes durable before it answers: writes are queued with what
/// to do once they are durable, and committed together in one <see cref="FarmStore.Batch(Action)"/> on a pool
/// thread (a commit is an fsync of milliseconds; the actor keeps handling messages meanwhile). One batch is in
/// flight at a time, and batches commit in the order their writes were queued, so a later write sees the effect of
/// an earlier one. Each committed batch is handed to <c>deliver</c> (the actor's mailbox), in commit order.
/// <para>The first write after a quiet spell waits for <see cref="Start"/> (the actor calls it behind its mailbox,
/// so that the messages already there join the batch). Once committing, the commit thread goes straight on with
/// whatever queued meanwhile instead of waiting for the actor to come round to it: under load the store never
/// idles, and batches grow with the load.</para>
/// The queue is shared with the commit thread under a lock; the writes themselves run only on the commit thread.
/// </summary>
internal sealed class GroupCommit(FarmStore store, Action<object> deliver)
{
    private readonly Lock _gate = new();
    private List<PendingWrite> _queued = [];
    private Task? _inFlight;
    private bool _running;
    private bool _closed;

    /// <summary>
    /// A write runs on the commit thread: it may use only the store and what it captured, never actor state. Until a
    /// commit takes it, <see cref="TryDrop"/> may drop it. A write of a <see cref="WriteGroup"/> carries its item.
    /// </summary>
    internal sealed class PendingWrite(Func<FarmStore, object?> write, Action<object?, Exception?> then, WriteGroup? group, object? item)
    {
        public Func<FarmStore, object?> Write { get; set; } = write;
        public Action<object?, Exception?> Then { get; } = then;
        public WriteGroup? Group { get; } = group;
        public object? Item { get; } = item;
        public bool Taken { get; set; }

        /// <summary>Dropped: it no longer touches the store, so it does not part the writes of a group around it.</summary>
        public bool Dropped { get; set; }
    }

    /// <summary>
    /// Writes that run as one call when they follow each other in a commit (dropped writes between them do not
    /// count): one set-based statement per table for many units, instead of several statements per unit. The call
    /// gets the writes' items in order and returns their results in order. It must be all or nothing: if it throws,
    /// the writes run one by one instead, each with its own outcome.
    /// </summary>
    internal sealed class WriteGroup(Func<FarmStore, IReadOnlyList<object>, IReadOnlyList<object?>> writeAll)
    {
        public IReadOnlyList<object?> WriteAll(FarmStore store, IReadOnlyList<object> items) => writeAll(store, items);

        public static WriteGroup Of<TItem, TResult>(Func<FarmStore, IReadOnlyList<TItem>, IReadOnlyList<TResult>> writeAll) =>
            new((store, items) => writeAll(store, items.Cast<TItem>().ToArray()).Cast<object?>().ToArray());
    }

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

    /// <summary>
    /// Queues a write. <paramref name="then"/> runs on the actor's thread after the commit, with the write's result
    /// or the exception it threw (a failed write is rolled back alone; the rest of the batch still commits). True
    /// when no commit is under way to take it: the caller must see that <see cref="Start"/> is called.
    /// </summary>
    public bool Add(Func<FarmStore, object?> write, Action<object?, Exception?> then) => Add(write, then, out _);

    /// <inheritdoc cref="Add(Func{FarmStore, object?}, Action{object?, Exception?})"/>
    /// <param name="queued">The queued write, for <see cref="TryDrop"/>.</param>
    /// <param name="group">The group the write may run with, and <paramref name="item"/> its part of the group's call;
    /// <paramref name="write"/> is what it writes alone.</param>
    public bool Add(Func<FarmStore, object?> write, Action<object?, Exception?> then, out PendingWrite queued,
        WriteGroup? group = null, object? item = null)
    {
        if ((group is null) != (item is null)) throw new ArgumentException("a grouped write needs its item, and only a grouped one has one");
        lock (_gate)
        {
            queued = new PendingWrite(write, then, group, item);
            _queued.Add(queued);
            return !_running;
        }
    }

    /// <summary>
    /// Drops a queued write: nothing is written, and its continuation gets <paramref name="result"/>. False once a
    /// commit has taken it. The writer can fold a write into a later one this way while both still wait.
    /// </summary>
    public bool TryDrop(PendingWrite queued, object? result)
    {
        if (queued.Group is not null) throw new ArgumentException("only an ungrouped write can be dropped", nameof(queued));
        lock (_gate)
        {
            if (queued.Taken) return false;
            queued.Write = _ => result;
            queued.Dropped = true;
            return true;
        }
    }

    /// <summary>Starts committing what is queued, unless a commit is under way (it takes the queue) or nothing is queued.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_running || _closed || _queued.Count == 0) return;
            _running = true;
            _inFlight = Task.Run(CommitWhileQueued);
        }
    }

    /// <summary>Runs every write's continuation in order; call on the actor's thread for each delivered batch.</summary>
    public static void Finish(Committed batch)
    {
        for (int i = 0; i < batch.Count; i++) batch.Writes[i].Then(batch.Results[i], batch.Errors[i]);
    }

    /// <summary>Stops taking batches and waits (bounded) for the one in flight, so the store is not closed under it.</summary>
    public void Close(TimeSpan timeout)
    {
        Task? inFlight;
        lock (_gate)
        {
            _closed = true;
            inFlight = _inFlight;
        }
        try
        {
            inFlight?.Wait(timeout);
        }
        catch (AggregateException)
        {
            // The actor is stopping; its supervisor has seen (or will see) the failure.
        }
    }

    private void CommitWhileQueued()
    {
        while (true)
        {
            List<PendingWrite> batch;
            lock (_gate)
            {
                if (_queued.Count == 0 || _closed)
                {
                    _running = false;
                    return;
                }
                batch = _queued;
                _queued = [];
                foreach (PendingWrite write in batch) write.Taken = true;
            }
            try
            {
                deliver(Commit(batch));
            }
            catch (Exception e)
            {
                // The commit itself failed (disk full, I/O error): nothing of the batch is stored. The actor restarts
                // from what is; nothing more is committed for this incarnation.
                lock (_gate)
                {
                    _closed = true;
                    _running = false;
                }
                deliver(new Status.Failure(e));
                return;
            }
        }
    }

    private Committed Commit(List<PendingWrite> batch)
    {
        var results = new object?[batch.Count];
        var errors = new Exception?[batch.Count];
        store.Batch(() =>
        {
            for (int i = 0; i < batch.Count;)
                i = batch[i].Group is { } group ? WriteRun(batch, i, group, results, errors) : WriteOne(batch, i, results, errors);
        });
        return new Committed(batch, results, errors);
    }

    /// <summary>Writes batch[i] alone; returns the index of the next write.</summary>
    private int WriteOne(List<PendingWrite> batch, int i, object?[] results, Exception?[] errors)
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
        return i + 1;
    }

    /// <summary>
    /// Writes batch[start] and the writes of its group right behind it (dropped ones between them aside) as one call of
    /// the group; returns the index after the run.
    /// </summary>
    private int WriteRun(List<PendingWrite> batch, int start, WriteGroup group, object?[] results, Exception?[] errors)
    {
        var members = new List<int>();
        int end = start;
        for (; end < batch.Count && (batch[end].Group == group || batch[end].Dropped); end++)
            if (batch[end].Group == group) members.Add(end);
        if (members.Count > 1)
        {
            try
            {
                IReadOnlyList<object?> written = group.WriteAll(store, members.Select(m => batch[m].Item!).ToArray());
                for (int k = 0; k < members.Count; k++) results[members[k]] = written[k];
                for (int i = start; i < end; i++)
                    if (batch[i].Dropped) WriteOne(batch, i, results, errors);
                return end;
            }
            catch (Exception)
            {
                // The group's call left nothing behind: each write goes alone, with its own outcome.
            }
        }
        for (int i = start; i < end; i++) WriteOne(batch, i, results, errors);
        return end;
    }
}

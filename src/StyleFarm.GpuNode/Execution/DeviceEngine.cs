using System.Diagnostics;

namespace StyleFarm.GpuNode.Execution;

/// <summary>
/// A device's engine: one dedicated thread where its units run one after another, never on an actor's
/// dispatcher, and always on the same thread (torch keeps per-thread state; a thread per unit would cost a thread
/// start per unit in the dispatch benchmark). The runner is made on that thread at the first unit, so that a
/// device that cannot start fails that unit rather than the node, and is disposed there at the end.
/// </summary>
/// <remarks>
/// The idle thread sleeps in <see cref="Monitor.Wait(object)"/>, which does not spin: a BlockingCollection's
/// semaphore spins before it blocks, and with a dozen devices on two cores that spinning was half the dispatch
/// benchmark's CPU.
/// </remarks>
public sealed class DeviceEngine : IDisposable
{
    private readonly Queue<Action> _work = new();
    private readonly Func<IUnitRunner> _createRunner;
    private IUnitRunner? _runner;
    private bool _closed;

    public DeviceEngine(string name, Func<IUnitRunner> createRunner)
    {
        _createRunner = createRunner;
        new Thread(Loop) { IsBackground = true, Name = name }.Start();
    }

    /// <summary>
    /// Runs <paramref name="work"/> with the runner on the engine thread, after the units already posted, then
    /// calls <paramref name="ended"/> there with the time it took and what it threw, if anything.
    /// </summary>
    public void Run(Action<IUnitRunner> work, Action<TimeSpan, Exception?> ended)
    {
        lock (_work)
        {
            if (!_closed)
            {
                _work.Enqueue(() => RunOne(work, ended));
                Monitor.Pulse(_work);
                return;
            }
        }
        ended(TimeSpan.Zero, new ObjectDisposedException(nameof(DeviceEngine), "The device is stopping."));
    }

    /// <summary>Lets the thread finish what was posted (the caller cancels a running unit first), dispose the runner and end.</summary>
    public void Dispose()
    {
        lock (_work)
        {
            _closed = true;
            Monitor.Pulse(_work);
        }
    }

    private void RunOne(Action<IUnitRunner> work, Action<TimeSpan, Exception?> ended)
    {
        var clock = Stopwatch.StartNew();
        Exception? error = null;
        try
        {
            work(_runner ??= _createRunner());
        }
        catch (Exception e)
        {
            error = e;
        }
        ended(clock.Elapsed, error);
    }

    private void Loop()
    {
        while (Next() is { } work)
            work();
        _runner?.Dispose();
    }

    /// <summary>The next posted work, waiting for it; null once closed and drained.</summary>
    private Action? Next()
    {
        lock (_work)
        {
            while (_work.Count == 0 && !_closed)
                Monitor.Wait(_work);
            return _work.Count > 0 ? _work.Dequeue() : null;
        }
    }
}

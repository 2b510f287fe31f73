namespace StyleFarm.GpuNode.Devices;

/// <summary>
/// Lets through at most one progress report per <see cref="Interval"/> and keeps the latest one held back, to be
/// sent when the interval is over; the last step of a unit always goes at once. Not thread-safe: one actor owns it.
/// </summary>
public sealed class ProgressThrottle<T>(TimeSpan interval) where T : class
{
    private DateTime _lastSent = DateTime.MinValue;

    public TimeSpan Interval { get; } = interval;

    /// <summary>The report held back, if any.</summary>
    public T? Held { get; private set; }

    /// <summary>
    /// The report to send now (this one), or null when it is held back; then <paramref name="flushIn"/> says when
    /// to call <see cref="Flush"/>.
    /// </summary>
    public T? Offer(T report, bool isLast, DateTime now, out TimeSpan flushIn)
    {
        flushIn = TimeSpan.Zero;
        if (isLast || now - _lastSent >= Interval)
        {
            Held = null;
            _lastSent = now;
            return report;
        }
        Held = report;
        flushIn = Interval - (now - _lastSent);
        return null;
    }

    /// <summary>The held report, if any, now due.</summary>
    public T? Flush(DateTime now)
    {
        var held = Held;
        if (held is null)
            return null;
        Held = null;
        _lastSent = now;
        return held;
    }
}

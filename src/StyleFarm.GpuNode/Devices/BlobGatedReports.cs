using StyleFarm.Messages;

namespace StyleFarm.GpuNode.Devices;

/// <summary>
/// Reports that name blobs (JobResult, SnapshotReady, UnitCheckpointed) and may go out only once the coordinator
/// has stored every blob they name. Not thread-safe: one actor owns it.
/// </summary>
public sealed class BlobGatedReports
{
    private readonly List<(IStyleFarmMessage Report, HashSet<string> Waiting)> _pending = [];

    public int Count => _pending.Count;

    public void Add(IStyleFarmMessage report, IEnumerable<string> blobs) =>
        _pending.Add((report, new HashSet<string>(blobs, StringComparer.Ordinal)));

    /// <summary>The coordinator has <paramref name="hash"/>: the reports that now have all their blobs, in the order added.</summary>
    public IReadOnlyList<IStyleFarmMessage> BlobStored(string hash)
    {
        var ready = new List<IStyleFarmMessage>();
        for (var i = 0; i < _pending.Count; i++)
        {
            var (report, waiting) = _pending[i];
            waiting.Remove(hash);
            if (waiting.Count == 0)
            {
                ready.Add(report);
                _pending.RemoveAt(i--);
            }
        }
        return ready;
    }

    /// <summary>Whether some report waits for <paramref name="hash"/>.</summary>
    public bool Needs(string hash) => _pending.Any(p => p.Waiting.Contains(hash));

    public void Clear() => _pending.Clear();
}

using Akka.Actor;
using Akka.Event;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;

namespace StyleFarm.GpuNode.Blobs;

/// <summary>Parent → <see cref="BlobDownloader"/>: bring these blobs into the node's cache (replaces any fetch under way).</summary>
public sealed record FetchBlobs(string Tag, IReadOnlyList<string> Hashes) : INoSerializationVerificationNeeded;

/// <summary><see cref="BlobDownloader"/> → parent: every blob of the fetch is in the cache, its hash checked.</summary>
public sealed record BlobsFetched(string Tag) : INoSerializationVerificationNeeded;

/// <summary><see cref="BlobDownloader"/> → parent: a blob could not be had; the fetch is abandoned.</summary>
public sealed record BlobFetchFailed(string Tag, string Reason) : INoSerializationVerificationNeeded;

/// <summary>Parent → <see cref="BlobDownloader"/>: stop fetching (the unit was cancelled).</summary>
public sealed record CancelFetch(string Tag) : INoSerializationVerificationNeeded;

/// <summary>
/// Pulls blobs from the coordinator chunk by chunk (a few requests in flight per blob, so a slow link is never
/// flooded), reassembles and checks them, and writes them to the <see cref="NodeBlobCache"/>. Requests go to
/// <paramref name="source"/> (the SweepManager proxy); chunks come back from the coordinator's blob actor. A blob
/// whose chunks stop coming is asked for again; one that stays silent for <see cref="GiveUpAfter"/> fails the fetch.
/// </summary>
public sealed class BlobDownloader : ReceiveActor, IWithTimers
{
    /// <summary>Chunk requests in flight per blob.</summary>
    public const int Window = 8;

    public static readonly TimeSpan StallAfter = TimeSpan.FromSeconds(4);

    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    private const int MaxIntegrityRetries = 3;

    private readonly IActorRef _source;
    private readonly NodeBlobCache _cache;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Download> _downloads = new(StringComparer.Ordinal);
    private string? _tag;
    private IActorRef _requester = ActorRefs.Nobody;

    public BlobDownloader(IActorRef source, NodeBlobCache cache)
    {
        _source = source;
        _cache = cache;
        Receive<FetchBlobs>(Start);
        Receive<CancelFetch>(c => c.Tag == _tag, _ => Reset());
        Receive<BlobChunk>(OnChunk);
        Receive<BlobUnavailable>(u => _downloads.ContainsKey(u.Hash), u => Fail($"blob {u.Hash} is not available from the coordinator: {u.Reason}"));
        Receive<Tick>(_ => OnTick());
        ReceiveAny(_ => { }); // late chunks of a fetch that ended
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef source, NodeBlobCache cache) =>
        Akka.Actor.Props.Create(() => new BlobDownloader(source, cache));

    private void Start(FetchBlobs fetch)
    {
        Reset();
        _tag = fetch.Tag;
        _requester = Sender;
        foreach (var hash in fetch.Hashes.Distinct(StringComparer.Ordinal))
        {
            if (!BlobHash.IsValid(hash))
            {
                Fail($"'{hash}' is not a blob hash");
                return;
            }
            if (_cache.Contains(hash))
                continue;
            var download = new Download(hash);
            _downloads[hash] = download;
            Request(download, 0);
        }
        if (_downloads.Count == 0)
            Succeed();
        else
            Timers.StartPeriodicTimer(nameof(Tick), Tick.Instance, TimeSpan.FromSeconds(1));
    }

    private void OnChunk(BlobChunk chunk)
    {
        if (!_downloads.TryGetValue(chunk.Hash, out var download))
            return;
        download.InFlight = Math.Max(0, download.InFlight - 1);
        try
        {
            download.Assembler ??= StartAssembling(download, chunk);
            if (download.Assembler.Accept(chunk))
                download.LastProgress = DateTime.UtcNow;
            if (download.Assembler.IsComplete)
            {
                _cache.Write(download.Hash, download.Assembler.Complete());
                _downloads.Remove(download.Hash);
                if (_downloads.Count == 0)
                    Succeed();
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Fail($"blob {download.Hash} could not be written to the node's blob cache {_cache.Folder}: {e.Message}");
            return;
        }
        catch (BlobIntegrityException e)
        {
            if (++download.IntegrityFailures > MaxIntegrityRetries)
            {
                Fail($"blob {download.Hash} kept arriving damaged: {e.Message}");
                return;
            }
            _log.Warning("Blob {0} arrived damaged ({1}); fetching it again", download.Hash, e.Message);
            download.Assembler = null;
            download.InFlight = 0;
            Request(download, 0);
            return;
        }
        while (download.InFlight < Window && download.NextOffset < download.Assembler.TotalLength)
        {
            Request(download, download.NextOffset);
            download.NextOffset += WireLimits.MaxChunkBytes;
        }
    }

    private static BlobAssembler StartAssembling(Download download, BlobChunk first)
    {
        var assembler = new BlobAssembler(download.Hash, first.TotalLength);
        download.NextOffset = first.Offset + (first.Bytes?.Length ?? 0);
        return assembler;
    }

    private void OnTick()
    {
        var now = DateTime.UtcNow;
        foreach (var download in _downloads.Values.ToArray())
        {
            if (now - download.LastProgress > GiveUpAfter)
            {
                Fail($"blob {download.Hash}: no chunk arrived for {GiveUpAfter.TotalSeconds:0} s");
                return;
            }
            if (now - download.LastAsked < StallAfter)
                continue;
            // Requests or chunks were lost (or the coordinator restarted): ask again for whatever is missing.
            if (download.Assembler is null)
                Request(download, 0);
            else
            {
                download.InFlight = 0;
                foreach (var request in download.Assembler.MissingRequests().Take(Window))
                    Request(download, request.Offset);
            }
        }
    }

    private void Request(Download download, long offset)
    {
        _source.Tell(new BlobChunkRequest(download.Hash, offset, WireLimits.MaxChunkBytes));
        download.InFlight++;
        download.LastAsked = DateTime.UtcNow;
    }

    private void Succeed()
    {
        _requester.Tell(new BlobsFetched(_tag!));
        Reset();
    }

    private void Fail(string reason)
    {
        _requester.Tell(new BlobFetchFailed(_tag!, reason));
        Reset();
    }

    private void Reset()
    {
        _downloads.Clear();
        _tag = null;
        Timers.Cancel(nameof(Tick));
    }

    private sealed class Download(string hash)
    {
        public string Hash { get; } = hash;
        public BlobAssembler? Assembler { get; set; }
        public long NextOffset { get; set; }
        public int InFlight { get; set; }
        public int IntegrityFailures { get; set; }
        public DateTime LastProgress { get; set; } = DateTime.UtcNow;
        public DateTime LastAsked { get; set; } = DateTime.UtcNow;
    }

    private sealed class Tick : INoSerializationVerificationNeeded
    {
        public static readonly Tick Instance = new();
    }
}

using Akka.Actor;
using Akka.Event;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Coordinator.Store;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;

namespace StyleFarm.Coordinator.Farm.Blobs;

/// <summary>
/// Serves and receives the coordinator's blobs in chunks (StyleFarm.Messages.Blobs). A child of the SweepManager,
/// which forwards it every blob message, so it answers the worker directly.
/// <para>Upload: a <see cref="BlobOffer"/> of a stored blob is answered with <see cref="BlobComplete"/> at once;
/// otherwise the actor pulls the chunks, a few requests outstanding at a time, into a <see cref="BlobUpload"/>, and
/// answers BlobComplete once the hash is verified (Stored false, with the reason, on a mismatch or a stall).</para>
/// <para>Download: each <see cref="BlobChunkRequest"/> gets a <see cref="BlobChunk"/> of at most
/// <see cref="WireLimits.MaxChunkBytes"/>, or <see cref="BlobUnavailable"/>.</para>
/// </summary>
public sealed class BlobStoreActor : ReceiveActor, IWithTimers
{
    private const string StallTimer = "stalls";

    private readonly BlobStore _blobs;
    private readonly int _window;
    private readonly TimeSpan _stallTimeout;
    private readonly Dictionary<(IActorRef Holder, string Hash), IncomingBlob> _uploads = [];
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public BlobStoreActor(BlobStore blobs, SweepManagerSettings settings)
    {
        _blobs = blobs;
        _window = Math.Max(1, settings.UploadWindow);
        _stallTimeout = settings.UploadStallTimeout;

        Receive<BlobOffer>(OnOffer);
        Receive<BlobChunk>(OnChunk);
        Receive<BlobChunkRequest>(OnChunkRequest);
        Receive<BlobComplete>(_ => { }); // the holder's side of an upload has nothing to tell the receiver
        Receive<UploadVerified>(OnVerified);
        Receive<CheckStalls>(_ => AbandonStalled());
    }

    public static Props Props(BlobStore blobs, SweepManagerSettings settings) =>
        Akka.Actor.Props.Create(() => new BlobStoreActor(blobs, settings));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        TimeSpan every = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(100).Ticks, _stallTimeout.Ticks / 4));
        Timers.StartPeriodicTimer(StallTimer, CheckStalls.Instance, every);
    }

    protected override void PostStop()
    {
        foreach (IncomingBlob upload in _uploads.Values) upload.Upload.Dispose();
        _uploads.Clear();
    }

    // ---- upload ----

    private void OnOffer(BlobOffer offer)
    {
        if (!BlobHash.IsValid(offer.Hash))
        {
            Sender.Tell(new BlobComplete(offer.Hash ?? "", false, "not a blob hash (64 lower-case hex digits of a SHA-256)"));
            return;
        }
        if (_blobs.Exists(offer.Hash))
        {
            Sender.Tell(new BlobComplete(offer.Hash, true, null));
            return;
        }
        var key = (Sender, offer.Hash);
        if (_uploads.Remove(key, out IncomingBlob? previous)) previous.Upload.Dispose(); // offered again: start over

        BlobUpload upload;
        try
        {
            upload = _blobs.BeginUpload(offer.Hash, offer.Length);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
        {
            Sender.Tell(new BlobComplete(offer.Hash, false, WireLimits.Clip($"refused: {e.Message}")));
            return;
        }
        var incoming = new IncomingBlob(upload, DateTime.UtcNow);
        _uploads[key] = incoming;
        Pull(key, incoming);
    }

    private void OnChunk(BlobChunk chunk)
    {
        var key = (Sender, chunk.Hash);
        if (!_uploads.TryGetValue(key, out IncomingBlob? incoming) || incoming.Verifying) return; // late or unasked
        incoming.LastActivity = DateTime.UtcNow;
        byte[] bytes = chunk.Bytes ?? [];
        if (!incoming.Outstanding.Remove(chunk.Offset, out int asked))
            return; // not a chunk we asked for (a duplicate): ignore it
        try
        {
            if (bytes.Length > asked || chunk.TotalLength != incoming.Upload.TotalLength)
                throw new BlobIntegrityException(
                    $"a chunk at {chunk.Offset} has {bytes.Length} bytes of a {chunk.TotalLength}-byte blob; {asked} bytes of a {incoming.Upload.TotalLength}-byte blob were asked for");
            if (bytes.Length == 0 && asked > 0)
                throw new BlobIntegrityException($"the holder sent no bytes at {chunk.Offset}");
            incoming.Upload.WriteChunk(chunk.Offset, bytes);
            if (bytes.Length < asked) incoming.Gaps.Enqueue((chunk.Offset + bytes.Length, asked - bytes.Length)); // capped: ask for the rest
        }
        catch (Exception e) when (e is BlobIntegrityException or ArgumentException or IOException)
        {
            Fail(key, incoming, e.Message);
            return;
        }
        Pull(key, incoming);
    }

    /// <summary>Keeps up to the window of requests outstanding; verifies once every byte is here.</summary>
    private void Pull((IActorRef Holder, string Hash) key, IncomingBlob incoming)
    {
        long total = incoming.Upload.TotalLength;
        while (incoming.Outstanding.Count < _window)
        {
            (long Offset, int Bytes) next;
            if (incoming.Gaps.Count > 0) next = incoming.Gaps.Dequeue();
            else if (incoming.NextOffset < total)
            {
                next = (incoming.NextOffset, (int)Math.Min(WireLimits.MaxChunkBytes, total - incoming.NextOffset));
                incoming.NextOffset += next.Bytes;
            }
            else break;
            incoming.Outstanding[next.Offset] = next.Bytes;
            key.Holder.Tell(new BlobChunkRequest(key.Hash, next.Offset, next.Bytes));
        }
        if (incoming.Outstanding.Count > 0 || incoming.Gaps.Count > 0 || incoming.NextOffset < total) return;

        // Hashing a large blob takes a while: off this actor's thread.
        incoming.Verifying = true;
        BlobUpload upload = incoming.Upload;
        Task.Run(() =>
        {
            try
            {
                upload.Complete();
                return new UploadVerified(key.Holder, key.Hash, null);
            }
            catch (Exception e) when (e is BlobUploadException or IOException or UnauthorizedAccessException)
            {
                return new UploadVerified(key.Holder, key.Hash, e.Message);
            }
        }).PipeTo(Self);
    }

    private void OnVerified(UploadVerified verified)
    {
        _uploads.Remove((verified.Holder, verified.Hash));
        if (verified.Error is not null) _log.Warning("Upload of blob {0} from {1} refused: {2}", verified.Hash, verified.Holder, verified.Error);
        verified.Holder.Tell(new BlobComplete(verified.Hash, verified.Error is null, verified.Error is null ? null : WireLimits.Clip(verified.Error)));
    }

    private void Fail((IActorRef Holder, string Hash) key, IncomingBlob incoming, string error)
    {
        _uploads.Remove(key);
        incoming.Upload.Dispose();
        _log.Warning("Upload of blob {0} from {1} abandoned: {2}", key.Hash, key.Holder, error);
        key.Holder.Tell(new BlobComplete(key.Hash, false, WireLimits.Clip(error)));
    }

    private void AbandonStalled()
    {
        DateTime cutoff = DateTime.UtcNow - _stallTimeout;
        foreach (var (key, incoming) in _uploads.Where(u => !u.Value.Verifying && u.Value.LastActivity < cutoff).ToArray())
            Fail(key, incoming, $"upload stalled: no chunk for {_stallTimeout.TotalSeconds:0.#} s");
    }

    // ---- download ----

    private void OnChunkRequest(BlobChunkRequest request)
    {
        if (!BlobHash.IsValid(request.Hash) || !_blobs.Exists(request.Hash))
        {
            Sender.Tell(new BlobUnavailable(request.Hash ?? "", "the coordinator has no such blob"));
            return;
        }
        if (request.MaxBytes <= 0 || request.Offset < 0)
        {
            Sender.Tell(new BlobUnavailable(request.Hash, $"a chunk request needs an offset ≥ 0 and at least one byte, not {request.Offset} and {request.MaxBytes}"));
            return;
        }
        try
        {
            long length = _blobs.Length(request.Hash);
            if (request.Offset > length)
            {
                Sender.Tell(new BlobUnavailable(request.Hash, $"offset {request.Offset} is past the end of the blob ({length} bytes)"));
                return;
            }
            byte[] bytes = _blobs.ReadRange(request.Hash, request.Offset, Math.Min(request.MaxBytes, WireLimits.MaxChunkBytes));
            Sender.Tell(new BlobChunk(request.Hash, request.Offset, bytes, length));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            Sender.Tell(new BlobUnavailable(request.Hash, WireLimits.Clip($"read error: {e.Message}")));
        }
    }

    private sealed class IncomingBlob(BlobUpload upload, DateTime started)
    {
        public BlobUpload Upload { get; } = upload;
        public long NextOffset { get; set; }
        public Dictionary<long, int> Outstanding { get; } = [];
        public Queue<(long Offset, int Bytes)> Gaps { get; } = new();
        public DateTime LastActivity { get; set; } = started;
        public bool Verifying { get; set; }
    }

    private sealed record UploadVerified(IActorRef Holder, string Hash, string? Error) : INoSerializationVerificationNeeded;

    private sealed class CheckStalls : INoSerializationVerificationNeeded
    {
        public static readonly CheckStalls Instance = new();
    }
}

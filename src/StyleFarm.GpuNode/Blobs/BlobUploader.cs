using Akka.Actor;
using Akka.Event;
using StyleFarm.Messages.Blobs;

namespace StyleFarm.GpuNode.Blobs;

/// <summary>Parent → <see cref="BlobUploader"/>: get these bytes to the coordinator's blob store.</summary>
public sealed record UploadBlob(string Hash, byte[] Bytes) : INoSerializationVerificationNeeded;

/// <summary><see cref="BlobUploader"/> → parent: the coordinator stored the blob (or already had it).</summary>
public sealed record BlobUploaded(string Hash) : INoSerializationVerificationNeeded;

/// <summary><see cref="BlobUploader"/> → parent: the coordinator refused the blob repeatedly; the upload is given up.</summary>
public sealed record BlobUploadFailed(string Hash, string Reason) : INoSerializationVerificationNeeded;

/// <summary>
/// Holds blobs until the coordinator has them: offers each to <paramref name="receiver"/> (the SweepManager
/// proxy), serves the chunk requests of the coordinator's blob actor, and reports <see cref="BlobUploaded"/> on
/// <see cref="BlobComplete"/>. An offer that meets silence is made again (the coordinator may be restarting).
/// Remembers what the coordinator has stored, so a blob made again (a constant image, a trace) is not offered twice.
/// </summary>
public sealed class BlobUploader : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan ReofferAfter = TimeSpan.FromSeconds(8);

    private const int MaxRefusals = 3;
    private const int RememberedStored = 10_000;

    private readonly IActorRef _receiver;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Holding> _holding = new(StringComparer.Ordinal);
    private readonly HashSet<string> _stored = new(StringComparer.Ordinal);

    public BlobUploader(IActorRef receiver)
    {
        _receiver = receiver;
        Receive<UploadBlob>(OnUpload);
        Receive<BlobChunkRequest>(OnChunkRequest);
        Receive<BlobComplete>(OnComplete);
        Receive<Reoffer>(r => { if (_holding.TryGetValue(r.Hash, out var h)) Offer(r.Hash, h); });
        Receive<Tick>(_ => OnTick());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef receiver) => Akka.Actor.Props.Create(() => new BlobUploader(receiver));

    protected override void PreStart() =>
        Timers.StartPeriodicTimer(nameof(Tick), Tick.Instance, TimeSpan.FromSeconds(2));

    private void OnUpload(UploadBlob upload)
    {
        if (_stored.Contains(upload.Hash))
        {
            Context.Parent.Tell(new BlobUploaded(upload.Hash));
            return;
        }
        if (_holding.ContainsKey(upload.Hash))
            return;
        var holding = new Holding(upload.Bytes);
        _holding[upload.Hash] = holding;
        Offer(upload.Hash, holding);
    }

    private void OnChunkRequest(BlobChunkRequest request)
    {
        if (!_holding.TryGetValue(request.Hash, out var holding))
        {
            Sender.Tell(new BlobUnavailable(request.Hash, "this node no longer holds the blob"));
            return;
        }
        holding.LastActivity = DateTime.UtcNow;
        try
        {
            Sender.Tell(BlobChunker.Serve(request, holding.Bytes));
        }
        catch (ArgumentOutOfRangeException e)
        {
            Sender.Tell(new BlobUnavailable(request.Hash, e.Message));
        }
    }

    private void OnComplete(BlobComplete complete)
    {
        if (!_holding.TryGetValue(complete.Hash, out var holding))
            return;
        if (complete.Stored)
        {
            _holding.Remove(complete.Hash);
            if (_stored.Count >= RememberedStored)
                _stored.Clear();
            _stored.Add(complete.Hash);
            Context.Parent.Tell(new BlobUploaded(complete.Hash));
            return;
        }
        holding.Refusals++;
        if (holding.Refusals >= MaxRefusals)
        {
            _holding.Remove(complete.Hash);
            Context.Parent.Tell(new BlobUploadFailed(complete.Hash, complete.Error ?? "refused by the coordinator"));
            return;
        }
        _log.Warning("The coordinator refused blob {0} ({1}); offering it again", complete.Hash, complete.Error);
        Timers.StartSingleTimer("reoffer-" + complete.Hash, new Reoffer(complete.Hash), TimeSpan.FromSeconds(1));
    }

    private void OnTick()
    {
        var now = DateTime.UtcNow;
        foreach (var (hash, holding) in _holding)
            if (now - holding.LastActivity > ReofferAfter)
                Offer(hash, holding);
    }

    private void Offer(string hash, Holding holding)
    {
        holding.LastActivity = DateTime.UtcNow;
        _receiver.Tell(new BlobOffer(hash, holding.Bytes.Length));
    }

    private sealed class Holding(byte[] bytes)
    {
        public byte[] Bytes { get; } = bytes;
        public int Refusals { get; set; }
        public DateTime LastActivity { get; set; } = DateTime.UtcNow;
    }

    private sealed record Reoffer(string Hash) : INoSerializationVerificationNeeded;

    private sealed class Tick : INoSerializationVerificationNeeded
    {
        public static readonly Tick Instance = new();
    }
}

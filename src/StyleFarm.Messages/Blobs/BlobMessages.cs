namespace StyleFarm.Messages.Blobs;

// Blobs (images, traces, checkpoints, weights) are content-addressed by the SHA-256 of their bytes (lowercase hex)
// and move in chunks of at most WireLimits.MaxChunkBytes, pulled by the receiver one request at a time (or a few),
// so a slow receiver is never flooded.
//
// Upload (DeviceWorker → BlobStore):   Offer → (ChunkRequest → Chunk)* → Complete
// Download (DeviceWorker ← BlobStore): (ChunkRequest → Chunk)*, or Unavailable
// A receiver that already holds the blob answers an offer with Complete at once.

/// <summary>Holder → receiver (a worker uploading to the coordinator's BlobStore): I have this blob for you; pull it.</summary>
public sealed record BlobOffer(string Hash, long Length) : IStyleFarmMessage;

/// <summary>
/// Receiver → holder: send the bytes of <paramref name="Hash"/> from <paramref name="Offset"/>, at most
/// <paramref name="MaxBytes"/> of them (the holder caps it at <see cref="WireLimits.MaxChunkBytes"/>).
/// </summary>
public sealed record BlobChunkRequest(string Hash, long Offset, int MaxBytes) : IStyleFarmMessage;

/// <summary>Holder → receiver: the bytes of <paramref name="Hash"/> at <paramref name="Offset"/>; <paramref name="TotalLength"/> is the whole blob's.</summary>
public sealed record BlobChunk(string Hash, long Offset, byte[] Bytes, long TotalLength) : IStyleFarmMessage;

/// <summary>
/// Receiver → holder, ending an upload: the blob is stored and its hash checked (<paramref name="Stored"/>), or
/// it was refused and why (the holder may offer it again).
/// </summary>
public sealed record BlobComplete(string Hash, bool Stored, string? Error) : IStyleFarmMessage;

/// <summary>Holder → requester: this blob cannot be served (unknown hash, read error).</summary>
public sealed record BlobUnavailable(string Hash, string Reason) : IStyleFarmMessage;

using System.Security.Cryptography;

namespace StyleFarm.Messages.Blobs;

/// <summary>Content addresses: the SHA-256 of a blob's bytes as 64 lowercase hex digits.</summary>
public static class BlobHash
{
    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static bool IsValid(string? hash)
    {
        if (hash is not { Length: 64 })
            return false;
        foreach (var c in hash)
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f'))
                return false;
        return true;
    }
}

/// <summary>A chunk that does not fit its blob, or bytes that do not hash to the blob's address.</summary>
public sealed class BlobIntegrityException(string message) : Exception(message);

/// <summary>Splits blobs into <see cref="BlobChunk"/> messages and serves chunk requests. Pure: no I/O, no state.</summary>
public static class BlobChunker
{
    /// <summary>Every chunk of <paramref name="data"/>, in order (one empty chunk for an empty blob).</summary>
    public static IEnumerable<BlobChunk> Split(byte[] data, int chunkBytes = WireLimits.MaxChunkBytes) =>
        Split(BlobHash.Of(data), data, chunkBytes);

    /// <summary>As <see cref="Split(byte[], int)"/> with a hash the caller already knows.</summary>
    public static IEnumerable<BlobChunk> Split(string hash, byte[] data, int chunkBytes = WireLimits.MaxChunkBytes)
    {
        CheckChunkBytes(chunkBytes);
        if (data.Length == 0)
        {
            yield return new BlobChunk(hash, 0, [], 0);
            yield break;
        }
        for (var offset = 0; offset < data.Length; offset += chunkBytes)
            yield return new BlobChunk(hash, offset, data[offset..Math.Min(data.Length, offset + chunkBytes)], data.Length);
    }

    /// <summary>
    /// The answer to <paramref name="request"/> from the bytes of the blob it names: at most
    /// <see cref="WireLimits.MaxChunkBytes"/>, whatever the request asked; an empty chunk at the end of the blob.
    /// </summary>
    public static BlobChunk Serve(BlobChunkRequest request, ReadOnlySpan<byte> data)
    {
        if (request.Offset < 0 || request.Offset > data.Length)
            throw new ArgumentOutOfRangeException(nameof(request), $"Offset {request.Offset} is outside blob {request.Hash} of {data.Length} bytes.");
        if (request.MaxBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(request), $"A chunk request must ask for at least one byte, not {request.MaxBytes}.");
        var offset = (int)request.Offset;
        var length = Math.Min(Math.Min(request.MaxBytes, WireLimits.MaxChunkBytes), data.Length - offset);
        return new BlobChunk(request.Hash, offset, data.Slice(offset, length).ToArray(), data.Length);
    }

    /// <summary>Puts chunks (in any order, with duplicates) back together and checks the hash.</summary>
    public static byte[] Assemble(string hash, long totalLength, IEnumerable<BlobChunk> chunks)
    {
        var assembler = new BlobAssembler(hash, totalLength);
        foreach (var chunk in chunks)
            assembler.Accept(chunk);
        return assembler.Complete();
    }

    internal static void CheckChunkBytes(int chunkBytes)
    {
        if (chunkBytes is <= 0 or > WireLimits.MaxChunkBytes)
            throw new ArgumentOutOfRangeException(nameof(chunkBytes), $"A chunk holds 1 to {WireLimits.MaxChunkBytes} bytes, not {chunkBytes}.");
    }
}

/// <summary>
/// Reassembles one blob from its chunks, which may arrive out of order, twice, or overlapping; says which ranges
/// are still missing (to pull them) and checks the SHA-256 at the end. Not thread-safe: one actor owns it.
/// </summary>
public sealed class BlobAssembler
{
    /// <summary>The largest blob accepted unless the constructor says otherwise (1 GiB).</summary>
    public const long DefaultMaxLength = 1L << 30;

    private readonly byte[] _buffer;

    // Received byte ranges [start, end), sorted, disjoint and not touching.
    private readonly List<(long Start, long End)> _received = [];

    public BlobAssembler(string hash, long totalLength, long maxLength = DefaultMaxLength)
    {
        if (!BlobHash.IsValid(hash))
            throw new BlobIntegrityException($"'{hash}' is not a blob hash (64 lowercase hex digits).");
        if (totalLength < 0 || totalLength > Math.Min(maxLength, Array.MaxLength))
            throw new BlobIntegrityException($"Blob {hash} claims {totalLength} bytes; at most {Math.Min(maxLength, Array.MaxLength)} are accepted.");
        Hash = hash;
        TotalLength = totalLength;
        _buffer = new byte[totalLength];
    }

    public string Hash { get; }

    public long TotalLength { get; }

    public long ReceivedBytes { get; private set; }

    public bool IsComplete => ReceivedBytes == TotalLength;

    /// <summary>
    /// Takes a chunk: true when it brought new bytes, false when they were all here already. Throws
    /// <see cref="BlobIntegrityException"/> for a chunk of another blob, of another length, out of range, too large,
    /// or disagreeing with bytes already received.
    /// </summary>
    public bool Accept(BlobChunk chunk)
    {
        if (!string.Equals(chunk.Hash, Hash, StringComparison.Ordinal))
            throw new BlobIntegrityException($"A chunk of blob {chunk.Hash} was given to blob {Hash}.");
        if (chunk.TotalLength != TotalLength)
            throw new BlobIntegrityException($"A chunk of blob {Hash} says it is {chunk.TotalLength} bytes long, not {TotalLength}.");
        var bytes = chunk.Bytes ?? throw new BlobIntegrityException($"A chunk of blob {Hash} has no bytes.");
        if (bytes.Length > WireLimits.MaxChunkBytes)
            throw new BlobIntegrityException($"A chunk of blob {Hash} holds {bytes.Length} bytes; at most {WireLimits.MaxChunkBytes} are allowed.");
        if (chunk.Offset < 0 || chunk.Offset + bytes.Length > TotalLength)
            throw new BlobIntegrityException($"A chunk of blob {Hash} at {chunk.Offset} (+{bytes.Length}) lies outside its {TotalLength} bytes.");

        var start = chunk.Offset;
        var end = start + bytes.Length;
        var added = 0L;
        var cursor = start;
        // Copy into the gaps; check the overlaps agree with what is already here.
        foreach (var (s, e) in _received)
        {
            if (e <= cursor)
                continue;
            if (s >= end)
                break;
            if (s > cursor)
                added += Copy(bytes, start, cursor, s);
            var overlapEnd = Math.Min(e, end);
            var overlapStart = Math.Max(s, cursor);
            if (!bytes.AsSpan((int)(overlapStart - start), (int)(overlapEnd - overlapStart))
                    .SequenceEqual(_buffer.AsSpan((int)overlapStart, (int)(overlapEnd - overlapStart))))
                throw new BlobIntegrityException($"Two chunks of blob {Hash} disagree on bytes {overlapStart}..{overlapEnd}.");
            cursor = overlapEnd;
        }
        if (cursor < end)
            added += Copy(bytes, start, cursor, end);
        if (added == 0)
            return false;
        Mark(start, end);
        ReceivedBytes += added;
        return true;
    }

    /// <summary>The requests (each at most <paramref name="maxBytes"/>) that would fetch every missing byte, in order.</summary>
    public IEnumerable<BlobChunkRequest> MissingRequests(int maxBytes = WireLimits.MaxChunkBytes)
    {
        BlobChunker.CheckChunkBytes(maxBytes);
        var cursor = 0L;
        foreach (var (s, e) in _received.ToArray().Append((TotalLength, TotalLength)))
        {
            for (var offset = cursor; offset < s; offset += maxBytes)
                yield return new BlobChunkRequest(Hash, offset, (int)Math.Min(maxBytes, s - offset));
            cursor = Math.Max(cursor, e);
        }
    }

    /// <summary>The blob's bytes, once every byte is here and they hash to <see cref="Hash"/>.</summary>
    public byte[] Complete()
    {
        if (!IsComplete)
            throw new InvalidOperationException($"Blob {Hash} has {ReceivedBytes} of its {TotalLength} bytes.");
        var actual = BlobHash.Of(_buffer);
        if (!string.Equals(actual, Hash, StringComparison.Ordinal))
            throw new BlobIntegrityException($"Blob {Hash} arrived with bytes that hash to {actual}.");
        return _buffer;
    }

    private long Copy(byte[] bytes, long chunkStart, long from, long to)
    {
        bytes.AsSpan((int)(from - chunkStart), (int)(to - from)).CopyTo(_buffer.AsSpan((int)from));
        return to - from;
    }

    private void Mark(long start, long end)
    {
        // Merge [start, end) with every range it overlaps or touches.
        var i = 0;
        while (i < _received.Count && _received[i].End < start)
            i++;
        var first = i;
        while (i < _received.Count && _received[i].Start <= end)
        {
            start = Math.Min(start, _received[i].Start);
            end = Math.Max(end, _received[i].End);
            i++;
        }
        _received.RemoveRange(first, i - first);
        _received.Insert(first, (start, end));
    }
}

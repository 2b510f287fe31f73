using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace StyleFarm.Coordinator.Store;

/// <summary>An upload was refused at <see cref="BlobUpload.Complete"/>; nothing was stored.</summary>
public class BlobUploadException(string message) : Exception(message);

/// <summary>The bytes of an upload did not hash to the announced hash.</summary>
public sealed class BlobHashMismatchException(string expected, string actual) : BlobUploadException(
    $"Upload announced as blob {expected} hashes to {actual}; it was discarded.")
{
    public string Expected { get; } = expected;

    public string Actual { get; } = actual;
}

/// <summary>
/// One blob arriving in pieces. Chunks may come in any order and more than once; each is bounds-checked against
/// the announced length. <see cref="Complete"/> checks that every byte arrived and that the bytes hash to the
/// announced hash, then publishes the blob; on any failure it deletes the partial file. Disposing an upload that
/// was not completed abandons it.
/// </summary>
public sealed class BlobUpload : IDisposable
{
    private const int HashBufferSize = 1 << 20;

    private readonly BlobStore _store;
    private readonly Lock _gate = new();
    private readonly ReceivedRanges _received = new();
    private readonly string? _tempPath;
    private SafeFileHandle? _file;
    private bool _finished;

    internal BlobUpload(BlobStore store, string expectedHash, long totalLength, bool alreadyStored)
    {
        _store = store;
        ExpectedHash = expectedHash;
        TotalLength = totalLength;
        AlreadyStored = alreadyStored;
        if (alreadyStored) return;
        _tempPath = store.NewTempPath(expectedHash);
        _file = File.OpenHandle(_tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            RandomAccess.SetLength(_file, totalLength);
        }
        catch
        {
            Discard();
            throw;
        }
    }

    public string ExpectedHash { get; }

    public long TotalLength { get; }

    /// <summary>The blob was in the store before the upload began; chunks are checked but not written.</summary>
    public bool AlreadyStored { get; }

    /// <summary>Distinct bytes received so far (a repeated chunk counts once).</summary>
    public long ReceivedBytes
    {
        get
        {
            lock (_gate) return _received.Covered;
        }
    }

    public void WriteChunk(long offset, ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            if (offset < 0 || offset > TotalLength - bytes.Length)
                throw new ArgumentOutOfRangeException(nameof(offset),
                    $"Chunk of {bytes.Length} bytes at {offset} falls outside blob {ExpectedHash} ({TotalLength} bytes).");
            if (_file is not null) RandomAccess.Write(_file, bytes, offset);
            _received.Add(offset, offset + bytes.Length);
        }
    }

    /// <summary>Verifies and publishes the blob; returns its hash. Throws (and discards the partial file) otherwise.</summary>
    public string Complete()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            _finished = true;
            if (_file is null) return ExpectedHash;
            try
            {
                RequireEverything();
                RandomAccess.FlushToDisk(_file);
                string actual = HashOfFile(_file, TotalLength);
                if (actual != ExpectedHash) throw new BlobHashMismatchException(ExpectedHash, actual);
                CloseFile();
                _store.Publish(_tempPath!, ExpectedHash);
                return ExpectedHash;
            }
            finally
            {
                Discard();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _finished = true;
            Discard();
        }
    }

    private void RequireEverything()
    {
        if (_received.FirstGap(TotalLength) is { } gap)
            throw new BlobUploadException(
                $"Upload of blob {ExpectedHash} is missing bytes {gap.Start}–{gap.End - 1} of {TotalLength}; it was discarded.");
    }

    private static string HashOfFile(SafeFileHandle file, long length)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[(int)Math.Min(HashBufferSize, Math.Max(length, 1))];
        for (long offset = 0; offset < length;)
        {
            int read = RandomAccess.Read(file, buffer, offset);
            if (read == 0) throw new IOException("The upload's temp file is shorter than announced.");
            sha.AppendData(buffer, 0, read);
            offset += read;
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private void CloseFile()
    {
        _file?.Dispose();
        _file = null;
    }

    // After a publish the temp path no longer exists and the delete is a no-op.
    private void Discard()
    {
        CloseFile();
        if (_tempPath is not null) File.Delete(_tempPath);
    }

    /// <summary>Merged, sorted [start, end) ranges of the bytes received.</summary>
    private sealed class ReceivedRanges
    {
        private readonly List<(long Start, long End)> _ranges = [];

        public long Covered { get; private set; }

        public void Add(long start, long end)
        {
            if (start == end) return;
            // Chunks mostly arrive in order, so the new range usually merges with the last one.
            int index = _ranges.FindLastIndex(r => r.Start <= end) + 1;
            while (index > 0 && _ranges[index - 1].End >= start)
            {
                index--;
                start = Math.Min(start, _ranges[index].Start);
                end = Math.Max(end, _ranges[index].End);
                Covered -= _ranges[index].End - _ranges[index].Start;
                _ranges.RemoveAt(index);
            }
            _ranges.Insert(index, (start, end));
            Covered += end - start;
        }

        public (long Start, long End)? FirstGap(long length)
        {
            long expected = 0;
            foreach ((long start, long end) in _ranges)
            {
                if (start > expected) return (expected, start);
                expected = end;
            }
            return expected < length ? (expected, length) : null;
        }
    }
}

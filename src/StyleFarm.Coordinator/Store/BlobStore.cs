using System.Security.Cryptography;

namespace StyleFarm.Coordinator.Store;

/// <summary>
/// Content-addressed files under <c>&lt;data&gt;/blobs/ab/cdef…</c>, named by the SHA-256 of their bytes. A blob
/// appears whole or not at all: it is written to <c>blobs/tmp</c>, flushed, then renamed into place, so a reader or
/// a restarted coordinator never sees half a file. Storing the same bytes twice is a no-op.
/// </summary>
public sealed class BlobStore
{
    private const int CopyBufferSize = 1 << 20;
    private static readonly TimeSpan StaleTempAge = TimeSpan.FromHours(1);

    /// <summary>The largest upload accepted unless the constructor says otherwise (16 GiB: a big unit's checkpoint).</summary>
    public const long DefaultMaxUploadBytes = 16L << 30;

    private readonly long _maxUploadBytes;

    public BlobStore(string dataFolder, long maxUploadBytes = DefaultMaxUploadBytes)
    {
        _maxUploadBytes = maxUploadBytes;
        Root = Path.Combine(Path.GetFullPath(dataFolder), "blobs");
        TempFolder = Path.Combine(Root, "tmp");
        Directory.CreateDirectory(TempFolder);
        DeleteStaleTempFiles();
    }

    public string Root { get; }

    internal string TempFolder { get; }

    /// <summary>Where a blob lives (whether or not it exists yet); the hash is checked first.</summary>
    public string PathOf(string hash)
    {
        BlobAddress.Require(hash);
        return Path.Combine(Root, hash[..2], hash[2..]);
    }

    public bool Exists(string hash) => File.Exists(PathOf(hash));

    public long Length(string hash) => new FileInfo(PathOf(hash)).Length;

    public string Put(byte[] bytes) => Put(bytes.AsSpan());

    public string Put(ReadOnlySpan<byte> bytes)
    {
        string hash = BlobAddress.Of(bytes);
        if (Exists(hash)) return hash;
        string temp = NewTempPath(hash);
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }
            Publish(temp, hash);
            return hash;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Stores a stream of unknown length, hashing it on the way; returns its hash.</summary>
    public string Put(Stream source)
    {
        string temp = NewTempPath("stream");
        try
        {
            string hash;
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                byte[] buffer = new byte[CopyBufferSize];
                int read;
                while ((read = source.Read(buffer)) > 0)
                {
                    sha.AppendData(buffer, 0, read);
                    file.Write(buffer, 0, read);
                }
                file.Flush(flushToDisk: true);
                hash = Convert.ToHexStringLower(sha.GetHashAndReset());
            }
            if (!Exists(hash)) Publish(temp, hash);
            return hash;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public Stream OpenRead(string hash) =>
        new FileStream(PathOf(hash), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);

    public byte[] Read(string hash) => File.ReadAllBytes(PathOf(hash));

    /// <summary>Up to <paramref name="count"/> bytes from <paramref name="offset"/>, fewer at the end: one chunk of a download.</summary>
    public byte[] ReadRange(string hash, long offset, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        using var handle = File.OpenHandle(PathOf(hash), FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(handle);
        if (offset > length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"Offset {offset} is past the end of blob {hash} ({length} bytes).");
        byte[] chunk = new byte[(int)Math.Min(count, length - offset)];
        int filled = 0;
        while (filled < chunk.Length)
        {
            int read = RandomAccess.Read(handle, chunk.AsSpan(filled), offset + filled);
            if (read == 0) throw new IOException($"Blob {hash} shrank while it was read.");
            filled += read;
        }
        return chunk;
    }

    /// <summary>
    /// Starts receiving a blob in chunks. If the blob is already stored the upload is complete before it begins
    /// (<see cref="BlobUpload.AlreadyStored"/>), and the sender can skip the chunks.
    /// </summary>
    public BlobUpload BeginUpload(string expectedHash, long totalLength)
    {
        BlobAddress.Require(expectedHash, nameof(expectedHash));
        ArgumentOutOfRangeException.ThrowIfNegative(totalLength);
        // The temp file is sized up front, so an absurd announced length is refused before it takes any space.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(totalLength, _maxUploadBytes);
        return new BlobUpload(this, expectedHash, totalLength, alreadyStored: Exists(expectedHash));
    }

    internal string NewTempPath(string label) => Path.Combine(TempFolder, $"{label}.{Guid.NewGuid():N}.part");

    /// <summary>Renames a flushed temp file into place and flushes the directory, so the name survives a power cut.</summary>
    internal void Publish(string tempPath, string hash)
    {
        string target = PathOf(hash);
        string shard = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(shard))
        {
            Directory.CreateDirectory(shard);
            DirectorySync.Flush(Root);
        }
        // Replacing an existing copy is harmless: same name, same bytes, and rename is atomic.
        File.Move(tempPath, target, overwrite: true);
        DirectorySync.Flush(shard);
    }

    // A kill mid-upload leaves temp files behind; an hour-old one belongs to no live upload.
    private void DeleteStaleTempFiles()
    {
        DateTime cutoff = DateTime.UtcNow - StaleTempAge;
        foreach (FileInfo file in new DirectoryInfo(TempFolder).EnumerateFiles("*.part"))
        {
            if (file.LastWriteTimeUtc >= cutoff) continue;
            try
            {
                file.Delete();
            }
            catch (IOException)
            {
                // Still open somewhere; the next start gets it.
            }
        }
    }
}

using System.Collections.Concurrent;
using StyleFarm.Messages.Blobs;

namespace StyleFarm.GpuNode.Blobs;

/// <summary>
/// The node's content-addressed blob folder (<c>ab/abcdef…</c>): images, weights and checkpoints a unit needs,
/// kept for the next unit that needs them. Shared by every device of the node (and safe across threads): a file
/// appears by an atomic rename, and a file is trusted only once its bytes were seen to hash to its name.
/// </summary>
public sealed class NodeBlobCache
{
    private readonly ConcurrentDictionary<string, bool> _verified = new(StringComparer.Ordinal);

    public NodeBlobCache(string folder)
    {
        Folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    /// <summary>
    /// $STYLEFARM_CACHE/node-blobs, else $XDG_CACHE_HOME/stylefarm/node-blobs, else ~/.cache/stylefarm/node-blobs
    /// (beside the engine's weight cache).
    /// </summary>
    public static string DefaultFolder()
    {
        if (Environment.GetEnvironmentVariable("STYLEFARM_CACHE") is { Length: > 0 } configured)
            return Path.Combine(configured, "node-blobs");
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
        return Path.Combine(root, "stylefarm", "node-blobs");
    }

    public string PathOf(string hash)
    {
        if (!BlobHash.IsValid(hash))
            throw new ArgumentException($"'{hash}' is not a blob hash (64 lowercase hex digits).", nameof(hash));
        return Path.Combine(Folder, hash[..2], hash);
    }

    /// <summary>
    /// Whether the blob is here with the right bytes. The first look at a file hashes it; a damaged file is
    /// deleted, so that it is downloaded again.
    /// </summary>
    public bool Contains(string hash)
    {
        if (_verified.ContainsKey(hash))
            return true;
        var path = PathOf(hash);
        if (!File.Exists(path))
            return false;
        try
        {
            if (string.Equals(BlobHash.Of(File.ReadAllBytes(path)), hash, StringComparison.Ordinal))
            {
                _verified[hash] = true;
                return true;
            }
            File.Delete(path);
        }
        catch (IOException)
        {
            // Being replaced by another device's download: treat as absent, the download rewrites it.
        }
        return false;
    }

    /// <summary>Stores bytes under their hash (checked), atomically; a blob already here is left as it is.</summary>
    public void Write(string hash, byte[] bytes)
    {
        var actual = BlobHash.Of(bytes);
        if (!string.Equals(actual, hash, StringComparison.Ordinal))
            throw new BlobIntegrityException($"Blob {hash} was given bytes that hash to {actual}.");
        var path = PathOf(hash);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.partial";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
        _verified[hash] = true;
    }

    /// <summary>The bytes of a blob that is here (<see cref="Contains"/> or <see cref="Write"/> said so).</summary>
    public byte[] Read(string hash)
    {
        var path = PathOf(hash);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Blob {hash} is not in the node's blob cache {Folder}.", path);
        return File.ReadAllBytes(path);
    }

    /// <summary>
    /// A path to a weights blob that ends in the extension its format needs (the engine picks the reader by it):
    /// a symbolic link beside the blob, <c>hash.safetensors</c> or <c>hash.pth</c>.
    /// </summary>
    public string WeightsFile(string hash)
    {
        var path = PathOf(hash);
        var named = path + WeightsExtension(path);
        if (!File.Exists(named))
        {
            try
            {
                File.CreateSymbolicLink(named, path);
            }
            catch (IOException) when (File.Exists(named))
            {
                // Another device made it first.
            }
        }
        return named;
    }

    /// <summary>.safetensors (an 8-byte header length, then JSON), else .pth (a torch.save zip or pickle).</summary>
    private static string WeightsExtension(string path)
    {
        Span<byte> head = stackalloc byte[9];
        using var file = File.OpenRead(path);
        var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return read == head.Length && head[8] == (byte)'{' ? ".safetensors" : ".pth";
    }
}

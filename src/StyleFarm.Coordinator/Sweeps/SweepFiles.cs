using System.Globalization;
using System.Security.Cryptography;
using SixLabors.ImageSharp;
using StyleFarm.Engine.Imaging;

namespace StyleFarm.Coordinator.Sweeps;

/// <summary>Checks that the files a sweep names can be used, each file once however many jobs name it.</summary>
internal sealed class FileChecks
{
    private readonly Dictionary<string, string?> _imageProblems = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _weightsProblems = new(StringComparer.Ordinal);

    /// <summary>Null if the image is there and its header reads as an image the engine accepts, else what is wrong.</summary>
    public string? ImageProblem(string fullPath, string written) =>
        Cached(_imageProblems, fullPath, () => FindImageProblem(fullPath, written));

    /// <summary>Null if the weights file is there and readable. Its contents are the engine's to judge, on the node.</summary>
    public string? WeightsProblem(string fullPath, string written) =>
        Cached(_weightsProblems, fullPath, () => FindWeightsProblem(fullPath, written));

    private static string? Cached(Dictionary<string, string?> cache, string key, Func<string?> find)
    {
        if (!cache.TryGetValue(key, out string? problem))
        {
            cache[key] = problem = find();
        }

        return problem;
    }

    private static string? FindImageProblem(string fullPath, string written)
    {
        if (MissingFileProblem(fullPath, written) is string missing)
        {
            return missing;
        }

        IImageInfo? info;
        try
        {
            info = Image.Identify(fullPath);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // ImageSharp 2.1 throws a range of exception types on a damaged header; each means the same here.
            return $"cannot read '{written}' as an image: {e.Message}";
        }

        if (info is null)
        {
            return $"'{written}' is not an image format StyleFarm reads (PNG, JPEG, GIF, BMP, TIFF, TGA, WebP)";
        }

        long pixels = (long)info.Width * info.Height;
        return pixels > ImageLoader.DefaultMaxPixels
            ? $"'{written}' has {pixels.ToString("N0", CultureInfo.InvariantCulture)} pixels, more than the {ImageLoader.DefaultMaxPixels.ToString("N0", CultureInfo.InvariantCulture)} the engine accepts"
            : DecodeProblem(fullPath, written);
    }

    // A sound header says nothing of the pixels: a truncated file would pass, then fail every job that uses it on
    // the nodes. Decoding it whole here (the header already bounds its size) turns that into one error with its line.
    private static string? DecodeProblem(string fullPath, string written)
    {
        try
        {
            using Image image = Image.Load(fullPath);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"cannot decode '{written}': {e.Message}";
        }
    }

    private static string? FindWeightsProblem(string fullPath, string written)
    {
        if (MissingFileProblem(fullPath, written) is string missing)
        {
            return missing;
        }

        try
        {
            using FileStream stream = File.OpenRead(fullPath);
            return stream.Length == 0 ? $"'{written}' is empty" : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read '{written}': {e.Message}";
        }
    }

    private static string? MissingFileProblem(string fullPath, string written) =>
        Directory.Exists(fullPath) ? $"'{written}' is a folder, not a file"
        : !File.Exists(fullPath) ? $"cannot find '{written}' (looked for {fullPath})"
        : null;
}

/// <summary>
/// Content hashes of the sweep's files, each file read once; they name the images in job ids and as blobs.
/// </summary>
internal sealed class FileHashes
{
    private readonly Dictionary<string, string> _hashByPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pathByHash = new(StringComparer.Ordinal);

    /// <summary>hash → path of every file hashed so far; two paths with equal bytes keep the first.</summary>
    public IReadOnlyDictionary<string, string> PathsByHash => _pathByHash;

    /// <summary>Lower-case hex SHA-256 of the file's bytes.</summary>
    public string Of(SettingValue file)
    {
        string path = (string)file.Value!;
        if (_hashByPath.TryGetValue(path, out string? hash))
        {
            return hash;
        }

        hash = HashFile(path, file);
        _hashByPath[path] = hash;
        _pathByHash.TryAdd(hash, path);
        return hash;
    }

    // Validation has seen the file; it can still vanish before we read it, and that is the sweep's error, not a crash.
    private static string HashFile(string path, SettingValue file)
    {
        try
        {
            using FileStream stream = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileHashException(new SweepError(file.Field, file.Line, $"cannot read '{file.Display}': {e.Message}"));
        }
    }
}

/// <summary>A file that could not be hashed during expansion; the loader reports it like any validation error.</summary>
internal sealed class FileHashException(SweepError error) : Exception(error.Message)
{
    public SweepError Error { get; } = error;
}

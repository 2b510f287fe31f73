using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;

namespace StyleFarm.Coordinator.Dashboard.Web;

/// <summary>One file of the dashboard's wwwroot: its bytes, content type and an ETag of its content.</summary>
public sealed record WebAsset(string Path, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The dashboard's files, embedded in the assembly (the csproj names each resource
/// <c>StyleFarm.Web/&lt;path under wwwroot&gt;</c>), read once. Looking a request up in this fixed set is the whole
/// of the "file system": no path ever reaches the disk, so there is nothing to traverse.
/// </summary>
public sealed class WebAssets
{
    public const string ResourcePrefix = "StyleFarm.Web/";

    private static readonly Lazy<WebAssets> Embedded = new(() => FromAssembly(typeof(WebAssets).Assembly));

    private readonly FrozenDictionary<string, WebAsset> _assets;

    public WebAssets(IEnumerable<WebAsset> assets) =>
        _assets = assets.ToFrozenDictionary(a => a.Path, StringComparer.Ordinal);

    /// <summary>The files embedded in the coordinator.</summary>
    public static WebAssets Default => Embedded.Value;

    /// <summary>Every path, relative to wwwroot, with '/' separators ("js/api.js").</summary>
    public IEnumerable<string> Paths => _assets.Keys;

    public WebAsset? Find(string path) => _assets.GetValueOrDefault(path);

    public WebAsset this[string path] =>
        Find(path) ?? throw new KeyNotFoundException($"the dashboard has no embedded file '{path}'; is it under Dashboard/Web/wwwroot?");

    public static WebAssets FromAssembly(Assembly assembly)
    {
        var assets = new List<WebAsset>();
        foreach (string name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            // %(RecursiveDir) gives '\' on Windows.
            string path = name[ResourcePrefix.Length..].Replace('\\', '/');
            using Stream stream = assembly.GetManifestResourceStream(name)!;
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            assets.Add(Create(path, bytes.ToArray()));
        }
        return new WebAssets(assets);
    }

    public static WebAsset Create(string path, byte[] content) =>
        new(path, content, ContentTypeOf(path), $"\"{Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 12))}\"");

    /// <summary>The content type of a file by its extension; text types say UTF-8 so no browser guesses.</summary>
    public static string ContentTypeOf(string path) => System.IO.Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".md" => "text/markdown; charset=utf-8",
        ".txt" => "text/plain; charset=utf-8",
        ".json" => "application/json; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
}

using System.Security.Cryptography;

namespace StyleFarm.Coordinator.Store;

/// <summary>
/// A blob's address: the SHA-256 of its bytes as 64 lower-case hex characters. Internal so that it never clashes
/// with the wire's BlobHash in code that uses both namespaces.
/// </summary>
internal static class BlobAddress
{
    public const int Length = 64;

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>
    /// True for exactly 64 lower-case hex characters. Anything else is refused before it gets near a path, so a
    /// hash from the wire cannot name a file outside the blob folder.
    /// </summary>
    public static bool IsValid(string? hash) =>
        hash is { Length: Length } && hash.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;

    public static string Require(string? hash, string name = "hash") => IsValid(hash)
        ? hash!
        : throw new ArgumentException(
            $"'{Shorten(hash)}' is not a blob hash (64 lower-case hex characters of a SHA-256).", name);

    private static string Shorten(string? text) => text is null ? "null" : text.Length <= 80 ? text : text[..80] + "…";
}

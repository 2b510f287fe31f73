using StyleFarm.Messages.Blobs;

namespace StyleFarm.Coordinator.Store;

/// <summary>
/// A blob's address: the SHA-256 of its bytes as 64 lower-case hex characters, as the wire's
/// <see cref="BlobHash"/> defines it; this adds the store's argument check.
/// </summary>
internal static class BlobAddress
{
    public const int Length = 64;

    public static string Of(ReadOnlySpan<byte> bytes) => BlobHash.Of(bytes);

    /// <summary>
    /// True for exactly 64 lower-case hex characters. Anything else is refused before it gets near a path, so a
    /// hash from the wire cannot name a file outside the blob folder.
    /// </summary>
    public static bool IsValid(string? hash) => BlobHash.IsValid(hash);

    public static string Require(string? hash, string name = "hash") => IsValid(hash)
        ? hash!
        : throw new ArgumentException(
            $"'{Shorten(hash)}' is not a blob hash (64 lower-case hex characters of a SHA-256).", name);

    private static string Shorten(string? text) => text is null ? "null" : text.Length <= 80 ? text : text[..80] + "…";
}

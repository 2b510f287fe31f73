namespace StyleFarm.Coordinator.Results;

/// <summary>A fetched blob whose bytes do not hash to its name: corrupt in the store or in transit. Nothing is written from it.</summary>
public sealed class BlobMismatchException(string hash, string actualHash, string purpose)
    : IOException($"Blob {hash} ({purpose}) came back with bytes that hash to {actualHash}; it is corrupt, so it was not written.")
{
    public string Hash { get; } = hash;

    public string ActualHash { get; } = actualHash;
}

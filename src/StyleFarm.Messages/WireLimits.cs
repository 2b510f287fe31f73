namespace StyleFarm.Messages;

/// <summary>
/// The limits every message on the wire keeps. The remote frame limit is larger (128,000 bytes by default); these
/// leave room for the envelope and catch oversized messages on the sender, where they are easy to debug.
/// </summary>
public static class WireLimits
{
    /// <summary>The protocol version a node announces in <see cref="Nodes.NodeJoined"/>; bump it on breaking changes.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>No serialized message may be larger than this (64 KiB).</summary>
    public const int MaxMessageBytes = 64 * 1024;

    /// <summary>The most payload one <see cref="Blobs.BlobChunk"/> carries (32 KiB).</summary>
    public const int MaxChunkBytes = 32 * 1024;

    /// <summary>
    /// The most jobs one work unit may answer, so that its AssignUnit stays well under <see cref="MaxMessageBytes"/>
    /// (measured: 64 variants × 3 jobs serialize to about 30 KB).
    /// </summary>
    public const int MaxJobsPerUnit = 256;

    /// <summary>
    /// The most results one <see cref="Work.UnitDone"/> carries, so that it stays well under
    /// <see cref="MaxMessageBytes"/> (a JobResult with its blob hashes and ids is under 600 bytes).
    /// </summary>
    public const int MaxResultsPerUnitDone = 64;

    /// <summary>The longest free text (a failure reason, an error) a message should carry.</summary>
    public const int MaxTextChars = 4096;

    /// <summary>Cuts free text to <see cref="MaxTextChars"/> so that a long stack trace cannot break the size limit.</summary>
    public static string Clip(string text) =>
        text.Length <= MaxTextChars ? text : string.Concat(text.AsSpan(0, MaxTextChars - 1), "…");
}

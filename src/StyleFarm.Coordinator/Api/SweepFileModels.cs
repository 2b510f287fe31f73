namespace StyleFarm.Coordinator.Api;

// The bodies of POST /api/v1/sweeps/check and /api/v1/sweeps/file (SweepFileEndpoints): a sweep file as written,
// checked and submitted by the coordinator itself, for clients that cannot run the loader (the web dashboard).

/// <summary>A sweep file and the files it names, each already uploaded as a blob (PUT /api/v1/blobs/{hash}).</summary>
/// <param name="FileName">The sweep file's name, e.g. <c>sweep.yaml</c>, for messages and the run folder.</param>
/// <param name="FileText">The sweep file as written.</param>
/// <param name="Files">Path as the sweep file writes it (<c>content.jpg</c>, <c>images/style.png</c>) → SHA-256 of its bytes.</param>
public sealed record SweepFileRequest(string FileName, string FileText, IReadOnlyDictionary<string, string>? Files = null);

/// <summary>200 from POST /api/v1/sweeps/check.</summary>
/// <param name="Valid">Whether POST /api/v1/sweeps/file would take it now.</param>
/// <param name="Name">The sweep's name, null when the text is not a sweep at all.</param>
/// <param name="Jobs">The jobs it expands to (equal jobs merged when valid; before merging otherwise).</param>
/// <param name="Units">The work units its jobs not already done would be fused into; 0 when invalid.</param>
/// <param name="Errors">Every problem, in file line order, each with its sweep file line (0 when none applies).</param>
/// <param name="Files">Each file the sweep names, where it names it, and whether the request attached it.</param>
public sealed record SweepCheckResponse(
    bool Valid,
    string? Name,
    int Jobs,
    int Units,
    IReadOnlyList<ApiError> Errors,
    IReadOnlyList<SweepFileView> Files);

/// <summary>A file the sweep names.</summary>
/// <param name="Path">As the sweep file writes it.</param>
/// <param name="Attached">Whether the request maps it to a blob the coordinator has.</param>
public sealed record SweepFileView(string Path, string Field, int Line, bool Attached);

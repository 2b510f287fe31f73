using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using StyleFarm.Coordinator.Store;
using static StyleFarm.Coordinator.Api.StyleFarmApi;

namespace StyleFarm.Coordinator.Api;

/// <summary>
/// /api/v1/blobs/{hash}: content-addressed files, the way a client's images and weights reach the coordinator
/// (nodes then pull them in chunks over the cluster). HEAD before PUT skips what is already there.
/// </summary>
internal static class BlobEndpoints
{
    private const int BufferSize = 1 << 16;

    public static void MapBlobEndpoints(this RouteGroupBuilder api)
    {
        api.MapMethods("/blobs/{hash}", ["HEAD"], Head);
        api.MapGet("/blobs/{hash}", Download);
        api.MapPut("/blobs/{hash}", Upload);
    }

    private static IResult Head(string hash, BlobStore blobs, HttpContext http)
    {
        if (!BlobAddress.IsValid(hash)) return BadHash(hash);
        if (!blobs.Exists(hash)) return TypedResults.StatusCode(StatusCodes.Status404NotFound);
        http.Response.ContentLength = blobs.Length(hash);
        return TypedResults.Ok();
    }

    private static IResult Download(string hash, BlobStore blobs)
    {
        if (!BlobAddress.IsValid(hash)) return BadHash(hash);
        if (!blobs.Exists(hash)) return NotFound($"no blob {hash} on this coordinator");
        Stream file = blobs.OpenRead(hash);
        return TypedResults.Stream(file, ContentTypeOf(file), enableRangeProcessing: true);
    }

    /// <summary>
    /// Streams the body into a <see cref="BlobUpload"/>, which checks it hashes to {hash} before it becomes visible:
    /// a wrong or truncated upload leaves nothing behind.
    /// </summary>
    private static async Task<IResult> Upload(string hash, HttpContext http, BlobStore blobs, StyleFarmApiOptions options, CancellationToken cancel)
    {
        if (!BlobAddress.IsValid(hash)) return BadHash(hash);
        if (http.Request.ContentLength is not { } length)
            return Problem(StatusCodes.Status411LengthRequired, "Length required",
                "send the blob with a Content-Length header (a chunked upload is not accepted)");
        if (length > options.MaxBlobBytes)
            return Problem(StatusCodes.Status413PayloadTooLarge, "Blob too large",
                $"the blob is {length} bytes; this coordinator takes blobs of at most {options.MaxBlobBytes} bytes");
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = options.MaxBlobBytes;

        using BlobUpload upload = blobs.BeginUpload(hash, length);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long offset = 0;
            int read;
            while ((read = await http.Request.Body.ReadAsync(buffer.AsMemory(0, BufferSize), cancel).ConfigureAwait(false)) > 0)
            {
                if (offset + read > length)
                    return Problem(StatusCodes.Status400BadRequest, "Bad request", "the body is longer than its Content-Length");
                upload.WriteChunk(offset, buffer.AsSpan(0, read));
                offset += read;
            }
            bool stored = upload.AlreadyStored;
            upload.Complete();
            return stored ? (IResult)TypedResults.Ok() : TypedResults.Created($"{Prefix}/blobs/{hash}");
        }
        catch (BlobHashMismatchException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "Hash mismatch",
                $"the uploaded bytes hash to {e.Actual}, not {hash}; nothing was stored");
        }
        catch (BlobUploadException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "Incomplete upload", e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static IResult BadHash(string hash) => Problem(StatusCodes.Status400BadRequest, "Bad blob hash",
        $"'{(hash.Length <= 80 ? hash : hash[..80] + "…")}' is not a blob hash: 64 lower-case hex characters of the SHA-256 of the bytes");

    private static string ContentTypeOf(Stream file)
    {
        Span<byte> head = stackalloc byte[8];
        int read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        file.Position = 0;
        return head[..read].SequenceEqual(PngMagic) ? "image/png" : "application/octet-stream";
    }

    private static ReadOnlySpan<byte> PngMagic => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
}

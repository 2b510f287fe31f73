using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;

namespace StyleFarm.Coordinator.Tests.Cluster;

public class BlobChunkerTests
{
    private static byte[] Data(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Hash_is_lowercase_sha256_hex()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", BlobHash.Of([]));
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", BlobHash.Of("abc"u8));
        Assert.True(BlobHash.IsValid(BlobHash.Of("abc"u8)));
        Assert.False(BlobHash.IsValid(BlobHash.Of("abc"u8).ToUpperInvariant()));
        Assert.False(BlobHash.IsValid("abc"));
        Assert.False(BlobHash.IsValid(null));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(WireLimits.MaxChunkBytes)]
    [InlineData(WireLimits.MaxChunkBytes + 1)]
    [InlineData(5 * WireLimits.MaxChunkBytes + 123)]
    public void Split_makes_full_chunks_in_order_and_assembles_back(int length)
    {
        var data = Data(length);
        var chunks = BlobChunker.Split(data).ToList();

        Assert.Equal((length + WireLimits.MaxChunkBytes - 1) / WireLimits.MaxChunkBytes, chunks.Count);
        Assert.All(chunks, c => Assert.True(c.Bytes.Length <= WireLimits.MaxChunkBytes));
        Assert.All(chunks, c => Assert.Equal(length, c.TotalLength));
        Assert.Equal(chunks.Select((_, i) => (long)i * WireLimits.MaxChunkBytes), chunks.Select(c => c.Offset));
        Assert.Equal(data, BlobChunker.Assemble(BlobHash.Of(data), length, chunks));
    }

    [Fact]
    public void Chunks_out_of_order_and_repeated_assemble_to_the_blob()
    {
        var data = Data(200_000);
        var chunks = BlobChunker.Split(data, 10_000).ToList();
        var shuffled = chunks.Concat(chunks.Take(5)).Concat(chunks.Skip(11).Take(3)).OrderBy(_ => Random.Shared.Next()).ToList();
        var assembler = new BlobAssembler(BlobHash.Of(data), data.Length);

        var novel = shuffled.Count(assembler.Accept);

        Assert.Equal(chunks.Count, novel);
        Assert.True(assembler.IsComplete);
        Assert.Equal(data, assembler.Complete());
    }

    [Fact]
    public void Overlapping_chunks_of_other_sizes_fill_the_gaps()
    {
        var data = Data(100_000);
        var hash = BlobHash.Of(data);
        var assembler = new BlobAssembler(hash, data.Length);

        Assert.True(assembler.Accept(new BlobChunk(hash, 30_000, data[30_000..60_000], data.Length)));
        Assert.True(assembler.Accept(new BlobChunk(hash, 0, data[0..32_768], data.Length)));       // overlaps the first
        Assert.False(assembler.Accept(new BlobChunk(hash, 31_000, data[31_000..59_000], data.Length))); // nothing new
        Assert.Equal([new BlobChunkRequest(hash, 60_000, 32_768), new BlobChunkRequest(hash, 92_768, 7_232)], assembler.MissingRequests());
        Assert.True(assembler.Accept(new BlobChunk(hash, 59_000, data[59_000..91_768], data.Length)));
        Assert.True(assembler.Accept(new BlobChunk(hash, 91_000, data[91_000..100_000], data.Length)));

        Assert.Equal(data, assembler.Complete());
        Assert.Empty(assembler.MissingRequests());
    }

    [Fact]
    public void A_pull_loop_driven_by_missing_requests_fetches_the_blob()
    {
        var data = Data(3 * WireLimits.MaxChunkBytes + 17);
        var hash = BlobHash.Of(data);
        var assembler = new BlobAssembler(hash, data.Length);
        var requests = 0;

        while (assembler.MissingRequests().FirstOrDefault() is { } request)
        {
            requests++;
            assembler.Accept(BlobChunker.Serve(request, data));
        }

        Assert.Equal(4, requests);
        Assert.Equal(data, assembler.Complete());
    }

    [Fact]
    public void Serve_caps_a_chunk_at_32_KiB_and_ends_with_an_empty_chunk()
    {
        var data = Data(100_000);
        var hash = BlobHash.Of(data);

        var greedy = BlobChunker.Serve(new BlobChunkRequest(hash, 10, int.MaxValue), data);
        var end = BlobChunker.Serve(new BlobChunkRequest(hash, data.Length, 100), data);

        Assert.Equal(WireLimits.MaxChunkBytes, greedy.Bytes.Length);
        Assert.Equal(data.AsSpan(10, WireLimits.MaxChunkBytes).ToArray(), greedy.Bytes);
        Assert.Equal(100_000, greedy.TotalLength);
        Assert.Empty(end.Bytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => BlobChunker.Serve(new BlobChunkRequest(hash, data.Length + 1, 100), data));
        Assert.Throws<ArgumentOutOfRangeException>(() => BlobChunker.Serve(new BlobChunkRequest(hash, -1, 100), data));
        Assert.Throws<ArgumentOutOfRangeException>(() => BlobChunker.Serve(new BlobChunkRequest(hash, 0, 0), data));
    }

    [Fact]
    public void An_empty_blob_is_one_empty_chunk_and_complete_at_once()
    {
        var chunks = BlobChunker.Split([]).ToList();

        var chunk = Assert.Single(chunks);
        Assert.Equal(0, chunk.TotalLength);
        Assert.True(new BlobAssembler(chunk.Hash, 0).IsComplete);
        Assert.Empty(BlobChunker.Assemble(chunk.Hash, 0, chunks));
    }

    [Fact]
    public void Bytes_that_do_not_hash_to_the_address_are_refused()
    {
        var data = Data(50_000);
        var chunks = BlobChunker.Split(data).ToList();
        var tampered = chunks[1] with { Bytes = (byte[])chunks[1].Bytes.Clone() };
        tampered.Bytes[7] ^= 0x40;

        var error = Assert.Throws<BlobIntegrityException>(() =>
            BlobChunker.Assemble(chunks[0].Hash, data.Length, [chunks[0], tampered]));
        Assert.Contains("hash to", error.Message);
    }

    [Fact]
    public void Chunks_that_do_not_fit_the_blob_are_refused()
    {
        var data = Data(40_000);
        var hash = BlobHash.Of(data);
        var assembler = new BlobAssembler(hash, data.Length);
        assembler.Accept(new BlobChunk(hash, 0, data[..1000], data.Length));

        Assert.Throws<BlobIntegrityException>(() => assembler.Accept(new BlobChunk(BlobHash.Of([1]), 0, data[..10], data.Length)));
        Assert.Throws<BlobIntegrityException>(() => assembler.Accept(new BlobChunk(hash, 0, data[..10], data.Length + 1)));
        Assert.Throws<BlobIntegrityException>(() => assembler.Accept(new BlobChunk(hash, 39_990, data[..20], data.Length)));
        Assert.Throws<BlobIntegrityException>(() => assembler.Accept(new BlobChunk(hash, -1, data[..20], data.Length)));
        Assert.Throws<BlobIntegrityException>(() => assembler.Accept(new BlobChunk(hash, 0, data[..(WireLimits.MaxChunkBytes + 1)], data.Length)));
        var conflicting = data[500..1500];
        conflicting[0] ^= 1;
        Assert.Throws<BlobIntegrityException>(() => assembler.Accept(new BlobChunk(hash, 500, conflicting, data.Length)));
        Assert.Equal(1000, assembler.ReceivedBytes);
        Assert.Throws<InvalidOperationException>(() => assembler.Complete());
    }

    [Fact]
    public void A_blob_too_large_or_a_bad_address_is_refused_up_front()
    {
        Assert.Throws<BlobIntegrityException>(() => new BlobAssembler(BlobHash.Of([1]), BlobAssembler.DefaultMaxLength + 1));
        Assert.Throws<BlobIntegrityException>(() => new BlobAssembler(BlobHash.Of([1]), 100, maxLength: 99));
        Assert.Throws<BlobIntegrityException>(() => new BlobAssembler(BlobHash.Of([1]), -1));
        Assert.Throws<BlobIntegrityException>(() => new BlobAssembler("not-a-hash", 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => BlobChunker.Split([1, 2, 3], WireLimits.MaxChunkBytes + 1).ToList());
    }
}

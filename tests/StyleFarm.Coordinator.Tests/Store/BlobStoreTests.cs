using StyleFarm.Coordinator.Store;

namespace StyleFarm.Coordinator.Tests.Store;

public sealed class BlobStoreTests : IDisposable
{
    private readonly DataFolder _data = new();
    private readonly BlobStore _blobs;

    public BlobStoreTests() => _blobs = new BlobStore(_data.Path);

    public void Dispose() => _data.Dispose();

    [Fact]
    public void Put_names_a_blob_by_its_hash_under_a_two_character_folder_and_is_idempotent()
    {
        byte[] bytes = Bytes(1000, seed: 1);
        string expected = Farm.HashBytes(bytes);

        string hash = _blobs.Put(bytes);
        string again = _blobs.Put(bytes);
        string streamed = _blobs.Put(new MemoryStream(bytes));

        Assert.Equal([expected, expected, expected], [hash, again, streamed]);
        Assert.Equal(Path.Combine(_data.Path, "blobs", hash[..2], hash[2..]), _blobs.PathOf(hash));
        Assert.True(_blobs.Exists(hash));
        Assert.Equal(bytes, _blobs.Read(hash));
        using (Stream stream = _blobs.OpenRead(hash)) Assert.Equal(1000, stream.Length);
        Assert.Equal(1000, _blobs.Length(hash));
        Assert.Single(Directory.GetFiles(Path.Combine(_data.Path, "blobs"), "*", SearchOption.AllDirectories));
        Assert.False(_blobs.Exists(Farm.Hash("never stored")));
    }

    [Fact]
    public void A_stream_of_unknown_length_is_hashed_on_the_way_in()
    {
        byte[] bytes = Bytes(3 << 20, seed: 2);

        string hash = _blobs.Put(new NonSeekableStream(bytes));

        Assert.Equal(Farm.HashBytes(bytes), hash);
        Assert.Equal(bytes, _blobs.Read(hash));
        Assert.Empty(Directory.GetFiles(Path.Combine(_data.Path, "blobs", "tmp")));
    }

    [Fact]
    public void Ranges_read_back_in_chunks_rebuild_the_blob()
    {
        byte[] bytes = Bytes(100_000, seed: 3);
        string hash = _blobs.Put(bytes);

        var rebuilt = new List<byte>();
        for (long offset = 0; offset < bytes.Length; offset += 32 * 1024) rebuilt.AddRange(_blobs.ReadRange(hash, offset, 32 * 1024));

        Assert.Equal(bytes, rebuilt.ToArray());
        Assert.Empty(_blobs.ReadRange(hash, bytes.Length, 10));
        Assert.Equal(bytes[^5..], _blobs.ReadRange(hash, bytes.Length - 5, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => _blobs.ReadRange(hash, bytes.Length + 1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => _blobs.ReadRange(hash, -1, 10));
    }

    [Fact]
    public void A_chunked_upload_in_random_order_with_repeats_is_verified_and_published()
    {
        byte[] bytes = Bytes(200_000, seed: 4);
        string hash = Farm.HashBytes(bytes);
        const int chunk = 16 * 1024;
        var offsets = Enumerable.Range(0, (bytes.Length + chunk - 1) / chunk).Select(i => i * chunk).ToList();
        offsets.AddRange(offsets.Take(3));
        var random = new Random(7);
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(offsets));

        using BlobUpload upload = _blobs.BeginUpload(hash, bytes.Length);
        foreach (int offset in offsets) upload.WriteChunk(offset, bytes.AsSpan(offset, Math.Min(chunk, bytes.Length - offset)));

        Assert.Equal(bytes.Length, upload.ReceivedBytes);
        Assert.False(_blobs.Exists(hash));
        Assert.Equal(hash, upload.Complete());
        Assert.Equal(bytes, _blobs.Read(hash));
        Assert.Empty(Directory.GetFiles(Path.Combine(_data.Path, "blobs", "tmp")));
    }

    [Fact]
    public void A_corrupted_upload_is_refused_and_leaves_no_file()
    {
        byte[] bytes = Bytes(50_000, seed: 5);
        string hash = Farm.HashBytes(bytes);
        byte[] corrupted = (byte[])bytes.Clone();
        corrupted[12_345] ^= 0x40;

        using BlobUpload upload = _blobs.BeginUpload(hash, bytes.Length);
        upload.WriteChunk(0, corrupted.AsSpan(0, 25_000));
        upload.WriteChunk(25_000, corrupted.AsSpan(25_000));

        var error = Assert.Throws<BlobHashMismatchException>(() => upload.Complete());
        Assert.Equal((hash, Farm.HashBytes(corrupted)), (error.Expected, error.Actual));
        Assert.False(_blobs.Exists(hash));
        Assert.False(_blobs.Exists(error.Actual));
        Assert.Empty(Directory.GetFiles(Path.Combine(_data.Path, "blobs"), "*", SearchOption.AllDirectories));
        Assert.Throws<ObjectDisposedException>(() => upload.WriteChunk(0, bytes.AsSpan(0, 10)));
    }

    [Fact]
    public void An_incomplete_or_abandoned_upload_leaves_no_file()
    {
        byte[] bytes = Bytes(10_000, seed: 6);
        string hash = Farm.HashBytes(bytes);

        using (BlobUpload upload = _blobs.BeginUpload(hash, bytes.Length))
        {
            upload.WriteChunk(0, bytes.AsSpan(0, 4000));
            upload.WriteChunk(6000, bytes.AsSpan(6000));
            var error = Assert.Throws<BlobUploadException>(() => upload.Complete());
            Assert.Contains("missing bytes 4000–5999", error.Message);
        }
        using (BlobUpload abandoned = _blobs.BeginUpload(hash, bytes.Length)) abandoned.WriteChunk(0, bytes.AsSpan(0, 4000));

        Assert.False(_blobs.Exists(hash));
        Assert.Empty(Directory.GetFiles(Path.Combine(_data.Path, "blobs"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Chunks_outside_the_announced_length_and_absurd_lengths_are_refused()
    {
        byte[] bytes = Bytes(1000, seed: 8);
        using BlobUpload upload = _blobs.BeginUpload(Farm.HashBytes(bytes), bytes.Length);

        Assert.Throws<ArgumentOutOfRangeException>(() => upload.WriteChunk(-1, bytes.AsSpan(0, 10)));
        Assert.Throws<ArgumentOutOfRangeException>(() => upload.WriteChunk(995, bytes.AsSpan(0, 10)));
        Assert.Throws<ArgumentOutOfRangeException>(() => upload.WriteChunk(long.MaxValue, bytes.AsSpan(0, 10)));
        upload.WriteChunk(0, bytes);
        Assert.Equal(Farm.HashBytes(bytes), upload.Complete());
        var small = new BlobStore(_data.Path, maxUploadBytes: 999);
        Assert.Throws<ArgumentOutOfRangeException>(() => small.BeginUpload(Farm.HashBytes(bytes), bytes.Length + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => small.BeginUpload(Farm.HashBytes(bytes), -1));
    }

    [Fact]
    public void An_upload_of_a_blob_already_stored_is_complete_at_once_and_the_empty_blob_works()
    {
        byte[] bytes = Bytes(5000, seed: 9);
        string hash = _blobs.Put(bytes);

        using (BlobUpload upload = _blobs.BeginUpload(hash, bytes.Length))
        {
            Assert.True(upload.AlreadyStored);
            Assert.Equal(hash, upload.Complete());
        }
        using (BlobUpload empty = _blobs.BeginUpload(Farm.HashBytes([]), 0))
            Assert.Equal(Farm.HashBytes([]), empty.Complete());

        Assert.Empty(_blobs.Read(Farm.HashBytes([])));
        Assert.Equal(bytes, _blobs.Read(hash));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("../../../../../../../../../../../../../../../../../../../../etc/passwd")]
    [InlineData("ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    [InlineData("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789")]
    [InlineData("g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")]
    public void Names_that_are_not_64_lower_case_hex_characters_are_refused(string hash)
    {
        Assert.Throws<ArgumentException>(() => _blobs.Exists(hash));
        Assert.Throws<ArgumentException>(() => _blobs.Read(hash));
        Assert.Throws<ArgumentException>(() => _blobs.OpenRead(hash));
        Assert.Throws<ArgumentException>(() => _blobs.ReadRange(hash, 0, 1));
        Assert.Throws<ArgumentException>(() => _blobs.BeginUpload(hash, 1));
        Assert.Throws<ArgumentException>(() => _blobs.PathOf(hash));
    }

    [Fact]
    public void Temp_files_a_killed_upload_left_behind_are_swept_on_start()
    {
        string stale = Path.Combine(_data.Path, "blobs", "tmp", "old.part");
        string fresh = Path.Combine(_data.Path, "blobs", "tmp", "new.part");
        File.WriteAllText(stale, "half");
        File.WriteAllText(fresh, "half");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddDays(-1));

        _ = new BlobStore(_data.Path);

        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
    }

    private static byte[] Bytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A stream that cannot tell its length, like a network body.</summary>
    private sealed class NonSeekableStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 7000));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

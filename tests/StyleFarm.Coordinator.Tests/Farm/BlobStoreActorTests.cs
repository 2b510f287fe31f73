using Akka.Actor;
using Akka.TestKit;
using StyleFarm.Coordinator.Farm.Blobs;
using StyleFarm.Coordinator.Farm.SweepManager;
using StyleFarm.Messages;
using StyleFarm.Messages.Blobs;
using Xunit.Abstractions;

namespace StyleFarm.Coordinator.Tests.Farm;

public sealed class BlobStoreActorTests(ITestOutputHelper output) : FarmTestKit(output)
{
    protected override SweepManagerSettings Settings => base.Settings with { UploadStallTimeout = TimeSpan.FromSeconds(2) };

    private IActorRef BlobActor() => Sys.ActorOf(BlobStoreActor.Props(Blobs, Settings));

    [Fact]
    public void An_upload_is_pulled_in_chunks_a_few_at_a_time_and_stored_once_its_hash_checks()
    {
        IActorRef blobs = BlobActor();
        byte[] data = RandomBytes(5 * WireLimits.MaxChunkBytes + 123);
        string hash = BlobHash.Of(data);
        TestProbe holder = CreateTestProbe();

        holder.Send(blobs, new BlobOffer(hash, data.Length));

        // The window: four requests before any chunk is served.
        var first = Enumerable.Range(0, 4).Select(_ => holder.ExpectMsg<BlobChunkRequest>()).ToList();
        holder.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal([0L, 32768, 65536, 98304], first.Select(r => r.Offset));
        var pending = new Queue<BlobChunkRequest>(first);
        BlobComplete? complete = null;
        while (complete is null)
        {
            while (pending.TryDequeue(out BlobChunkRequest? request))
                holder.Send(blobs, BlobChunker.Serve(request, data));
            object message = holder.ReceiveOne(TimeSpan.FromSeconds(5))!;
            if (message is BlobChunkRequest more) pending.Enqueue(more);
            else complete = Assert.IsType<BlobComplete>(message);
        }

        Assert.True(complete.Stored, complete.Error);
        Assert.Equal(data, Blobs.Read(hash));

        // Offered again: already stored, no chunk needed.
        holder.Send(blobs, new BlobOffer(hash, data.Length));
        holder.ExpectMsg<BlobComplete>(c => Assert.True(c.Stored));
    }

    [Fact]
    public void A_holder_that_sends_short_chunks_is_asked_for_the_rest()
    {
        IActorRef blobs = BlobActor();
        byte[] data = RandomBytes(1000);
        string hash = BlobHash.Of(data);
        TestProbe holder = CreateTestProbe();

        holder.Send(blobs, new BlobOffer(hash, data.Length));
        BlobChunkRequest request = holder.ExpectMsg<BlobChunkRequest>();
        holder.Reply(new BlobChunk(hash, 0, data[..400], data.Length));
        BlobChunkRequest rest = holder.ExpectMsg<BlobChunkRequest>();
        Assert.Equal((400L, 600), (rest.Offset, rest.MaxBytes));
        holder.Reply(BlobChunker.Serve(rest, data));

        holder.ExpectMsg<BlobComplete>(c => Assert.True(c.Stored, c.Error));
        Assert.Equal(data, Blobs.Read(hash));
        Assert.Equal(1000, request.MaxBytes);
    }

    [Fact]
    public void Bytes_that_do_not_hash_to_the_offered_hash_are_refused_and_not_stored()
    {
        IActorRef blobs = BlobActor();
        byte[] data = RandomBytes(40_000);
        byte[] forged = (byte[])data.Clone();
        forged[39_999] ^= 0xff;
        string hash = BlobHash.Of(data);
        TestProbe holder = CreateTestProbe();

        holder.Send(blobs, new BlobOffer(hash, data.Length));
        var requests = new[] { holder.ExpectMsg<BlobChunkRequest>(), holder.ExpectMsg<BlobChunkRequest>() };
        foreach (BlobChunkRequest request in requests) holder.Send(blobs, BlobChunker.Serve(request, forged) with { Hash = hash });

        BlobComplete complete = holder.ExpectMsg<BlobComplete>();
        Assert.False(complete.Stored);
        Assert.Contains("hashes to", complete.Error);
        Assert.False(Blobs.Exists(hash));
    }

    [Fact]
    public void A_stalled_upload_is_abandoned_and_the_holder_told()
    {
        IActorRef blobs = BlobActor();
        byte[] data = RandomBytes(100);
        TestProbe holder = CreateTestProbe();

        holder.Send(blobs, new BlobOffer(BlobHash.Of(data), data.Length));
        holder.ExpectMsg<BlobChunkRequest>();

        BlobComplete complete = holder.ExpectMsg<BlobComplete>(TimeSpan.FromSeconds(8));
        Assert.False(complete.Stored);
        Assert.Contains("stalled", complete.Error);
    }

    [Fact]
    public void A_download_gets_chunks_of_at_most_the_wire_limit_and_an_unknown_blob_is_unavailable()
    {
        IActorRef blobs = BlobActor();
        byte[] data = RandomBytes(WireLimits.MaxChunkBytes + 10);
        string hash = Blobs.Put(data);
        TestProbe worker = CreateTestProbe();

        worker.Send(blobs, new BlobChunkRequest(hash, 0, 1 << 20));
        BlobChunk first = worker.ExpectMsg<BlobChunk>();
        worker.Send(blobs, new BlobChunkRequest(hash, first.Bytes.Length, 1 << 20));
        BlobChunk second = worker.ExpectMsg<BlobChunk>();

        Assert.Equal(WireLimits.MaxChunkBytes, first.Bytes.Length);
        Assert.Equal(data, BlobChunker.Assemble(hash, first.TotalLength, [first, second]));
        worker.Send(blobs, new BlobChunkRequest(BlobHash.Of([1, 2, 3]), 0, 100));
        worker.ExpectMsg<BlobUnavailable>();
        worker.Send(blobs, new BlobChunkRequest(hash, data.Length + 1, 100));
        worker.ExpectMsg<BlobUnavailable>(u => Assert.Contains("past the end", u.Reason));
    }

    [Fact]
    public void The_sweep_manager_forwards_blob_messages_to_its_blob_actor_which_answers_the_worker()
    {
        StartManager();
        byte[] data = RandomBytes(300);
        string hash = Blobs.Put(data);
        TestProbe worker = CreateTestProbe();

        worker.Send(Manager, new BlobChunkRequest(hash, 0, 1000));

        Assert.Equal(data, worker.ExpectMsg<BlobChunk>().Bytes);
        Assert.NotEqual(Manager, worker.LastSender);
        Assert.Equal(Manager.Path, worker.LastSender.Path.Parent);
    }

    private static byte[] RandomBytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }
}

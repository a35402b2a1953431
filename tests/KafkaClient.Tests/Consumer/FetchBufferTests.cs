using Confluent.Kafka;
using KafkaClient.Consumer;

namespace KafkaClient.Tests.Consumer;

/// <summary>The hand-over between the poll thread and the reader: no signal per record, yet nothing lost, nothing stuck.</summary>
public class FetchBufferTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_record_already_there_is_taken_without_waiting()
    {
        using var buffer = new FetchBuffer(4);
        buffer.Add(Record(0), null);

        var take = buffer.TakeAsync(Timeout.InfiniteTimeSpan, async: true, CancellationToken.None);

        Assert.True(take.IsCompletedSuccessfully);
        Assert.Equal(0, (await take)!.Value.Record!.Offset.Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_waiting_reader_is_woken_by_publish(bool async)
    {
        using var buffer = new FetchBuffer(4);
        var reader = Task.Run(async () => await buffer.TakeAsync(Patience, async, CancellationToken.None));
        await WaitUntilWaitingAsync(reader);

        buffer.Add(Record(7), null);
        buffer.Publish();

        var taken = await reader.WaitAsync(Patience);
        Assert.Equal(7, taken!.Value.Record!.Offset.Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_reader_that_waits_its_whole_timeout_gets_null(bool async)
    {
        using var buffer = new FetchBuffer(4);

        var taken = await buffer.TakeAsync(TimeSpan.FromMilliseconds(50), async, CancellationToken.None);

        Assert.Null(taken);
    }

    [Fact]
    public async Task A_cancelled_wait_throws()
    {
        using var buffer = new FetchBuffer(4);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await buffer.TakeAsync(Timeout.InfiniteTimeSpan, async: true, cancel.Token));
    }

    [Fact]
    public async Task An_unreserved_item_wakes_the_reader_at_once_and_takes_no_room()
    {
        using var buffer = new FetchBuffer(1);
        buffer.Add(Record(0), null);
        Assert.False(buffer.HasRoom());
        Assert.Equal(0, (await buffer.TakeAsync(Patience, async: true, CancellationToken.None))!.Value.Record!.Offset.Value);

        var reader = Task.Run(async () => await buffer.TakeAsync(Patience, async: true, CancellationToken.None));
        await WaitUntilWaitingAsync(reader);
        buffer.AddUnreserved(new InvalidOperationException("handler failed"));

        var taken = await reader.WaitAsync(Patience);
        Assert.IsType<InvalidOperationException>(taken!.Value.Error);
        Assert.True(buffer.HasRoom());
    }

    [Fact]
    public async Task A_full_buffer_signals_room_once_the_reader_has_drained_half()
    {
        using var buffer = new FetchBuffer(4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(buffer.HasRoom());
            buffer.Add(Record(i), null);
        }

        Assert.False(buffer.HasRoom()); // raises the flag the reader answers
        Assert.False(buffer.Room.WaitOne(0));

        await buffer.TakeAsync(Patience, async: true, CancellationToken.None);
        Assert.False(buffer.Room.WaitOne(0)); // 3 left: above half

        await buffer.TakeAsync(Patience, async: true, CancellationToken.None);
        Assert.True(buffer.Room.WaitOne(0)); // 2 left: half
        Assert.True(buffer.HasRoom());
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 16)]
    [InlineData(false, 16)]
    public async Task Every_record_arrives_once_and_in_order_across_threads(bool async, int capacity)
    {
        const int records = 50_000;
        using var buffer = new FetchBuffer(capacity);
        var writer = new Thread(() =>
        {
            var next = 0;
            var random = new Random(42);
            while (next < records)
            {
                if (!buffer.HasRoom())
                {
                    buffer.Room.WaitOne(TimeSpan.FromMilliseconds(25));
                    continue;
                }

                // Batches of random size, published once each, as the poll thread does.
                var batch = random.Next(1, 70);
                for (var i = 0; i < batch && next < records && buffer.HasRoom(); i++)
                {
                    buffer.Add(Record(next++), null);
                }

                buffer.Publish();
            }
        });
        writer.Start();

        for (var expected = 0; expected < records; expected++)
        {
            var taken = await buffer.TakeAsync(Patience, async, CancellationToken.None);
            Assert.NotNull(taken);
            Assert.Equal(expected, taken.Value.Record!.Offset.Value);
        }

        Assert.True(writer.Join(Patience));
        Assert.Null(await buffer.TakeAsync(TimeSpan.Zero, async, CancellationToken.None));
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    public async Task Neither_side_is_left_waiting_when_both_wait_without_a_timeout(bool async, int capacity)
    {
        // Each record is published alone and both sides wait with no timeout to fall back on, so a wake-up lost
        // between "look" and "wait" (reader: Publish; writer: the room signal) leaves a side waiting until the guard.
        const int records = 10_000;
        var guard = TimeSpan.FromSeconds(120);
        using var buffer = new FetchBuffer(capacity);
        using var cancel = new CancellationTokenSource(guard);
        var writerFailure = (string?)null;
        var writer = new Thread(() =>
        {
            var random = new Random(7);
            for (var next = 0; next < records; next++)
            {
                while (!buffer.HasRoom())
                {
                    if (!buffer.Room.WaitOne(guard))
                    {
                        writerFailure = $"The writer waited for room in vain before record {next}.";
                        return;
                    }
                }

                buffer.Add(Record(next), null);
                if (random.Next(3) == 0)
                {
                    Thread.SpinWait(random.Next(200)); // vary where in the reader's look-then-wait the publish lands
                }

                buffer.Publish();
            }
        })
        { IsBackground = true };
        writer.Start();

        for (var expected = 0; expected < records; expected++)
        {
            Fetched? taken;
            try
            {
                taken = await buffer.TakeAsync(Timeout.InfiniteTimeSpan, async, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"The reader waited in vain for record {expected} ({writerFailure ?? "the writer did not fail"}).");
                throw;
            }

            Assert.Equal(expected, taken!.Value.Record!.Offset.Value);
        }

        Assert.True(writer.Join(guard));
        Assert.Null(writerFailure);
    }

    private static ConsumeResult<byte[], byte[]> Record(long offset) => new()
    {
        Topic = "t",
        Partition = 0,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Value = [] },
    };

    private static async Task WaitUntilWaitingAsync(Task reader)
    {
        // The reader either is waiting already or will find the record when it looks: both are correct; this only
        // makes the waiting case the likely one.
        await Task.Delay(100);
        Assert.False(reader.IsCompleted);
    }
}

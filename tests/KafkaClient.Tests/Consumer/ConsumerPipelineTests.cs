using Confluent.Kafka;
using KafkaClient.Consumer;
using KafkaClient.Diagnostics;
using KafkaClient.Serialization;

namespace KafkaClient.Tests.Consumer;

/// <summary>
/// The consumer pipeline on a fake librdkafka consumer, where the owner thread does only what a test asks: a commit
/// covers every record returned before it was asked for, however it reaches the owner thread.
/// </summary>
public class ConsumerPipelineTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TopicPartition Partition = new("t", 0);

    [Fact]
    public async Task A_commit_queued_behind_another_command_covers_records_returned_while_that_command_ran()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var blocking = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        try
        {
            fake.Add(FakeConsumer.Record("t", 0, 0));
            fake.Add(FakeConsumer.Record("t", 0, 1));
            Assert.Equal(0, (await pipeline.PollAsync(Patience, async: false, CancellationToken.None))!.Offset.Value);
            await UntilAsync(() => fake.Pending == 0); // both fetched: published before the owner runs its next command

            // Another thread's command occupies the owner thread (an explicit commit waiting for the broker, say).
            fake.OnCommitOffsets = () =>
            {
                entered.Set();
                blocking.Wait(Patience);
            };
            var other = Task.Run(() => pipeline.CommitAsync([new TopicPartitionOffset(Partition, 1)], async: false, CancellationToken.None).AsTask());
            Assert.True(entered.Wait(Patience));

            // Meanwhile the reader takes the next record and commits: its commit waits behind the other command.
            Assert.Equal(1, (await pipeline.PollAsync(Patience, async: false, CancellationToken.None))!.Offset.Value);
            var commit = pipeline.CommitAsync(async: true, CancellationToken.None).AsTask();
            blocking.Set();
            await other.WaitAsync(Patience);
            var committed = await commit.WaitAsync(Patience);

            Assert.Equal(new TopicPartitionOffset(Partition, 2), Assert.Single(committed));
        }
        finally
        {
            blocking.Set();
            await CloseAsync(pipeline, fake);
        }
    }

    [Fact]
    public async Task A_commit_from_a_handler_on_the_poll_thread_covers_records_returned_before_it()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        try
        {
            fake.HoldPolls = true;
            Assert.True(await fake.Idle.WaitAsync(Patience)); // the owner waits in a poll, and nothing else happens there
            fake.Add(FakeConsumer.Record("t", 0, 0));
            Assert.True(await fake.Idle.WaitAsync(Patience)); // fetched, published, idle flush done: waiting again

            Assert.Equal(0, (await pipeline.PollAsync(Patience, async: false, CancellationToken.None))!.Offset.Value);

            // A partition assigned later (cooperative rebalancing): the application's handler commits what it has read.
            IReadOnlyList<TopicPartitionOffset>? committed = null;
            using var handled = new ManualResetEventSlim();
            fake.RunOnPoll(() => pipeline.OnAssigned([new TopicPartition("u", 0)], _ =>
            {
                committed = pipeline.CommitAsync(async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                handled.Set();
            }));
            Assert.True(handled.Wait(Patience));

            Assert.Equal(new TopicPartitionOffset(Partition, 1), Assert.Single(committed!));
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    [Fact]
    public async Task A_second_close_waits_for_a_close_in_progress_on_another_thread()
    {
        // Disposing releases librdkafka's consumer: under a close still running it would end the process.
        var (consumer, fake) = FakeConsumer.Create();
        using var blocking = new ManualResetEventSlim();
        using var entered = new ManualResetEventSlim();
        fake.OnClose = () =>
        {
            entered.Set();
            blocking.Wait(Patience);
        };
        using var pipeline = Pipeline(consumer);
        fake.Stop();
        var first = Task.Run(() => pipeline.CloseAsync(async: false).AsTask());
        Assert.True(entered.Wait(Patience));

        var second = pipeline.CloseAsync(async: true).AsTask();
        var third = Task.Run(() => pipeline.CloseAsync(async: false).AsTask());
        await Task.Delay(100);
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);

        blocking.Set();
        await Task.WhenAll(first, second, third).WaitAsync(Patience);
    }

    [Fact]
    public async Task Acknowledging_a_returned_record_stores_its_offset_and_a_seek_back_releases_the_record_read_again()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer, acknowledged: true);
        pipeline.Subscribe(["t"]);
        try
        {
            fake.Add(FakeConsumer.Record("t", 0, 0));
            fake.Add(FakeConsumer.Record("t", 0, 1));
            Assert.NotNull(await pipeline.PollAsync(Patience, async: false, CancellationToken.None));
            var first = pipeline.TakeDelivered()!;
            Assert.NotNull(await pipeline.PollAsync(Patience, async: false, CancellationToken.None));
            var second = pipeline.TakeDelivered()!;
            Assert.Null(pipeline.TakeDelivered());

            Assert.Empty(await pipeline.CommitAsync(async: true, CancellationToken.None)); // returned is not handled
            pipeline.Acknowledge(second);
            Assert.Empty(await pipeline.CommitAsync(async: true, CancellationToken.None)); // not past the first, still running

            pipeline.Seek(new TopicPartitionOffset(Partition, 1)); // the second is sent back, to be read again
            pipeline.Acknowledge(first);
            Assert.Equal(new TopicPartitionOffset(Partition, 1), Assert.Single(await pipeline.CommitAsync(async: true, CancellationToken.None)));
            Assert.Equal(1, second.Raw.Offset.Value);
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    private static ConsumerPipeline<byte[], byte[]> Pipeline(IConsumer<byte[], byte[]> consumer, bool acknowledged = false) => new(
        consumer,
        DeserializerSlot<byte[]>.From(Deserializers.ByteArray),
        DeserializerSlot<byte[]>.From(Deserializers.ByteArray),
        new OffsetStore(consumer, enabled: true),
        deadLetters: null,
        new ConsumerSettings(PoisonRecordPolicy.Raise, null, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 16) { Acknowledged = acknowledged },
        new ErrorReporter(null),
        new ClientTelemetry("test", group: null),
        TimeProvider.System);

    private static async Task CloseAsync(ConsumerPipeline<byte[], byte[]> pipeline, FakeConsumer fake)
    {
        fake.Stop();
        await pipeline.CloseAsync(async: true).AsTask().WaitAsync(Patience);
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        for (var waited = TimeSpan.Zero; !condition(); waited += TimeSpan.FromMilliseconds(10))
        {
            Assert.True(waited < Patience, "The condition did not come true.");
            await Task.Delay(10);
        }
    }
}

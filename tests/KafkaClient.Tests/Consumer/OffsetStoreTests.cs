using Confluent.Kafka;
using KafkaClient.Consumer;

namespace KafkaClient.Tests.Consumer;

/// <summary>Offsets noted by the reader and handed to librdkafka in batches by the owner thread.</summary>
public class OffsetStoreTests
{
    [Theory]
    [InlineData(ErrorCode.Local_State)]
    [InlineData(ErrorCode.Local_UnknownPartition)]
    [InlineData(ErrorCode.Local_InvalidArg)]
    public void A_flush_that_librdkafka_refuses_throws_nothing_and_goes_on_with_the_other_partitions(ErrorCode code)
    {
        // The owner thread flushes: an exception there would end the process. Not storing only means reading again.
        var (consumer, fake) = FakeConsumer.Create();
        fake.StoreFailure = offset => offset.Partition == 0 ? new KafkaException(code) : null;
        var offsets = new OffsetStore(consumer, enabled: true);
        offsets.Done(FakeConsumer.Record("t", 0, 5));
        offsets.Done(FakeConsumer.Record("t", 1, 7));

        offsets.Flush();

        Assert.Null(fake.StoredFor(new TopicPartition("t", 0)));
        Assert.Equal(new TopicPartitionOffset("t", 1, 8), fake.StoredFor(new TopicPartition("t", 1)));
    }

    [Fact]
    public void Forgotten_partitions_are_not_stored_and_later_records_are()
    {
        var (consumer, fake) = FakeConsumer.Create();
        var offsets = new OffsetStore(consumer, enabled: true);
        offsets.Done(FakeConsumer.Record("t", 0, 5));
        offsets.Done(FakeConsumer.Record("t", 1, 7));

        offsets.Forget([new TopicPartition("t", 0)]);
        offsets.Flush();
        Assert.Null(fake.StoredFor(new TopicPartition("t", 0)));
        Assert.Equal(new TopicPartitionOffset("t", 1, 8), fake.StoredFor(new TopicPartition("t", 1)));

        offsets.Done(FakeConsumer.Record("t", 0, 9)); // assigned again, read again
        offsets.Flush();
        Assert.Equal(new TopicPartitionOffset("t", 0, 10), fake.StoredFor(new TopicPartition("t", 0)));
    }

    [Fact]
    public void Acknowledged_out_of_order_the_stored_offset_is_the_lowest_not_yet_finished()
    {
        var (consumer, fake) = FakeConsumer.Create();
        var offsets = new OffsetStore(consumer, enabled: true);
        var partition = new TopicPartition("t", 0);
        var first = offsets.Hold(FakeConsumer.Record("t", 0, 5));
        var second = offsets.Hold(FakeConsumer.Record("t", 0, 6));
        offsets.Done(FakeConsumer.Record("t", 0, 7)); // a poison record skipped behind them
        var fourth = offsets.Hold(FakeConsumer.Record("t", 0, 8));

        offsets.Finish(partition, second);
        offsets.Finish(partition, fourth);
        offsets.Flush();
        Assert.Null(fake.StoredFor(partition));

        offsets.Finish(partition, first);
        offsets.Flush();
        Assert.Equal(new TopicPartitionOffset("t", 0, 9), fake.StoredFor(partition));
    }

    [Fact]
    public void A_rewind_drops_the_entries_read_again_so_they_do_not_hold_the_partition_forever()
    {
        var (consumer, fake) = FakeConsumer.Create();
        var offsets = new OffsetStore(consumer, enabled: true);
        var partition = new TopicPartition("t", 0);
        var first = offsets.Hold(FakeConsumer.Record("t", 0, 5));
        offsets.Hold(FakeConsumer.Record("t", 0, 6)); // sent back by a seek: read again from offset 6
        offsets.Rewind(partition, 6);

        offsets.Finish(partition, first);
        var again = offsets.Hold(FakeConsumer.Record("t", 0, 6));
        offsets.Finish(partition, again);
        offsets.Flush();

        Assert.Equal(new TopicPartitionOffset("t", 0, 7), fake.StoredFor(partition));
    }
}

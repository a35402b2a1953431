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
}

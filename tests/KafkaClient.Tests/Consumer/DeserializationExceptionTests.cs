using Confluent.Kafka;

namespace KafkaClient.Tests.Consumer;

public class DeserializationExceptionTests
{
    [Fact]
    public void Carries_the_whole_record_and_its_position()
    {
        var headers = new Headers { { "trace", [1, 2] } };
        var record = new ConsumeResult<byte[]?, byte[]?>
        {
            Topic = "payments",
            Partition = 4,
            Offset = 1234,
            LeaderEpoch = 7,
            Message = new Message<byte[]?, byte[]?> { Key = [9], Value = [0xDE, 0xAD], Headers = headers, Timestamp = new Timestamp(1_700_000_000_000, TimestampType.CreateTime) },
        };

        var ex = new ValueDeserializationException(record, new FormatException("bad magic byte"));

        Assert.Equal("payments", ex.Topic);
        Assert.Equal(new Partition(4), ex.Partition);
        Assert.Equal(new Offset(1234), ex.Offset);
        Assert.Equal(new TopicPartitionOffset("payments", 4, 1234), ex.TopicPartitionOffset);
        Assert.Equal(new byte[] { 9 }, ex.RawKey);
        Assert.Equal(new byte[] { 0xDE, 0xAD }, ex.RawValue);
        Assert.Same(headers, ex.Headers);
        Assert.Equal(7, ex.LeaderEpoch);
        Assert.Equal(MessageComponentType.Value, ex.Component);
        Assert.False(ex.IsRetriable);
        Assert.Contains("payments [4] @1234", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bad magic byte", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_registry_outage_is_retriable()
    {
        var record = new ConsumeResult<byte[]?, byte[]?> { Topic = "t", Partition = 0, Offset = 0, Message = new Message<byte[]?, byte[]?>() };
        Assert.True(new KeyDeserializationException(record, new HttpRequestException("connection refused")).IsRetriable);
    }
}

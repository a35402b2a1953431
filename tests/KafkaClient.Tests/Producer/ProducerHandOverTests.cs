using System.Text;
using Confluent.Kafka;

namespace KafkaClient.Tests.Producer;

/// <summary>A timestamp librdkafka would refuse at hand-over is refused by the call itself, like a missing topic: nothing stays in flight, and the messages behind it still go.</summary>
public class ProducerHandOverTests
{
    // Confluent.Kafka refuses any timestamp other than Timestamp.Default or a CreateTime one with ArgumentException.
    private static readonly Timestamp Refused = new(1_700_000_000_000, TimestampType.LogAppendTime);

    private static SerializingProducerBuilder<string, string> Builder() =>
        new(new ProducerConfig { BootstrapServers = ProducerConfigurationTests.Nowhere });

    [Fact]
    public void Produce_with_a_timestamp_librdkafka_refuses_throws_and_leaves_nothing_in_flight()
    {
        using var producer = Builder().SetDisposeTimeout(TimeSpan.Zero).Build();

        Assert.Throws<ArgumentException>(() => producer.Produce("orders", "k", "v", timestamp: Refused));
        Assert.Throws<ArgumentException>(() => producer.Produce("orders", new Message<string, string> { Key = "k", Value = "v", Timestamp = Refused }, _ => { }));
        Assert.Throws<ArgumentException>(() => producer.Produce(new TopicPartition("orders", 0), new Message<string, string> { Key = "k", Value = "v", Timestamp = Refused }));

        Assert.Equal(0, producer.InFlight);
        Assert.Equal(0, producer.Flush(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task ProduceAsync_with_a_timestamp_librdkafka_refuses_throws_and_leaves_nothing_in_flight()
    {
        await using var producer = Builder().SetDisposeTimeout(TimeSpan.Zero).Build();

        Assert.Throws<ArgumentException>(() => { _ = producer.ProduceAsync("orders", new Message<string, string> { Key = "k", Value = "v", Timestamp = Refused }); }); // thrown by the call, like a missing topic

        Assert.Equal(0, producer.InFlight);
        Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task A_refused_timestamp_with_an_async_serializer_fails_alone_and_the_next_message_is_still_sent()
    {
        var producer = Builder().SetValueSerializer(new Slow()).SetDisposeTimeout(TimeSpan.Zero).Build();
        var before = producer.ProduceAsync("orders", "k", "u"); // the serializer defers this one: the refused one would queue behind it
        Assert.Throws<ArgumentException>(() => { _ = producer.ProduceAsync("orders", new Message<string, string> { Key = "k", Value = "v", Timestamp = Refused }); }); // thrown by the call, like a missing topic
        var next = producer.ProduceAsync("orders", "k", "w");

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (producer.InFlight != 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10); // the next message reaches librdkafka (no broker: it stays there)
        }

        Assert.Equal(2, producer.InFlight);
        Assert.False(next.IsCompleted);
        await producer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        foreach (var task in new[] { before, next })
        {
            var purged = await Assert.ThrowsAsync<DeliveryFailedException>(() => task.WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.Equal(ErrorCode.Local_PurgeQueue, purged.Error.Code);
        }
    }

    private sealed class Slow : IAsyncSerializer<string>
    {
        public async Task<byte[]> SerializeAsync(string data, SerializationContext context)
        {
            await Task.Delay(20);
            return Encoding.UTF8.GetBytes(data);
        }
    }
}

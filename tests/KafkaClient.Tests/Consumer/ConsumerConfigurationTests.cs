using Confluent.Kafka;

namespace KafkaClient.Tests.Consumer;

public class ConsumerConfigurationTests
{
    private static ConsumerConfig Config() => new() { BootstrapServers = "127.0.0.1:1", GroupId = "g" };

    [Fact]
    public void Unknown_key_fails_at_build_naming_the_key()
    {
        var config = new Dictionary<string, string>(Config()) { ["group.idd"] = "x" };
        var ex = Assert.Throws<ArgumentException>(() => new DeserializingConsumerBuilder<string, string>(config).Build());
        Assert.Contains("group.idd", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ill_typed_offset_store_setting_names_the_key()
    {
        var config = new Dictionary<string, string>(Config()) { ["enable.auto.offset.store"] = "sometimes" };
        var ex = Assert.Throws<ArgumentException>(() => new DeserializingConsumerBuilder<string, string>(config).Build());
        Assert.Contains("enable.auto.offset.store", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deserializer_of_the_wrong_type_fails_naming_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new DeserializingConsumerBuilder<string, int>(new Dictionary<string, object?>
        {
            ["bootstrap.servers"] = "127.0.0.1:1",
            ["value.deserializer"] = Serdes.Utf8,
        }));
        Assert.Contains("value.deserializer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sync_poll_refuses_an_async_deserializer_before_reading_anything()
    {
        using var consumer = new DeserializingConsumerBuilder<string, string>(Config())
            .SetValueDeserializer(new AsyncUtf8())
            .Build();

        var ex = Assert.Throws<InvalidOperationException>(() => consumer.Poll(TimeSpan.Zero));
        Assert.Contains("PollAsync", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dead_letter_policy_needs_a_topic()
    {
        Assert.Throws<ArgumentException>(() => new DeadLetterPolicy(" "));
        Assert.Throws<ArgumentNullException>(() => new DeadLetterPolicy((Func<string, string>)null!));
    }

    [Fact]
    public void Closed_consumer_refuses_to_poll()
    {
        var consumer = new DeserializingConsumerBuilder<string, string>(Config()).Build();
        consumer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => consumer.Poll(TimeSpan.Zero));
    }

    private sealed class AsyncUtf8 : IAsyncDeserializer<string>
    {
        public Task<string> DeserializeAsync(ReadOnlyMemory<byte> data, bool isNull, SerializationContext context) =>
            Task.FromResult(System.Text.Encoding.UTF8.GetString(data.Span));
    }
}

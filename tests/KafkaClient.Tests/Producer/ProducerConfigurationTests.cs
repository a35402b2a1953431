using Confluent.Kafka;

namespace KafkaClient.Tests.Producer;

/// <summary>Configuration is validated once, at Build, and every refusal names the key.</summary>
public class ProducerConfigurationTests
{
    // Nothing listens on port 1: these producers never reach a broker.
    internal const string Nowhere = "127.0.0.1:1";

    [Fact]
    public void Unknown_librdkafka_key_fails_at_build_naming_the_key()
    {
        var builder = new SerializingProducerBuilder<string, string>(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = Nowhere,
            ["no.such.setting"] = "1",
        });
        var ex = Assert.Throws<ArgumentException>(builder.Build);
        Assert.Contains("no.such.setting", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("false")]
    [InlineData("no")]
    public void Turning_delivery_reports_off_fails_at_build_naming_the_key(string value)
    {
        var builder = new SerializingProducerBuilder<string, string>(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = Nowhere,
            ["dotnet.producer.enable.delivery.reports"] = value,
        });
        var ex = Assert.Throws<ArgumentException>(builder.Build);
        Assert.Contains("dotnet.producer.enable.delivery.reports", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Delivery_reports_left_on_explicitly_are_accepted()
    {
        using var producer = new SerializingProducerBuilder<string, string>(new Dictionary<string, string>
        {
            ["bootstrap.servers"] = Nowhere,
            ["dotnet.producer.enable.delivery.reports"] = "true",
        }).Build();
        Assert.Equal(0, producer.InFlight);
    }

    [Fact]
    public void Invalid_value_fails_at_build_naming_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SerializingProducerBuilder<string, string>(
            new ProducerConfig { BootstrapServers = Nowhere, MessageTimeoutMs = -5 }).Build());
        Assert.Contains("message.timeout.ms", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ill_typed_dictionary_entry_fails_naming_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SerializingProducerBuilder<string, string>(new Dictionary<string, object?>
        {
            ["bootstrap.servers"] = Nowhere,
            ["linger.ms"] = new List<int> { 5 },
        }));
        Assert.Contains("linger.ms", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_dictionary_entry_fails_naming_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SerializingProducerBuilder<string, string>(new Dictionary<string, object?>
        {
            ["bootstrap.servers"] = Nowhere,
            ["acks"] = null,
        }));
        Assert.Contains("acks", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serializer_of_the_wrong_type_fails_naming_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SerializingProducerBuilder<string, double>(new Dictionary<string, object?>
        {
            ["bootstrap.servers"] = Nowhere,
            ["value.serializer"] = Serdes.Int32,
        }));
        Assert.Contains("value.serializer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serializers_may_come_from_the_dictionary_as_in_python()
    {
        var used = new CountingSerializer();
        using var producer = new SerializingProducerBuilder<string, string>(new Dictionary<string, object?>
        {
            ["bootstrap.servers"] = Nowhere,
            ["key.serializer"] = Serdes.Utf8,
            ["value.serializer"] = used,
            ["linger.ms"] = 5,
            ["enable.idempotence"] = true,
        }).SetDisposeTimeout(TimeSpan.Zero).Build();

        producer.Produce("t", "k", "v");
        Assert.Equal(1, used.Calls);
    }

    [Fact]
    public void A_type_without_a_builtin_serde_needs_one()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            new SerializingProducerBuilder<string, Guid>(new ProducerConfig { BootstrapServers = Nowhere }).Build());
        Assert.Contains("value.serializer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Guid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_dispose_timeout_is_a_caller_mistake() =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new SerializingProducerBuilder<string, string>(new ProducerConfig()).SetDisposeTimeout(TimeSpan.FromSeconds(-1)));

    private sealed class CountingSerializer : ISerializer<string>
    {
        public int Calls { get; private set; }

        public byte[] Serialize(string data, SerializationContext context)
        {
            Calls++;
            return Serdes.Utf8.Serialize(data, context);
        }
    }
}

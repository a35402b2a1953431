using Confluent.Kafka;

namespace KafkaClient.Tests.Producer;

/// <summary>Configuration mistakes are reported in the user's terms, once, at Build.</summary>
public class ConfigurationFeedbackTests
{
    [Fact]
    public void An_invalid_value_for_an_alias_names_the_key_the_user_wrote()
    {
        var config = new Dictionary<string, string> { ["bootstrap.servers"] = "127.0.0.1:1", ["linger.ms"] = "soon" };
        var ex = Assert.Throws<ArgumentException>(() => new SerializingProducerBuilder<string, string>(config).Build());
        Assert.Contains("'linger.ms'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"linger.ms\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_consumer_setting_in_a_producer_configuration_is_refused_naming_it()
    {
        var config = new ProducerConfig { BootstrapServers = "127.0.0.1:1" };
        config.Set("group.id", "orders");
        var ex = Assert.Throws<ArgumentException>(() => new SerializingProducerBuilder<string, string>(config).Build());
        Assert.Contains("'group.id'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("consumer setting", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_producer_setting_in_a_consumer_configuration_is_refused_naming_it()
    {
        var config = new ConsumerConfig { BootstrapServers = "127.0.0.1:1", GroupId = "g" };
        config.Set("linger.ms", "5");
        var ex = Assert.Throws<ArgumentException>(() => new DeserializingConsumerBuilder<string, string>(config).Build());
        Assert.Contains("producer setting", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_both_clients_share_are_accepted_by_both()
    {
        using var producer = new SerializingProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = "127.0.0.1:1", ClientId = "app", SocketTimeoutMs = 10_000 }).Build();
        using var consumer = new DeserializingConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = "127.0.0.1:1", GroupId = "g", ClientId = "app" }).Build();
        Assert.NotNull(producer.Name);
        Assert.NotNull(consumer.Name);
    }
}

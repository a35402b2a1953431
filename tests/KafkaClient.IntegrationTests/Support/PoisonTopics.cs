using Confluent.Kafka;
using KafkaClient.Testing;

namespace KafkaClient.IntegrationTests;

/// <summary>Writes raw records (good Int32 values and poison bytes) for the consumer failure tests.</summary>
internal static class PoisonTopics
{
    public static readonly byte[] Poison = [0xBA, 0xD0, 0x01]; // 3 bytes: not an Int32

    /// <summary>Writes the given values to partition 0 of a new topic; null stands for a poison record.</summary>
    public static async Task<string> WriteAsync(KafkaFixture kafka, string prefix, IEnumerable<int?> values, EmbeddedKafkaCluster? cluster = null, Action<string>? prepare = null)
    {
        var topic = KafkaFixture.Unique(prefix);
        if (cluster is not null)
        {
            cluster.CreateTopic(topic);
            prepare?.Invoke(topic);
        }
        else
        {
            await kafka.CreateTopicAsync(topic, 1);
        }

        var config = kafka.Producer();
        config.BootstrapServers = cluster?.BootstrapServers ?? kafka.BootstrapServers;
        await using var producer = new SerializingProducerBuilder<string, byte[]>(config).Build();
        foreach (var value in values)
        {
            producer.Produce(topic, value is null ? "poison" : "good", value is { } v ? Serdes.Int32.Serialize(v, default) : Poison);
        }

        Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
        return topic;
    }

    public static ConsumerConfig On(this ConsumerConfig config, EmbeddedKafkaCluster cluster)
    {
        config.BootstrapServers = cluster.BootstrapServers;
        return config;
    }

    public static List<ConsumeResult<string, byte[]>> ReadRaw(KafkaFixture kafka, string topic, int count, EmbeddedKafkaCluster? cluster = null, TimeSpan? limit = null)
    {
        var config = kafka.Consumer(KafkaFixture.Unique("reader"));
        if (cluster is not null)
        {
            config.On(cluster);
        }

        using var reader = new DeserializingConsumerBuilder<string, byte[]>(config).Build();
        reader.Subscribe(topic);
        return Records.PollMany(reader, count, limit);
    }

    public static long Committed(KafkaFixture kafka, string group, string topic, EmbeddedKafkaCluster? cluster = null)
    {
        var config = kafka.Consumer(group);
        if (cluster is not null)
        {
            config.On(cluster);
        }

        using var again = new DeserializingConsumerBuilder<string, int>(config).Build();
        return again.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10))[0].Offset.Value;
    }
}

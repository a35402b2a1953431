using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.IntegrationTests.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Testing;

namespace KafkaClient.IntegrationTests.Consumer;

/// <summary>A transient failure (a registry that cannot be reached) is never poison: the consumer stays on the record, skips nothing and dead-letters nothing.</summary>
[Collection(KafkaCollection.Name)]
public class TransientFailureTests(KafkaFixture kafka)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_a_handler_each_attempt_is_thrown_as_retriable_and_the_consumer_stays_on_the_record(bool async)
    {
        var topic = await PoisonTopics.WriteAsync(kafka, "outage", Enumerable.Range(0, 10).Select(i => (int?)i));
        var group = KafkaFixture.Unique("outage");
        var registry = new FlakyDeserializer { Down = true };
        using (var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group))
            .SetValueDeserializer(registry)
            .SetRetryBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50))
            .Build())
        {
            consumer.Subscribe(topic);
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var ex = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await PollUntilRecordAsync(consumer, async));
                Assert.True(ex.IsRetriable);
                Assert.Equal(0, ex.Offset!.Value.Value);
                Assert.Equal(0, consumer.Position(new TopicPartition(topic, 0)).Value);
            }

            Assert.Empty(consumer.Commit());
            registry.Down = false;
            var values = new List<int>();
            while (values.Count < 10)
            {
                values.Add((await PollUntilRecordAsync(consumer, async)).Message.Value);
            }

            Assert.Equal(Enumerable.Range(0, 10), values);
            consumer.Close();
        }

        Assert.Equal(10, PoisonTopics.Committed(kafka, group, topic));
    }

    [Fact]
    public async Task With_a_handler_and_a_dead_letter_policy_the_consumer_retries_itself_and_dead_letters_nothing()
    {
        var topic = await PoisonTopics.WriteAsync(kafka, "outage-dlq", Enumerable.Range(0, 10).Select(i => (int?)i));
        var deadLetters = topic + ".dlq";
        await kafka.CreateTopicAsync(deadLetters, 1);
        var registry = new FlakyDeserializer { Down = true };
        var reported = new List<DeserializationException>();
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("outage-dlq")))
            .SetValueDeserializer(registry)
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters))
            .SetTransientErrorHandler(reported.Add)
            .SetRetryBackoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(100))
            .Build();
        consumer.Subscribe(topic);

        Assert.Null(await consumer.PollAsync(TimeSpan.FromSeconds(3)));
        Assert.True(reported.Count >= 3, $"{reported.Count} failures reported");
        Assert.All(reported, r => Assert.Equal(0, r.Offset!.Value.Value));

        registry.Down = false;
        var values = new List<int>();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var record in consumer.ConsumeAsync(limit.Token))
        {
            values.Add(record.Message.Value);
            if (values.Count == 10)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, 10), values);
        Assert.Equal(0, consumer.DeadLetteredRecords);
        using var reader = new DeserializingConsumerBuilder<string, byte[]>(kafka.Consumer(KafkaFixture.Unique("dlq-empty"))).Build();
        Assert.Equal(0, reader.QueryWatermarkOffsets(new TopicPartition(deadLetters, 0), TimeSpan.FromSeconds(10)).High.Value);
    }

    [Fact]
    public async Task An_unreachable_schema_registry_holds_the_json_consumer_on_its_record_until_the_registry_is_back()
    {
        var topic = KafkaFixture.Unique("registry-outage");
        await kafka.CreateTopicAsync(topic, 1);
        using (var registry = kafka.RegistryClient())
        await using (var producer = new SerializingProducerBuilder<string, User>(kafka.Producer()).SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.Schema, null, User.Json)).Build())
        {
            for (var i = 0; i < 5; i++)
            {
                await producer.ProduceAsync(topic, "k", new User($"user-{i}", i + 1, "red"));
            }
        }

        var port = FreePort();
        var target = new Uri(kafka.SchemaRegistryUrl);
        using var unreachable = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = $"http://127.0.0.1:{port}", RequestTimeoutMs = 2000, MaxRetries = 1 }); // MaxRetries = 0 makes Confluent's client throw NullReferenceException
        var group = KafkaFixture.Unique("registry-outage");
        await using var consumer = new DeserializingConsumerBuilder<string, User>(kafka.Consumer(group))
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(unreachable, null, User.Json))
            .SetDeadLetterPolicy(new DeadLetterPolicy(topic + ".dlq"))
            .SetRetryBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50))
            .Build();
        consumer.Subscribe(topic);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var ex = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
            Assert.True(ex.IsRetriable, ex.ToString());
            Assert.Equal(0, ex.Offset!.Value.Value);
        }

        Assert.Empty(await consumer.CommitAsync());
        Assert.Equal(0, consumer.DeadLetteredRecords);

        await using var back = TcpForwarder.Start(port, $"{target.Host}:{target.Port}");
        var names = new List<string>();
        while (names.Count < 5)
        {
            if (await consumer.PollAsync(TimeSpan.FromSeconds(30)) is { } record)
            {
                names.Add(record.Message.Value.Name);
            }
        }

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"user-{i}"), names);
    }

    [Fact]
    public async Task Consuming_before_subscribing_or_assigning_fails_at_once()
    {
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("nothing"))).Build();
        Assert.Throws<InvalidOperationException>(() => consumer.ConsumeAsync());
        Assert.Throws<InvalidOperationException>(() => consumer.Poll(TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(1)));
        consumer.Assign([new TopicPartition("t", 0)]);
        consumer.Unassign();
        Assert.Throws<InvalidOperationException>(() => consumer.ConsumeAsync());
    }

    private static async Task<ConsumeResult<string, int>> PollUntilRecordAsync(DeserializingConsumer<string, int> consumer, bool async)
    {
        for (var i = 0; i < 300; i++)
        {
            var record = async ? await consumer.PollAsync(TimeSpan.FromMilliseconds(200)) : consumer.Poll(TimeSpan.FromMilliseconds(200));
            if (record is not null)
            {
                return record;
            }
        }

        throw new TimeoutException("No record in 60 s.");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>An Int32 deserializer in front of a "registry" that can be down (it throws what HttpClient throws then).</summary>
    private sealed class FlakyDeserializer : IDeserializer<int>
    {
        public volatile bool Down;

        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) =>
            Down ? throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (registry:8081)") : Serdes.Int32.Deserialize(data, isNull, context);
    }
}

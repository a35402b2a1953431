using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Testing;
using KafkaClient.Tests.Protos.Attack;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>
/// Protobuf producers and consumers through registry faults: a registry that cannot be reached at the first record is a
/// retriable failure and nothing is lost or dead-lettered; a registry that came back empty makes old ids unknown, which
/// is typed and not retriable, and the consumer goes on.
/// </summary>
[Collection(KafkaCollection.Name)]
public class ProtobufRegistryFaultTests(KafkaFixture kafka)
{
    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static CachedSchemaRegistryClient Unreachable(int port) =>
        new(new SchemaRegistryConfig { Url = $"http://127.0.0.1:{port}", RequestTimeoutMs = 2000, MaxRetries = 1 });

    private async Task<string> TopicAsync(string prefix)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, 1);
        return topic;
    }

    private async Task ProduceAsync(string topic, ISchemaRegistryClient registry, int count)
    {
        await using var producer = new SerializingProducerBuilder<string, Animal>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<Animal>(registry))
            .Build();
        for (var i = 0; i < count; i++)
        {
            await producer.ProduceAsync(topic, $"k{i}", new Animal { Name = $"animal-{i}", Weights = { i, i + 1 } });
        }
    }

    [Fact]
    public async Task A_registry_down_at_the_first_produce_is_retriable_and_the_same_producer_goes_on_once_it_is_back()
    {
        var topic = await TopicAsync("pb-registry-down-produce");
        var port = FreePort();
        var target = new Uri(kafka.SchemaRegistryUrl);
        using var registry = Unreachable(port);
        await using var producer = new SerializingProducerBuilder<string, Animal>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<Animal>(registry))
            .Build();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync(topic, "lost", new Animal { Name = "never" }));
            Assert.True(ex.IsRetriable, ex.ToString());
            Assert.Equal(ProtobufSerdeFailure.RegistryUnavailable, Assert.IsType<ProtobufSerdeException>(ex.InnerException).Failure);
        }

        await using (TcpForwarder.Start(port, $"{target.Host}:{target.Port}"))
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(topic, $"k{i}", new Animal { Name = $"animal-{i}" });
            }
        }

        await using var consumer = new DeserializingConsumerBuilder<string, Animal>(kafka.Consumer(KafkaFixture.Unique("pb-registry-down-produce")))
            .SetValueDeserializer(new ProtobufDeserializer<Animal>(kafka.RegistryClient()))
            .Build();
        consumer.Subscribe(topic);
        var read = await Records.PollManyAsync(consumer, 3);
        Assert.Equal(["animal-0", "animal-1", "animal-2"], read.Select(r => r.Message.Value.Name));
        Assert.Null(await consumer.PollAsync(TimeSpan.FromSeconds(2)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_registry_down_at_the_first_record_holds_the_consumer_on_it_and_dead_letters_nothing(bool untyped)
    {
        var topic = await TopicAsync("pb-registry-down-consume");
        using (var registry = kafka.RegistryClient())
        {
            await ProduceAsync(topic, registry, 5);
        }

        var port = FreePort();
        var target = new Uri(kafka.SchemaRegistryUrl);
        using var unreachable = Unreachable(port);
        var names = new List<string>();
        await using var consumer = untyped
            ? (IAsyncDisposable)new DeserializingConsumerBuilder<string, JsonNode>(kafka.Consumer(KafkaFixture.Unique("pb-registry-down")))
                .SetValueDeserializer(new ProtobufJsonDeserializer(unreachable))
                .SetDeadLetterPolicy(new DeadLetterPolicy(topic + ".dlq"))
                .SetRetryBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50))
                .Build()
            : new DeserializingConsumerBuilder<string, Animal>(kafka.Consumer(KafkaFixture.Unique("pb-registry-down")))
                .SetValueDeserializer(new ProtobufDeserializer<Animal>(unreachable))
                .SetDeadLetterPolicy(new DeadLetterPolicy(topic + ".dlq"))
                .SetRetryBackoff(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50))
                .Build();
        async Task<string?> PollAsync()
        {
            return consumer switch
            {
                DeserializingConsumer<string, JsonNode> json => (await json.PollAsync(TimeSpan.FromSeconds(30)))?.Message.Value["name"]!.GetValue<string>(),
                DeserializingConsumer<string, Animal> typed => (await typed.PollAsync(TimeSpan.FromSeconds(30)))?.Message.Value.Name,
                _ => throw new InvalidOperationException(),
            };
        }

        switch (consumer)
        {
            case DeserializingConsumer<string, JsonNode> json:
                json.Subscribe(topic);
                break;
            case DeserializingConsumer<string, Animal> typed:
                typed.Subscribe(topic);
                break;
        }

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var ex = await Assert.ThrowsAsync<ValueDeserializationException>(PollAsync);
            Assert.True(ex.IsRetriable, ex.ToString());
            Assert.Equal(0, ex.Offset!.Value.Value);
            Assert.Equal(ProtobufSerdeFailure.RegistryUnavailable, Assert.IsType<ProtobufSerdeException>(ex.InnerException).Failure);
        }

        await using var back = TcpForwarder.Start(port, $"{target.Host}:{target.Port}");
        while (names.Count < 5)
        {
            if (await PollAsync() is { } name)
            {
                names.Add(name);
            }
        }

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"animal-{i}"), names);
        var deadLettered = consumer switch
        {
            DeserializingConsumer<string, JsonNode> json => json.DeadLetteredRecords,
            DeserializingConsumer<string, Animal> typed => typed.DeadLetteredRecords,
            _ => -1,
        };
        Assert.Equal(0, deadLettered);
    }

    [Fact]
    public async Task A_registry_restarted_empty_makes_old_ids_unknown_typed_not_retriable_and_the_consumers_go_on()
    {
        var topic = await TopicAsync("pb-registry-restarted");
        var port = FreePort();
        await using (var before = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { Port = port }))
        {
            // Ids restart at 1 in an empty registry: the old records' id is made one the new registry will not give.
            using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = before.Url, MaxRetries = 1 });
            for (var i = 0; i < 4; i++)
            {
                _ = await registry.RegisterSchemaAsync($"filler-{i}", new Schema($"{{\"type\":\"object\",\"title\":\"t{i}\"}}", SchemaType.Json));
            }

            await ProduceAsync(topic, registry, 3);
        }

        await using var after = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { Port = port });
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = after.Url, MaxRetries = 1 });

        // A record written after the restart, with the new registry, follows the three whose id it no longer knows.
        await using (var producer = new SerializingProducerBuilder<string, Animal>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<Animal>(client, new ProtobufSerdeConfig(new Dictionary<string, string> { ["subject.name.strategy"] = "record" })))
            .Build())
        {
            await producer.ProduceAsync(topic, "new", new Animal { Name = "after" });
        }

        var typedSkipped = new List<ValueDeserializationException>();
        await using (var typed = new DeserializingConsumerBuilder<string, Animal>(kafka.Consumer(KafkaFixture.Unique("pb-restarted")))
            .SetValueDeserializer(new ProtobufDeserializer<Animal>(client))
            .SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(ex => typedSkipped.Add((ValueDeserializationException)ex)))
            .Build())
        {
            typed.Subscribe(topic);
            var record = await typed.PollAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("after", record?.Message.Value.Name);
        }

        var jsonSkipped = new List<ValueDeserializationException>();
        await using (var json = new DeserializingConsumerBuilder<string, JsonNode>(kafka.Consumer(KafkaFixture.Unique("pb-restarted-json")))
            .SetValueDeserializer(new ProtobufJsonDeserializer(client))
            .SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(ex => jsonSkipped.Add((ValueDeserializationException)ex)))
            .Build())
        {
            json.Subscribe(topic);
            var record = await json.PollAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("after", record?.Message.Value["name"]!.GetValue<string>());
        }

        foreach (var skipped in new[] { typedSkipped, jsonSkipped })
        {
            Assert.Equal([0L, 1L, 2L], skipped.Select(s => s.Offset!.Value.Value));
            Assert.All(skipped, s =>
            {
                Assert.False(s.IsRetriable);
                Assert.Equal(ProtobufSerdeFailure.UnknownSchema, Assert.IsType<ProtobufSerdeException>(s.InnerException).Failure);
                Assert.NotNull(s.RawValue);
            });
        }
    }
}

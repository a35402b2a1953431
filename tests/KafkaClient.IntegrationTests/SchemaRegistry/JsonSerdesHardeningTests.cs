using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>The JSON serdes' defects #9–#12 end to end: reader naming, validation by default, typed errors, credentials kept out of messages.</summary>
[Collection(KafkaCollection.Name)]
public class JsonSerdesHardeningTests(KafkaFixture kafka)
{
    private static readonly User Alice = new("alice", 7, "blue", "@alice");

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private async Task<string> TopicAsync(string prefix)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, 1);
        return topic;
    }

    private async Task ProduceRawAsync(string topic, byte[] value)
    {
        await using var raw = new SerializingProducerBuilder<string, byte[]>(kafka.Producer()).Build();
        await raw.ProduceAsync(topic, "k", value);
    }

    [Fact]
    public async Task Defect9_a_reader_named_against_the_writer_schema_fails_on_the_first_record_and_the_consumer_goes_on()
    {
        var topic = await TopicAsync("naming");
        using var registry = kafka.RegistryClient();
        await using (var producer = new SerializingProducerBuilder<string, User>(kafka.Producer())
            .SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json))
            .Build())
        {
            await producer.ProduceAsync(topic, "a", Alice);
            await producer.ProduceAsync(topic, "b", Alice with { Name = "bob" });
        }

        // camelCase options against the snake_case schema: every field but "name" would come back defaulted.
        await using var consumer = new DeserializingConsumerBuilder<string, User>(kafka.Consumer(KafkaFixture.Unique("naming")))
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, jsonOptions: JsonSerializerOptions.Web))
            .Build();
        consumer.Subscribe(topic);

        for (var i = 0; i < 2; i++)
        {
            var ex = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
            var mismatch = Assert.IsType<JsonSerdeException>(ex.InnerException);
            Assert.Equal(JsonSerdeFailure.ReaderMismatch, mismatch.Failure);
            Assert.Contains("favorite_number", ex.Message, StringComparison.Ordinal);
            Assert.Contains("favoriteNumber", ex.Message, StringComparison.Ordinal);
            Assert.False(ex.IsRetriable);
        }
    }

    [Fact]
    public async Task Defect10_by_default_the_consumer_refuses_json_that_violates_the_writer_schema()
    {
        var topic = await TopicAsync("validate-default");
        using var registry = kafka.RegistryClient();
        var id = await registry.RegisterSchemaAsync($"{topic}-value", new Schema(User.Schema, SchemaType.Json));
        await ProduceRawAsync(topic, ConfluentWireFormat.Frame(id, """{"name":"x","favorite_number":-4,"favorite_color":"red"}"""u8));

        await using (var consumer = new DeserializingConsumerBuilder<string, User>(kafka.Consumer(KafkaFixture.Unique("validate-default")))
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, jsonOptions: User.Json))
            .Build())
        {
            consumer.Subscribe(topic);
            var ex = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("favorite_number", Assert.IsType<JsonSchemaValidationException>(ex.InnerException).Message, StringComparison.Ordinal);
        }

        var optOut = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["validate.on.deserialize"] = "false" });
        await using var lenient = new DeserializingConsumerBuilder<string, User>(kafka.Consumer(KafkaFixture.Unique("validate-off")))
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, optOut, User.Json))
            .Build();
        lenient.Subscribe(topic);
        Assert.Equal(-4, (await lenient.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.FavoriteNumber);
    }

    [Fact]
    public async Task Defect11_malformed_and_out_of_range_payloads_arrive_as_typed_bounded_errors()
    {
        var topic = await TopicAsync("malformed");
        using var registry = kafka.RegistryClient();
        var id = await registry.RegisterSchemaAsync($"{topic}-value", new Schema(User.Schema, SchemaType.Json));
        await ProduceRawAsync(topic, ConfluentWireFormat.Frame(id, """{"name": "x", """u8));
        await ProduceRawAsync(topic, ConfluentWireFormat.Frame(id, System.Text.Encoding.ASCII.GetBytes($$"""{"name":"x","favorite_number":{{new string('9', 1 << 19)}},"favorite_color":"b"}""")));
        await ProduceRawAsync(topic, ConfluentWireFormat.Frame(id, [.. "{\"name\":\""u8, 0xC3, 0x28, .. "\",\"favorite_number\":1,\"favorite_color\":\"b\"}"u8]));

        await using var consumer = new DeserializingConsumerBuilder<string, JsonNode>(kafka.Consumer(KafkaFixture.Unique("malformed")))
            .SetValueDeserializer(new JsonSchemaDeserializer<JsonNode>(registry))
            .Build();
        consumer.Subscribe(topic);
        for (var i = 0; i < 3; i++)
        {
            var ex = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
            var typed = Assert.IsType<JsonSerdeException>(ex.InnerException, exactMatch: false);
            Assert.InRange(typed.Message.Length, 1, 1200);
            Assert.InRange(ex.Message.Length, 1, 1500);
            Assert.False(ex.IsRetriable);
        }
    }

    [Fact]
    public async Task Defect12_credentials_in_the_registry_url_stay_out_of_serializer_and_deserializer_messages()
    {
        var topic = await TopicAsync("creds");
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = $"http://user:secret@127.0.0.1:{ClosedPort()}", RequestTimeoutMs = 2000, MaxRetries = 1, RetriesWaitMs = 10 });

        // Called directly.
        var written = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json).SerializeAsync(Alice, new SerializationContext(MessageComponentType.Value, topic)));
        var read = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<User>(registry, jsonOptions: User.Json).DeserializeAsync(ConfluentWireFormat.Frame(1, "{}"u8), false, new SerializationContext(MessageComponentType.Value, topic)));
        foreach (var ex in new[] { written, read })
        {
            Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
            Assert.Equal(JsonSerdeFailure.RegistryUnavailable, ex.Failure);
            Assert.True(ex.IsRetriable);
            Assert.NotNull(ex.InnerException);
        }

        // Through the producer and the consumer, whose exceptions quote the serde's message.
        await using (var producer = new SerializingProducerBuilder<string, User>(kafka.Producer())
            .SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json))
            .Build())
        {
            var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync(topic, "k", Alice));
            Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
        }

        await ProduceRawAsync(topic, ConfluentWireFormat.Frame(1, """{"name":"x"}"""u8));
        await using var consumer = new DeserializingConsumerBuilder<string, User>(kafka.Consumer(KafkaFixture.Unique("creds")))
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, jsonOptions: User.Json))
            .Build();
        consumer.Subscribe(topic);
        var failure = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("secret", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", failure.InnerException!.Message, StringComparison.Ordinal);
    }
}

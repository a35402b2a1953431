using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Serdes;
using KafkaClient.Testing;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>JSON Schema serdes end to end: our producer and consumer, the cluster, and the registry.</summary>
[Collection(KafkaCollection.Name)]
public class JsonSerdesTests(KafkaFixture kafka)
{
    private static readonly User Alice = new("alice", 7, "blue", "@alice");

    private async Task<string> TopicAsync(string prefix, int partitions = 1)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, partitions);
        return topic;
    }

    private SerializingProducer<string, User> Producer(ISchemaRegistryClient registry, string schema = User.Schema, JsonSchemaSerdeConfig? config = null) =>
        new SerializingProducerBuilder<string, User>(kafka.Producer())
            .SetValueSerializer(new JsonSchemaSerializer<User>(registry, schema, config, User.Json))
            .Build();

    private DeserializingConsumer<string, T> Consumer<T>(ISchemaRegistryClient registry, string topic, JsonSchemaSerdeConfig? config = null)
    {
        var consumer = new DeserializingConsumerBuilder<string, T>(kafka.Consumer(KafkaFixture.Unique("json")))
            .SetValueDeserializer(new JsonSchemaDeserializer<T>(registry, config, User.Json))
            .Build();
        consumer.Subscribe(topic);
        return consumer;
    }

    [Fact]
    public async Task Users_round_trip_through_kafka_and_the_registry()
    {
        var topic = await TopicAsync("user_json");
        using var registry = kafka.RegistryClient();
        await using (var producer = Producer(registry))
        {
            var result = await producer.ProduceAsync(topic, Alice.Name, Alice);
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
        }

        var latest = await registry.GetLatestSchemaAsync($"{topic}-value");
        Assert.Equal(SchemaType.Json, latest.SchemaType);

        await using var consumer = Consumer<User>(registry, topic);
        var record = await consumer.PollAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Alice, record!.Message.Value);
    }

    [Fact]
    public async Task Bytes_are_in_confluents_wire_format()
    {
        var topic = await TopicAsync("wire");
        using var registry = kafka.RegistryClient();
        await using (var producer = Producer(registry))
        {
            await producer.ProduceAsync(topic, "k", Alice);
        }

        var id = (await registry.GetLatestSchemaAsync($"{topic}-value")).Id;
        using var raw = new DeserializingConsumerBuilder<string, byte[]>(kafka.Consumer(KafkaFixture.Unique("wire"))).Build();
        raw.Subscribe(topic);
        var bytes = Records.PollMany(raw, 1).Single().Message.Value;

        Assert.Equal(0, bytes[0]);
        Assert.Equal(id, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
        var json = JsonNode.Parse(bytes.AsSpan(5))!;
        Assert.Equal("alice", json["name"]!.GetValue<string>());
        Assert.Equal(7, json["favorite_number"]!.GetValue<long>());
    }

    [Fact]
    public async Task One_registration_serves_many_messages()
    {
        var topic = await TopicAsync("one-registration");
        // Counting HTTP calls needs the embedded registry; with an external one, a private embedded one is used.
        await using var privateRegistry = kafka.EmbeddedRegistry is null ? await EmbeddedSchemaRegistry.StartAsync() : null;
        var embedded = kafka.EmbeddedRegistry ?? privateRegistry!;
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embedded.Url });
        await using var producer = Producer(registry);

        var before = embedded.RequestCount;
        for (var i = 0; i < 200; i++)
        {
            await producer.ProduceAsync(topic, $"k{i}", Alice with { FavoriteNumber = i + 1 });
        }

        Assert.Equal(1, embedded.RequestCount - before); // the one POST that registered the schema

        await using var consumer = Consumer<User>(registry, topic);
        var readBefore = embedded.RequestCount;
        var read = 0;
        while (read < 200 && await consumer.PollAsync(TimeSpan.FromSeconds(30)) is not null)
        {
            read++;
        }

        Assert.Equal(200, read);
        Assert.Equal(1, embedded.RequestCount - readBefore); // the one GET of the writer schema
    }

    [Fact]
    public async Task Adding_a_required_field_is_refused_with_the_registrys_409()
    {
        var topic = await TopicAsync("user_json");
        using var registry = kafka.RegistryClient();
        await using (var producer = Producer(registry))
        {
            await producer.ProduceAsync(topic, Alice.Name, Alice);
        }

        await using var evolved = Producer(registry, User.SchemaWithRequiredEmail);
        var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => evolved.ProduceAsync(topic, "bob", Alice with { Name = "bob" }));

        var wrapped = Assert.IsType<JsonSerdeException>(ex.InnerException);
        Assert.Equal(JsonSerdeFailure.RegistryRefused, wrapped.Failure);
        Assert.False(ex.IsRetriable);
        var refusal = Assert.IsType<SchemaRegistryException>(wrapped.InnerException);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, refusal.Status);
        Assert.Equal(409, refusal.ErrorCode);
        Assert.Contains($"incompatible with an earlier schema for subject \"{topic}-value\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("BACKWARD", ex.Message, StringComparison.Ordinal);
        Assert.Contains("REQUIRED_PROPERTY_ADDED", ex.Message, StringComparison.Ordinal);
        Assert.Contains("409", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, evolved.InFlight);
        Assert.Equal([1], await registry.GetSubjectVersionsAsync($"{topic}-value"));
    }

    [Theory]
    [InlineData("topic", "{0}-value")]
    [InlineData("record", "User")]
    [InlineData("topic_record", "{0}-User")]
    public async Task Each_subject_name_strategy_names_the_subject(string strategy, string expected)
    {
        var topic = await TopicAsync("strategy");
        using var registry = kafka.RegistryClient();
        var config = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["subject.name.strategy"] = strategy });
        await using (var producer = Producer(registry, config: config))
        {
            await producer.ProduceAsync(topic, "k", Alice);
        }

        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, topic), await registry.GetAllSubjectsAsync());
    }

    [Fact]
    public async Task A_value_that_violates_the_schema_is_not_produced_and_the_error_names_the_path()
    {
        var topic = await TopicAsync("invalid");
        using var registry = kafka.RegistryClient();
        await using var producer = Producer(registry);

        var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync(topic, "k", Alice with { FavoriteNumber = -3 }));

        var violation = Assert.IsType<JsonSchemaValidationException>(ex.InnerException);
        Assert.Contains(violation.Violations, v => v.Contains("favorite_number", StringComparison.Ordinal));
        Assert.Contains("favorite_number", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, producer.InFlight);

        using var raw = new DeserializingConsumerBuilder<string, byte[]>(kafka.Consumer(KafkaFixture.Unique("invalid"))).Build();
        raw.Assign([new TopicPartitionOffset(topic, 0, Offset.Beginning)]);
        Assert.Null(raw.Poll(TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task Unknown_schema_id_bad_magic_and_truncated_frames_are_typed_errors_and_the_consumer_goes_on()
    {
        var topic = await TopicAsync("bad-frames");
        using var registry = kafka.RegistryClient();
        await using (var raw = new SerializingProducerBuilder<string, byte[]>(kafka.Producer()).Build())
        {
            await raw.ProduceAsync(topic, "unknown-id", ConfluentWireFormat.Frame(987_654, "{}"u8));
            await raw.ProduceAsync(topic, "bad-magic", [1, 0, 0, 0, 1, (byte)'{', (byte)'}']);
            await raw.ProduceAsync(topic, "truncated", [0, 0, 1]);
        }

        await using (var producer = Producer(registry))
        {
            await producer.ProduceAsync(topic, "good", Alice);
        }

        await using var consumer = Consumer<User>(registry, topic);
        var unknown = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
        var unknownId = Assert.IsType<JsonSerdeException>(unknown.InnerException);
        Assert.Equal(JsonSerdeFailure.UnknownSchema, unknownId.Failure);
        Assert.False(unknown.IsRetriable);
        Assert.Equal(40403, Assert.IsType<SchemaRegistryException>(unknownId.InnerException).ErrorCode);
        Assert.Equal(ConfluentWireFormat.Frame(987_654, "{}"u8), unknown.RawValue);

        var magic = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(JsonSerdeFailure.InvalidFrame, Assert.IsType<JsonSerdeException>(magic.InnerException).Failure);
        Assert.Contains("magic byte", Assert.IsType<InvalidDataException>(magic.InnerException.InnerException).Message, StringComparison.Ordinal);

        var truncated = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
        Assert.IsType<InvalidDataException>(Assert.IsType<JsonSerdeException>(truncated.InnerException).InnerException);
        Assert.Equal(new byte[] { 0, 0, 1 }, truncated.RawValue);

        var good = await consumer.PollAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Alice, good!.Message.Value);
    }

    [Fact]
    public async Task Validation_on_deserialize_checks_the_received_bytes()
    {
        var topic = await TopicAsync("validate-in");
        using var registry = kafka.RegistryClient();
        var id = await registry.RegisterSchemaAsync($"{topic}-value", new Schema(User.Schema, SchemaType.Json));
        await using (var raw = new SerializingProducerBuilder<string, byte[]>(kafka.Producer()).Build())
        {
            // Written by a producer that did not validate: favorite_number is a string.
            await raw.ProduceAsync(topic, "k", ConfluentWireFormat.Frame(id, """{"name":"x","favorite_number":"seven","favorite_color":"red"}"""u8));
        }

        var validating = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["validate.on.deserialize"] = "true" });
        await using var consumer = Consumer<JsonNode>(registry, topic, validating);
        var ex = await Assert.ThrowsAsync<ValueDeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("favorite_number", Assert.IsType<JsonSchemaValidationException>(ex.InnerException).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://json-schema.org/draft-04/schema#")]
    [InlineData("http://json-schema.org/draft-06/schema#")]
    [InlineData("http://json-schema.org/draft-07/schema#")]
    [InlineData("https://json-schema.org/draft/2019-09/schema")]
    [InlineData("https://json-schema.org/draft/2020-12/schema")]
    public async Task Each_json_schema_draft_registers_and_validates(string draft)
    {
        var topic = await TopicAsync("draft");
        using var registry = kafka.RegistryClient();
        var schema = new JsonObject
        {
            ["$schema"] = draft,
            ["type"] = "object",
            ["properties"] = new JsonObject { ["n"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1 } },
            ["required"] = new JsonArray("n"),
        }.ToJsonString();
        await using var producer = new SerializingProducerBuilder<string, JsonNode>(kafka.Producer())
            .SetValueSerializer(new JsonSchemaSerializer<JsonNode>(registry, schema))
            .Build();

        await producer.ProduceAsync(topic, "ok", JsonNode.Parse("""{"n":3}""")!);
        var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync(topic, "bad", JsonNode.Parse("""{"n":0}""")!));
        Assert.Contains("#/n", Assert.IsType<JsonSchemaValidationException>(ex.InnerException).Message, StringComparison.Ordinal);
        Assert.Equal(draft, JsonNode.Parse((await registry.GetLatestSchemaAsync($"{topic}-value")).SchemaString)!["$schema"]!.GetValue<string>());
    }

    [Fact]
    public async Task Untyped_consumers_get_json_nodes()
    {
        var topic = await TopicAsync("untyped");
        using var registry = kafka.RegistryClient();
        await using (var producer = Producer(registry))
        {
            await producer.ProduceAsync(topic, "k", Alice);
        }

        await using var consumer = Consumer<JsonNode>(registry, topic);
        var node = (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value;
        Assert.Equal("blue", node["favorite_color"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_stopped_registry_does_not_stop_cached_schemas_and_fails_new_ones_clearly()
    {
        var topic = await TopicAsync("outage");
        var other = await TopicAsync("outage-cold");
        var local = await EmbeddedSchemaRegistry.StartAsync();
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = local.Url, RequestTimeoutMs = 2000, MaxRetries = 1, RetriesWaitMs = 100 });
        await using var producer = Producer(registry);
        await producer.ProduceAsync(topic, "warm", Alice);
        await using var consumer = Consumer<User>(registry, topic);
        Assert.NotNull(await consumer.PollAsync(TimeSpan.FromSeconds(30)));

        await local.DisposeAsync();

        // Warm cache: the same subject and schema id keep working.
        await producer.ProduceAsync(topic, "still", Alice with { Name = "still" });
        Assert.Equal("still", (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.Name);

        // Cold: a new subject needs the registry and fails, retriably, after bounded retries.
        var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync(other, "cold", Alice));
        var unreachable = Assert.IsType<JsonSerdeException>(ex.InnerException);
        Assert.Equal(JsonSerdeFailure.RegistryUnavailable, unreachable.Failure);
        Assert.True(unreachable.IsRetriable, ex.ToString());
        Assert.True(ex.IsRetriable, ex.ToString());
        Assert.Equal(0, producer.InFlight);
    }

    [Fact]
    public async Task Basic_auth_is_accepted_with_the_right_credentials_and_refused_without()
    {
        await using var secured = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { BasicAuthUserInfo = "fred:letmein" });
        using var good = new CachedSchemaRegistryClient(new SchemaRegistryConfig
        {
            Url = secured.Url,
            BasicAuthCredentialsSource = AuthCredentialsSource.UserInfo,
            BasicAuthUserInfo = "fred:letmein",
        });
        using var bad = new CachedSchemaRegistryClient(new SchemaRegistryConfig
        {
            Url = secured.Url,
            BasicAuthCredentialsSource = AuthCredentialsSource.UserInfo,
            BasicAuthUserInfo = "fred:wrong",
        });
        using var none = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = secured.Url });

        Assert.True(await good.RegisterSchemaAsync("auth-value", new Schema(User.Schema, SchemaType.Json)) > 0);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await Assert.ThrowsAsync<SchemaRegistryException>(() => bad.GetAllSubjectsAsync())).Status);
        Assert.Equal(401, (await Assert.ThrowsAsync<SchemaRegistryException>(() => none.GetAllSubjectsAsync())).ErrorCode);
    }
}

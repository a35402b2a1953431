using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Serialization;
using KafkaClient.Testing;
using KafkaClient.Tests.SchemaRegistry;
using ProtoUser = KafkaClient.Tests.Protos.User;
using User = KafkaClient.Tests.SchemaRegistry.JsonDeserializerDefectTests.User;

namespace KafkaClient.Tests.Serialization;

/// <summary>The fast path of the registry serdes: declined until the schema is known, then the very bytes and values of the task API, with no task.</summary>
public class FastPathTests
{
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "users");

    [Fact]
    public async Task Json_serdes_decline_until_the_schema_is_known_then_match_the_task_api()
    {
        var registry = new InProcessSchemaRegistry();
        var serializer = new JsonSchemaSerializer<User>(registry, JsonDeserializerDefectTests.UserSchema, jsonOptions: JsonDeserializerDefectTests.Snake);
        var deserializer = new JsonSchemaDeserializer<User>(registry, jsonOptions: JsonDeserializerDefectTests.Snake);
        var user = new User("alice", 7, "blue");

        Assert.False(serializer.TrySerialize(user, Value, out var cold));
        Assert.Null(cold);
        var framed = await serializer.SerializeAsync(user, Value);
        Assert.True(serializer.TrySerialize(user, Value, out var warm));
        Assert.Equal(framed, warm);

        Assert.False(deserializer.TryDeserialize(framed, isNull: false, Value, out _));
        Assert.Equal(user, await deserializer.DeserializeAsync(framed, isNull: false, Value));
        Assert.True(deserializer.TryDeserialize(framed, isNull: false, Value, out var read));
        Assert.Equal(user, read);

        // Failures are thrown as the task API fails its task, and nulls stay null.
        await Assert.ThrowsAsync<JsonSchemaValidationException>(() => serializer.SerializeAsync(new User("bob", -1, "red"), Value));
        Assert.Throws<JsonSchemaValidationException>(() => serializer.TrySerialize(new User("bob", -1, "red"), Value, out _));
        Assert.Equal(JsonSerdeFailure.InvalidFrame, Assert.Throws<JsonSerdeException>(() => deserializer.TryDeserialize([1, 2], isNull: false, Value, out _)).Failure);
        Assert.True(serializer.TrySerialize(null!, Value, out var tombstone));
        Assert.Null(tombstone);
        Assert.True(deserializer.TryDeserialize([], isNull: true, Value, out var none));
        Assert.Null(none);
    }

    [Fact]
    public async Task Json_deserializer_without_validation_still_names_malformed_payloads()
    {
        var registry = new InProcessSchemaRegistry();
        var serializer = new JsonSchemaSerializer<User>(registry, JsonDeserializerDefectTests.UserSchema, jsonOptions: JsonDeserializerDefectTests.Snake);
        var config = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["validate.on.deserialize"] = "false" });
        var deserializer = new JsonSchemaDeserializer<User>(registry, config, JsonDeserializerDefectTests.Snake);
        var framed = await serializer.SerializeAsync(new User("alice", 7, "blue"), Value);
        Assert.Equal("alice", (await deserializer.DeserializeAsync(framed, isNull: false, Value)).Name); // warms the writer's schema

        byte[] Frame(string json) => [.. framed.AsSpan(0, 5), .. System.Text.Encoding.UTF8.GetBytes(json)];

        // Not JSON at all, trailing garbage, a lone surrogate in a mapped member: malformed, not a mapping failure.
        foreach (var json in new[] { "{\"name\": \"a\", ", "{\"name\":\"a\",\"favorite_number\":1,\"favorite_color\":\"b\"} x", "{\"name\":\"\\ud800\",\"favorite_number\":1,\"favorite_color\":\"b\"}" })
        {
            var ex = Assert.Throws<JsonSerdeException>(() => deserializer.TryDeserialize(Frame(json), isNull: false, Value, out _));
            Assert.Equal(JsonSerdeFailure.MalformedPayload, ex.Failure);
        }

        // Well-formed JSON that does not fit the type: a mapping failure.
        var mismatch = Assert.Throws<JsonSerdeException>(() => deserializer.TryDeserialize(Frame("{\"name\": [1], \"favorite_number\": 1, \"favorite_color\": \"b\"}"), isNull: false, Value, out _));
        Assert.Equal(JsonSerdeFailure.ConversionFailed, mismatch.Failure);
    }

    [Fact]
    public async Task Protobuf_serdes_decline_until_the_schema_is_known_then_match_the_task_api()
    {
        await using var server = await EmbeddedSchemaRegistry.StartAsync();
        using var registry = new Confluent.SchemaRegistry.CachedSchemaRegistryClient(new Confluent.SchemaRegistry.SchemaRegistryConfig { Url = server.Url, MaxRetries = 1 });
        var serializer = new ProtobufSerializer<ProtoUser>(registry);
        var deserializer = new ProtobufDeserializer<ProtoUser>(registry);
        var user = new ProtoUser { Name = "alice", FavoriteNumber = 7, FavoriteColor = "blue" };

        Assert.False(serializer.TrySerialize(user, Value, out _));
        var framed = await serializer.SerializeAsync(user, Value);
        Assert.True(serializer.TrySerialize(user, Value, out var warm));
        Assert.Equal(framed, warm);

        Assert.False(deserializer.TryDeserialize(framed, isNull: false, Value, out _));
        Assert.Equal(user, await deserializer.DeserializeAsync(framed, isNull: false, Value));
        Assert.True(deserializer.TryDeserialize(framed, isNull: false, Value, out var read));
        Assert.Equal(user, read);
        Assert.Equal(ProtobufSerdeFailure.InvalidFrame, Assert.Throws<ProtobufSerdeException>(() => deserializer.TryDeserialize([0, 0], isNull: false, Value, out _)).Failure);
    }

    [Fact]
    public async Task The_producer_slot_takes_the_fast_path_and_falls_back_to_the_task()
    {
        var fake = new CountingSerializer();
        var slot = SerializerSlot<string>.From(fake);
        Assert.False(slot.MayWriteHeaders);

        Assert.Equal(new byte[] { 1 }, await slot.SerializeAsync("a", Value));
        Assert.Equal((1, 1), (fake.Tries, fake.Tasks));

        fake.Warm = true;
        var fast = slot.SerializeAsync("a", Value);
        Assert.True(fast.IsCompletedSuccessfully);
        Assert.Equal(new byte[] { 2 }, await fast);
        Assert.Equal((2, 1), (fake.Tries, fake.Tasks));

        fake.Throw = true;
        var failed = slot.SerializeAsync("a", Value);
        Assert.True(failed.IsFaulted);
        await Assert.ThrowsAsync<FormatException>(async () => await failed);
    }

    private sealed class CountingSerializer : IFastPathSerializer<string>
    {
        public int Tries { get; private set; }

        public int Tasks { get; private set; }

        public bool Warm { get; set; }

        public bool Throw { get; set; }

        public bool MayWriteHeaders => false;

        public bool TrySerialize(string data, SerializationContext context, out byte[]? serialized)
        {
            Tries++;
            serialized = Warm ? [2] : null;
            return Throw ? throw new FormatException("bad") : Warm;
        }

        public Task<byte[]> SerializeAsync(string data, SerializationContext context)
        {
            Tasks++;
            return Task.FromResult<byte[]>([1]);
        }
    }
}

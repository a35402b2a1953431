using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Streams.Tests.Support;
using KafkaClient.Tests.Protos;

namespace KafkaClient.Streams.Tests;

/// <summary>The Streamiz serdes over the registry serdes: wire format, configuration keys, and how often a call waits for the registry.</summary>
public class SerDesTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private const string ShortText = """
        {"type": "object", "properties": {"text": {"type": "string", "maxLength": 5}}, "required": ["text"]}
        """;

    private static SerializationContext ValueOf(string topic) => new(MessageComponentType.Value, topic);

    [Fact]
    public async Task Json_serdes_write_the_core_serializers_bytes_and_read_them_back()
    {
        var topic = StreamsKit.Unique("json");
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);
        var core = new JsonSchemaSerializer<Value>(client);

        var bytes = serdes.Serialize(new Value("hello"), ValueOf(topic));

        Assert.Equal(await core.SerializeAsync(new Value("hello"), ValueOf(topic)), bytes);
        Assert.Equal(0, bytes[0]); // Confluent's magic byte, then the schema id
        Assert.Equal(new Value("hello"), serdes.Deserialize(bytes, ValueOf(topic)));
        Assert.Equal(new Value("hello"), await new JsonSchemaDeserializer<Value>(client).DeserializeAsync(bytes, false, ValueOf(topic)));
    }

    [Fact]
    public void An_array_read_again_after_its_bytes_changed_is_decoded_from_the_new_bytes()
    {
        var topic = StreamsKit.Unique("reused");
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);
        var first = serdes.Serialize(new Value("aaa"), ValueOf(topic));
        var second = serdes.Serialize(new Value("bbb"), ValueOf(topic));
        var buffer = (byte[])first.Clone();

        Assert.Equal(new Value("aaa"), serdes.Deserialize(buffer, ValueOf(topic)));
        second.CopyTo(buffer, 0); // a buffer reused, as a test or a ByteArraySerDes source may do

        Assert.Equal(new Value("bbb"), serdes.Deserialize(buffer, ValueOf(topic)));
        Assert.Equal(2, serdes.Decoded);
    }

    [Fact]
    public void Tombstones_stay_null_both_ways()
    {
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);

        Assert.Null(serdes.Serialize(null!, ValueOf("any")));
        Assert.Null(serdes.Deserialize(null, ValueOf("any")));
        Assert.Null(serdes.SerializeObject(null, ValueOf("any")));
        Assert.Null(serdes.DeserializeObject(null, ValueOf("any")));
        Assert.Equal(0, serdes.SerializerWaits + serdes.DeserializerWaits);
    }

    [Fact]
    public void An_object_of_another_type_is_refused_by_name()
    {
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);

        var refused = Assert.Throws<InvalidOperationException>(() => serdes.SerializeObject("not a value", ValueOf("any")));
        Assert.Contains("String", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cold_serializer_waits_for_the_registry_once_per_subject_and_then_never_asks_it_again()
    {
        var topic = StreamsKit.Unique("cold");
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);

        serdes.Serialize(new Value("first"), ValueOf(topic));
        var requestsAfterFirst = registry.Registry.RequestCount;
        for (var i = 0; i < 200; i++)
        {
            serdes.Serialize(new Value($"v{i}"), ValueOf(topic));
        }

        Assert.Equal(1, serdes.SerializerWaits);
        Assert.Equal(requestsAfterFirst, registry.Registry.RequestCount);

        serdes.Serialize(new Value("other"), ValueOf(topic + "-other"));
        Assert.Equal(2, serdes.SerializerWaits);
    }

    [Fact]
    public async Task After_warm_up_no_record_waits_for_the_registry_nor_asks_it()
    {
        var topic = StreamsKit.Unique("warm");
        using var writerClient = registry.Client();
        using var readerClient = registry.Client();
        var writer = new JsonSchemaSerDes<Value>(writerClient);
        var reader = new JsonSchemaSerDes<Value>(readerClient);

        await writer.WarmUpSerializerAsync(topic);
        var id = await reader.WarmUpDeserializerAsync(topic);
        var requests = registry.Registry.RequestCount;

        var records = Enumerable.Range(0, 100).Select(i => writer.Serialize(new Value($"v{i}"), ValueOf(topic))).ToList();
        var values = records.Select(bytes => reader.Deserialize(bytes, ValueOf(topic))).ToList();

        Assert.Equal(Enumerable.Range(0, 100).Select(i => new Value($"v{i}")), values);
        Assert.Equal(0, writer.SerializerWaits);
        Assert.Equal(0, reader.DeserializerWaits);
        Assert.Equal(requests, registry.Registry.RequestCount);
        Assert.Equal(id, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(records[0].AsSpan(1)));
    }

    [Fact]
    public async Task Warming_a_deserializer_up_for_a_subject_without_a_schema_prepares_nothing()
    {
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);

        Assert.Null(await serdes.WarmUpDeserializerAsync(StreamsKit.Unique("empty")));
    }

    [Fact]
    public async Task Warming_a_serializer_up_against_a_registry_that_refuses_fails_as_the_first_value_would()
    {
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client, config: new JsonSchemaSerdeConfig([new("auto.register.schemas", "false")]));

        var refused = await Assert.ThrowsAsync<JsonSerdeException>(() => serdes.WarmUpSerializerAsync(StreamsKit.Unique("unregistered")));
        Assert.Equal(JsonSerdeFailure.RegistryRefused, refused.Failure);
        Assert.False(refused.IsRetriable);
    }

    [Fact]
    public void The_core_configuration_keys_apply()
    {
        var topic = StreamsKit.Unique("keys");
        using var client = registry.Client();
        var notRegistering = new JsonSchemaSerDes<Value>(client, config: new JsonSchemaSerdeConfig([new("auto.register.schemas", "false")]));
        var validating = new JsonSchemaSerDes<Value>(client, ShortText);
        var notValidating = new JsonSchemaSerDes<Value>(client, ShortText, new JsonSchemaSerdeConfig([new("validate.on.serialize", "false")]));

        var refused = Assert.Throws<JsonSerdeException>(() => notRegistering.Serialize(new Value("x"), ValueOf(topic)));
        Assert.Equal(JsonSerdeFailure.RegistryRefused, refused.Failure);

        var violation = Assert.Throws<JsonSchemaValidationException>(() => validating.Serialize(new Value("too long"), ValueOf(topic)));
        Assert.Contains("#/text", violation.Message, StringComparison.Ordinal);

        Assert.NotNull(notValidating.Serialize(new Value("too long"), ValueOf(topic)));
    }

    [Fact]
    public void A_cold_call_completes_on_a_thread_whose_synchronization_context_never_runs_anything()
    {
        var topic = StreamsKit.Unique("context");
        using var client = registry.Client();
        var writer = new JsonSchemaSerDes<Value>(client);
        var reader = new JsonSchemaSerDes<Value>(registry.Client());
        Value? read = null;
        Exception? failure = null;

        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new NeverRunningContext());
            try
            {
                read = reader.Deserialize(writer.Serialize(new Value("through"), ValueOf(topic)), ValueOf(topic));
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();

        Assert.True(thread.Join(StreamsKit.Patience), "the cold calls never completed: a continuation waited for the blocked thread's context");
        Assert.Null(failure);
        Assert.Equal(new Value("through"), read);
        Assert.Equal(1, writer.SerializerWaits);
        Assert.Equal(1, reader.DeserializerWaits);
    }

    [Fact]
    public void A_registry_that_fails_to_answer_is_retried_in_place_and_the_call_succeeds_when_it_answers()
    {
        var topic = StreamsKit.Unique("flaky");
        using var client = registry.Client();
        var flaky = FlakyRegistry.Wrap(client, nameof(Confluent.SchemaRegistry.ISchemaRegistryClient.RegisterSchemaAsync), failures: 2, out var calls);
        var serdes = new JsonSchemaSerDes<Value>(flaky);

        var bytes = serdes.Serialize(new Value("eventually"), ValueOf(topic));

        Assert.Equal(new Value("eventually"), serdes.Deserialize(bytes, ValueOf(topic)));
        Assert.Equal(3, calls.Calls);
        Assert.Equal(1, serdes.SerializerWaits);
    }

    [Fact]
    public void A_registry_still_unreachable_at_the_timeout_is_thrown_retriable()
    {
        var topic = StreamsKit.Unique("down");
        using var client = registry.Client();
        var down = FlakyRegistry.Wrap(client, nameof(Confluent.SchemaRegistry.ISchemaRegistryClient.RegisterSchemaAsync), failures: int.MaxValue, out var calls);
        var serdes = new JsonSchemaSerDes<Value>(down) { RegistryWaitTimeout = TimeSpan.FromMilliseconds(500) };

        var unavailable = Assert.Throws<JsonSerdeException>(() => serdes.Serialize(new Value("x"), ValueOf(topic)));

        Assert.Equal(JsonSerdeFailure.RegistryUnavailable, unavailable.Failure);
        Assert.True(unavailable.IsRetriable);
        Assert.True(calls.Calls >= 2, $"attempted {calls.Calls} time(s)");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(-5000)]
    public void A_wait_timeout_that_is_not_positive_is_refused_rather_than_failing_every_cold_call(int milliseconds)
    {
        using var client = registry.Client();
        var timeout = TimeSpan.FromMilliseconds(milliseconds); // -1 ms is Timeout.InfiniteTimeSpan

        Assert.Throws<ArgumentOutOfRangeException>(() => new JsonSchemaSerDes<Value>(client) { RegistryWaitTimeout = timeout });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProtobufSerDes<User>(client) { RegistryWaitTimeout = timeout });
    }

    [Fact]
    public void A_registry_that_never_answers_holds_a_cold_read_no_longer_than_the_wait_timeout()
    {
        var topic = StreamsKit.Unique("silent");
        using var client = registry.Client();
        var bytes = new JsonSchemaSerDes<Value>(client).Serialize(new Value("x"), ValueOf(topic));
        var silent = HangingRegistry.Wrap(registry.Client(), nameof(Confluent.SchemaRegistry.ISchemaRegistryClient.GetSchemaAsync));
        var reader = new JsonSchemaSerDes<Value>(silent) { RegistryWaitTimeout = TimeSpan.FromMilliseconds(300) };
        Exception? failure = null;

        var thread = new Thread(() => failure = Record.Exception(() => reader.Deserialize(bytes, ValueOf(topic)))) { IsBackground = true };
        thread.Start();

        Assert.True(thread.Join(StreamsKit.Patience), "the cold read was still waiting for a registry that never answers");
        var unavailable = Assert.IsType<JsonSerdeException>(failure);
        Assert.Equal(JsonSerdeFailure.RegistryUnavailable, unavailable.Failure);
        Assert.True(unavailable.IsRetriable);
        Assert.Contains("RegistryWaitTimeout", unavailable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Protobuf_serdes_write_the_core_serializers_bytes_read_them_back_and_warm_up()
    {
        var topic = StreamsKit.Unique("proto");
        using var client = registry.Client();
        var serdes = new ProtobufSerDes<User>(client);
        var reader = new ProtobufSerDes<User>(registry.Client());
        var user = new User { Name = "Ada", FavoriteNumber = 7, FavoriteColor = "green" };

        await serdes.WarmUpSerializerAsync(topic);
        var bytes = serdes.Serialize(user, ValueOf(topic));
        await reader.WarmUpDeserializerAsync(topic);

        Assert.Equal(await new ProtobufSerializer<User>(client).SerializeAsync(user, ValueOf(topic)), bytes);
        Assert.Equal(user, reader.Deserialize(bytes, ValueOf(topic)));
        Assert.Equal(0, serdes.SerializerWaits);
        Assert.Equal(0, reader.DeserializerWaits);

        var mismatch = Assert.Throws<ProtobufSerdeException>(() => reader.Deserialize([0, 0, 0, 0, 1, 0, 0xFF], ValueOf(topic)));
        Assert.False(mismatch.IsRetriable);
    }

    /// <summary>A context that accepts callbacks and never runs them: anything that needs it to continue hangs.</summary>
    private sealed class NeverRunningContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state)
        {
        }

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();
    }
}

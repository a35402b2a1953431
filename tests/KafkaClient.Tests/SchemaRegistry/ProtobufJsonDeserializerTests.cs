using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Google.Protobuf;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Testing;
using KafkaClient.Tests.Protos;
using KafkaClient.Tests.Protos.Catalog;
using KafkaClient.Tests.Protos.Common;
using KafkaClient.Tests.Protos.Indexes;
using KafkaClient.Tests.Protos.Orders;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The untyped decoder: any record into JSON from the writer's schema, checked against Google.Protobuf's own JSON of the typed message.</summary>
public sealed class ProtobufJsonDeserializerTests : IAsyncLifetime
{
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "mixed");
    private EmbeddedSchemaRegistry _registry = null!;
    private CachedSchemaRegistryClient _client = null!;

    public async Task InitializeAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync();
        _client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url, MaxRetries = 1 });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry.DisposeAsync();
    }

    private async Task<JsonNode> RoundTripAsync<T>(T message, ProtobufSerdeConfig? config = null)
        where T : IMessage<T>, new()
    {
        var bytes = await new ProtobufSerializer<T>(_client, config).SerializeAsync(message, new SerializationContext(MessageComponentType.Value, $"t-{typeof(T).Name}"));
        return await new ProtobufJsonDeserializer(_client, config).DeserializeAsync(bytes, false, Value);
    }

    /// <summary>What Google.Protobuf's JsonFormatter writes for the typed message, as an Any.</summary>
    private static JsonObject Expected(IMessage message)
    {
        var expected = new JsonObject { ["@type"] = $"type.googleapis.com/{message.Descriptor.FullName}" };
        foreach (var (name, value) in JsonNode.Parse(JsonFormatter.Default.Format(message))!.AsObject().ToList())
        {
            expected[name] = value?.DeepClone();
        }

        return expected;
    }

    [Fact]
    public async Task A_message_with_imports_decodes_as_googles_json_formatter_writes_it()
    {
        var order = new Order
        {
            Id = "o-1",
            PlacedAt = new Timestamp { Seconds = 1_700_000_000, Nanos = 5_000_000 },
            Total = new Money { Currency = "EUR", Units = long.MaxValue, Nanos = -3 },
            Lines = { new Order.Types.Line { Sku = "a", Quantity = 1 }, new Order.Types.Line { Sku = "b", Quantity = -2 } },
        };
        var json = await RoundTripAsync(order);
        Assert.True(JsonNode.DeepEquals(Expected(order), json), json.ToJsonString());
        Assert.Equal("2023-11-14T22:13:20.005Z", json["placedAt"]!.GetValue<string>());
        Assert.Equal(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), json["total"]!["units"]!.GetValue<string>());
    }

    [Fact]
    public async Task References_two_levels_deep_are_fetched_and_built()
    {
        var product = new Product { Sku = "p", Category = new Category { Name = "c", MinimumPrice = new Money { Units = 3 } }, Price = new Money { Currency = "USD" } };
        var json = await RoundTripAsync(product);
        Assert.True(JsonNode.DeepEquals(Expected(product), json), json.ToJsonString());
    }

    [Fact]
    public async Task One_deserializer_reads_several_message_types_and_says_which()
    {
        var deserializer = new ProtobufJsonDeserializer(_client);
        var user = await new ProtobufSerializer<User>(_client).SerializeAsync(new User { Name = "ada", FavoriteNumber = 3 }, Value);
        var nested = await new ProtobufSerializer<Third.Types.A.Types.B3>(_client, new ProtobufSerdeConfig(new Dictionary<string, string> { ["subject.name.strategy"] = "record" })).SerializeAsync(new Third.Types.A.Types.B3 { V = "deep" }, Value);

        var first = await deserializer.DeserializeAsync(user, false, Value);
        var second = await deserializer.DeserializeAsync(nested, false, Value);
        Assert.Equal("type.googleapis.com/kafkaclient.tests.User", first["@type"]!.GetValue<string>());
        Assert.Equal("3", first["favoriteNumber"]!.GetValue<string>());
        Assert.Equal("type.googleapis.com/kafkaclient.tests.indexes.Third.A.B3", second["@type"]!.GetValue<string>());
        Assert.Equal("deep", second["v"]!.GetValue<string>());
        Assert.Null(await deserializer.DeserializeAsync(ReadOnlyMemory<byte>.Empty, true, Value));
    }

    [Fact]
    public async Task A_well_known_type_as_the_record_sits_under_value()
    {
        var json = await RoundTripAsync(new Timestamp { Seconds = 0 });
        Assert.Equal("type.googleapis.com/google.protobuf.Timestamp", json["@type"]!.GetValue<string>());
        Assert.Equal("1970-01-01T00:00:00Z", json["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task Bad_frames_fail_typed()
    {
        var good = await new ProtobufSerializer<Second>(_client).SerializeAsync(new Second { S = "v" }, Value);
        var id = good[1..5];
        var deserializer = new ProtobufJsonDeserializer(_client);
        foreach (var (frame, failure) in new (byte[], ProtobufSerdeFailure)[]
        {
            ([7, .. id, 0], ProtobufSerdeFailure.InvalidFrame),
            ([0, .. id, 0x80], ProtobufSerdeFailure.InvalidFrame),
            ([0, .. id, 2, 30], ProtobufSerdeFailure.InvalidFrame),
            ([0, .. id, 2, 2, 0x0A, 4, (byte)'x'], ProtobufSerdeFailure.MalformedPayload),
            ([0, 0, 1, 0, 0, 0], ProtobufSerdeFailure.UnknownSchema),
        })
        {
            var ex = await Assert.ThrowsAsync<ProtobufSerdeException>(() => deserializer.DeserializeAsync(frame, false, Value));
            Assert.Equal(failure, ex.Failure);
        }
    }
}

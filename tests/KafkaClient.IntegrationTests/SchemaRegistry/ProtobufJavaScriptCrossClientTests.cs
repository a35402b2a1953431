using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Tests.Protos.Common;
using KafkaClient.Tests.Protos.Orders;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>
/// Protobuf bytes written here are read by Confluent's current JavaScript serdes (@confluentinc/schemaregistry 1.10.1 with
/// @bufbuild/protobuf 2) and theirs are read here, through the cluster and the registry.
/// </summary>
/// <remarks>
/// The peer (JavaScript/protobuf_peer.js) moves records with kafkajs, a pure JavaScript Kafka client, which speaks to
/// the embedded cluster as it is; Confluent's own JavaScript Kafka client needs a native librdkafka build. Its message
/// types come from the descriptor set protoc writes for tests/Protos, as without generated code.
/// </remarks>
[Collection(KafkaCollection.Name)]
public class ProtobufJavaScriptCrossClientTests(KafkaFixture kafka)
{
    private const string Node = "node";
    private static readonly string Peer = JavaScriptPeer.Script("protobuf_peer.js");
    private static readonly string Protos = Path.Combine(AppContext.BaseDirectory, "Protos");
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(120);

    /// <summary>Writes the descriptor set of orders/order.proto and its imports with the system's protoc.</summary>
    private static async Task<string> DescriptorSetAsync()
    {
        var output = Path.Combine(Path.GetTempPath(), $"protos-js-{Guid.NewGuid():N}.pb");
        await ExternalTool.RunAsync("protoc", ["--include_imports", $"--descriptor_set_out={output}", "-I", Protos, "orders/order.proto"], timeout: TimeSpan.FromSeconds(60));
        return output;
    }

    private static Order NetOrder(int i) => new()
    {
        Id = $"net-{i}",
        PlacedAt = new Timestamp { Seconds = 1_800_000_000 + i },
        Total = new Money { Currency = "USD", Units = i + 1 },
        Lines = { new Order.Types.Line { Sku = $"net-sku-{i}", Quantity = 5 } },
    };

    [RequiresJavaScriptPeerFact]
    public async Task We_read_what_confluents_javascript_serializer_writes()
    {
        var orders = KafkaFixture.Unique("js-orders");
        var lines = KafkaFixture.Unique("js-lines");
        await kafka.CreateTopicAsync(orders, 1);
        await kafka.CreateTopicAsync(lines, 1);
        var descriptors = await DescriptorSetAsync();
        var writtenOrders = Parse(await ExternalTool.RunAsync(Node, [Peer, "produce", kafka.BootstrapServers, kafka.SchemaRegistryUrl, orders, descriptors, "order", "3"], timeout: PeerTimeout));
        var writtenLines = Parse(await ExternalTool.RunAsync(Node, [Peer, "produce", kafka.BootstrapServers, kafka.SchemaRegistryUrl, lines, descriptors, "line", "3"], timeout: PeerTimeout));

        using var registry = kafka.RegistryClient();

        // The serializer registered the local import as a reference, under its import path; not the well-known timestamp.proto.
        var orderSchema = await registry.GetLatestSchemaAsync($"{orders}-value");
        var money = Assert.Single(orderSchema.References);
        Assert.Equal(("common/money.proto", "common/money.proto"), (money.Name, money.Subject));
        Assert.Contains("common/money.proto", await registry.GetAllSubjectsAsync());
        Assert.Equal(orderSchema.Id, (await registry.GetLatestSchemaAsync($"{lines}-value")).Id); // the same file, for Order and Order.Line

        // The frames: magic byte, the registered id, then the zig-zag message-index path ([0] as 00, [0, 0] as 04 00 00).
        var orderFrame = Convert.FromHexString(writtenOrders[0]["hex"]!.GetValue<string>());
        var lineFrame = Convert.FromHexString(writtenLines[0]["hex"]!.GetValue<string>());
        Assert.Equal(0, orderFrame[0]);
        Assert.Equal(orderSchema.Id, BinaryPrimitives.ReadInt32BigEndian(orderFrame.AsSpan(1)));
        Assert.Equal([0x00], orderFrame[5..6]);
        Assert.Equal([0x04, 0x00, 0x00], lineFrame[5..8]);

        await using (var consumer = new DeserializingConsumerBuilder<string, Order>(kafka.Consumer(KafkaFixture.Unique("g")))
            .SetValueDeserializer(new ProtobufDeserializer<Order>(registry))
            .Build())
        {
            consumer.Subscribe(orders);
            var read = await Records.PollManyAsync(consumer, 3);
            Assert.Equal(["js-0", "js-1", "js-2"], read.Select(r => r.Message.Value.Id));
            Assert.Equal(1_750_000_002, read[2].Message.Value.PlacedAt.Seconds);
            Assert.Equal(("CHF", 300L), (read[2].Message.Value.Total.Currency, read[2].Message.Value.Total.Units));
            Assert.Equal(["js-sku-1", "js-extra"], read[1].Message.Value.Lines.Select(l => l.Sku));
            Assert.Equal([2, 7], read[1].Message.Value.Lines.Select(l => l.Quantity));
        }

        // The nested message at [0, 0], in the current encoding: no use.deprecated.format here.
        await using (var consumer = new DeserializingConsumerBuilder<string, Order.Types.Line>(kafka.Consumer(KafkaFixture.Unique("g")))
            .SetValueDeserializer(new ProtobufDeserializer<Order.Types.Line>(registry))
            .Build())
        {
            consumer.Subscribe(lines);
            var read = await Records.PollManyAsync(consumer, 3);
            Assert.Equal(["js-line-0", "js-line-1", "js-line-2"], read.Select(r => r.Message.Value.Sku));
            Assert.Equal([1, 2, 3], read.Select(r => r.Message.Value.Quantity));
        }
    }

    [RequiresJavaScriptPeerFact]
    public async Task Confluents_javascript_deserializer_reads_what_we_write()
    {
        var orders = KafkaFixture.Unique("to-js-orders");
        var lines = KafkaFixture.Unique("to-js-lines");
        await kafka.CreateTopicAsync(orders, 1);
        await kafka.CreateTopicAsync(lines, 1);
        using var registry = kafka.RegistryClient();
        await using (var producer = new SerializingProducerBuilder<string, Order>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<Order>(registry))
            .Build())
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(orders, $"net-{i}", NetOrder(i));
            }
        }

        await using (var producer = new SerializingProducerBuilder<string, Order.Types.Line>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<Order.Types.Line>(registry))
            .Build())
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(lines, $"net-{i}", new Order.Types.Line { Sku = $"net-line-{i}", Quantity = i });
            }
        }

        // The deserializer fetches the writer's schema and its reference with format=serialized and builds the types from them.
        var readOrders = Parse(await ExternalTool.RunAsync(Node, [Peer, "consume", kafka.BootstrapServers, kafka.SchemaRegistryUrl, orders, "3", KafkaFixture.Unique("js")], timeout: PeerTimeout));
        Assert.All(readOrders, o => Assert.Equal("kafkaclient.tests.orders.Order", o["type"]!.GetValue<string>()));
        Assert.Equal(["net-0", "net-1", "net-2"], readOrders.Select(o => o["value"]!["id"]!.GetValue<string>()));
        Assert.Equal("net-sku-2", readOrders[2]["value"]!["lines"]![0]!["sku"]!.GetValue<string>());
        Assert.Equal(5, readOrders[2]["value"]!["lines"]![0]!["quantity"]!.GetValue<int>());
        Assert.Equal("USD", readOrders[1]["value"]!["total"]!["currency"]!.GetValue<string>());
        Assert.Equal("2", readOrders[1]["value"]!["total"]!["units"]!.GetValue<string>()); // int64 is a string in Protobuf JSON
        Assert.Equal("2027-01-15T08:00:01Z", readOrders[1]["value"]!["placed_at"]!.GetValue<string>());

        var readLines = Parse(await ExternalTool.RunAsync(Node, [Peer, "consume", kafka.BootstrapServers, kafka.SchemaRegistryUrl, lines, "3", KafkaFixture.Unique("js")], timeout: PeerTimeout));
        Assert.All(readLines, l => Assert.Equal("kafkaclient.tests.orders.Order.Line", l["type"]!.GetValue<string>()));
        Assert.Equal(["net-line-0", "net-line-1", "net-line-2"], readLines.Select(l => l["value"]!["sku"]!.GetValue<string>()));
    }

    [RequiresJavaScriptPeerFact]
    public async Task Confluents_javascript_registry_client_registers_and_fetches_through_our_registry()
    {
        var prefix = KafkaFixture.Unique("js-registry");
        var answer = JsonNode.Parse(await ExternalTool.RunAsync(Node, [Peer, "registry", kafka.SchemaRegistryUrl, prefix, await DescriptorSetAsync()], timeout: PeerTimeout))!;
        var orderId = answer["orderId"]!.GetValue<int>();

        // What it registered, as our registry and Confluent's .NET client see it.
        using var registry = kafka.RegistryClient();
        Assert.Equal([$"{prefix}-money", $"{prefix}-order"], (await registry.GetAllSubjectsAsync()).Where(s => s.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var order = await registry.GetRegisteredSchemaAsync($"{prefix}-order", 1);
        Assert.Equal((orderId, Confluent.SchemaRegistry.SchemaType.Protobuf), (order.Id, order.SchemaType));
        var reference = Assert.Single(order.References);
        Assert.Equal(("common/money.proto", $"{prefix}-money", 1), (reference.Name, reference.Subject, reference.Version));
        var money = await registry.GetRegisteredSchemaAsync($"{prefix}-money", 1);
        Assert.Equal(answer["moneyId"]!.GetValue<int>(), money.Id);

        // The same schemas, whatever form the registry gives them back in (JS's descriptors carry every json_name,
        // so a schema another client registered first without them has the same id and its own text).
        ProtobufDependency[] moneyDependency = [new("common/money.proto", money.SchemaString)];
        Assert.Equal(ProtobufSchema.Parse(answer["registered"]!["money"]!.GetValue<string>()).Canonical, ProtobufSchema.Parse(money.SchemaString).Canonical);
        Assert.Equal(
            ProtobufSchema.Parse(answer["registered"]!["order"]!.GetValue<string>(), moneyDependency).Canonical,
            ProtobufSchema.Parse(order.SchemaString, moneyDependency).Canonical);

        // What it read back: the lookups by content, and the serialized forms the deserializer uses.
        Assert.Equal((1, orderId, 1), (answer["moneyVersion"]!.GetValue<int>(), answer["lookedUp"]!.GetValue<int>(), answer["orderVersion"]!.GetValue<int>()));
        var references = new JsonArray(new JsonObject { ["name"] = "common/money.proto", ["subject"] = $"{prefix}-money", ["version"] = 1 });
        foreach (var fetched in new[] { answer["latest"]!, answer["byId"]! })
        {
            Assert.True(fetched["sameSchema"]!.GetValue<bool>());
            Assert.True(JsonNode.DeepEquals(references, fetched["references"]), fetched.ToJsonString());
            Assert.Equal("orders/order.proto", fetched["file"]!["name"]!.GetValue<string>());
            Assert.Equal(["google/protobuf/timestamp.proto", "common/money.proto"], fetched["file"]!["dependency"]!.AsArray().Select(d => d!.GetValue<string>()));
            Assert.Equal(["Order"], fetched["file"]!["messages"]!.AsArray().Select(m => m!.GetValue<string>()));
        }

        Assert.Equal((orderId, 1, $"{prefix}-order"), (answer["latest"]!["id"]!.GetValue<int>(), answer["latest"]!["version"]!.GetValue<int>(), answer["latest"]!["subject"]!.GetValue<string>()));
        // The referenced file may have been registered first by another client, without json_names: the same schema.
        Assert.Equal(ProtobufSchema.Parse(money.SchemaString).Canonical, ProtobufSchema.Parse(answer["reference"]!["schema"]!.GetValue<string>()).Canonical);
        Assert.Equal("common/money.proto", answer["reference"]!["file"]!["name"]!.GetValue<string>());
        Assert.Equal([$"{prefix}-money", $"{prefix}-order"], answer["subjects"]!.AsArray().Select(s => s!.GetValue<string>()).Order(StringComparer.Ordinal));
    }

    private static List<JsonNode> Parse(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
}

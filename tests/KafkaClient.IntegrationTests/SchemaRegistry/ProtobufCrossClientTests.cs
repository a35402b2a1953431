using System.Text.Json.Nodes;
using Confluent.Kafka;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Tests.Protos.Common;
using KafkaClient.Tests.Protos.Orders;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>Protobuf bytes written here are read by Confluent's Python client (1.7, the pre-1.8.2 index encoding) and its bytes are read here.</summary>
[Collection(KafkaCollection.Name)]
public class ProtobufCrossClientTests(KafkaFixture kafka)
{
    private const string Python = "/usr/bin/python3";
    private const string Packages = "python3-confluent-kafka python3-protobuf protobuf-compiler";
    private static readonly string Peer = Path.Combine(AppContext.BaseDirectory, "Python", "protobuf_peer.py");
    private static readonly string Protos = Path.Combine(AppContext.BaseDirectory, "Protos");
    private static readonly ProtobufSerdeConfig Deprecated = new(new Dictionary<string, string> { ["use.deprecated.format"] = "true" });

    /// <summary>Generates the Python modules of tests/Protos with the system's protoc, as a Python user would.</summary>
    private static async Task<string> PythonModulesAsync()
    {
        var output = Path.Combine(Path.GetTempPath(), $"protos-py-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        await ExternalTool.RunAsync("protoc", [$"--python_out={output}", "-I", Protos, "orders/order.proto", "common/money.proto"], timeout: TimeSpan.FromSeconds(60));
        return output;
    }

    private static Order NetOrder(int i) => new()
    {
        Id = $"net-{i}",
        PlacedAt = new Timestamp { Seconds = 1_800_000_000 + i },
        Total = new Money { Currency = "USD", Units = i + 1 },
        Lines = { new Order.Types.Line { Sku = $"net-sku-{i}", Quantity = 5 } },
    };

    [RequiresToolFact(Python, Packages, "confluent_kafka.schema_registry.protobuf")]
    public async Task We_read_what_confluents_python_client_writes()
    {
        var orders = KafkaFixture.Unique("py-orders");
        var lines = KafkaFixture.Unique("py-lines");
        await kafka.CreateTopicAsync(orders, 1);
        await kafka.CreateTopicAsync(lines, 1);
        var modules = await PythonModulesAsync();
        await ExternalTool.RunAsync(Python, [Peer, "produce", kafka.BootstrapServers, kafka.SchemaRegistryUrl, orders, modules, "order", "3"], timeout: TimeSpan.FromSeconds(120));
        await ExternalTool.RunAsync(Python, [Peer, "produce", kafka.BootstrapServers, kafka.SchemaRegistryUrl, lines, modules, "line", "3"], timeout: TimeSpan.FromSeconds(120));

        using var registry = kafka.RegistryClient();

        // Python 1.7 registers every import as a reference, well-known ones included.
        var subjects = await registry.GetAllSubjectsAsync();
        Assert.Contains("common/money.proto", subjects);
        Assert.Contains("google/protobuf/timestamp.proto", subjects);

        // Path [0] reads the same in both encodings.
        await using (var consumer = new DeserializingConsumerBuilder<string, Order>(kafka.Consumer(KafkaFixture.Unique("g")))
            .SetValueDeserializer(new ProtobufDeserializer<Order>(registry))
            .Build())
        {
            consumer.Subscribe(orders);
            var read = await Records.PollManyAsync(consumer, 3);
            Assert.Equal(["py-0", "py-1", "py-2"], read.Select(r => r.Message.Value.Id));
            Assert.Equal(1_700_000_002, read[2].Message.Value.PlacedAt.Seconds);
            Assert.Equal(("EUR", 30L), (read[2].Message.Value.Total.Currency, read[2].Message.Value.Total.Units));
            Assert.Equal("sku-1", read[1].Message.Value.Lines.Single().Sku);
        }

        // The nested message's path [0, 0] needs the deprecated encoding.
        await using (var consumer = new DeserializingConsumerBuilder<string, Order.Types.Line>(kafka.Consumer(KafkaFixture.Unique("g")))
            .SetValueDeserializer(new ProtobufDeserializer<Order.Types.Line>(registry, Deprecated))
            .Build())
        {
            consumer.Subscribe(lines);
            var read = await Records.PollManyAsync(consumer, 3);
            Assert.Equal(["py-line-0", "py-line-1", "py-line-2"], read.Select(r => r.Message.Value.Sku));
        }

        // Without it, the record is refused with the reason instead of read wrongly.
        await using (var consumer = new DeserializingConsumerBuilder<string, Order.Types.Line>(kafka.Consumer(KafkaFixture.Unique("g")))
            .SetValueDeserializer(new ProtobufDeserializer<Order.Types.Line>(registry))
            .Build())
        {
            consumer.Subscribe(lines);
            // Python's [0, 0] (02 00 00) reads as the zig-zag path [0]: the file's Order, not a Line.
            var ex = await Assert.ThrowsAnyAsync<DeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
            var cause = Assert.IsType<ProtobufSerdeException>(ex.InnerException);
            Assert.Equal(ProtobufSerdeFailure.ReaderMismatch, cause.Failure);
            Assert.Contains("use.deprecated.format=true", cause.Message, StringComparison.Ordinal);
        }
    }

    [RequiresToolFact(Python, Packages, "confluent_kafka.schema_registry.protobuf")]
    public async Task Confluents_python_client_reads_what_we_write()
    {
        var orders = KafkaFixture.Unique("to-py-orders");
        var lines = KafkaFixture.Unique("to-py-lines");
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
            .SetValueSerializer(new ProtobufSerializer<Order.Types.Line>(registry, Deprecated))
            .Build())
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(lines, $"net-{i}", new Order.Types.Line { Sku = $"net-line-{i}", Quantity = i });
            }
        }

        var modules = await PythonModulesAsync();
        var readOrders = Parse(await ExternalTool.RunAsync(Python, [Peer, "consume", kafka.BootstrapServers, orders, modules, "order", "3", KafkaFixture.Unique("py")], timeout: TimeSpan.FromSeconds(120)));
        Assert.Equal(["net-0", "net-1", "net-2"], readOrders.Select(l => l["value"]!["id"]!.GetValue<string>()));
        Assert.Equal("net-sku-2", readOrders[2]["value"]!["lines"]![0]!["sku"]!.GetValue<string>());
        Assert.Equal("USD", readOrders[1]["value"]!["total"]!["currency"]!.GetValue<string>());
        Assert.Equal("2027-01-15T08:00:01Z", readOrders[1]["value"]!["placed_at"]!.GetValue<string>());

        var readLines = Parse(await ExternalTool.RunAsync(Python, [Peer, "consume", kafka.BootstrapServers, lines, modules, "line", "3", KafkaFixture.Unique("py")], timeout: TimeSpan.FromSeconds(120)));
        Assert.Equal(["net-line-0", "net-line-1", "net-line-2"], readLines.Select(l => l["value"]!["sku"]!.GetValue<string>()));
    }

    private static List<JsonNode> Parse(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
}

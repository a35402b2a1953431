using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using KafkaClient.SchemaRegistry.Json;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>Bytes written here are read by Confluent's clients and theirs are read here, through the cluster and the registry.</summary>
[Collection(KafkaCollection.Name)]
public class CrossClientTests(KafkaFixture kafka)
{
    private const string Python = "/usr/bin/python3";
    private static readonly string Peer = Path.Combine(AppContext.BaseDirectory, "Python", "json_peer.py");

    private async Task<string> SchemaFileAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"user-schema-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, User.Schema);
        return path;
    }

    [RequiresToolFact(Python, "python3-confluent-kafka python3-jsonschema python3-requests", "confluent_kafka.schema_registry.json_schema")]
    public async Task Confluents_python_client_reads_what_we_write()
    {
        var topic = KafkaFixture.Unique("to-python");
        await kafka.CreateTopicAsync(topic, 1);
        using var registry = kafka.RegistryClient();
        await using (var producer = new SerializingProducerBuilder<string, User>(kafka.Producer())
            .SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json))
            .Build())
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(topic, $"net-{i}", new User($"net-{i}", i + 1, "blue", $"@net{i}"));
            }
        }

        var output = await ExternalTool.RunAsync(Python, [Peer, "consume", kafka.BootstrapServers, topic, await SchemaFileAsync(), "3", KafkaFixture.Unique("py")], timeout: TimeSpan.FromSeconds(120));

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["net-0", "net-1", "net-2"], lines.Select(l => l["key"]!.GetValue<string>()));
        Assert.Equal([1, 2, 3], lines.Select(l => l["value"]!["favorite_number"]!.GetValue<int>()));
        Assert.Equal("@net2", lines[2]["value"]!["twitter_handle"]!.GetValue<string>());
    }

    [RequiresToolFact(Python, "python3-confluent-kafka python3-jsonschema python3-requests", "confluent_kafka.schema_registry.json_schema")]
    public async Task We_read_what_confluents_python_client_writes()
    {
        var topic = KafkaFixture.Unique("from-python");
        await kafka.CreateTopicAsync(topic, 1);

        await ExternalTool.RunAsync(Python, [Peer, "produce", kafka.BootstrapServers, kafka.SchemaRegistryUrl, topic, await SchemaFileAsync(), "3"], timeout: TimeSpan.FromSeconds(120));

        using var registry = kafka.RegistryClient();
        Assert.Equal([1], await registry.GetSubjectVersionsAsync($"{topic}-value")); // Python registered the schema here
        await using var consumer = new DeserializingConsumerBuilder<string, User>(kafka.Consumer(KafkaFixture.Unique("from-python")))
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["validate.on.deserialize"] = "true" }), User.Json))
            .Build();
        consumer.Subscribe(topic);
        var users = new List<User>();
        while (users.Count < 3 && await consumer.PollAsync(TimeSpan.FromSeconds(30)) is { } record)
        {
            users.Add(record.Message.Value);
        }

        Assert.Equal([new User("py-0", 1, "green"), new User("py-1", 2, "green"), new User("py-2", 3, "green")], users);
    }

    [Fact]
    public async Task Confluents_dotnet_json_serdes_and_ours_read_each_other()
    {
        var topic = KafkaFixture.Unique("dotnet-peer");
        await kafka.CreateTopicAsync(topic, 1);
        using var registry = kafka.RegistryClient();
        var theirsSchema = new Schema(User.Schema, SchemaType.Json);

        // Confluent's serializer writes one, ours writes another.
        using (var theirs = new ProducerBuilder<string, ConfluentUser>(kafka.Producer())
            .SetValueSerializer(new JsonSerializer<ConfluentUser>(registry, theirsSchema))
            .Build())
        {
            await theirs.ProduceAsync(topic, new Message<string, ConfluentUser> { Key = "theirs", Value = new ConfluentUser { name = "theirs", favorite_number = 1, favorite_color = "red" } });
        }

        await using (var ours = new SerializingProducerBuilder<string, User>(kafka.Producer())
            .SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json))
            .Build())
        {
            await ours.ProduceAsync(topic, "ours", new User("ours", 2, "blue"));
        }

        // Ours reads both.
        await using (var consumer = new DeserializingConsumerBuilder<string, User>(kafka.Consumer(KafkaFixture.Unique("ours-reads")))
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, jsonOptions: User.Json))
            .Build())
        {
            consumer.Subscribe(topic);
            Assert.Equal("theirs", (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.Name);
            Assert.Equal("ours", (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.Name);
        }

        // Theirs reads both, through our consumer (their deserializer is asynchronous).
        await using var theirsReading = new DeserializingConsumerBuilder<string, ConfluentUser>(kafka.Consumer(KafkaFixture.Unique("theirs-reads")))
            .SetValueDeserializer(new JsonDeserializer<ConfluentUser>(registry))
            .Build();
        theirsReading.Subscribe(topic);
        Assert.Equal("theirs", (await theirsReading.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.name);
        Assert.Equal(2, (await theirsReading.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.favorite_number);
    }

#pragma warning disable SA1300, IDE1006 // Field names as on the wire, for Newtonsoft.
    public sealed class ConfluentUser
    {
        public string name { get; set; } = string.Empty;

        public long favorite_number { get; set; }

        public string favorite_color { get; set; } = string.Empty;

        public string? twitter_handle { get; set; }
    }
#pragma warning restore SA1300, IDE1006
}

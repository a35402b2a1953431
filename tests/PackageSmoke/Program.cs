// Uses the three libraries as a user does, from their packages: an embedded cluster and registry
// (KafkaClient.Testing), one JSON Schema message produced and consumed (KafkaClient, KafkaClient.SchemaRegistry).
// Prints the version of each library it loaded, so that its caller can tell they came from the packages under test.
using System.Reflection;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Testing;

const string Topic = "package-smoke";
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));

foreach (var type in new[] { typeof(SerializingProducer<,>), typeof(JsonSchemaSerializer<>), typeof(EmbeddedKafkaCluster) })
{
    var assembly = type.Assembly;
    Console.WriteLine($"loaded {assembly.GetName().Name} {assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");
}

await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
await using var embeddedRegistry = await EmbeddedSchemaRegistry.StartAsync(cancellationToken: timeout.Token);
using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embeddedRegistry.Url });
cluster.CreateTopic(Topic, partitions: 1);
var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);

var sent = new Reading("kitchen", 21.5);
await using (var producer = new SerializingProducerBuilder<string, Reading>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers })
    .SetValueSerializer(new JsonSchemaSerializer<Reading>(registry, Reading.Schema, jsonOptions: json))
    .Build())
{
    var result = await producer.ProduceAsync(Topic, sent.Sensor, sent, cancellationToken: timeout.Token);
    Console.WriteLine($"produced {result.Key} to {result.Topic} [{result.Partition.Value}] @ {result.Offset.Value}");
}

var registered = await registry.GetLatestSchemaAsync($"{Topic}-value");
Console.WriteLine($"registered {Topic}-value as {registered.SchemaType} schema {registered.Id}");

await using var consumer = new DeserializingConsumerBuilder<string, Reading>(new ConsumerConfig
{
    BootstrapServers = cluster.BootstrapServers,
    GroupId = "package-smoke",
    AutoOffsetReset = AutoOffsetReset.Earliest,
})
    .SetValueDeserializer(new JsonSchemaDeserializer<Reading>(registry, jsonOptions: json))
    .Build();
consumer.Subscribe(Topic);
Reading? received = null;
await foreach (var record in consumer.ConsumeAsync(timeout.Token))
{
    received = record.Message.Value;
    Console.WriteLine($"consumed {record.Message.Key}: {received}");
    break;
}

if (registered.SchemaType != SchemaType.Json || received != sent)
{
    Console.Error.WriteLine($"package smoke failed: sent {sent}, received {received?.ToString() ?? "nothing"}, schema type {registered.SchemaType}");
    return 1;
}

Console.WriteLine("package smoke passed");
return 0;

/// <summary>The message: a sensor reading.</summary>
internal sealed record Reading(string Sensor, double Celsius)
{
    public const string Schema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "Reading",
          "type": "object",
          "properties": {
            "sensor": { "type": "string" },
            "celsius": { "type": "number" }
          },
          "required": ["sensor", "celsius"],
          "additionalProperties": false
        }
        """;
}

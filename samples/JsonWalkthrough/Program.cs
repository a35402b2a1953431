// Confluent's Python walkthrough (json_producer.py, json_consumer.py), in C#:
// JSON users with a string key on topic user_json, read back by a consumer group from earliest,
// and the schema evolution that BACKWARD compatibility refuses.
//
// dotnet run --project samples/JsonWalkthrough [produce|consume|evolve]   (no argument: all three)
// Runs on an embedded Kafka cluster and Schema Registry unless KAFKA_BOOTSTRAP_SERVERS and
// SCHEMA_REGISTRY_URL point elsewhere (for example at `dotnet run --project src/KafkaClient.DevStack`).
using System.Text.Json;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Testing;

const string Topic = "user_json";
var step = args.FirstOrDefault() ?? "all";

var kafkaUrl = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS");
var registryUrl = Environment.GetEnvironmentVariable("SCHEMA_REGISTRY_URL");
await using var cluster = string.IsNullOrEmpty(kafkaUrl) ? EmbeddedKafkaCluster.Start(brokerCount: 1) : null;
await using var embeddedRegistry = string.IsNullOrEmpty(registryUrl) ? await EmbeddedSchemaRegistry.StartAsync() : null;
var bootstrapServers = cluster?.BootstrapServers ?? kafkaUrl!;
using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embeddedRegistry?.Url ?? registryUrl! });
cluster?.CreateTopic(Topic, partitions: 1);

var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

if (step is "produce" or "all")
{
    await using var producer = new SerializingProducerBuilder<string, User>(new ProducerConfig { BootstrapServers = bootstrapServers })
        .SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: json))
        .Build();
    User[] users = [new("alice", 7, "blue", "@alice"), new("bob", 42, "green", null), new("carol", 3, "red", "@carol")];
    foreach (var user in users)
    {
        producer.Produce(Topic, user.Name, user, onDelivery: report => Console.WriteLine(report.Error.IsError
            ? $"Delivery failed for User record {report.Message.Key}: {report.Error.Reason}"
            : $"User record {report.Message.Key} successfully produced to {report.Topic} [{report.Partition.Value}] at offset {report.Offset.Value}"));
    }

    Console.WriteLine($"Flushing records... {await producer.FlushAsync(TimeSpan.FromSeconds(30))} left");
}

if (step is "consume" or "all")
{
    await using var consumer = new DeserializingConsumerBuilder<string, User>(new ConsumerConfig
    {
        BootstrapServers = bootstrapServers,
        GroupId = "json-consumer-group-1",
        AutoOffsetReset = AutoOffsetReset.Earliest,
    })
        .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, jsonOptions: json))
        .Build();
    consumer.Subscribe(Topic);

    // Up to a minute for the first record (joining a group the last run just left takes up to session.timeout.ms,
    // 45 s, on the dev stack), then 10 s without a record ends the step.
    using var idle = new CancellationTokenSource(TimeSpan.FromSeconds(60));
    var count = 0;
    await foreach (var record in consumer.ConsumeAsync(idle.Token))
    {
        idle.CancelAfter(TimeSpan.FromSeconds(10));
        var user = record.Message.Value;
        Console.WriteLine($"User record {record.Message.Key}: name: {user.Name}, favorite_number: {user.FavoriteNumber}, favorite_color: {user.FavoriteColor}, twitter_handle: {user.TwitterHandle}");
        if (++count == 3 && step == "all")
        {
            break;
        }
    }

    if (count < 3 && step == "all")
    {
        Console.WriteLine($"Only {count} of the 3 User records consumed.");
        return 1;
    }
}

if (step is "evolve" or "all")
{
    // Adding a required field: old records lack it, so BACKWARD compatibility refuses the new schema.
    await using var producer = new SerializingProducerBuilder<string, User>(new ProducerConfig { BootstrapServers = bootstrapServers })
        .SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.SchemaWithRequiredEmail, jsonOptions: json))
        .Build();
    try
    {
        await producer.ProduceAsync(Topic, "dave", new User("dave", 1, "black", null));
        Console.WriteLine("Unexpected: the incompatible schema was accepted.");
        return 1;
    }
    catch (ValueSerializationException ex) when (ex.InnerException is JsonSerdeException { Failure: JsonSerdeFailure.RegistryRefused, InnerException: SchemaRegistryException { ErrorCode: 409 } refusal })
    {
        Console.WriteLine($"Refused as expected: {refusal.Message}");
    }
}

return 0;

/// <summary>The walkthrough's user.</summary>
internal sealed record User(string Name, long FavoriteNumber, string FavoriteColor, string? TwitterHandle)
{
    public const string Schema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "User",
          "description": "A Confluent Kafka Python User",
          "type": "object",
          "properties": {
            "name": { "description": "User's name", "type": "string" },
            "favorite_number": { "description": "User's favorite number", "type": "number", "exclusiveMinimum": 0 },
            "favorite_color": { "description": "User's favorite color", "type": "string" },
            "twitter_handle": { "description": "User's twitter handle", "type": ["string", "null"] }
          },
          "required": ["name", "favorite_number", "favorite_color"]
        }
        """;

    public const string SchemaWithRequiredEmail = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "User",
          "description": "A Confluent Kafka Python User",
          "type": "object",
          "properties": {
            "name": { "description": "User's name", "type": "string" },
            "favorite_number": { "description": "User's favorite number", "type": "number", "exclusiveMinimum": 0 },
            "favorite_color": { "description": "User's favorite color", "type": "string" },
            "twitter_handle": { "description": "User's twitter handle", "type": ["string", "null"] },
            "email": { "description": "User's email", "type": "string" }
          },
          "required": ["name", "favorite_number", "favorite_color", "email"]
        }
        """;
}

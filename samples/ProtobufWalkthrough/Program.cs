// Confluent's Python walkthrough, Protobuf half (protobuf_producer.py, protobuf_consumer.py), in C#:
// User messages with a string key on topic mytopic_protobuf, read back by a consumer group from earliest;
// a second message type whose .proto imports google/protobuf/timestamp.proto and a shared local file
// (registered as references); and a schema evolution that BACKWARD compatibility refuses.
//
// dotnet run --project samples/ProtobufWalkthrough [produce|consume|references|evolve]   (no argument: all four)
// Runs on an embedded Kafka cluster and Schema Registry unless KAFKA_BOOTSTRAP_SERVERS and
// SCHEMA_REGISTRY_URL point elsewhere (for example at `dotnet run --project src/KafkaClient.DevStack`).
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using KafkaClient;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Testing;
using ProtobufWalkthrough;
using ProtobufWalkthrough.Shared;

const string Topic = "mytopic_protobuf";
const string Signups = "signups_protobuf";
var step = args.FirstOrDefault() ?? "all";

var kafkaUrl = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS");
var registryUrl = Environment.GetEnvironmentVariable("SCHEMA_REGISTRY_URL");
await using var cluster = string.IsNullOrEmpty(kafkaUrl) ? EmbeddedKafkaCluster.Start(brokerCount: 1) : null;
await using var embeddedRegistry = string.IsNullOrEmpty(registryUrl) ? await EmbeddedSchemaRegistry.StartAsync() : null;
var bootstrapServers = cluster?.BootstrapServers ?? kafkaUrl!;
using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embeddedRegistry?.Url ?? registryUrl! });
cluster?.CreateTopic(Topic, partitions: 1);
cluster?.CreateTopic(Signups, partitions: 1);

if (step is "produce" or "all")
{
    await using var producer = new SerializingProducerBuilder<string, User>(new ProducerConfig { BootstrapServers = bootstrapServers })
        .SetValueSerializer(new ProtobufSerializer<User>(registry))
        .Build();
    User[] users =
    [
        new() { Name = "alice", FavoriteNumber = 7, FavoriteColor = "blue", TwitterHandle = "@alice" },
        new() { Name = "bob", FavoriteNumber = 42, FavoriteColor = "green" },
        new() { Name = "carol", FavoriteNumber = 3, FavoriteColor = "red", TwitterHandle = "@carol" },
    ];
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
        GroupId = "protobuf-consumer-group-1",
        AutoOffsetReset = AutoOffsetReset.Earliest,
    })
        .SetValueDeserializer(new ProtobufDeserializer<User>(registry))
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

if (step is "references" or "all")
{
    // signup.proto imports shared/address.proto: the serializer registers it first, as subject "shared/address.proto",
    // and the signup schema refers to it. google/protobuf/timestamp.proto is well known and needs no reference.
    await using (var producer = new SerializingProducerBuilder<string, Signup>(new ProducerConfig { BootstrapServers = bootstrapServers })
        .SetValueSerializer(new ProtobufSerializer<Signup>(registry))
        .Build())
    {
        var signup = new Signup
        {
            Name = "alice",
            SignedUpAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 11, 26, 9, 30, 0, TimeSpan.Zero)),
            Address = new Address { Street = "1 Main St", City = "Springfield", Country = "US" },
        };
        await producer.ProduceAsync(Signups, signup.Name, signup);
    }

    var latest = await registry.GetLatestSchemaAsync($"{Signups}-value");
    foreach (var reference in latest.References)
    {
        Console.WriteLine($"Schema {latest.Id} of {Signups}-value refers to {reference.Name} (subject {reference.Subject}, version {reference.Version})");
    }

    await using var consumer = new DeserializingConsumerBuilder<string, Signup>(new ConsumerConfig
    {
        BootstrapServers = bootstrapServers,
        GroupId = "protobuf-signups-1",
        AutoOffsetReset = AutoOffsetReset.Earliest,
    })
        .SetValueDeserializer(new ProtobufDeserializer<Signup>(registry))
        .Build();
    consumer.Subscribe(Signups);
    if (await consumer.PollAsync(TimeSpan.FromSeconds(60)) is not { } record)
    {
        Console.WriteLine("No Signup record consumed within a minute.");
        return 1;
    }

    var received = record.Message.Value;
    Console.WriteLine($"Signup record {record.Message.Key}: signed up at {received.SignedUpAt.ToDateTimeOffset():O} from {received.Address.City}, {received.Address.Country}");
}

if (step is "evolve" or "all")
{
    // Changing favorite_number from int64 to string: readers of the new schema cannot read old records,
    // so BACKWARD compatibility refuses it. (Adding or removing fields would be accepted.)
    const string Evolved = """
        syntax = "proto3";
        package walkthrough;

        message User {
          string name = 1;
          string favorite_number = 2;
          string favorite_color = 3;
          string twitter_handle = 4;
        }
        """;
    try
    {
        await registry.RegisterSchemaAsync($"{Topic}-value", new Schema(Evolved, SchemaType.Protobuf));
        Console.WriteLine("Unexpected: the incompatible schema was accepted.");
        return 1;
    }
    catch (SchemaRegistryException refusal) when (refusal.ErrorCode == 409)
    {
        Console.WriteLine($"Refused as expected: {refusal.Message}");
    }
}

return 0;

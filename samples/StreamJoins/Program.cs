// The walkthrough's ksqlDB joins in C#, in-process with Streamiz.Kafka.Net, values as JSON Schema through the registry:
//   table-table   CREATE TABLE table_table_join AS SELECT ... FROM left_table JOIN right_table ON ... (a row updated when either side changes)
//   stream-table  CREATE STREAM stream_table_join AS SELECT ... FROM left_stream JOIN right_table ON ... (each event with the latest row)
//   stream-stream CREATE STREAM stream_stream_join AS SELECT ... FROM left_stream JOIN right_stream WITHIN 1 MINUTE ON ...
// and a pull query (SELECT ... FROM table_table_join WHERE id = ...) answered from the joined table's state store.
// It prints each output record as it arrives.
//
// dotnet run --project samples/StreamJoins
// Runs on an embedded Kafka cluster and Schema Registry unless KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL point
// at a real cluster and registry (the topics then get a suffix of this run, so earlier runs' records stay out).
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Streams;
using KafkaClient.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Errors;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;

var patience = TimeSpan.FromSeconds(60);
var kafkaUrl = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS");
var registryUrl = Environment.GetEnvironmentVariable("SCHEMA_REGISTRY_URL");
await using var cluster = string.IsNullOrEmpty(kafkaUrl) ? EmbeddedKafkaCluster.Start(brokerCount: 1) : null;
await using var embeddedRegistry = string.IsNullOrEmpty(registryUrl) ? await EmbeddedSchemaRegistry.StartAsync() : null;
var bootstrapServers = cluster?.BootstrapServers ?? kafkaUrl!;
using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embeddedRegistry?.Url ?? registryUrl! });
var run = cluster is null ? $"-{Guid.NewGuid():N}"[..9] : string.Empty;
var (leftTableTopic, rightTableTopic, leftStreamTopic, rightStreamTopic) = ($"left_table{run}", $"right_table{run}", $"left_stream{run}", $"right_stream{run}");
var (tableTableTopic, streamTableTopic, streamStreamTopic) = ($"table_table_join{run}", $"stream_table_join{run}", $"stream_stream_join{run}");

// One partition each: every topic keeps one order, so what prints is the same on every run.
using var topicAdmin = cluster is null ? new TopicAdmin([new("bootstrap.servers", bootstrapServers)]) : null;
ITopicAdmin admin = cluster is not null ? cluster : topicAdmin!;
foreach (var topic in new[] { leftTableTopic, rightTableTopic, leftStreamTopic, rightStreamTopic, tableTableTopic, streamTableTopic, streamStreamTopic })
{
    await admin.CreateTopicAsync(topic, partitions: 1);
}

var rows = new JsonSchemaSerDes<Row>(registry);
var events = new JsonSchemaSerDes<Event>(registry);
var joined = new JsonSchemaSerDes<Joined>(registry);
var keys = new StringSerDes();
var builder = new StreamBuilder();
var leftTable = builder.Table(leftTableTopic, keys, rows, InMemory.As<string, Row>("left_table"));
var rightTable = builder.Table(rightTableTopic, keys, rows, InMemory.As<string, Row>("right_table"));
var leftStream = builder.Stream(leftStreamTopic, keys, events);
var rightStream = builder.Stream(rightStreamTopic, keys, events);

// Table-table: the joined table, materialized as "table_table_join" for pull queries.
leftTable
    .Join(rightTable, (left, right) => new Joined(left.Name, right.Name), InMemory.As<string, Joined>("table_table_join").WithKeySerdes(keys).WithValueSerdes(joined))
    .ToStream()
    .To(tableTableTopic, keys, joined);

// Stream-table: each left_stream event with the right_table row of its key at that moment (none: no output).
leftStream
    .Join(rightTable, (leftEvent, rightRow) => new Joined(leftEvent.Name, rightRow.Name))
    .To(streamTableTopic, keys, joined);

// Stream-stream: a left_stream event with each right_stream event of its key at most a minute apart, either way.
leftStream
    .Join(rightStream, (leftEvent, rightEvent) => new Joined(leftEvent.Name, rightEvent.Name), JoinWindowOptions.Of(TimeSpan.FromMinutes(1)), StreamJoinProps.With(keys, events, events))
    .To(streamStreamTopic, keys, joined);

var topology = builder.Build();
var stateDirectory = Directory.CreateTempSubdirectory("stream-joins-").FullName;
var applicationId = $"stream-joins{run}";
var config = new StreamConfig
{
    ApplicationId = applicationId,
    BootstrapServers = bootstrapServers,
    AutoOffsetReset = AutoOffsetReset.Earliest,
    StateDir = stateDirectory,
    Logger = NullLoggerFactory.Instance,
};
config.SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(poison => Console.WriteLine($"skipped poison record at {poison.TopicPartitionOffset}: {poison.InnerException?.Message}")));

// Embedded cluster only: it has no CreateTopics. A real cluster (and the dev stack) answers CreateTopics, so Streamiz
// creates the topology's changelogs when the stream starts, with their configs (compaction).
if (cluster is not null)
{
    var internalTopics = await InternalTopics.CreateAsync(topology, config.ApplicationId, cluster);
    foreach (var topic in internalTopics)
    {
        Console.WriteLine($"internal topic {topic.Name} ({topic.Kind}, {topic.Partitions} partition)");
    }
}
else
{
    Console.WriteLine($"Kafka at {bootstrapServers} (external): Streamiz creates the internal topics of application {config.ApplicationId}");
}

// The output subjects are registered before the first record, so no record waits for the registry.
await joined.WarmUpSerializerAsync(tableTableTopic);
await joined.WarmUpSerializerAsync(streamTableTopic);
await joined.WarmUpSerializerAsync(streamStreamTopic);

await using var rowProducer = Producer<Row>();
await using var eventProducer = Producer<Event>();
await using var reader = new DeserializingConsumerBuilder<string, Joined?>(new ConsumerConfig
{
    BootstrapServers = bootstrapServers,
    GroupId = $"stream-joins-reader{run}",
    AutoOffsetReset = AutoOffsetReset.Earliest,
})
    .SetValueDeserializer(new JsonSchemaDeserializer<Joined?>(registry))
    .Build();
reader.Subscribe([tableTableTopic, streamTableTopic, streamStreamTopic]);

using var stream = new KafkaStream(topology, config);
var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
stream.StateChanged += (_, state) =>
{
    if (state == KafkaStream.State.RUNNING)
    {
        running.TrySetResult();
    }
    else if (state == KafkaStream.State.ERROR)
    {
        running.TrySetException(new InvalidOperationException("The stream went to ERROR."));
    }
};
await stream.StartAsync();
await running.Task.WaitAsync(patience);

var start = new DateTimeOffset(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
var printed = new Dictionary<string, int>();

Console.WriteLine("-- table-table join: a row for each id in both tables, updated when either side changes");
await ProduceRow(leftTableTopic, "1", "apple", 0);
await ProduceRow(leftTableTopic, "2", "banana", 0);
await ProduceRow(rightTableTopic, "1", "red", 0);
await ProduceRow(rightTableTopic, "3", "blue", 0);
await Print(1);
await ProduceRow(rightTableTopic, "1", "green", 1); // the right side changes
await Print(1);
await ProduceRow(rightTableTopic, "2", "yellow", 2); // id 2 now has both sides
await Print(1);
await ProduceRow(leftTableTopic, "1", null, 3); // a tombstone deletes left row 1, and so the joined row
await Print(1);

Console.WriteLine("-- stream-table join: each left_stream event with the latest right_table row of its id");
await ProduceEvent(leftStreamTopic, "1", "event 1", 10);
await ProduceEvent(leftStreamTopic, "2", "event 2", 11);
await ProduceEvent(leftStreamTopic, "3", "event 3", 12);
await Print(3);
await ProduceRow(rightTableTopic, "1", "purple", 13);
await Until(() => Query<Row>("right_table", "1")?.Name == "purple", "right_table row 1 to be purple");
await ProduceEvent(leftStreamTopic, "1", "event 4", 14); // after the update: joined with purple
await ProduceEvent(leftStreamTopic, "2", "event 5", 15);
await ProduceEvent(leftStreamTopic, "4", "event 6", 16); // no right_table row 4: no output
await Print(2);

Console.WriteLine("-- stream-stream join within 1 minute");
await ProduceEvent(rightStreamTopic, "7", "right event 7", 100);
await ProduceEvent(rightStreamTopic, "8", "right event 8", 130);
await ProduceEvent(leftStreamTopic, "7", "event 7", 161); // its partner arrived 61 s earlier: not matched
await ProduceEvent(leftStreamTopic, "8", "event 8", 175); // its partner arrived 45 s earlier: matched
await Print(1);
Console.WriteLine("event 7 unmatched: right event 7 came 61 s before it, more than the minute");

Console.WriteLine("-- pull queries on the joined table");
foreach (var id in new[] { "1", "2", "3" })
{
    var row = await Eventually(() => Query<Joined>("table_table_join", id), id != "2");
    Console.WriteLine($"SELECT * FROM table_table_join WHERE id = '{id}';  -> {(row is null ? "no row" : $"left={row.Left} right={row.Right}")}");
}

stream.Dispose();
Directory.Delete(stateDirectory, recursive: true);
Console.WriteLine($"StreamJoins done: {Printed(tableTableTopic)} table-table, {Printed(streamTableTopic)} stream-table, {Printed(streamStreamTopic)} stream-stream records");
return;

ISerializingProducer<string, T?> Producer<T>()
    where T : class =>
    new SerializingProducerBuilder<string, T?>(new ProducerConfig { BootstrapServers = bootstrapServers })
        .SetValueSerializer(new JsonSchemaSerializer<T?>(registry))
        .Build();

Task ProduceRow(string topic, string id, string? name, int second) =>
    rowProducer.ProduceAsync(topic, new Message<string, Row?> { Key = id, Value = name is null ? null : new Row(name), Timestamp = new Timestamp(start.AddSeconds(second)) });

Task ProduceEvent(string topic, string id, string name, int second) =>
    eventProducer.ProduceAsync(topic, new Message<string, Event?> { Key = id, Value = new Event(name), Timestamp = new Timestamp(start.AddSeconds(second)) });

async Task Print(int count)
{
    using var limit = new CancellationTokenSource(patience);
    for (var read = 0; read < count;)
    {
        var record = await reader.PollAsync(TimeSpan.FromMilliseconds(200), limit.Token);
        if (record is null)
        {
            continue;
        }

        read++;
        var topic = run.Length == 0 ? record.Topic : record.Topic[..^run.Length];
        printed[record.Topic] = Printed(record.Topic) + 1;
        var value = record.Message.Value is { } row ? $"left={row.Left} right={row.Right}" : "deleted";
        Console.WriteLine($"{topic,-18} id={record.Message.Key} {value} (at +{(record.Message.Timestamp.UtcDateTime - start.UtcDateTime).TotalSeconds:0} s)");
    }
}

int Printed(string topic) => printed.GetValueOrDefault(topic);

T? Query<T>(string store, string id)
    where T : class
{
    try
    {
        return stream.Store(StoreQueryParameters.FromNameAndType(store, QueryableStoreTypes.KeyValueStore<string, T>())).Get(id);
    }
    catch (InvalidStateStoreException)
    {
        return null; // not queryable yet
    }
}

async Task Until(Func<bool> condition, string what)
{
    var deadline = DateTime.UtcNow + patience;
    while (!condition())
    {
        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"Waited {patience.TotalSeconds} s for {what}.");
        }

        await Task.Delay(50);
    }
}

async Task<T?> Eventually<T>(Func<T?> query, bool expectNone)
    where T : class
{
    if (expectNone)
    {
        return query();
    }

    T? value = null;
    await Until(() => (value = query()) is not null, "the joined row");
    return value;
}

/// <summary>A row of left_table or right_table.</summary>
internal sealed record Row(string Name);

/// <summary>An event of left_stream or right_stream.</summary>
internal sealed record Event(string Name);

/// <summary>A joined record: the left and right sides' names.</summary>
internal sealed record Joined(string Left, string Right);

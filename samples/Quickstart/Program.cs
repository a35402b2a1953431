// Produces and consumes typed messages. Runs on an embedded Kafka cluster by default;
// set KAFKA_BOOTSTRAP_SERVERS to use a real one.
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaClient;
using KafkaClient.Testing;

var external = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS");
await using var cluster = string.IsNullOrEmpty(external) ? EmbeddedKafkaCluster.Start() : null;
var bootstrapServers = cluster?.BootstrapServers ?? external!;
var topic = $"quickstart-{Guid.NewGuid():N}";
await CreateTopicAsync(topic, partitions: 3);
Console.WriteLine($"Kafka at {bootstrapServers} ({(cluster is null ? "external" : "embedded")}), topic {topic}");

// Produce: string keys, double values; the default partitioner matches Java's (murmur2 of the key).
await using (var producer = new SerializingProducerBuilder<string, double>(
    new ProducerConfig { BootstrapServers = bootstrapServers, EnableIdempotence = true }).Build())
{
    string[] sensors = ["kitchen", "garage", "attic"];
    for (var i = 0; i < 9; i++)
    {
        var result = await producer.ProduceAsync(topic, sensors[i % 3], 20.0 + i);
        Console.WriteLine($"produced {result.Key} = {result.Value} to partition {result.Partition.Value} @ {result.Offset.Value}");
        if (i == 2)
        {
            await WritePoisonAsync("kitchen");
        }
    }
}

// Consume them back as a consumer group, from the earliest offset; poison records are logged and skipped,
// so one await foreach keeps going (PoisonRecordPolicy.DeadLetter would park them in a topic instead).
await using var consumer = new DeserializingConsumerBuilder<string, double>(new ConsumerConfig
{
    BootstrapServers = bootstrapServers,
    GroupId = $"quickstart-{Guid.NewGuid():N}",
    AutoOffsetReset = AutoOffsetReset.Earliest,
})
    .SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(poison => Console.WriteLine($"skipped poison record at {poison.TopicPartitionOffset}: {poison.InnerException?.Message}")))
    .Build();
consumer.Subscribe(topic);

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
var received = 0;
await foreach (var record in consumer.ConsumeAsync(timeout.Token))
{
    Console.WriteLine($"consumed {record.Message.Key} = {record.Message.Value} from partition {record.Partition.Value} @ {record.Offset.Value}");
    if (++received == 9)
    {
        break;
    }
}

Console.WriteLine(received == 9 ? $"Quickstart done: 9 produced, 9 consumed, {consumer.SkippedRecords} poison record(s) skipped." : $"Only {received} of 9 messages consumed.");
return received == 9 ? 0 : 1;

// A record some other program wrote that is not a double: a poison record for this consumer.
async Task WritePoisonAsync(string key)
{
    await using var other = new SerializingProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = bootstrapServers }).Build();
    await other.ProduceAsync(topic, key, [0xBA, 0xD0]);
}

async Task CreateTopicAsync(string name, int partitions)
{
    if (cluster is not null)
    {
        cluster.CreateTopic(name, partitions);
        return;
    }

    using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
    await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = -1 }]);
}

using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.Benchmarks.Documents;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Testing;
using ProtoUser = KafkaClient.Tests.Protos.User;

namespace KafkaClient.Benchmarks.EndToEnd;

/// <summary>
/// What the end-to-end benchmarks run on: librdkafka's mock cluster with one broker (<see cref="EmbeddedKafkaCluster"/>),
/// the embedded registry with Confluent's caching client, and the serdes, whose caches the first record of each subject
/// warms (so the steady state makes no registry call).
/// </summary>
internal sealed class EmbeddedStack : IAsyncDisposable
{
    /// <summary>Messages per benchmark invocation.</summary>
    public const int Messages = 60_000;

    /// <summary>Partitions per topic: 60,000 messages of about 200 bytes (3 MB per partition) stay below the mock's 5 MiB per partition.</summary>
    public const int Partitions = 4;

    private EmbeddedStack(EmbeddedKafkaCluster cluster, EmbeddedSchemaRegistry registryServer)
    {
        Cluster = cluster;
        RegistryServer = registryServer;
        Registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registryServer.Url });
        Keys = Enumerable.Range(0, Messages).Select(i => $"user-{i}").ToArray();
    }

    public EmbeddedKafkaCluster Cluster { get; }

    public EmbeddedSchemaRegistry RegistryServer { get; }

    public ISchemaRegistryClient Registry { get; }

    /// <summary>Gets one key per message, made once so that no benchmark pays for them.</summary>
    public IReadOnlyList<string> Keys { get; }

    public static User JsonUser => User.Sample;

    public static ProtoUser ProtobufUser { get; } = new() { Name = "Alice Liddell", FavoriteNumber = 1865, FavoriteColor = "periwinkle", TwitterHandle = "@alice" };

    public static async Task<EmbeddedStack> StartAsync() =>
        new(EmbeddedKafkaCluster.Start(brokerCount: 1), await EmbeddedSchemaRegistry.StartAsync());

    /// <summary>The producer settings every producer shares: linger 5 ms, acks=1, the partitioner ours defaults to.</summary>
    public ProducerConfig ProducerConfig() => new()
    {
        BootstrapServers = Cluster.BootstrapServers,
        LingerMs = 5,
        Acks = Acks.Leader,
        Partitioner = Partitioner.Murmur2Random,
    };

    /// <summary>The consumer settings every consumer shares: a group of its own, no commits (partitions are assigned, not subscribed).</summary>
    public ConsumerConfig ConsumerConfig() => new()
    {
        BootstrapServers = Cluster.BootstrapServers,
        GroupId = $"bench-{Guid.NewGuid():N}",
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
    };

    public JsonSchemaSerializer<User> JsonSerializer(bool validate) =>
        new(Registry, User.Schema, JsonConfig(validate), BenchJsonContext.Default.Options);

    public JsonSchemaDeserializer<User> JsonDeserializer(bool validate) =>
        new(Registry, JsonConfig(validate), BenchJsonContext.Default.Options);

    public ProtobufSerializer<ProtoUser> ProtobufSerializer() => new(Registry);

    public ProtobufDeserializer<ProtoUser> ProtobufDeserializer() => new(Registry);

    /// <summary>Creates a topic with a fresh name.</summary>
    public string CreateTopic(string prefix)
    {
        var topic = $"{prefix}-{Guid.NewGuid():N}";
        Cluster.CreateTopic(topic, Partitions);
        return topic;
    }

    /// <summary>Sums the high watermarks of a topic's partitions: how many records it holds.</summary>
    public long Count(IConsumer<byte[], byte[]> probe, string topic) =>
        Enumerable.Range(0, Partitions).Sum(p => probe.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);

    public async ValueTask DisposeAsync()
    {
        Registry.Dispose();
        await RegistryServer.DisposeAsync();
        await Cluster.DisposeAsync();
    }

    private static JsonSchemaSerdeConfig JsonConfig(bool validate) => new(new Dictionary<string, string>
    {
        ["validate.on.serialize"] = validate ? "true" : "false",
        ["validate.on.deserialize"] = validate ? "true" : "false",
    });
}

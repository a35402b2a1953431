using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using KafkaClient.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting.Tests.Consuming;

/// <summary>The one embedded cluster and registry the hosted-consumer tests share; each test uses its own topics and groups.</summary>
public sealed class HostedConsumerFixture : IAsyncLifetime
{
    public EmbeddedKafkaCluster Cluster { get; private set; } = null!;

    public EmbeddedSchemaRegistry Registry { get; private set; } = null!;

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        Cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        Registry = await EmbeddedSchemaRegistry.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Registry.DisposeAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>Consumer keys for a hosted consumer: from the earliest record, and a short session so a restarted member joins soon.</summary>
    public Dictionary<string, string> ConsumerConfig() => new(StringComparer.Ordinal)
    {
        ["bootstrap.servers"] = Cluster.BootstrapServers,
        ["auto.offset.reset"] = "earliest",
        ["session.timeout.ms"] = "6000",
        ["heartbeat.interval.ms"] = "500",
        ["topic.metadata.refresh.interval.ms"] = "1000",
    };

    /// <summary>Sets a hosted consumer's options to read <paramref name="topic"/> as <paramref name="group"/> with <see cref="ConsumerConfig()"/>.</summary>
    public void Configure<TKey, TValue>(KafkaConsumerServiceOptions<TKey, TValue> options, string topic, string group)
    {
        foreach (var (key, value) in ConsumerConfig())
        {
            options.Consumer.Config[key] = value;
        }

        options.Topics.Add(topic);
        options.GroupId = group;
    }

    /// <summary>Writes string records to explicit partitions and waits for each acknowledgement.</summary>
    public async Task ProduceAsync(string topic, IEnumerable<(int Partition, string? Key, string Value)> records)
    {
        await using var producer = new SerializingProducerBuilder<string?, string>(new ProducerConfig { BootstrapServers = Cluster.BootstrapServers }).Build();
        foreach (var (partition, key, value) in records)
        {
            await producer.ProduceAsync(new TopicPartition(topic, partition), new Message<string?, string> { Key = key, Value = value });
        }
    }

    /// <summary>Reads a partition from the beginning, raw, until <paramref name="count"/> records came or 60 seconds passed.</summary>
    public async Task<List<ConsumeResult<byte[], byte[]>>> ReadRawAsync(string topic, int count, int partition = 0)
    {
        await using var consumer = new DeserializingConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = Cluster.BootstrapServers,
            GroupId = Unique("reader"),
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign([new TopicPartitionOffset(topic, partition, Offset.Beginning)]);
        var records = new List<ConsumeResult<byte[], byte[]>>();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (records.Count < count && !limit.IsCancellationRequested)
        {
            try
            {
                if (await consumer.PollAsync(TimeSpan.FromSeconds(1), limit.Token) is { IsPartitionEOF: false } record)
                {
                    records.Add(record);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return records;
    }

    /// <summary>Gets the high watermark of a partition: how many records it has (from offset 0).</summary>
    public long Count(string topic, int partition = 0)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = Cluster.BootstrapServers, GroupId = Unique("watermarks") }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).High.Value;
    }

    /// <summary>Gets a group's committed offsets (-1001 where none) for partitions 0 to <paramref name="partitions"/> - 1.</summary>
    public long[] Committed(string group, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = Cluster.BootstrapServers, GroupId = group }).Build();
        return [.. consumer.Committed(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10)).OrderBy(o => o.Partition.Value).Select(o => o.Offset.Value)];
    }
}

[CollectionDefinition(Name)]
public sealed class HostedConsumerCollection : ICollectionFixture<HostedConsumerFixture>
{
    public const string Name = "hosted-consumer";
}

/// <summary>What a test's handler does, set per test; the handler classes only forward to it.</summary>
public sealed class Behavior
{
    public Func<ConsumeResult<string, string>, CancellationToken, ValueTask> Handle { get; set; } = (_, _) => ValueTask.CompletedTask;

    public Func<IReadOnlyList<ConsumeResult<string, string>>, CancellationToken, ValueTask> HandleBatch { get; set; } = (_, _) => ValueTask.CompletedTask;

    /// <summary>Gets every call, in the order the calls started.</summary>
    public ConcurrentQueue<Seen> Journal { get; } = new();

    /// <summary>Gets how many handler instances were made (one per attempt, each from its own scope).</summary>
    public int Instances;
}

/// <summary>One handler call: the record, and the wall-clock time the call started.</summary>
public sealed record Seen(string Topic, int Partition, long Offset, string? Key, string Value, DateTimeOffset At, Headers Headers, long Timestamp)
{
    public string? Header(string name) =>
        Headers.TryGetLastBytes(name, out var bytes) && bytes is not null ? Encoding.UTF8.GetString(bytes) : null;

    public static Seen Of(ConsumeResult<string, string> record) =>
        new(record.Topic, record.Partition.Value, record.Offset.Value, record.Message.Key, record.Message.Value, DateTimeOffset.UtcNow, record.Message.Headers, record.Message.Timestamp.UnixTimestampMs);
}

public sealed class TestHandler : IKafkaRecordHandler<string, string>
{
    private readonly Behavior _behavior;

    public TestHandler(Behavior behavior)
    {
        _behavior = behavior;
        Interlocked.Increment(ref behavior.Instances);
    }

    public ValueTask HandleAsync(ConsumeResult<string, string> record, CancellationToken cancellationToken = default)
    {
        _behavior.Journal.Enqueue(Seen.Of(record));
        return _behavior.Handle(record, cancellationToken);
    }
}

public sealed class TestBatchHandler(Behavior behavior) : IKafkaBatchHandler<string, string>
{
    public ValueTask HandleAsync(IReadOnlyList<ConsumeResult<string, string>> records, CancellationToken cancellationToken = default)
    {
        foreach (var record in records)
        {
            behavior.Journal.Enqueue(Seen.Of(record));
        }

        return behavior.HandleBatch(records, cancellationToken);
    }
}

/// <summary>Builds generic hosts the way an application does, with logs kept in memory.</summary>
internal static class Hosts
{
    public static IHost Build(Behavior behavior, Action<IServiceCollection> configure, MemoryLoggerProvider? logs = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Debug).AddProvider(logs ?? new MemoryLoggerProvider());
        builder.Services.AddSingleton(behavior);
        configure(builder.Services);
        return builder.Build();
    }

    /// <summary>Waits, at most <paramref name="seconds"/>, until <paramref name="condition"/> holds.</summary>
    public static async Task<bool> Eventually(Func<bool> condition, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    /// <summary>Stops a host, bounded; the host's own timeout is 30 seconds.</summary>
    public static async Task StopAsync(IHost host)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StopAsync(limit.Token).WaitAsync(TimeSpan.FromSeconds(90));
    }
}

// A generic-host worker that uses the hosting features together: a shared Schema Registry client, JSON Schema
// serdes and a producer from the container, a hosted consumer with a retry topic and a dead-letter topic, health
// checks, ILogger, and the library's traces and metrics (read here by a plain ActivityListener and MeterListener).
//
// dotnet run --project samples/Worker
// Runs on an embedded Kafka cluster and Schema Registry unless KAFKA_BOOTSTRAP_SERVERS and
// SCHEMA_REGISTRY_URL point elsewhere (for example at `dotnet run --project src/KafkaClient.DevStack`).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient;
using KafkaClient.Hosting;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var kafkaUrl = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS");
var registryUrl = Environment.GetEnvironmentVariable("SCHEMA_REGISTRY_URL");
await using var cluster = string.IsNullOrEmpty(kafkaUrl) ? EmbeddedKafkaCluster.Start(brokerCount: 1) : null;
await using var embeddedRegistry = string.IsNullOrEmpty(registryUrl) ? await EmbeddedSchemaRegistry.StartAsync() : null;
var bootstrapServers = cluster?.BootstrapServers ?? kafkaUrl!;

// The orders topic; the hosted consumer creates its retry tier (1 s) and its dead-letter topic when it starts.
var topic = $"orders-{Guid.NewGuid():N}";
var deadLetterTopic = $"{topic}-dlt";
using var clusterAdmin = cluster is null ? new TopicAdmin([new("bootstrap.servers", bootstrapServers)]) : null;
var admin = (ITopicAdmin?)cluster ?? clusterAdmin!;
await admin.CreateTopicAsync(topic, partitions: 2);

Console.WriteLine($"Kafka at {bootstrapServers} ({(cluster is null ? "external" : "embedded")}), topic {topic}");

// Tracing and metrics: the library reports through an ActivitySource and a Meter named KafkaClientTelemetry.Name.
var spans = 0;
var measurements = 0L;
using var activityListener = new ActivityListener
{
    ShouldListenTo = source => source.Name == KafkaClientTelemetry.Name,
    Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    ActivityStopped = _ => Interlocked.Increment(ref spans),
};
ActivitySource.AddActivityListener(activityListener);
using var meterListener = new MeterListener
{
    InstrumentPublished = (instrument, listener) =>
    {
        if (instrument.Meter.Name == KafkaClientTelemetry.Name)
        {
            listener.EnableMeasurementEvents(instrument);
        }
    },
};
meterListener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref measurements));
meterListener.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref measurements));
meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measurements));
meterListener.Start();

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders().AddSimpleConsole(options => options.SingleLine = true);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Kafka:SchemaRegistry:url"] = embeddedRegistry?.Url ?? registryUrl!,
    ["Kafka:Serdes:Order:subject.name.strategy"] = "topic",  // serde settings, as JsonSchemaSerdeConfig names them
    ["Kafka:Serdes:Order:validate.on.serialize"] = "true",
    ["Kafka:Producer:bootstrap.servers"] = bootstrapServers,
    ["Kafka:Producer:linger.ms"] = "5",
    ["Kafka:Orders:bootstrap.servers"] = bootstrapServers,
    ["Kafka:Orders:auto.offset.reset"] = "earliest",
    ["Kafka:Orders:topic.metadata.refresh.interval.ms"] = "1000",
    ["Logging:LogLevel:Default"] = "Information",
    ["Logging:LogLevel:Microsoft"] = "Warning",
    ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    ["Logging:LogLevel:KafkaClient"] = "Warning", // librdkafka's own lines (KafkaClient.Producer, KafkaClient.Consumer)
    [$"Logging:LogLevel:{KafkaConsumerServiceExtensions.ConsumerServiceLogCategory}"] = "Information",
});
var kafka = builder.Configuration.GetSection("Kafka");

// One registry client, and the Order serdes from the container, their settings from a section: the producer and
// both consumers use them.
builder.Services.AddSchemaRegistryClient(kafka.GetSection("SchemaRegistry"));
builder.Services.AddKafkaSerde<IAsyncSerializer<Order>>(kafka.GetSection("Serdes:Order"), (sp, config) =>
    new JsonSchemaSerializer<Order>(sp.GetRequiredService<ISchemaRegistryClient>(), config: new JsonSchemaSerdeConfig(config)));
builder.Services.AddKafkaSerde<IAsyncDeserializer<Order>>(kafka.GetSection("Serdes:Order"), (sp, config) =>
    new JsonSchemaDeserializer<Order>(sp.GetRequiredService<ISchemaRegistryClient>(), new JsonSchemaSerdeConfig(config)));
builder.Services.AddKafkaProducer<string, Order>(kafka.GetSection("Producer"));

// The hosted consumer: two attempts in place, then the retry topic (handled 1 s later), then the dead-letter topic.
var group = $"worker-{Guid.NewGuid():N}";
builder.Services.AddKafkaConsumerService<string, Order, OrderHandler>(kafka.GetSection("Orders"), options =>
{
    options.Topics.Add(topic);
    options.GroupId = group;
    options.MaxAttempts = 2;
    options.RetryBackoff = TimeSpan.FromMilliseconds(100);
    options.RetryTopicDelays.Add(TimeSpan.FromSeconds(1)); // {topic} -> {topic}-retry-1s
    options.DeadLetterTopic = "{topic}-dlt";               //         -> {topic}-dlt
    options.CreateRetryAndDeadLetterTopics = true;         // both created at start, 2 partitions like {topic}
    options.TopicAdmin = admin;                            // the embedded cluster's own admin, or the cluster's
    options.ShutdownTimeout = TimeSpan.FromSeconds(10);
});

// A second hosted consumer reads the dead letters.
builder.Services.AddKafkaConsumerService<string, Order, DeadLetterHandler>(kafka.GetSection("Orders"), options =>
{
    options.Topics.Add(deadLetterTopic);
    options.GroupId = $"{group}-dlt";
    options.ShutdownTimeout = TimeSpan.FromSeconds(10);
});

// The broker, the registry, and each hosted consumer (by its handler type): running, assigned, not stalled.
builder.Services.AddHealthChecks()
    .AddKafkaBroker(kafka.GetSection("Producer"))
    .AddSchemaRegistry()
    .AddKafkaConsumerService<OrderHandler>()
    .AddKafkaConsumerService<DeadLetterHandler>();

var stats = new WorkerStats(Count: 10, FailingOrder: "order-7");
builder.Services.AddSingleton(stats);
builder.Services.AddHostedService(sp => new OrderProducer(
    topic,
    stats,
    sp.GetRequiredService<ISerializingProducer<string, Order>>(),
    sp.GetRequiredService<HealthCheckService>(),
    sp.GetRequiredService<IHostApplicationLifetime>(),
    sp.GetRequiredService<ILogger<OrderProducer>>()));

using var host = builder.Build();
await host.RunAsync(); // until the producer stops it: a graceful shutdown, offsets committed

var traceOk = stats.TraceOk();
Console.WriteLine($"Telemetry: {Volatile.Read(ref spans)} span(s), {Interlocked.Read(ref measurements)} measurement(s) on {KafkaClientTelemetry.Name}");
Console.WriteLine($"Worker done: {stats.Handled.Count} handled, {stats.DeadLettered.Count} dead-lettered, health {stats.Health}, trace {(traceOk ? "ok" : "mismatch")}");
var ok = stats.Handled.Count == stats.Count - 1
    && stats.DeadLettered.SequenceEqual([stats.FailingOrder])
    && stats.Health == HealthStatus.Healthy
    && traceOk
    && Volatile.Read(ref spans) > 0
    && Interlocked.Read(ref measurements) > 0;
return ok ? 0 : 1;

/// <summary>An order, written as JSON Schema (generated from the type, camelCase).</summary>
internal sealed record Order(string Id, string Item, int Quantity);

/// <summary>What the worker saw: the orders handled and dead-lettered, the trace ids on both sides, the health.</summary>
internal sealed class WorkerStats(int Count, string FailingOrder)
{
    public int Count { get; } = Count;

    public string FailingOrder { get; } = FailingOrder;

    public ConcurrentDictionary<string, ActivityTraceId> Produced { get; } = new();

    public ConcurrentDictionary<string, ActivityTraceId> Handled { get; } = new();

    public ConcurrentQueue<string> DeadLettered { get; } = new();

    public HealthStatus Health { get; set; } = HealthStatus.Unhealthy;

    /// <summary>Each handled order ran in the trace its producer started.</summary>
    public bool TraceOk() =>
        !Handled.IsEmpty && Handled.All(h => Produced.TryGetValue(h.Key, out var produced) && produced == h.Value && produced != default);
}

/// <summary>Handles an order; one of them always fails, so it walks the retry topic to the dead-letter topic.</summary>
internal sealed class OrderHandler(WorkerStats stats, ILogger<OrderHandler> logger) : IKafkaRecordHandler<string, Order>
{
    public ValueTask HandleAsync(ConsumeResult<string, Order> record, CancellationToken cancellationToken = default)
    {
        var order = record.Message.Value;
        if (order.Id == stats.FailingOrder)
        {
            throw new InvalidOperationException($"Order {order.Id} has no stock for {order.Item}.");
        }

        // The hosted consumer runs the handler inside the record's process activity, a child of the producer's send.
        stats.Handled[order.Id] = Activity.Current?.TraceId ?? default;
        logger.LogInformation("Handled {OrderId}: {Quantity} x {Item} from {TopicPartitionOffset}", order.Id, order.Quantity, order.Item, record.TopicPartitionOffset);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Reads the dead-letter topic.</summary>
internal sealed class DeadLetterHandler(WorkerStats stats, ILogger<DeadLetterHandler> logger) : IKafkaRecordHandler<string, Order>
{
    public ValueTask HandleAsync(ConsumeResult<string, Order> record, CancellationToken cancellationToken = default)
    {
        var error = record.Message.Headers.TryGetLastBytes(RetryHeaders.LastError, out var bytes) ? Encoding.UTF8.GetString(bytes) : "?";
        var attempts = record.Message.Headers.TryGetLastBytes(RetryHeaders.Attempts, out bytes) ? Encoding.UTF8.GetString(bytes) : "?";
        stats.DeadLettered.Enqueue(record.Message.Value.Id);
        logger.LogWarning("Dead letter {OrderId} after {Attempts} attempt(s): {Error}", record.Message.Value.Id, attempts, error);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Sends the orders, waits for them to be handled (or dead-lettered), checks health, then stops the host.</summary>
internal sealed class OrderProducer(
    string topic,
    WorkerStats stats,
    ISerializingProducer<string, Order> producer,
    HealthCheckService health,
    IHostApplicationLifetime lifetime,
    ILogger<OrderProducer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            for (var i = 1; i <= stats.Count; i++)
            {
                var id = $"order-{i}";
                // The send activity is a child of this one, and the handler's process activity a child of the send.
                using var activity = new Activity("place order").Start();
                stats.Produced[id] = activity.TraceId;
                var result = await producer.ProduceAsync(topic, id, new Order(id, i % 2 == 0 ? "apples" : "pears", i), cancellationToken: stoppingToken);
                logger.LogInformation("Produced {OrderId} to {TopicPartitionOffset}", id, result.TopicPartitionOffset);
            }

            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && (stats.Handled.Count < stats.Count - 1 || stats.DeadLettered.IsEmpty))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), stoppingToken);
            }

            var report = await health.CheckHealthAsync(stoppingToken);
            foreach (var (name, entry) in report.Entries)
            {
                Console.WriteLine($"health {name}: {entry.Status} ({entry.Description})");
            }

            stats.Health = report.Status;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "The worker failed");
        }
        finally
        {
            lifetime.StopApplication();
        }
    }
}

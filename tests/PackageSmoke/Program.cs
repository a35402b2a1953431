// Uses the six libraries as a user does, from their packages: an embedded cluster and registry
// (KafkaClient.Testing), one JSON Schema message produced and consumed (KafkaClient, KafkaClient.SchemaRegistry), that
// producer traced and measured through the names AddKafkaClientInstrumentation() registers (KafkaClient.OpenTelemetry),
// a second message produced by a producer and registry client registered in a generic host from configuration
// (KafkaClient.Hosting), and a Streamiz topology over JsonSchemaSerDes described and its serdes run (KafkaClient.Streams).
// Prints the version of each library it loaded, so that its caller can tell they came from the packages under test.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text.Json;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient;
using KafkaClient.Hosting;
using KafkaClient.OpenTelemetry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Streams;
using KafkaClient.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;

const string Topic = "package-smoke";
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));

foreach (var type in new[]
{
    typeof(SerializingProducer<,>), typeof(JsonSchemaSerializer<>), typeof(EmbeddedKafkaCluster),
    typeof(KafkaServiceCollectionExtensions), typeof(KafkaClientInstrumentationExtensions), typeof(JsonSchemaSerDes<>),
})
{
    var assembly = type.Assembly;
    Console.WriteLine($"loaded {assembly.GetName().Name} {assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}");
}

await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
await using var embeddedRegistry = await EmbeddedSchemaRegistry.StartAsync(cancellationToken: timeout.Token);
using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embeddedRegistry.Url });
cluster.CreateTopic(Topic, partitions: 1);
var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);

// KafkaClient.OpenTelemetry: the OpenTelemetry SDK is the application's choice (the package needs only the API), so the
// sources and meters AddKafkaClientInstrumentation() registers are recorded by a minimal builder and listened to the way
// the SDK listens: the producer below must be seen through them.
var tracing = new RecordingTracerProviderBuilder();
var metering = new RecordingMeterProviderBuilder();
tracing.AddKafkaClientInstrumentation();
metering.AddKafkaClientInstrumentation();
var activities = new List<string>();
using var activityListener = new ActivityListener
{
    ShouldListenTo = source => tracing.Sources.Contains(source.Name),
    Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    ActivityStopped = activity =>
    {
        lock (activities)
        {
            activities.Add(activity.DisplayName);
        }
    },
};
ActivitySource.AddActivityListener(activityListener);
var measured = new HashSet<string>();
using var meterListener = new MeterListener
{
    InstrumentPublished = (instrument, listener) =>
    {
        if (metering.Meters.Contains(instrument.Meter.Name))
        {
            listener.EnableMeasurementEvents(instrument);
        }
    },
};
meterListener.SetMeasurementEventCallback<long>((instrument, _, _, _) => Measured(instrument));
meterListener.SetMeasurementEventCallback<double>((instrument, _, _, _) => Measured(instrument));
meterListener.SetMeasurementEventCallback<int>((instrument, _, _, _) => Measured(instrument));
meterListener.Start();

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

string[] traced, metered;
lock (activities)
{
    traced = [.. activities];
}

lock (measured)
{
    metered = [.. measured.Order(StringComparer.Ordinal)];
}

Console.WriteLine($"opentelemetry: instrumentation added sources [{string.Join(", ", tracing.Sources)}] and meters [{string.Join(", ", metering.Meters)}]; "
    + $"traced [{string.Join(", ", traced)}], measured [{string.Join(", ", metered)}]");
if (!traced.Any(a => a.Contains(Topic, StringComparison.Ordinal)) || metered.Length == 0)
{
    Console.Error.WriteLine("package smoke failed: the producer and consumer were not seen through the sources and meters AddKafkaClientInstrumentation() added");
    return 1;
}

// KafkaClient.Hosting: a generic host whose registry client, serializer settings and producer come from configuration
// (librdkafka key names), validated when the host starts.
var hostBuilder = Host.CreateApplicationBuilder();
hostBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
hostBuilder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Kafka:SchemaRegistry:url"] = embeddedRegistry.Url,
    ["Kafka:Producer:bootstrap.servers"] = cluster.BootstrapServers,
    ["Kafka:Producer:acks"] = "all",
    ["Kafka:Serializer:auto.register.schemas"] = "true",
});
hostBuilder.Services
    .AddSchemaRegistryClient(hostBuilder.Configuration.GetSection("Kafka:SchemaRegistry"))
    .AddKafkaSerde<IAsyncSerializer<Reading>>(hostBuilder.Configuration.GetSection("Kafka:Serializer"),
        (services, config) => new JsonSchemaSerializer<Reading>(services.GetRequiredService<ISchemaRegistryClient>(), Reading.Schema, new JsonSchemaSerdeConfig(config), json))
    .AddKafkaProducer<string, Reading>(hostBuilder.Configuration.GetSection("Kafka:Producer"))
    .ValidateKafkaClientsOnStart();
using (var host = hostBuilder.Build())
{
    await host.StartAsync(timeout.Token);
    var hosted = new Reading("hall", 19.0);
    var result = await host.Services.GetRequiredService<ISerializingProducer<string, Reading>>().ProduceAsync(Topic, hosted.Sensor, hosted, cancellationToken: timeout.Token);
    var schema = await host.Services.GetRequiredService<ISchemaRegistryClient>().GetLatestSchemaAsync($"{Topic}-value");
    Console.WriteLine($"hosting: produced {result.Key} to {result.Topic} [{result.Partition.Value}] @ {result.Offset.Value} through the host's producer; its registry client sees schema {schema.Id}");
    await host.StopAsync(timeout.Token);
    if (result.Offset.Value != 1 || schema.Id != registered.Id)
    {
        Console.Error.WriteLine($"package smoke failed: the host's producer wrote at offset {result.Offset.Value} (expected 1) with schema {schema.Id} (expected {registered.Id})");
        return 1;
    }
}

// KafkaClient.Streams: a stateless topology over the registry serdes, described; the serdes run on the embedded registry.
var readings = new JsonSchemaSerDes<Reading>(registry, Reading.Schema, jsonOptions: json);
var streamBuilder = new StreamBuilder();
streamBuilder.Stream(Topic, new StringSerDes(), readings)
    .Filter((_, reading, _) => reading.Celsius > 20)
    .MapValues((reading, _) => reading with { Celsius = (reading.Celsius * 9 / 5) + 32 })
    .To($"{Topic}-fahrenheit", new StringSerDes(), readings);
var description = streamBuilder.Build().Describe();
var nodes = description.SubTopologies.SelectMany(s => s.Nodes).Select(n => n.Name).ToList();
await readings.WarmUpSerializerAsync(Topic);
var bytes = readings.Serialize(sent, new SerializationContext(MessageComponentType.Value, Topic));
var roundTripped = readings.Deserialize(bytes, new SerializationContext(MessageComponentType.Value, Topic));
Console.WriteLine($"streams: topology of {description.SubTopologies.Count()} sub-topology and {nodes.Count} nodes [{string.Join(", ", nodes)}]; serdes round trip {roundTripped} in {bytes.Length} bytes");
if (nodes.Count != 4 || roundTripped != sent)
{
    Console.Error.WriteLine($"package smoke failed: the topology has {nodes.Count} nodes (expected 4), the serdes gave {roundTripped} for {sent}");
    return 1;
}

Console.WriteLine("package smoke passed");
return 0;

void Measured(Instrument instrument)
{
    lock (measured)
    {
        measured.Add(instrument.Name);
    }
}

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


/// <summary>What a tracer provider builder was asked to add: the SDK's builder listens to those sources.</summary>
internal sealed class RecordingTracerProviderBuilder : TracerProviderBuilder
{
    public List<string> Sources { get; } = [];

    public override TracerProviderBuilder AddInstrumentation<TInstrumentation>(Func<TInstrumentation> instrumentationFactory) => this;

    public override TracerProviderBuilder AddSource(params string[] names)
    {
        Sources.AddRange(names);
        return this;
    }

    public override TracerProviderBuilder AddLegacySource(string operationName) => this;
}

/// <summary>What a meter provider builder was asked to add: the SDK's builder listens to those meters.</summary>
internal sealed class RecordingMeterProviderBuilder : MeterProviderBuilder
{
    public List<string> Meters { get; } = [];

    public override MeterProviderBuilder AddInstrumentation<TInstrumentation>(Func<TInstrumentation> instrumentationFactory) => this;

    public override MeterProviderBuilder AddMeter(params string[] names)
    {
        Meters.AddRange(names);
        return this;
    }
}

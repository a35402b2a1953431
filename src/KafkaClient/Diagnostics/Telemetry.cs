using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;

namespace KafkaClient.Diagnostics;

/// <summary>The library's activity source, meter and instruments, shared by every client, and the W3C header codec.</summary>
/// <remarks>Instruments follow OpenTelemetry's messaging conventions where one exists; the others are named <c>kafkaclient.*</c>.</remarks>
internal static class Telemetry
{
    public const string System = "kafka";

    private static readonly string? Version = typeof(Telemetry).Assembly.GetName().Version?.ToString();

    public static readonly ActivitySource Source = new(KafkaClientTelemetry.Name, Version);

    public static readonly Meter Meter = new(KafkaClientTelemetry.Name, Version);

    public static readonly Counter<long> SentMessages = Meter.CreateCounter<long>(
        "messaging.client.sent.messages", "{message}", "Messages the producer handed to Kafka, counted when their delivery report arrives (error.type set when it failed).");

    public static readonly Counter<long> SentBytes = Meter.CreateCounter<long>(
        "kafkaclient.client.sent.bytes", "By", "Key and value bytes of the messages Kafka acknowledged.");

    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram(
        "messaging.client.operation.duration",
        "s",
        "Time from a produce call to its delivery report.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] });

    public static readonly Counter<long> ConsumedMessages = Meter.CreateCounter<long>(
        "messaging.client.consumed.messages", "{message}", "Records a consumer deserialized and handed to the application.");

    public static readonly Counter<long> ConsumedBytes = Meter.CreateCounter<long>(
        "kafkaclient.client.consumed.bytes", "By", "Key and value bytes of the records handed to the application.");

    public static readonly Counter<long> SerializationFailures = Meter.CreateCounter<long>(
        "kafkaclient.serialization.failures", "{failure}", "Messages a producer's serializer refused.");

    public static readonly Counter<long> DeserializationFailures = Meter.CreateCounter<long>(
        "kafkaclient.deserialization.failures", "{failure}", "Records a consumer's deserializer refused, by what happened next (kafkaclient.outcome: retried, skipped, dead-lettered, raised).");

    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>(
        "kafkaclient.consumer.dead_lettered.records", "{record}", "Poison records forwarded to a dead-letter topic (error.type set when the forward failed).");

    public static readonly Counter<long> RegistryCalls = Meter.CreateCounter<long>(
        "kafkaclient.schema_registry.calls", "{call}", "Calls a serde made to its Schema Registry client (error.type set when one failed); steady state makes none.");

    public static readonly Counter<long> RegistryCacheHits = Meter.CreateCounter<long>(
        "kafkaclient.schema_registry.cache.hits", "{hit}", "Schemas and ids a serde found in its own cache instead of asking the registry.");

    private static readonly ConcurrentDictionary<ClientTelemetry, byte> LagSources = new();

    private static readonly DistributedContextPropagator.PropagatorGetterCallback Getter = static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
    {
        values = null;
        value = carrier is Headers headers && headers.TryGetLastBytes(name, out var bytes) && bytes is not null ? Encoding.UTF8.GetString(bytes) : null;
    };

    private static readonly DistributedContextPropagator.PropagatorSetterCallback Setter = static (object? carrier, string name, string value) =>
    {
        var headers = (Headers)carrier!;
        headers.Remove(name);
        headers.Add(name, Encoding.UTF8.GetBytes(value));
    };

    static Telemetry()
    {
        Meter.CreateObservableGauge(
            "kafkaclient.consumer.lag",
            ObserveLag,
            "{record}",
            "Records between the offset a consumer stored for a partition (what the application finished; else the committed one) and its high watermark, from librdkafka's statistics (statistics.interval.ms must be set).");
    }

    /// <summary>Writes an activity's W3C trace context into headers, replacing any written before.</summary>
    public static void Inject(Activity activity, Headers headers) => DistributedContextPropagator.Current.Inject(activity, headers, Setter);

    /// <summary>Reads the W3C trace context from headers; null when they carry none or an invalid one.</summary>
    public static ActivityContext? Extract(Headers? headers)
    {
        if (headers is null || headers.Count == 0)
        {
            return null;
        }

        DistributedContextPropagator.Current.ExtractTraceIdAndState(headers, Getter, out var traceParent, out var traceState);
        return traceParent is not null && ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var context) ? context : null;
    }

    /// <summary>Sets the messaging attributes of a record's (or a batch's) activity; a null topic, <see cref="Partition.Any"/>, <see cref="Offset.Unset"/>, group or key is left out.</summary>
    public static void TagRecord(Activity activity, string operation, string? topic, Partition partition, Offset offset, string? group, string? key)
    {
        activity.SetTag("messaging.system", System);
        activity.SetTag("messaging.operation.type", operation);
        activity.SetTag("messaging.operation.name", operation);
        if (topic is not null)
        {
            activity.SetTag("messaging.destination.name", topic);
        }

        if (partition != Partition.Any)
        {
            activity.SetTag("messaging.destination.partition.id", partition.Value.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
        }

        if (offset != Offset.Unset)
        {
            activity.SetTag("messaging.kafka.offset", offset.Value);
        }

        if (group is not null)
        {
            activity.SetTag("messaging.consumer.group.name", group);
        }

        if (key is { } text)
        {
            activity.SetTag("messaging.kafka.message.key", text);
        }
    }

    public static void RegistryCacheHit()
    {
        if (RegistryCacheHits.Enabled)
        {
            RegistryCacheHits.Add(1);
        }
    }

    public static void TrackLag(ClientTelemetry client) => LagSources.TryAdd(client, 0);

    public static void UntrackLag(ClientTelemetry client) => LagSources.TryRemove(client, out _);

    private static IEnumerable<Measurement<long>> ObserveLag()
    {
        var measurements = new List<Measurement<long>>();
        foreach (var client in LagSources.Keys)
        {
            client.AddLag(measurements);
        }

        return measurements;
    }
}

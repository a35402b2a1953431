using System.Diagnostics;
using Confluent.Kafka;
using KafkaClient.Diagnostics;

namespace KafkaClient;

/// <summary>Names the <see cref="ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/> through which this library reports traces and metrics, and starts the activity that processes a consumed record.</summary>
/// <remarks>
/// <para>
/// Activities follow OpenTelemetry's messaging conventions: <c>send {topic}</c> (kind Producer) from a produce call
/// to its delivery report, <c>receive {topic}</c> (kind Consumer) for each record a consumer hands out, and
/// <c>process {topic}</c> (kind Consumer) around an application's handling of a record or of a batch. The producer writes the W3C
/// trace context (<c>traceparent</c>, <c>tracestate</c>) into the message's headers (a copy: the caller's
/// <see cref="Headers"/> object is never changed) through <see cref="DistributedContextPropagator.Current"/>, so one trace
/// crosses the topic. Nothing is recorded, and no header written, while nobody listens.
/// </para>
/// <para>Thread-safe: every member may be called from any thread.</para>
/// </remarks>
public static class KafkaClientTelemetry
{
    /// <summary>The name of the activity source and of the meter: <c>KafkaClient</c>.</summary>
    public const string Name = "KafkaClient";

    /// <summary>Starts a <c>process {topic}</c> activity for a consumed record, a child of the trace context its producer wrote into its headers (or of the current activity when it carries none); null while nobody listens.</summary>
    /// <param name="record">The consumed record.</param>
    /// <param name="consumerGroup">The consumer group, recorded as <c>messaging.consumer.group.name</c>; null to leave it out.</param>
    /// <returns>The started activity, which the caller disposes when the record is processed; null while nobody samples it.</returns>
    /// <remarks>The activity becomes <see cref="Activity.Current"/> on the calling thread and flows into awaited calls, until it is disposed.</remarks>
    public static Activity? StartProcessActivity<TKey, TValue>(ConsumeResult<TKey, TValue> record, string? consumerGroup = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!Telemetry.Source.HasListeners())
        {
            return null;
        }

        var parent = Telemetry.Extract(record.Message?.Headers);
        var activity = parent is { } context
            ? Telemetry.Source.StartActivity(ActivityKind.Consumer, context, name: "process " + record.Topic, links: [new ActivityLink(context)])
            : Telemetry.Source.StartActivity("process " + record.Topic, ActivityKind.Consumer);
        if (activity is { IsAllDataRequested: true })
        {
            Telemetry.TagRecord(activity, "process", record.Topic, record.Partition, record.Offset, consumerGroup, record.Message is { } message ? message.Key as string : null);
        }

        return activity;
    }

    /// <summary>Starts a <c>process</c> activity for a batch of consumed records, a child of the current activity and linked to the trace context each record's producer wrote; null while nobody listens.</summary>
    /// <param name="records">The consumed records, at least one.</param>
    /// <param name="consumerGroup">The consumer group, recorded as <c>messaging.consumer.group.name</c>; null to leave it out.</param>
    /// <returns>The started activity, which the caller disposes when the batch is processed; null while nobody samples it.</returns>
    /// <remarks>
    /// As OpenTelemetry's messaging conventions say for a batch: one activity, whose parent is not any record's producer
    /// but whatever is current, with one link per record that carries a trace context. It is named
    /// <c>process {topic}</c> when every record comes from one topic (with <c>messaging.destination.name</c>, and
    /// <c>messaging.destination.partition.id</c> when they come from one partition), else <c>process</c>; a batch of
    /// more than one record has <c>messaging.batch.message_count</c>, and a batch of one its offset. The activity
    /// becomes <see cref="Activity.Current"/> on the calling thread and flows into awaited calls, until it is disposed.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="records"/> is empty.</exception>
    public static Activity? StartBatchProcessActivity<TKey, TValue>(IReadOnlyList<ConsumeResult<TKey, TValue>> records, string? consumerGroup = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            throw new ArgumentException("A batch has at least one record.", nameof(records));
        }

        if (!Telemetry.Source.HasListeners())
        {
            return null;
        }

        var links = new List<ActivityLink>(records.Count);
        var topic = records[0].Topic;
        var partition = records[0].Partition;
        foreach (var record in records)
        {
            ArgumentNullException.ThrowIfNull(record, nameof(records));
            if (Telemetry.Extract(record.Message?.Headers) is { } context)
            {
                links.Add(new ActivityLink(context));
            }

            if (topic is not null && record.Topic != topic)
            {
                topic = null;
            }

            if (record.Partition != partition)
            {
                partition = Partition.Any;
            }
        }

        var activity = Telemetry.Source.StartActivity(topic is null ? "process" : "process " + topic, ActivityKind.Consumer, parentContext: default, links: links);
        if (activity is { IsAllDataRequested: true })
        {
            Telemetry.TagRecord(
                activity,
                "process",
                topic,
                topic is null ? Partition.Any : partition,
                records.Count == 1 ? records[0].Offset : Offset.Unset,
                consumerGroup,
                records.Count == 1 && records[0].Message is { } message ? message.Key as string : null);
            if (records.Count > 1)
            {
                activity.SetTag("messaging.batch.message_count", records.Count);
            }
        }

        return activity;
    }

    /// <summary>Reads the W3C trace context a producer wrote into a record's headers; false when it carries none.</summary>
    /// <param name="headers">The record's headers.</param>
    /// <param name="context">The producer's trace context.</param>
    /// <returns>Whether the headers carry a valid trace context.</returns>
    public static bool TryGetTraceContext(Headers? headers, out ActivityContext context)
    {
        if (Telemetry.Extract(headers) is { } found)
        {
            context = found;
            return true;
        }

        context = default;
        return false;
    }
}

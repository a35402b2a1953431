using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Confluent.Kafka;

namespace KafkaClient.Diagnostics;

/// <summary>One client's traces and metrics: the pipelines call it at each stage; it records nothing while nobody listens.</summary>
/// <remarks>
/// Called from the producing thread, the delivery-report thread, the consumer's reader and its polling thread at
/// once: thread-safe. It never throws into a pipeline; the consumer lag it learns from librdkafka's statistics is
/// replaced whole on each report.
/// </remarks>
internal sealed class ClientTelemetry : IDisposable
{
    private readonly string? _group;
    private readonly KeyValuePair<string, object?> _system = new("messaging.system", Telemetry.System);
    private readonly KeyValuePair<string, object?> _clientId;
    private Lag[] _lag = [];

    public ClientTelemetry(string clientId, string? group)
    {
        _group = group;
        _clientId = new("messaging.client.id", clientId);
    }

    /// <summary>Producer: starts a message's <c>send</c> activity without making it current; null while nobody samples it.</summary>
    public static Activity? StartSend(string topic, Partition partition, string? key)
    {
        if (!Telemetry.Source.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        var activity = Telemetry.Source.StartActivity("send " + topic, ActivityKind.Producer);
        if (activity is null)
        {
            return null;
        }

        // In flight until its delivery report: the caller's own activity stays current.
        Activity.Current = previous;
        if (activity.IsAllDataRequested)
        {
            Telemetry.TagRecord(activity, "send", topic, partition, Offset.Unset, group: null, key);
        }

        return activity;
    }

    /// <summary>Gets a timestamp to measure a produce call's duration from, or 0 while nobody listens to it.</summary>
    public static long StartTimestamp() => Telemetry.OperationDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Producer, delivery-report thread: ends the message's activity and counts it.</summary>
    public void OnDelivered(Activity? send, long startedAt, string topic, Partition partition, Offset offset, Error error, int bytes)
    {
        var failed = error.IsError;
        if (send is not null)
        {
            if (send.IsAllDataRequested)
            {
                send.SetTag("messaging.destination.partition.id", partition.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (!failed)
                {
                    send.SetTag("messaging.kafka.offset", offset.Value);
                }
            }

            if (failed)
            {
                send.SetTag("error.type", error.Code.ToString());
                send.SetStatus(ActivityStatusCode.Error, error.Reason);
            }

            // Stopping makes its parent current on this thread: restore what the delivery-report thread had.
            var current = Activity.Current;
            send.Stop();
            Activity.Current = current;
        }

        if (Telemetry.SentMessages.Enabled || Telemetry.OperationDuration.Enabled || Telemetry.SentBytes.Enabled)
        {
            var tags = Tags(topic, "send", failed ? error.Code.ToString() : null);
            Telemetry.SentMessages.Add(1, tags);
            if (startedAt != 0)
            {
                Telemetry.OperationDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
            }

            if (!failed)
            {
                Telemetry.SentBytes.Add(bytes, tags);
            }
        }
    }

    /// <summary>Producer: ends the activity of a message that never reached Kafka (a serializer refused it, its caller cancelled it), without counting it as sent.</summary>
    public static void StopFailed(Activity? send, Error error)
    {
        if (send is null)
        {
            return;
        }

        send.SetTag("error.type", error.Code.ToString());
        send.SetStatus(ActivityStatusCode.Error, error.Reason);
        var current = Activity.Current;
        send.Stop();
        Activity.Current = current;
    }

    /// <summary>Producer: a serializer refused a message.</summary>
    public void OnSerializationFailed(string topic, MessageComponentType component)
    {
        if (Telemetry.SerializationFailures.Enabled)
        {
            var tags = Tags(topic, "send", component == MessageComponentType.Key ? "KeySerialization" : "ValueSerialization");
            tags.Add("kafkaclient.component", component == MessageComponentType.Key ? "key" : "value");
            Telemetry.SerializationFailures.Add(1, tags);
        }
    }

    /// <summary>Consumer, the reader: a record is handed to the application; records its <c>receive</c> activity and counts it.</summary>
    public void OnConsumed(ConsumeResult<byte[], byte[]> raw, string? key)
    {
        if (Telemetry.Source.HasListeners())
        {
            Receive(raw, key);
        }

        if (Telemetry.ConsumedMessages.Enabled || Telemetry.ConsumedBytes.Enabled)
        {
            var tags = Tags(raw.Topic, "receive", errorType: null);
            Telemetry.ConsumedMessages.Add(1, tags);
            Telemetry.ConsumedBytes.Add((raw.Message.Key?.Length ?? 0) + (raw.Message.Value?.Length ?? 0), tags);
        }
    }

    /// <summary>Consumer, the reader: a record's deserializer refused it; <paramref name="outcome"/> says what happened next.</summary>
    public void OnDeserializationFailed(DeserializationException failure, string outcome)
    {
        if (Telemetry.DeserializationFailures.Enabled)
        {
            var tags = Tags(failure.Topic ?? string.Empty, "receive", failure.GetType().Name);
            tags.Add("kafkaclient.outcome", outcome);
            Telemetry.DeserializationFailures.Add(1, tags);
        }
    }

    /// <summary>Consumer, the dead-letter producer's delivery-report thread: a poison record's forward finished.</summary>
    public void OnDeadLettered(TopicPartitionOffset source, string deadLetterTopic, Error error)
    {
        if (Telemetry.DeadLettered.Enabled)
        {
            var tags = Tags(source.Topic, "send", error.IsError ? error.Code.ToString() : null);
            tags.Add("kafkaclient.dead_letter.topic", deadLetterTopic);
            Telemetry.DeadLettered.Add(1, tags);
        }
    }

    /// <summary>Consumer, the polling thread: takes each assigned partition's lag from a librdkafka statistics report.</summary>
    public void OnStatistics(string json)
    {
        try
        {
            var lag = new List<Lag>();
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.TryGetProperty("topics", out var topics) && topics.ValueKind == JsonValueKind.Object)
            {
                foreach (var topic in topics.EnumerateObject())
                {
                    if (!topic.Value.TryGetProperty("partitions", out var partitions) || partitions.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    foreach (var partition in partitions.EnumerateObject())
                    {
                        // -1 is librdkafka's internal unassigned partition; a lag of -1 means not known yet. The lag
                        // behind the stored offset (what the application finished) comes first, the committed one next.
                        if (int.TryParse(partition.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                            && (LagOf(partition.Value, "consumer_lag_stored") ?? LagOf(partition.Value, "consumer_lag")) is { } records)
                        {
                            lag.Add(new Lag(topic.Name, id, records));
                        }
                    }
                }
            }

            Volatile.Write(ref _lag, [.. lag]);
            Telemetry.TrackLag(this);
        }
        catch (JsonException)
        {
            // Not librdkafka's statistics: nothing to learn from it.
        }
    }

    public void Dispose() => Telemetry.UntrackLag(this);

    internal void AddLag(List<Measurement<long>> measurements)
    {
        foreach (var lag in Volatile.Read(ref _lag))
        {
            var tags = Tags(lag.Topic, "receive", errorType: null);
            tags.Add("messaging.destination.partition.id", lag.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
            measurements.Add(new Measurement<long>(lag.Records, tags));
        }
    }

    private static long? LagOf(JsonElement partition, string name) =>
        partition.TryGetProperty(name, out var value) && value.TryGetInt64(out var records) && records >= 0 ? records : null;

    private void Receive(ConsumeResult<byte[], byte[]> raw, string? key)
    {
        var producer = Telemetry.Extract(raw.Message.Headers);
        var activity = Telemetry.Source.StartActivity(
            ActivityKind.Consumer,
            parentContext: default,
            name: "receive " + raw.Topic,
            links: producer is { } context ? [new ActivityLink(context)] : null);
        if (activity is null)
        {
            return;
        }

        if (activity.IsAllDataRequested)
        {
            Telemetry.TagRecord(activity, "receive", raw.Topic, raw.Partition, raw.Offset, _group, key);
        }

        activity.Dispose();
    }

    private TagList Tags(string topic, string operation, string? errorType)
    {
        var tags = new TagList
        {
            _system,
            { "messaging.destination.name", topic },
            { "messaging.operation.name", operation },
            _clientId,
        };
        if (_group is not null)
        {
            tags.Add("messaging.consumer.group.name", _group);
        }

        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        return tags;
    }

    private sealed record Lag(string Topic, int Partition, long Records);
}

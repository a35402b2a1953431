namespace KafkaClient;

/// <summary>Where a consumer forwards records it cannot deserialize, so that one poison record never stalls a partition.</summary>
/// <remarks>
/// <para>
/// A forwarded record keeps its raw key, value, timestamp and headers and gains the headers named by the
/// <c>Header*</c> constants (error, failing component, source topic, partition and offset; texts at most 1 KB,
/// credentials in URLs removed).
/// </para>
/// <para>
/// Forwards are pipelined: the consumer goes on reading while up to <see cref="MaxInFlight"/> dead letters are
/// on their way, and a record's offset is stored only once the dead-letter topic acknowledged it and every
/// record before it in its partition is done, so nothing is lost. Each record is handed to the dead-letter
/// producer once at a time: a forward is repeated only after Kafka reported the earlier attempt failed, so
/// an outage of the dead-letter topic does not multiply copies.
/// </para>
/// <para>
/// Failures: a transient one (the dead-letter topic's leader is down, a timeout) is retried with backoff,
/// reported each time through the consumer's error handler; meanwhile the record's offset is not stored.
/// A permanent one ends, never loops: a record the dead-letter topic refuses as too large is forwarded once
/// more with an empty key and value and the <see cref="HeaderTruncated"/>, <see cref="HeaderOriginalKeySize"/>,
/// <see cref="HeaderOriginalValueSize"/> and <see cref="HeaderForwardError"/> headers
/// (<see cref="TruncateOversized"/>); if that, or any other permanent failure, still refuses it, the record is
/// handed to <see cref="OnUndeliverable"/>, or, when that is not set, thrown as a <see cref="DeadLetterException"/>
/// by the next poll; either way the consumer moves past it.
/// </para>
/// <para>Immutable once built; one policy may serve several consumers.</para>
/// </remarks>
public sealed class DeadLetterPolicy
{
    /// <summary>Header holding the exception message that made the record undeserializable.</summary>
    public const string HeaderError = "dlq.error";

    /// <summary>Header holding the exception's type name.</summary>
    public const string HeaderErrorType = "dlq.error.type";

    /// <summary>Header holding "key" or "value": which part of the record failed.</summary>
    public const string HeaderComponent = "dlq.error.component";

    /// <summary>Header holding the topic the record was read from.</summary>
    public const string HeaderSourceTopic = "dlq.source.topic";

    /// <summary>Header holding the partition the record was read from, in decimal.</summary>
    public const string HeaderSourcePartition = "dlq.source.partition";

    /// <summary>Header holding the record's offset in its source partition, in decimal.</summary>
    public const string HeaderSourceOffset = "dlq.source.offset";

    /// <summary>Header present (value "true") when the record was too large for the dead-letter topic and its key and value were left out.</summary>
    public const string HeaderTruncated = "dlq.truncated";

    /// <summary>Header holding the original key's size in bytes, in decimal, on a truncated dead letter.</summary>
    public const string HeaderOriginalKeySize = "dlq.original.key.size";

    /// <summary>Header holding the original value's size in bytes, in decimal, on a truncated dead letter.</summary>
    public const string HeaderOriginalValueSize = "dlq.original.value.size";

    /// <summary>Header holding why the dead-letter topic refused the whole record, on a truncated dead letter.</summary>
    public const string HeaderForwardError = "dlq.forward.error";

    private readonly Func<string, string> _topicFor;

    /// <summary>Initializes a new instance of the <see cref="DeadLetterPolicy"/> class that forwards every poison record to one topic.</summary>
    /// <param name="topic">The dead-letter topic.</param>
    public DeadLetterPolicy(string topic)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        _topicFor = _ => topic;
    }

    /// <summary>Initializes a new instance of the <see cref="DeadLetterPolicy"/> class that chooses the dead-letter topic from the source topic.</summary>
    /// <param name="topicForSource">Maps a source topic to its dead-letter topic, for example <c>t =&gt; t + ".dlq"</c>.</param>
    public DeadLetterPolicy(Func<string, string> topicForSource)
    {
        ArgumentNullException.ThrowIfNull(topicForSource);
        _topicFor = topicForSource;
    }

    /// <summary>Gets the librdkafka properties of the producer that writes dead letters.</summary>
    /// <remarks>
    /// Default null: the consumer's <c>bootstrap.servers</c>, <c>client.id</c>, <c>security.protocol</c>,
    /// <c>sasl.*</c> and <c>ssl.*</c> entries, with <c>acks=all</c> and <c>enable.idempotence=true</c>.
    /// </remarks>
    public IEnumerable<KeyValuePair<string, string>>? ProducerConfig { get; init; }

    /// <summary>Gets how long the dead-letter producer tries to deliver one attempt before reporting it failed (default 30 seconds); also how long closing the consumer waits for dead letters on their way.</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets how many dead letters may be on their way at once before the consumer waits (default 1,000).</summary>
    public int MaxInFlight { get; init; } = 1000;

    /// <summary>Gets the wait before a forward that failed transiently is tried again; it doubles per attempt up to 30 seconds (default 1 second).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets a value indicating whether a record refused as too large is forwarded once more without its key and value (default true).</summary>
    public bool TruncateOversized { get; init; } = true;

    /// <summary>Gets the handler for records that could not be forwarded for a reason retrying cannot fix; the consumer moves past them either way.</summary>
    /// <remarks>
    /// Default null: the failure is thrown as <see cref="DeadLetterException"/> by the next poll. The handler is
    /// called on the dead-letter producer's delivery-report thread; it must not block or throw.
    /// </remarks>
    public Action<DeadLetterException>? OnUndeliverable { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInFlight, 1, nameof(MaxInFlight));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DeliveryTimeout, TimeSpan.Zero, nameof(DeliveryTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryBackoff, TimeSpan.Zero, nameof(RetryBackoff));
    }

    internal string TopicFor(string sourceTopic)
    {
        var topic = _topicFor(sourceTopic);
        return string.IsNullOrWhiteSpace(topic)
            ? throw new InvalidOperationException($"The dead-letter policy chose no topic for source topic \"{sourceTopic}\".")
            : topic;
    }
}

namespace KafkaClient;

/// <summary>Where a consumer forwards records it cannot deserialize, so that one poison record never stalls a partition.</summary>
/// <remarks>
/// <para>
/// A forwarded record keeps its raw key, value, timestamp and headers and gains the headers named by the
/// <c>Header*</c> constants (error, failing component, source topic, partition and offset). The consumer
/// stores the record's offset only after the dead-letter topic acknowledged it; if forwarding fails, the
/// consumer seeks back to the record and throws <see cref="DeadLetterException"/>, so nothing is lost.
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

    /// <summary>Gets how long to wait for the dead-letter topic to acknowledge a record (default 30 seconds).</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    internal string TopicFor(string sourceTopic)
    {
        var topic = _topicFor(sourceTopic);
        return string.IsNullOrWhiteSpace(topic)
            ? throw new InvalidOperationException($"The dead-letter policy chose no topic for source topic \"{sourceTopic}\".")
            : topic;
    }
}

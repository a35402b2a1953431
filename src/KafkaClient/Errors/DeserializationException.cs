using Confluent.Kafka;

namespace KafkaClient;

/// <summary>A consumed record's key or value could not be deserialized.</summary>
/// <remarks>
/// <para>
/// The record is kept whole: <see cref="RawKey"/>, <see cref="RawValue"/>, <see cref="Headers"/> and
/// <see cref="Timestamp"/> are the bytes and metadata as they were read from the broker, so the caller can
/// log, park or re-publish the record.
/// </para>
/// <para>
/// Permanent (<see cref="IsRetriable"/> false, a poison record): the consumer's position is past it and the next
/// poll returns the record after it. Transient (true): the consumer stays on the record and the next poll tries
/// it again.
/// </para>
/// </remarks>
public abstract class DeserializationException : KafkaClientException
{
    private protected DeserializationException(MessageComponentType component, ConsumeResult<byte[]?, byte[]?> record, Exception innerException)
        : base(
            $"Failed to deserialize the {SerializationException.ComponentName(component)} of the record at {record.Topic} [{record.Partition.Value}] @{record.Offset.Value}: {ErrorText.Safe(innerException.Message)}",
            innerException,
            record.Topic,
            record.Partition,
            record.Offset)
    {
        Component = component;
        RawKey = record.Message.Key;
        RawValue = record.Message.Value;
        Headers = record.Message.Headers;
        Timestamp = record.Message.Timestamp;
        LeaderEpoch = record.LeaderEpoch;
    }

    /// <summary>Gets which part of the record failed: <see cref="MessageComponentType.Key"/> or <see cref="MessageComponentType.Value"/>.</summary>
    public MessageComponentType Component { get; }

    /// <summary>Gets the record's key bytes as read from the broker (null for a null key).</summary>
    public byte[]? RawKey { get; }

    /// <summary>Gets the record's value bytes as read from the broker (null for a tombstone).</summary>
    public byte[]? RawValue { get; }

    /// <summary>Gets the record's headers as read from the broker.</summary>
    public Headers? Headers { get; }

    /// <summary>Gets the record's timestamp.</summary>
    public Timestamp Timestamp { get; }

    /// <summary>Gets the leader epoch the record was fetched under, if the broker reported one.</summary>
    public int? LeaderEpoch { get; }

    /// <summary>Gets the record's topic, partition and offset.</summary>
    public TopicPartitionOffset TopicPartitionOffset => new(Topic!, Partition!.Value, Offset!.Value);

    /// <summary>Gets a value indicating whether deserializing the same bytes again may succeed: true for I/O failures, timeouts and HTTP 5xx, 408 or 429 (for example a schema registry that could not be reached), and for the library's own retriable errors.</summary>
    public override bool IsRetriable => Transient.Is(InnerException);

    internal static DeserializationException Create(MessageComponentType component, ConsumeResult<byte[]?, byte[]?> record, Exception inner) =>
        component == MessageComponentType.Key
            ? new KeyDeserializationException(record, inner)
            : new ValueDeserializationException(record, inner);
}

/// <summary>A consumed record's key could not be deserialized.</summary>
public sealed class KeyDeserializationException : DeserializationException
{
    /// <summary>Initializes a new instance of the <see cref="KeyDeserializationException"/> class.</summary>
    /// <param name="record">The record as read from the broker.</param>
    /// <param name="innerException">The deserializer's exception.</param>
    public KeyDeserializationException(ConsumeResult<byte[]?, byte[]?> record, Exception innerException)
        : base(MessageComponentType.Key, record, innerException)
    {
    }
}

/// <summary>A consumed record's value could not be deserialized.</summary>
public sealed class ValueDeserializationException : DeserializationException
{
    /// <summary>Initializes a new instance of the <see cref="ValueDeserializationException"/> class.</summary>
    /// <param name="record">The record as read from the broker.</param>
    /// <param name="innerException">The deserializer's exception.</param>
    public ValueDeserializationException(ConsumeResult<byte[]?, byte[]?> record, Exception innerException)
        : base(MessageComponentType.Value, record, innerException)
    {
    }
}

using Confluent.Kafka;

namespace KafkaClient;

/// <summary>Kafka reported an error for a produce, consume, commit or dead-letter operation.</summary>
/// <remarks><see cref="Error"/> is librdkafka's error, with its code and reason.</remarks>
public class KafkaOperationException : KafkaClientException
{
    /// <summary>Initializes a new instance of the <see cref="KafkaOperationException"/> class.</summary>
    /// <param name="message">What failed, with context.</param>
    /// <param name="error">The error Kafka reported.</param>
    /// <param name="topic">The topic, if known.</param>
    /// <param name="partition">The partition, if known.</param>
    /// <param name="offset">The offset, if known.</param>
    /// <param name="innerException">The underlying exception, if any.</param>
    public KafkaOperationException(string message, Error error, string? topic = null, Partition? partition = null, Offset? offset = null, Exception? innerException = null)
        : base(message, innerException, topic, partition, offset)
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    /// <summary>Gets the error Kafka reported.</summary>
    public Error Error { get; }

    /// <summary>Gets a value indicating whether the same operation may succeed if repeated (transient broker, network or timeout errors).</summary>
    public override bool IsRetriable => !Error.IsFatal && KafkaErrors.IsRetriable(Error.Code);
}

/// <summary>A produced message was not delivered; see <see cref="KafkaOperationException.Error"/> for why.</summary>
public sealed class DeliveryFailedException : KafkaOperationException
{
    /// <summary>Initializes a new instance of the <see cref="DeliveryFailedException"/> class.</summary>
    /// <param name="error">The delivery error.</param>
    /// <param name="topic">The topic the message was for.</param>
    /// <param name="partition">The partition, if one was chosen.</param>
    public DeliveryFailedException(Error error, string topic, Partition partition)
        : base($"Message to topic \"{topic}\"{(partition == Confluent.Kafka.Partition.Any ? string.Empty : $" [{partition.Value}]")} was not delivered: {error?.Reason} ({error?.Code})", error!, topic, partition)
    {
    }
}

/// <summary>A record that could not be deserialized could not be forwarded to the dead-letter topic either.</summary>
/// <remarks>
/// Transient (<see cref="KafkaClientException.IsRetriable"/> true): the forward is being retried and the record's
/// offset is not stored. Permanent: the consumer moved past the record; <see cref="Exception.InnerException"/> is
/// the <see cref="DeserializationException"/> with the record's raw bytes, so the caller can still keep it.
/// </remarks>
public sealed class DeadLetterException : KafkaOperationException
{
    /// <summary>Initializes a new instance of the <see cref="DeadLetterException"/> class.</summary>
    /// <param name="deadLetterTopic">The dead-letter topic.</param>
    /// <param name="error">The produce error.</param>
    /// <param name="source">The record that could not be forwarded.</param>
    /// <param name="innerException">The deserialization failure that triggered the policy.</param>
    public DeadLetterException(string deadLetterTopic, Error error, TopicPartitionOffset source, DeserializationException innerException)
        : base($"Could not forward the record at {source?.Topic} [{source?.Partition.Value}] @{source?.Offset.Value} to dead-letter topic \"{deadLetterTopic}\": {ErrorText.Safe(error?.Reason)} ({error?.Code})", error!, source?.Topic, source?.Partition, source?.Offset, innerException)
    {
        DeadLetterTopic = deadLetterTopic;
    }

    /// <summary>Gets the dead-letter topic that could not be written.</summary>
    public string DeadLetterTopic { get; }
}

internal static class KafkaErrors
{
    public static bool IsRetriable(ErrorCode code) => code switch
    {
        ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown or ErrorCode.Local_TimedOut or ErrorCode.Local_MsgTimedOut
            or ErrorCode.Local_QueueFull or ErrorCode.Local_PurgeQueue or ErrorCode.Local_PurgeInflight or ErrorCode.Local_Retry or ErrorCode.Local_WaitCoord
            or ErrorCode.Local_Outdated => true,
        ErrorCode.LeaderNotAvailable or ErrorCode.NotLeaderForPartition or ErrorCode.RequestTimedOut or ErrorCode.NetworkException
            or ErrorCode.NotEnoughReplicas or ErrorCode.NotEnoughReplicasAfterAppend or ErrorCode.GroupLoadInProgress
            or ErrorCode.GroupCoordinatorNotAvailable or ErrorCode.NotCoordinatorForGroup or ErrorCode.RebalanceInProgress
            or ErrorCode.UnknownTopicOrPart or ErrorCode.KafkaStorageError or ErrorCode.FencedLeaderEpoch
            or ErrorCode.UnknownLeaderEpoch or ErrorCode.OffsetNotAvailable or ErrorCode.PreferredLeaderNotAvailable
            or ErrorCode.ConcurrentTransactions or ErrorCode.ThrottlingQuotaExceeded => true,
        _ => false,
    };
}

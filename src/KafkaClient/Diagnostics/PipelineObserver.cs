using Confluent.Kafka;

namespace KafkaClient.Diagnostics;

/// <summary>The named stages of the producer and consumer pipelines, where tracing, metrics and interceptors attach in one place.</summary>
/// <remarks>
/// Each pipeline calls its observer at every stage, on the thread named per method; the base class does
/// nothing. Implementations must be thread-safe, fast and must not throw (a throwing observer is reported
/// through the client's error handler and otherwise ignored).
/// </remarks>
internal abstract class PipelineObserver
{
    public static readonly PipelineObserver None = new NoObserver();

    /// <summary>Producer: a message's key and value were serialized and are about to be handed to Kafka (the producing thread, or the thread that finished an asynchronous serializer).</summary>
    public virtual void OnSending(string topic, Headers headers)
    {
    }

    /// <summary>Producer: Kafka reported the message's delivery or failure (the delivery-report thread).</summary>
    public virtual void OnDelivered(string topic, Partition partition, Offset offset, Error error)
    {
    }

    /// <summary>Consumer: a record was deserialized and is being returned to the application (the polling caller).</summary>
    public virtual void OnConsumed(ConsumeResult<byte[], byte[]> record)
    {
    }

    /// <summary>Consumer: a record could not be deserialized; <paramref name="outcome"/> says what the poison policy did with it (the polling caller).</summary>
    public virtual void OnPoison(DeserializationException failure, string outcome)
    {
    }

    /// <summary>Consumer: a dead-letter forward finished (the dead-letter producer's delivery-report thread).</summary>
    public virtual void OnDeadLettered(TopicPartitionOffset source, string deadLetterTopic, Error error)
    {
    }

    private sealed class NoObserver : PipelineObserver
    {
    }
}

using Confluent.Kafka;

namespace KafkaClient;

/// <summary>A Kafka producer of typed keys and values, as implemented by <see cref="SerializingProducer{TKey, TValue}"/>; for dependency injection and test doubles.</summary>
/// <typeparam name="TKey">The message key type.</typeparam>
/// <typeparam name="TValue">The message value type.</typeparam>
/// <remarks>Implementations must be thread-safe; see <see cref="SerializingProducer{TKey, TValue}"/> for ordering, threading and dispose rules.</remarks>
public interface ISerializingProducer<TKey, TValue> : IDisposable, IAsyncDisposable
{
    /// <summary>Gets the client's name.</summary>
    string Name { get; }

    /// <summary>Gets the number of messages produced whose delivery has not been reported yet.</summary>
    int InFlight { get; }

    /// <summary>Serializes and queues a message, returning at once; the outcome arrives through <paramref name="onDelivery"/>.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="headers">Headers to send, or null.</param>
    /// <param name="partition">The partition, or null to let the partitioner choose.</param>
    /// <param name="timestamp">The timestamp, or null for the current time.</param>
    /// <param name="onDelivery">Called once with the outcome, or null.</param>
    void Produce(string topic, TKey key, TValue value, Headers? headers = null, Partition? partition = null, Timestamp? timestamp = null, Action<DeliveryReport<TKey, TValue>>? onDelivery = null);

    /// <summary>Serializes and queues a message, returning at once.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="message">The message.</param>
    /// <param name="onDelivery">Called once with the outcome, or null.</param>
    void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? onDelivery = null);

    /// <summary>Serializes and queues a message to one partition, returning at once.</summary>
    /// <param name="topicPartition">The topic and partition.</param>
    /// <param name="message">The message.</param>
    /// <param name="onDelivery">Called once with the outcome, or null.</param>
    void Produce(TopicPartition topicPartition, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? onDelivery = null);

    /// <summary>Serializes and sends a message, completing when Kafka has acknowledged it.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="headers">Headers to send, or null.</param>
    /// <param name="cancellationToken">Cancels waiting for serialization or for room in a full queue.</param>
    /// <returns>The delivery result.</returns>
    Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, TKey key, TValue value, Headers? headers = null, CancellationToken cancellationToken = default);

    /// <summary>Serializes and sends a message, completing when Kafka has acknowledged it.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels waiting for serialization or for room in a full queue.</param>
    /// <returns>The delivery result.</returns>
    Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, Message<TKey, TValue> message, CancellationToken cancellationToken = default);

    /// <summary>Serializes and sends a message to one partition, completing when Kafka has acknowledged it.</summary>
    /// <param name="topicPartition">The topic and partition.</param>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels waiting for serialization or for room in a full queue.</param>
    /// <returns>The delivery result.</returns>
    Task<DeliveryResult<TKey, TValue>> ProduceAsync(TopicPartition topicPartition, Message<TKey, TValue> message, CancellationToken cancellationToken = default);

    /// <summary>Waits until every message produced so far is delivered or the timeout passes, blocking the caller.</summary>
    /// <param name="timeout">The longest time to wait.</param>
    /// <returns>The number of messages still not delivered.</returns>
    int Flush(TimeSpan timeout);

    /// <summary>Waits, without blocking a thread, until every message produced so far is delivered or the timeout passes.</summary>
    /// <param name="timeout">The longest time to wait.</param>
    /// <param name="cancellationToken">Stops waiting early.</param>
    /// <returns>The number of messages still not delivered.</returns>
    Task<int> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default);
}

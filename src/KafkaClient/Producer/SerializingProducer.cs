using Confluent.Kafka;
using KafkaClient.Producer;
using KafkaClient.Serialization;

namespace KafkaClient;

/// <summary>A Kafka producer that serializes typed keys and values and reports each delivery.</summary>
/// <typeparam name="TKey">The message key type.</typeparam>
/// <typeparam name="TValue">The message value type.</typeparam>
/// <remarks>
/// <para>Made by <see cref="SerializingProducerBuilder{TKey, TValue}"/>. All members are thread-safe.</para>
/// <para>
/// Delivery reports are served by a background thread: <c>onDelivery</c> callbacks run on it, so keep them short
/// and never block in them. Tasks returned by <see cref="ProduceAsync(string, TKey, TValue, Headers?, CancellationToken)"/>
/// complete their continuations on the thread pool, never on that thread.
/// </para>
/// <para>
/// Order: messages are handed to Kafka in the order of the calls that produced them, whichever of
/// <c>Produce</c> and <c>ProduceAsync</c> made them. Synchronous serializers run on the calling thread;
/// asynchronous serializers are awaited, never blocked on, and a message whose serializer has not finished, or an
/// awaited one waiting for room in a full queue, holds back every message produced after it.
/// </para>
/// <para>
/// Headers: the caller's <see cref="Headers"/> object is never changed; serializers that add headers (schema
/// ids, for example) write to a copy that is sent with the message.
/// </para>
/// <para>
/// <see cref="Dispose"/> and <see cref="DisposeAsync"/> have the same outcome: they wait, for at most the dispose
/// timeout, for pending serialization and then for delivery; messages still undelivered then are reported as failed
/// (error <see cref="ErrorCode.Local_PurgeQueue"/>) through their callback, task or the error handler.
/// </para>
/// </remarks>
public sealed class SerializingProducer<TKey, TValue> : ISerializingProducer<TKey, TValue>
{
    private readonly ProducerPipeline<TKey, TValue> _pipeline;

    internal SerializingProducer(ProducerPipeline<TKey, TValue> pipeline)
    {
        _pipeline = pipeline;
    }

    /// <summary>Gets the client's name as librdkafka reports it (client.id plus a unique suffix).</summary>
    public string Name => _pipeline.Name;

    /// <summary>Gets the number of messages handed to Kafka whose delivery has not been reported yet.</summary>
    public int InFlight => _pipeline.InFlight;

    /// <summary>Serializes and queues a message, returning at once; the delivery report arrives through <paramref name="onDelivery"/>.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="key">The key, serialized with the key serializer.</param>
    /// <param name="value">The value, serialized with the value serializer.</param>
    /// <param name="headers">Headers to send, or null.</param>
    /// <param name="partition">The partition, or null to let the partitioner choose (murmur2 of the key by default, as in Java).</param>
    /// <param name="timestamp">The timestamp, or null for the current time.</param>
    /// <param name="onDelivery">Called once with the outcome, on the delivery-report thread; null to ignore successes (failures then go to the error handler).</param>
    /// <exception cref="KeySerializationException">The key serializer failed; nothing was queued.</exception>
    /// <exception cref="ValueSerializationException">The value serializer failed; nothing was queued.</exception>
    /// <exception cref="DeliveryFailedException">librdkafka refused the message at once (for example its queue is full, <see cref="KafkaClientException.IsRetriable"/> then says whether to retry).</exception>
    /// <remarks>
    /// With an asynchronous serializer that has not finished, the message is queued when it has; a serializer
    /// failure is then reported through <paramref name="onDelivery"/> with <see cref="ErrorCode.Local_KeySerialization"/>
    /// or <see cref="ErrorCode.Local_ValueSerialization"/> instead of being thrown.
    /// </remarks>
    public void Produce(
        string topic,
        TKey key,
        TValue value,
        Headers? headers = null,
        Partition? partition = null,
        Timestamp? timestamp = null,
        Action<DeliveryReport<TKey, TValue>>? onDelivery = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);

        // A callback gets the message back in its report; without one, no message object is made.
        var message = onDelivery is null ? null : new Message<TKey, TValue> { Key = key, Value = value, Headers = headers, Timestamp = timestamp ?? Timestamp.Default };
        _pipeline.Produce(topic, partition ?? Partition.Any, key, value, headers, timestamp ?? Timestamp.Default, message, onDelivery, awaited: false, CancellationToken.None);
    }

    /// <summary>Serializes and queues a message, returning at once; the delivery report arrives through <paramref name="onDelivery"/>.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="message">The message: key, value, headers and timestamp.</param>
    /// <param name="onDelivery">Called once with the outcome, on the delivery-report thread.</param>
    /// <remarks>Behaves as <see cref="Produce(string, TKey, TValue, Headers?, Partition?, Timestamp?, Action{DeliveryReport{TKey, TValue}}?)"/>.</remarks>
    public void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? onDelivery = null) =>
        Produce(topic, Partition.Any, message, onDelivery);

    /// <summary>Serializes and queues a message to one partition, returning at once.</summary>
    /// <param name="topicPartition">The topic and partition to write to.</param>
    /// <param name="message">The message: key, value, headers and timestamp.</param>
    /// <param name="onDelivery">Called once with the outcome, on the delivery-report thread.</param>
    /// <remarks>Behaves as <see cref="Produce(string, TKey, TValue, Headers?, Partition?, Timestamp?, Action{DeliveryReport{TKey, TValue}}?)"/>.</remarks>
    public void Produce(TopicPartition topicPartition, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? onDelivery = null)
    {
        ArgumentNullException.ThrowIfNull(topicPartition);
        Produce(topicPartition.Topic, topicPartition.Partition, message, onDelivery);
    }

    /// <summary>Serializes and sends a message, completing when Kafka has acknowledged it.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="headers">Headers to send, or null.</param>
    /// <param name="cancellationToken">Cancels waiting for serialization or for room in a full queue; once queued, a message can no longer be recalled.</param>
    /// <returns>The delivery result: partition, offset and timestamp.</returns>
    /// <exception cref="KeySerializationException">The key serializer failed; nothing was sent.</exception>
    /// <exception cref="ValueSerializationException">The value serializer failed; nothing was sent.</exception>
    /// <exception cref="DeliveryFailedException">Kafka did not accept the message.</exception>
    /// <remarks>A full local queue is waited out (back-pressure) rather than failed.</remarks>
    public Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, TKey key, TValue value, Headers? headers = null, CancellationToken cancellationToken = default) =>
        ProduceAsync(topic, Partition.Any, new Message<TKey, TValue> { Key = key, Value = value, Headers = headers }, cancellationToken);

    /// <summary>Serializes and sends a message, completing when Kafka has acknowledged it.</summary>
    /// <param name="topic">The topic to write to.</param>
    /// <param name="message">The message: key, value, headers and timestamp.</param>
    /// <param name="cancellationToken">Cancels waiting for serialization or for room in a full queue.</param>
    /// <returns>The delivery result.</returns>
    /// <remarks>Behaves as <see cref="ProduceAsync(string, TKey, TValue, Headers?, CancellationToken)"/>.</remarks>
    public Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, Message<TKey, TValue> message, CancellationToken cancellationToken = default) =>
        ProduceAsync(topic, Partition.Any, message, cancellationToken);

    /// <summary>Serializes and sends a message to one partition, completing when Kafka has acknowledged it.</summary>
    /// <param name="topicPartition">The topic and partition to write to.</param>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Cancels waiting for serialization or for room in a full queue.</param>
    /// <returns>The delivery result.</returns>
    /// <remarks>Behaves as <see cref="ProduceAsync(string, TKey, TValue, Headers?, CancellationToken)"/>.</remarks>
    public Task<DeliveryResult<TKey, TValue>> ProduceAsync(TopicPartition topicPartition, Message<TKey, TValue> message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topicPartition);
        return ProduceAsync(topicPartition.Topic, topicPartition.Partition, message, cancellationToken);
    }

    /// <summary>Serves queued delivery reports on the calling thread; only needed when background polling was turned off with <c>dotnet.producer.enable.background.poll=false</c>.</summary>
    /// <param name="timeout">How long to wait for a report.</param>
    /// <returns>The number of events served.</returns>
    public int Poll(TimeSpan timeout) => _pipeline.Inner.Poll(timeout);

    /// <summary>Waits until every message produced so far is delivered or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">The longest time to wait.</param>
    /// <returns>The number of messages still not delivered (0 when all were).</returns>
    /// <remarks>Blocks the calling thread; prefer <see cref="FlushAsync(TimeSpan, CancellationToken)"/> in asynchronous code.</remarks>
    public int Flush(TimeSpan timeout)
    {
        ThrowIfDisposed();
        return _pipeline.Flush(timeout);
    }

    /// <summary>Waits, without blocking a thread, until every message produced so far is delivered or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">The longest time to wait.</param>
    /// <param name="cancellationToken">Stops waiting early.</param>
    /// <returns>The number of messages still not delivered (0 when all were).</returns>
    /// <remarks>Delivery reports are served by librdkafka's background thread (the default); with <c>dotnet.producer.enable.background.poll=false</c>, a pool thread serves them while it waits.</remarks>
    public Task<int> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _pipeline.FlushAsync(timeout, cancellationToken);
    }

    /// <summary>Stops taking messages, waits (at most the dispose timeout) for pending serialization and delivery, then releases the client, reporting every message still undelivered as failed.</summary>
    /// <remarks>Blocks the calling thread; <see cref="DisposeAsync"/> has the same outcome without blocking it.</remarks>
    public void Dispose() => _pipeline.Close();

    /// <summary>Stops taking messages, waits without blocking a thread (at most the dispose timeout) for pending serialization and delivery, then releases the client, reporting every message still undelivered as failed.</summary>
    /// <returns>A task that completes when the producer is released.</returns>
    public ValueTask DisposeAsync() => _pipeline.CloseAsync();

    private void Produce(string topic, Partition partition, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? onDelivery)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(message);
        _pipeline.Produce(topic, partition, message.Key, message.Value, message.Headers, message.Timestamp, message, onDelivery, awaited: false, CancellationToken.None);
    }

    private Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, Partition partition, Message<TKey, TValue> message, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(message);
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<DeliveryResult<TKey, TValue>>(cancellationToken)
            : _pipeline.Produce(topic, partition, message.Key, message.Value, message.Headers, message.Timestamp, message, null, awaited: true, cancellationToken)!;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(!_pipeline.IsOpen, this);
}

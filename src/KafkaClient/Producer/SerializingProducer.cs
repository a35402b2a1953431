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
/// Synchronous serializers run on the calling thread. Asynchronous serializers are awaited, never blocked on;
/// messages whose serialization has not finished yet are handed to Kafka in the order they were produced.
/// </para>
/// <para>
/// Dispose flushes for at most the dispose timeout; messages still undelivered then are reported as failed
/// (error <see cref="ErrorCode.Local_PurgeQueue"/>) through their callback, task or the error handler.
/// </para>
/// </remarks>
public sealed class SerializingProducer<TKey, TValue> : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan FlushPollInterval = TimeSpan.FromMilliseconds(5);

    private readonly IProducer<byte[], byte[]> _inner;
    private readonly SerializerSlot<TKey> _key;
    private readonly SerializerSlot<TValue> _value;
    private readonly bool _synchronous;
    private readonly TimeSpan _disposeTimeout;
    private readonly Action<Error>? _errorHandler;
    private readonly PendingDeliveries<Delivery> _pending = new();

    // Ordering of messages whose serialization completes later than the call that produced them.
    private readonly Lock _orderGate = new();
    private Task _tail = Task.CompletedTask;
    private int _deferred;
    private int _disposed;

    internal SerializingProducer(
        IProducer<byte[], byte[]> inner,
        SerializerSlot<TKey> key,
        SerializerSlot<TValue> value,
        TimeSpan disposeTimeout,
        Action<Error>? errorHandler)
    {
        _inner = inner;
        _key = key;
        _value = value;
        _synchronous = key.IsSynchronous && value.IsSynchronous;
        _disposeTimeout = disposeTimeout;
        _errorHandler = errorHandler;
    }

    /// <summary>Gets the client's name as librdkafka reports it (client.id plus a unique suffix).</summary>
    public string Name => _inner.Name;

    /// <summary>Gets the number of messages handed to Kafka whose delivery has not been reported yet.</summary>
    public int InFlight => _pending.Count + Volatile.Read(ref _deferred);

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
        var message = new Message<TKey, TValue> { Key = key, Value = value, Headers = headers, Timestamp = timestamp ?? Timestamp.Default };
        Produce(topic, partition ?? Partition.Any, message, onDelivery);
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
    public int Poll(TimeSpan timeout) => _inner.Poll(timeout);

    /// <summary>Waits until every queued message is delivered or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">The longest time to wait.</param>
    /// <returns>The number of messages still not delivered (0 when all were).</returns>
    /// <remarks>Blocks the calling thread; prefer <see cref="FlushAsync(TimeSpan, CancellationToken)"/> in asynchronous code.</remarks>
    public int Flush(TimeSpan timeout)
    {
        ThrowIfDisposed();
        var deadline = DateTime.UtcNow + timeout;
        var spin = default(SpinWait);
        while (Volatile.Read(ref _deferred) > 0 && DateTime.UtcNow < deadline)
        {
            spin.SpinOnce(sleep1Threshold: 10);
        }

        var left = deadline - DateTime.UtcNow;
        return _inner.Flush(left > TimeSpan.Zero ? left : TimeSpan.Zero) + Volatile.Read(ref _deferred);
    }

    /// <summary>Waits, without blocking a thread, until every queued message is delivered or <paramref name="timeout"/> passes.</summary>
    /// <param name="timeout">The longest time to wait.</param>
    /// <param name="cancellationToken">Stops waiting early.</param>
    /// <returns>The number of messages still not delivered (0 when all were).</returns>
    public async Task<int> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await Volatile.Read(ref _tail).WaitAsync(timeoutSource.Token).ConfigureAwait(false);
            int left;
            while ((left = _inner.Flush(TimeSpan.Zero)) > 0)
            {
                await Task.Delay(FlushPollInterval, timeoutSource.Token).ConfigureAwait(false);
            }

            return left;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return _inner.Flush(TimeSpan.Zero) + Volatile.Read(ref _deferred);
        }
    }

    /// <summary>Flushes for at most the dispose timeout, then releases the client, reporting every message still undelivered as failed.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        var deadline = DateTime.UtcNow + _disposeTimeout;
        var spin = default(SpinWait);
        while (Volatile.Read(ref _deferred) > 0 && DateTime.UtcNow < deadline)
        {
            spin.SpinOnce(sleep1Threshold: 10);
        }

        var left = deadline - DateTime.UtcNow;
        _inner.Flush(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        Shutdown();
    }

    /// <summary>Flushes for at most the dispose timeout without blocking a thread, then releases the client, reporting every message still undelivered as failed.</summary>
    /// <returns>A task that completes when the producer is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await FlushAsync(_disposeTimeout).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Shutdown();
    }

    private void Shutdown()
    {
        _inner.Dispose();
        var undelivered = _pending.Drain();
        if (undelivered.Count == 0)
        {
            return;
        }

        var error = new Error(
            ErrorCode.Local_PurgeQueue,
            $"The producer was disposed before delivery of this message was confirmed ({undelivered.Count} message(s) still undelivered after the {_disposeTimeout.TotalSeconds:0.###} s dispose timeout).");
        foreach (var delivery in undelivered)
        {
            delivery.Complete(error, delivery.Partition, Offset.Unset, PersistenceStatus.PossiblyPersisted, Timestamp.Default);
        }
    }

    private void Produce(string topic, Partition partition, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? onDelivery)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfDisposed();
        var delivery = new Delivery(this, topic, partition, message, onDelivery, null);

        if (_synchronous)
        {
            var keyBytes = SerializeOrThrow(_key, message.Key, MessageComponentType.Key, topic, message.Headers);
            var valueBytes = SerializeOrThrow(_value, message.Value, MessageComponentType.Value, topic, message.Headers);
            Send(delivery, keyBytes, valueBytes);
            return;
        }

        var keyTask = _key.SerializeAsync(message.Key, new SerializationContext(MessageComponentType.Key, topic, message.Headers));
        var valueTask = _value.SerializeAsync(message.Value, new SerializationContext(MessageComponentType.Value, topic, message.Headers));
        lock (_orderGate)
        {
            if (_deferred == 0 && keyTask.IsCompleted && valueTask.IsCompleted)
            {
                Send(delivery, Completed(keyTask, MessageComponentType.Key, topic), Completed(valueTask, MessageComponentType.Value, topic));
                return;
            }

            Defer(delivery, keyTask, valueTask, CancellationToken.None);
        }
    }

    private Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, Partition partition, Message<TKey, TValue> message, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<DeliveryResult<TKey, TValue>>(cancellationToken);
        }

        var completion = new TaskCompletionSource<DeliveryResult<TKey, TValue>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var delivery = new Delivery(this, topic, partition, message, null, completion);
        var keyTask = _key.SerializeAsync(message.Key, new SerializationContext(MessageComponentType.Key, topic, message.Headers));
        var valueTask = _value.SerializeAsync(message.Value, new SerializationContext(MessageComponentType.Value, topic, message.Headers));
        lock (_orderGate)
        {
            if (_deferred == 0 && keyTask.IsCompleted && valueTask.IsCompleted)
            {
                try
                {
                    Send(delivery, Completed(keyTask, MessageComponentType.Key, topic), Completed(valueTask, MessageComponentType.Value, topic));
                    return completion.Task;
                }
                catch (DeliveryFailedException ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // Fall through: wait for room in the queue, keeping later messages behind this one.
                }
                catch (Exception ex)
                {
                    return Task.FromException<DeliveryResult<TKey, TValue>>(ex);
                }
            }

            Defer(delivery, keyTask, valueTask, cancellationToken);
        }

        return completion.Task;
    }

    // Must be called under _orderGate.
    private void Defer(Delivery delivery, ValueTask<byte[]> keyTask, ValueTask<byte[]> valueTask, CancellationToken cancellationToken)
    {
        _deferred++;
        _tail = SendWhenSerializedAsync(_tail, delivery, keyTask.AsTask(), valueTask.AsTask(), cancellationToken);
    }

    private async Task SendWhenSerializedAsync(Task previous, Delivery delivery, Task<byte[]> keyTask, Task<byte[]> valueTask, CancellationToken cancellationToken)
    {
        // The outcome is reported only after this message stops counting as deferred, so that a caller
        // who sees the failure also sees an accurate InFlight.
        Action? report = null;
        try
        {
            await previous.ConfigureAwait(false);
            byte[] keyBytes, valueBytes;
            try
            {
                keyBytes = await keyTask.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                report = () => delivery.Fail(SerializationException.Create(MessageComponentType.Key, delivery.Topic, ex));
                return;
            }

            try
            {
                valueBytes = await valueTask.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                report = () => delivery.Fail(SerializationException.Create(MessageComponentType.Value, delivery.Topic, ex));
                return;
            }

            while (true)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    report = () => delivery.Complete(new Error(ErrorCode.Local_PurgeQueue, "The producer was disposed before this message's serialization finished."), delivery.Partition, Offset.Unset, PersistenceStatus.NotPersisted, Timestamp.Default);
                    return;
                }

                try
                {
                    Send(delivery, keyBytes, valueBytes);
                    return;
                }
                catch (DeliveryFailedException ex) when (ex.Error.Code == ErrorCode.Local_QueueFull && delivery.WaitsForRoom)
                {
                    await Task.Delay(FlushPollInterval, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    report = () => delivery.Fail(ex);
                    return;
                }
            }
        }
        catch (OperationCanceledException ex)
        {
            report = () => delivery.Cancel(ex.CancellationToken);
        }
        finally
        {
            lock (_orderGate)
            {
                _deferred--;
            }

            report?.Invoke();
        }
    }

    private void Send(Delivery delivery, byte[] keyBytes, byte[] valueBytes)
    {
        var raw = new Message<byte[], byte[]>
        {
            Key = keyBytes,
            Value = valueBytes,
            Headers = delivery.Message.Headers,
            Timestamp = delivery.Message.Timestamp,
        };
        _pending.Add(delivery);
        try
        {
            if (delivery.Partition == Partition.Any)
            {
                _inner.Produce(delivery.Topic, raw, delivery.Handler);
            }
            else
            {
                _inner.Produce(new TopicPartition(delivery.Topic, delivery.Partition), raw, delivery.Handler);
            }
        }
        catch (ProduceException<byte[], byte[]> ex)
        {
            _pending.Remove(delivery);
            throw new DeliveryFailedException(ex.Error, delivery.Topic, delivery.Partition);
        }
        catch (ObjectDisposedException)
        {
            _pending.Remove(delivery);
            throw;
        }
    }

    private static byte[] SerializeOrThrow<T>(SerializerSlot<T> slot, T data, MessageComponentType component, string topic, Headers? headers)
    {
        try
        {
            return slot.Serialize(data, new SerializationContext(component, topic, headers));
        }
        catch (Exception ex)
        {
            throw SerializationException.Create(component, topic, ex);
        }
    }

    private static byte[] Completed(ValueTask<byte[]> task, MessageComponentType component, string topic)
    {
        if (task.IsCompletedSuccessfully)
        {
            return task.CompletedResult();
        }

        try
        {
            task.GetAwaiter().GetResult(); // completed and faulted: rethrows without blocking
        }
        catch (Exception ex)
        {
            throw SerializationException.Create(component, topic, ex);
        }

        throw new InvalidOperationException("Unreachable: a faulted task did not throw.");
    }

    private void ReportUnobserved(Error error)
    {
        try
        {
            _errorHandler?.Invoke(error);
        }
        catch (Exception)
        {
            // An error handler that throws must not take down the delivery-report thread.
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>One message from the call that produced it to its delivery report.</summary>
    private sealed class Delivery : PendingDeliveries<Delivery>.Node
    {
        private readonly SerializingProducer<TKey, TValue> _owner;
        private readonly Action<DeliveryReport<TKey, TValue>>? _callback;
        private readonly TaskCompletionSource<DeliveryResult<TKey, TValue>>? _completion;
        private int _completed;

        public Delivery(
            SerializingProducer<TKey, TValue> owner,
            string topic,
            Partition partition,
            Message<TKey, TValue> message,
            Action<DeliveryReport<TKey, TValue>>? callback,
            TaskCompletionSource<DeliveryResult<TKey, TValue>>? completion)
        {
            _owner = owner;
            Topic = topic;
            Partition = partition;
            Message = message;
            _callback = callback;
            _completion = completion;
            Handler = OnDeliveryReport;
        }

        public string Topic { get; }

        public Partition Partition { get; }

        public Message<TKey, TValue> Message { get; }

        public Action<DeliveryReport<byte[], byte[]>> Handler { get; }

        public bool WaitsForRoom => _completion is not null;

        public void Fail(Exception exception)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            if (_completion is not null)
            {
                _completion.TrySetException(exception);
                return;
            }

            var code = exception switch
            {
                KeySerializationException => ErrorCode.Local_KeySerialization,
                ValueSerializationException => ErrorCode.Local_ValueSerialization,
                DeliveryFailedException d => d.Error.Code,
                _ => ErrorCode.Local_Fail,
            };
            Report(new Error(code, exception.Message), Partition, Offset.Unset, PersistenceStatus.NotPersisted, Timestamp.Default);
        }

        public void Cancel(CancellationToken token)
        {
            if (Interlocked.Exchange(ref _completed, 1) == 0)
            {
                _completion?.TrySetCanceled(token);
            }
        }

        public void Complete(Error error, Partition partition, Offset offset, PersistenceStatus status, Timestamp timestamp)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            if (_completion is not null)
            {
                if (error.IsError)
                {
                    _completion.TrySetException(new DeliveryFailedException(error, Topic, partition));
                }
                else
                {
                    _completion.TrySetResult(new DeliveryResult<TKey, TValue>
                    {
                        Topic = Topic,
                        Partition = partition,
                        Offset = offset,
                        Status = status,
                        Message = WithTimestamp(timestamp),
                    });
                }

                return;
            }

            Report(error, partition, offset, status, timestamp);
        }

        private void Report(Error error, Partition partition, Offset offset, PersistenceStatus status, Timestamp timestamp)
        {
            if (_callback is null)
            {
                if (error.IsError)
                {
                    _owner.ReportUnobserved(new Error(error.Code, $"Message to topic \"{Topic}\" was not delivered: {error.Reason}", error.IsFatal));
                }

                return;
            }

            var report = new DeliveryReport<TKey, TValue>
            {
                Topic = Topic,
                Partition = partition,
                Offset = offset,
                Status = status,
                Error = error,
                Message = WithTimestamp(timestamp),
            };
            try
            {
                _callback(report);
            }
            catch (Exception ex)
            {
                _owner.ReportUnobserved(new Error(ErrorCode.Local_Fail, $"A delivery callback threw {ex.GetType().Name}: {ex.Message}"));
            }
        }

        private Message<TKey, TValue> WithTimestamp(Timestamp timestamp) =>
            timestamp.Type == TimestampType.NotAvailable || timestamp == Message.Timestamp
                ? Message
                : new Message<TKey, TValue> { Key = Message.Key, Value = Message.Value, Headers = Message.Headers, Timestamp = timestamp };

        private void OnDeliveryReport(DeliveryReport<byte[], byte[]> report)
        {
            _owner._pending.Remove(this);
            Complete(report.Error, report.Partition, report.Offset, report.Status, report.Timestamp);
        }
    }
}

using System.Diagnostics;
using Confluent.Kafka;
using KafkaClient.Diagnostics;
using KafkaClient.Serialization;

namespace KafkaClient.Producer;

/// <summary>The one path every produce call takes: serialize, order, send, report.</summary>
/// <remarks>
/// <para>
/// Serialize: both serializers run on the calling thread; an asynchronous one returns a task that is awaited,
/// never blocked on. Order: a message goes straight to librdkafka only when nothing produced before it is still
/// waiting (for its serializer or for room in a full queue); otherwise it joins the backlog, which one drain loop
/// sends strictly in call order. The fast path takes no lock. Send: the message joins the pending list, then
/// librdkafka's queue. Report: librdkafka's delivery report completes the caller's task or callback.
/// </para>
/// <para>
/// Flush and dispose wait for the backlog to empty and for the pending list to empty, on signals set by the
/// drain loop and the delivery-report thread: no polling.
/// </para>
/// </remarks>
internal sealed class ProducerPipeline<TKey, TValue>
{
    private const int Open = 0;
    private const int Closing = 1;
    private const int Closed = 2;

    /// <summary>Every message's delivery report, routed to the message's own record (the report's key).</summary>
    private static readonly Action<DeliveryReport<OutgoingMessage, byte[]>> OnDeliveryReport = static report => ((Delivery)report.Message.Key).OnReport(report);

    private readonly IProducer<OutgoingMessage, byte[]> _inner;
    private readonly SerializerSlot<TKey> _key;
    private readonly SerializerSlot<TValue> _value;
    private readonly bool _copyHeaders;
    private readonly bool _pollsInBackground;
    private readonly ErrorReporter _errors;
    private readonly ClientTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly TimeSpan _disposeTimeout;
    private readonly PendingDeliveries<Delivery> _pending = new();

    private readonly Lock _orderGate = new();
    private readonly Queue<Deferred> _backlog = new();
    private readonly ManualResetEventSlim _backlogEmpty = new(initialState: true);
    private TaskCompletionSource? _backlogEmptied;
    private int _deferred;
    private bool _draining;
    private int _state;

    public ProducerPipeline(
        IProducer<OutgoingMessage, byte[]> inner,
        SerializerSlot<TKey> key,
        SerializerSlot<TValue> value,
        TimeSpan disposeTimeout,
        ErrorReporter errors,
        ClientTelemetry telemetry,
        TimeProvider time,
        bool pollsInBackground = true)
    {
        _pollsInBackground = pollsInBackground;
        _inner = inner;
        _key = key;
        _value = value;
        _copyHeaders = key.MayWriteHeaders || value.MayWriteHeaders;
        _disposeTimeout = disposeTimeout;
        _errors = errors;
        _telemetry = telemetry;
        _time = time;
    }

    public string Name => _inner.Name;

    public int InFlight => _pending.Count + Volatile.Read(ref _deferred);

    public bool IsOpen => Volatile.Read(ref _state) == Open;

    public IProducer<OutgoingMessage, byte[]> Inner => _inner;

    /// <summary>Produces one message; returns its task when <paramref name="awaited"/>, else null (the outcome goes to <paramref name="callback"/>).</summary>
    /// <remarks>
    /// Not awaited: serializer failures and an immediate refusal by librdkafka are thrown. Awaited: they fault the task.
    /// <paramref name="message"/> is the caller's message object, which the outcome carries; it must be given when a
    /// task or a callback will read the outcome, and may be null for a fire-and-forget send (none is then made).
    /// </remarks>
    public Task<DeliveryResult<TKey, TValue>>? Produce(
        string topic,
        Partition partition,
        TKey key,
        TValue value,
        Headers? callerHeaders,
        Timestamp timestamp,
        Message<TKey, TValue>? message,
        Action<DeliveryReport<TKey, TValue>>? callback,
        bool awaited,
        CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _state) != Open, this);

        // Confluent.Kafka throws this at hand-over, past the point where the message counts as in flight (and, for a
        // deferred message, on the thread that sends every message behind it): refused here, like a missing topic.
        if (timestamp.Type != TimestampType.CreateTime && timestamp != Timestamp.Default)
        {
            throw new ArgumentException($"A message's timestamp must be Timestamp.Default or of type CreateTime, not {timestamp.Type}.", nameof(timestamp));
        }

        var completion = awaited ? new TaskCompletionSource<DeliveryResult<TKey, TValue>>(TaskCreationOptions.RunContinuationsAsynchronously) : null;

        // Serializers may add headers (schema ids, for example), and tracing its context; they get a copy, never the caller's object.
        var send = ClientTelemetry.StartSend(topic, partition, key as string); // only a string key is an attribute: no box for other keys
        var headers = _copyHeaders || send is not null ? Copy(callerHeaders) : callerHeaders;
        if (send is not null)
        {
            Telemetry.Inject(send, headers!);
        }

        var delivery = new Delivery(this, topic, partition, timestamp, message, headers, callback, completion, send);
        var keyTask = _key.SerializeAsync(key, new SerializationContext(MessageComponentType.Key, topic, headers));
        var valueTask = _value.SerializeAsync(value, new SerializationContext(MessageComponentType.Value, topic, headers));

        if (Volatile.Read(ref _deferred) == 0 && keyTask.IsCompleted && valueTask.IsCompleted)
        {
            KafkaClientException? failure = Serialized(keyTask, valueTask, topic, out var keyBytes, out var valueBytes);
            failure ??= Send(delivery, keyBytes!, valueBytes!);
            if (failure is null)
            {
                return completion?.Task;
            }

            if (!(awaited && failure is DeliveryFailedException { Error.Code: ErrorCode.Local_QueueFull }))
            {
                delivery.Observe(failure);
            }

            if (!(awaited && failure is DeliveryFailedException { Error.Code: ErrorCode.Local_QueueFull }))
            {
                return awaited ? Task.FromException<DeliveryResult<TKey, TValue>>(failure) : throw failure;
            }

            // A full queue is waited out for an awaited call, and every later call queues up behind it.
            keyTask = new ValueTask<byte[]>(keyBytes!);
            valueTask = new ValueTask<byte[]>(valueBytes!);
        }

        Defer(new Deferred(delivery, keyTask, valueTask, awaited ? cancellationToken : CancellationToken.None));
        return completion?.Task;
    }

    /// <summary>Waits until every message is delivered or the timeout passes, blocking the caller.</summary>
    public int Flush(TimeSpan timeout)
    {
        var start = _time.GetTimestamp();
        _backlogEmpty.Wait(timeout);
        _inner.Flush(Remaining(start, timeout));
        return InFlight;
    }

    /// <summary>Waits until every message is delivered or the timeout passes, without blocking a thread.</summary>
    public async Task<int> FlushAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        try
        {
            await BacklogEmptied().WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            if (_pollsInBackground)
            {
                await _pending.WhenEmpty().WaitAsync(Remaining(start, timeout), _time, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // Nobody serves the reports but the caller (dotnet.producer.enable.background.poll=false): librdkafka's
                // flush does, on a pool thread; waiting for them instead would time out and, on dispose, fail delivered messages.
                await Task.Run(() => _inner.Flush(Remaining(start, timeout)), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // Reported as the number still in flight.
        }

        return InFlight;
    }

    /// <summary>Stops taking messages, waits (bounded by the dispose timeout) for the backlog and for deliveries, then releases librdkafka.</summary>
    public void Close()
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open)
        {
            return;
        }

        Flush(_disposeTimeout);
        Shutdown();
    }

    /// <summary>The asynchronous twin of <see cref="Close"/>.</summary>
    public async ValueTask CloseAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open)
        {
            return;
        }

        await FlushAsync(_disposeTimeout, CancellationToken.None).ConfigureAwait(false);
        Shutdown();
    }

    private void Shutdown()
    {
        Volatile.Write(ref _state, Closed);
        _inner.Dispose();

        var purged = new Error(
            ErrorCode.Local_PurgeQueue,
            $"The producer was disposed before delivery of this message was confirmed ({InFlight} message(s) still undelivered after the {_disposeTimeout.TotalSeconds:0.###} s dispose timeout).");
        foreach (var delivery in _pending.Drain())
        {
            delivery.Complete(purged, delivery.Partition, Offset.Unset, PersistenceStatus.PossiblyPersisted, Timestamp.Default);
        }

        Deferred[] waiting;
        lock (_orderGate)
        {
            waiting = [.. _backlog];
        }

        var unserialized = new Error(ErrorCode.Local_PurgeQueue, $"The producer was disposed before this message's serialization finished (dispose timeout {_disposeTimeout.TotalSeconds:0.###} s).");
        foreach (var entry in waiting)
        {
            entry.Delivery.Complete(unserialized, entry.Delivery.Partition, Offset.Unset, PersistenceStatus.NotPersisted, Timestamp.Default);
        }

        // _backlogEmpty is left to the collector: a call deferred while this ran may still touch it.
    }

    private void Defer(Deferred entry)
    {
        if (entry.CancellationToken.CanBeCanceled)
        {
            entry.Cancellation = entry.CancellationToken.UnsafeRegister(static (state, token) => ((Delivery)state!).CancelIfWaiting(token), entry.Delivery);
        }

        bool start;
        lock (_orderGate)
        {
            if (Volatile.Read(ref _deferred) == 0)
            {
                _backlogEmpty.Reset();
            }

            Volatile.Write(ref _deferred, _deferred + 1);
            _backlog.Enqueue(entry);
            start = !_draining;
            _draining = true;
        }

        if (start)
        {
            // On the thread pool: the caller's thread must never be captured by a long drain.
            _ = Task.Run(DrainAsync);
        }
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            Deferred entry;
            lock (_orderGate)
            {
                if (!_backlog.TryPeek(out entry!))
                {
                    _draining = false;
                    return;
                }
            }

            var report = await SendInOrderAsync(entry).ConfigureAwait(false);
            await entry.Cancellation.DisposeAsync().ConfigureAwait(false);

            TaskCompletionSource? emptied = null;
            lock (_orderGate)
            {
                _backlog.Dequeue();
                Volatile.Write(ref _deferred, _deferred - 1);
                if (_deferred == 0)
                {
                    if (Volatile.Read(ref _state) != Closed)
                    {
                        _backlogEmpty.Set();
                    }

                    emptied = _backlogEmptied;
                    _backlogEmptied = null;
                }
            }

            emptied?.TrySetResult();

            // Reported after the message stops counting as deferred, so a caller who sees it sees an accurate InFlight.
            report?.Invoke();
        }
    }

    /// <summary>Waits for one backlog entry's serializers and for room in librdkafka's queue, then sends it; returns how to report a failure.</summary>
    private async Task<Action?> SendInOrderAsync(Deferred entry)
    {
        var delivery = entry.Delivery;
        var cancellationToken = entry.CancellationToken;
        byte[] keyBytes, valueBytes;
        try
        {
            keyBytes = await Awaited(entry.Key, cancellationToken).ConfigureAwait(false);
            try
            {
                valueBytes = await Awaited(entry.Value, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return () => delivery.Fail(SerializationException.Create(MessageComponentType.Value, delivery.Topic, ex));
            }
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            return () => delivery.Cancel(ex.CancellationToken);
        }
        catch (Exception ex)
        {
            return () => delivery.Fail(SerializationException.Create(MessageComponentType.Key, delivery.Topic, ex));
        }

        while (true)
        {
            if (Volatile.Read(ref _state) == Closed)
            {
                return () => delivery.Complete(
                    new Error(ErrorCode.Local_PurgeQueue, "The producer was disposed before this message's serialization finished."),
                    delivery.Partition,
                    Offset.Unset,
                    PersistenceStatus.NotPersisted,
                    Timestamp.Default);
            }

            if (!delivery.TryStartSending())
            {
                return null; // cancelled by its caller while it waited: never sent
            }

            var removals = _pending.Removals;
            var failure = Send(delivery, keyBytes, valueBytes);
            if (failure is null)
            {
                return null;
            }

            if (failure is DeliveryFailedException { Error.Code: ErrorCode.Local_QueueFull } && delivery.WaitsForRoom)
            {
                delivery.WaitAgain();
                try
                {
                    // Room appears when a delivery report takes a message out of the queue.
                    await _pending.WhenRemovedAfter(removals).WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex)
                {
                    return () => delivery.Cancel(ex.CancellationToken);
                }

                continue;
            }

            return () => delivery.Fail(failure);
        }
    }

    private static ValueTask<byte[]> Awaited(ValueTask<byte[]> task, CancellationToken cancellationToken) =>
        task.IsCompleted || !cancellationToken.CanBeCanceled ? task : new ValueTask<byte[]>(task.AsTask().WaitAsync(cancellationToken));

    /// <summary>Hands one serialized message to librdkafka; returns the failure instead of throwing it.</summary>
    private DeliveryFailedException? Send(Delivery delivery, byte[] keyBytes, byte[] valueBytes)
    {
        delivery.KeyBytes = keyBytes;
        delivery.Value = valueBytes;
        delivery.Bytes = (keyBytes?.Length ?? 0) + (valueBytes?.Length ?? 0); // null for a null key or a tombstone
        _pending.Add(delivery);
        try
        {
            if (delivery.Partition == Partition.Any)
            {
                _inner.Produce(delivery.Topic, delivery, OnDeliveryReport);
            }
            else
            {
                _inner.Produce(new TopicPartition(delivery.Topic, delivery.Partition), delivery, OnDeliveryReport);
            }

            return null;
        }
        catch (ProduceException<OutgoingMessage, byte[]> ex)
        {
            _pending.Unlink(delivery);
            return new DeliveryFailedException(ex.Error, delivery.Topic, delivery.Partition);
        }
        catch (ObjectDisposedException)
        {
            _pending.Unlink(delivery);
            return new DeliveryFailedException(new Error(ErrorCode.Local_PurgeQueue, "The producer was disposed."), delivery.Topic, delivery.Partition);
        }
        finally
        {
            // librdkafka copied them (Confluent.Kafka produces with RD_KAFKA_MSG_F_COPY): a message waiting for its
            // report no longer holds its bytes, so they die young instead of surviving collections while in flight.
            delivery.KeyBytes = null;
            delivery.Value = null!;
        }
    }

    private static SerializationException? Serialized(ValueTask<byte[]> keyTask, ValueTask<byte[]> valueTask, string topic, out byte[]? keyBytes, out byte[]? valueBytes)
    {
        var keyFailure = Failure(keyTask, MessageComponentType.Key, topic, out keyBytes);
        var valueFailure = Failure(valueTask, MessageComponentType.Value, topic, out valueBytes);
        return keyFailure ?? valueFailure;
    }

    private static SerializationException? Failure(ValueTask<byte[]> task, MessageComponentType component, string topic, out byte[]? bytes)
    {
        bytes = null;
        if (task.IsCompletedSuccessfully)
        {
            bytes = task.CompletedResult();
            return null;
        }

        try
        {
            task.GetAwaiter().GetResult(); // completed and faulted: rethrows without blocking
            return null;
        }
        catch (Exception ex)
        {
            return SerializationException.Create(component, topic, ex);
        }
    }

    private static Headers Copy(Headers? headers)
    {
        var copy = new Headers();
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                copy.Add(header.Key, header.GetValueBytes());
            }
        }

        return copy;
    }

    private Task BacklogEmptied()
    {
        lock (_orderGate)
        {
            return _deferred == 0
                ? Task.CompletedTask
                : (_backlogEmptied ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    private TimeSpan Remaining(long start, TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return timeout;
        }

        var left = timeout - _time.GetElapsedTime(start);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private sealed record Deferred(Delivery Delivery, ValueTask<byte[]> Key, ValueTask<byte[]> Value, CancellationToken CancellationToken)
    {
        /// <summary>Gets or sets the registration that cancels the caller's task at once, even while messages ahead of it hold it back.</summary>
        public CancellationTokenRegistration Cancellation { get; set; }
    }

    /// <summary>One message from the call that produced it to its delivery report: the caller's message, its serialized form handed to librdkafka, and its outcome.</summary>
    private sealed class Delivery : PendingDeliveries<Delivery>.Node
    {
        private readonly ProducerPipeline<TKey, TValue> _owner;
        private readonly Action<DeliveryReport<TKey, TValue>>? _callback;
        private readonly TaskCompletionSource<DeliveryResult<TKey, TValue>>? _completion;
        private readonly Message<TKey, TValue>? _original;
        private readonly long _startedAt = ClientTelemetry.StartTimestamp();
        private Activity? _send;
        private int _observed;
        private int _completed;
        private int _phase; // 0: waiting, may be cancelled; 1: being handed to librdkafka; 2: cancelled

        public Delivery(
            ProducerPipeline<TKey, TValue> owner,
            string topic,
            Partition partition,
            Timestamp timestamp,
            Message<TKey, TValue>? message,
            Headers? headers,
            Action<DeliveryReport<TKey, TValue>>? callback,
            TaskCompletionSource<DeliveryResult<TKey, TValue>>? completion,
            Activity? send)
        {
            _send = send;
            _owner = owner;
            Topic = topic;
            Partition = partition;
            Headers = headers;
            Timestamp = timestamp;
            _callback = callback;
            _completion = completion;

            // Kept only for whoever reads the outcome: a fire-and-forget send need not hold the caller's key and value until its report.
            Debug.Assert(message is not null || (callback is null && completion is null), "An outcome somebody reads carries the caller's message.");
            _original = callback is null && completion is null ? null : message;
        }

        public string Topic { get; }

        public Partition Partition { get; }

        public bool WaitsForRoom => _completion is not null;

        /// <summary>Gets or sets the key and value bytes handed to librdkafka.</summary>
        public int Bytes { get; set; }

        /// <summary>Records the message's outcome in traces and metrics, once; a message that never reached librdkafka counts only its serializer's failure.</summary>
        public void Observe(KafkaClientException failure)
        {
            if (failure is KeySerializationException or ValueSerializationException)
            {
                _owner._telemetry.OnSerializationFailed(Topic, failure is KeySerializationException ? MessageComponentType.Key : MessageComponentType.Value);
            }

            Observe(new Error(failure is KafkaOperationException k ? k.Error.Code : ErrorCode.Local_Fail, failure.Message), Partition, Offset.Unset, counted: failure is not SerializationException);
        }

        public void Observe(Error error, Partition partition, Offset offset, bool counted = true)
        {
            if (Interlocked.Exchange(ref _observed, 1) != 0)
            {
                return;
            }

            var send = _send;
            _send = null;
            if (counted)
            {
                _owner._telemetry.OnDelivered(send, _startedAt, Topic, partition, offset, error, Bytes);
            }
            else
            {
                ClientTelemetry.StopFailed(send, error);
            }
        }

        public void Fail(KafkaClientException exception)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            Observe(exception);

            if (_completion is not null)
            {
                _completion.TrySetException(exception);
                return;
            }

            var code = exception switch
            {
                KeySerializationException => ErrorCode.Local_KeySerialization,
                ValueSerializationException => ErrorCode.Local_ValueSerialization,
                KafkaOperationException k => k.Error.Code,
                _ => ErrorCode.Local_Fail,
            };
            Report(new Error(code, exception.Message), Partition, Offset.Unset, PersistenceStatus.NotPersisted, Timestamp.Default);
        }

        /// <summary>Claims the message for sending; false when its caller cancelled it first.</summary>
        public bool TryStartSending() => Interlocked.CompareExchange(ref _phase, 1, 0) != 2;

        /// <summary>The message was not taken (full queue) and waits again, so its caller may cancel it again.</summary>
        public void WaitAgain() => Interlocked.CompareExchange(ref _phase, 0, 1);

        /// <summary>The caller's token fired: cancel the task unless the message is being handed to librdkafka.</summary>
        public void CancelIfWaiting(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _phase, 2, 0) == 0)
            {
                Cancel(token);
            }
        }

        public void Cancel(CancellationToken token)
        {
            if (Interlocked.Exchange(ref _completed, 1) == 0)
            {
                Observe(new Error(ErrorCode.Local_Fail, "Cancelled by the caller before it was sent."), Partition, Offset.Unset, counted: false);
                _completion?.TrySetCanceled(token);
            }
        }

        public void Complete(Error error, Partition partition, Offset offset, PersistenceStatus status, Timestamp timestamp)
        {
            if (Interlocked.Exchange(ref _completed, 1) != 0)
            {
                return;
            }

            Observe(error, partition, offset);

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
                    _owner._errors.Report(new Error(error.Code, $"Message to topic \"{Topic}\" was not delivered: {error.Reason}", error.IsFatal));
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
                _owner._errors.Report(new Error(ErrorCode.Local_Fail, $"A delivery callback threw {ex.GetType().Name}: {ErrorText.Safe(ex.Message)}"));
            }
        }

        private Message<TKey, TValue> WithTimestamp(Timestamp timestamp)
        {
            var original = _original!; // kept whenever a completion or a callback will read it
            return timestamp.Type == TimestampType.NotAvailable || timestamp == original.Timestamp
                ? original
                : new Message<TKey, TValue> { Key = original.Key, Value = original.Value, Headers = original.Headers, Timestamp = timestamp };
        }

        public void OnReport(DeliveryReport<OutgoingMessage, byte[]> report)
        {
            _owner._pending.Remove(this);
            if (!report.Error.IsError)
            {
                _owner._errors.Connected();
            }

            Complete(report.Error, report.Partition, report.Offset, report.Status, report.Timestamp);
        }
    }
}

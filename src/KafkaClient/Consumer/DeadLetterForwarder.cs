using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using KafkaClient.Diagnostics;

namespace KafkaClient.Consumer;

/// <summary>Writes poison records, raw, to the dead-letter topic, many at once, and stores their offsets in order once acknowledged.</summary>
/// <remarks>See <see cref="DeadLetterPolicy"/> for the rules. Started by the reader; finished on the dead-letter producer's delivery thread.</remarks>
internal sealed class DeadLetterForwarder : IDisposable
{
    private static readonly string[] InheritedPrefixes = ["bootstrap.servers", "client.id", "security.protocol", "sasl.", "ssl.", "socket.", "broker.address.family"];
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly DeadLetterPolicy _policy;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly OffsetStore _offsets;
    private readonly ErrorReporter _errors;
    private readonly ClientTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentQueue<DeadLetterException> _failures = new();
    private readonly Lock _idleGate = new();
    private readonly ManualResetEventSlim _idleEvent = new(initialState: true);
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource? _idle;
    private int _inFlight;
    private long _forwarded;
    private int _closing;

    public DeadLetterForwarder(
        DeadLetterPolicy policy,
        IReadOnlyDictionary<string, string> consumerProperties,
        OffsetStore offsets,
        ErrorReporter errors,
        ClientTelemetry telemetry,
        TimeProvider time)
    {
        policy.Validate();
        _policy = policy;
        _offsets = offsets;
        _errors = errors;
        _telemetry = telemetry;
        _time = time;
        _slots = new SemaphoreSlim(policy.MaxInFlight, policy.MaxInFlight);
        var properties = policy.ProducerConfig?.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)
            ?? DeriveProducerProperties(consumerProperties);

        // One attempt ends with a report within the delivery timeout; only then may it be tried again.
        properties["message.timeout.ms"] = ((long)policy.DeliveryTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        try
        {
            _producer = new ProducerBuilder<byte[], byte[]>(properties)
                .SetLogHandler((_, _) => { })
                .SetErrorHandler((_, error) => errors.OnClientError(error))
                .Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            _slots.Dispose();
            throw new ArgumentException($"Invalid dead-letter producer configuration: {ex.Message}", "config", ex);
        }
    }

    /// <summary>Gets how many poison records the dead-letter topic acknowledged.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Gets how many forwards are on their way.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Reader: takes a permanent forwarding failure to throw, if one is waiting.</summary>
    public bool TryTakeFailure(out DeadLetterException? failure) => _failures.TryDequeue(out failure);

    /// <summary>Reader: starts forwarding a poison record, first waiting (bounded by the caller's token) while <see cref="DeadLetterPolicy.MaxInFlight"/> are on their way.</summary>
    /// <returns>False when the wait timed out; nothing was started then.</returns>
    /// <exception cref="ObjectDisposedException">The consumer closed while waiting.</exception>
    public async ValueTask<bool> StartAsync(ConsumeResult<byte[], byte[]> record, DeserializationException failure, TimeSpan wait, bool async, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (!_slots.Wait(0, CancellationToken.None))
        {
            // Every slot is taken, and only finished forwards give them back: a wait that Close must be able to end,
            // because forwards not acknowledged by then are abandoned and never give theirs back.
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
            bool slot;
            try
            {
                slot = async
                    ? await _slots.WaitAsync(wait, either.Token).ConfigureAwait(false)
                    : _slots.Wait(wait, either.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ObjectDisposedException(GetType().Name, "The consumer was closed while a poison record waited for a dead-letter slot; it is read again by the partition's next owner.");
            }

            if (!slot)
            {
                return false;
            }
        }

        lock (_idleGate)
        {
            if (_inFlight++ == 0)
            {
                _idleEvent.Reset();
            }
        }

        var forward = new Forward(this, record, failure, _offsets.Hold(record));
        forward.Send();
        return true;
    }

    /// <summary>Close: no forward starts any more, and a reader waiting for a slot stops waiting (with <see cref="ObjectDisposedException"/>).</summary>
    public void StopTaking() => _stopping.Cancel();

    /// <summary>Waits, at most the delivery timeout, for every forward on its way to finish.</summary>
    public async ValueTask DrainAsync(bool async)
    {
        Task idle;
        lock (_idleGate)
        {
            if (_inFlight == 0)
            {
                return;
            }

            idle = (_idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        if (async)
        {
            try
            {
                await idle.WaitAsync(_policy.DeliveryTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Not acknowledged in time: their offsets stay unstored and the next owner reads them again.
            }
        }
        else
        {
            _idleEvent.Wait(_policy.DeliveryTimeout);
        }
    }

    /// <summary>Stops retrying and releases the dead-letter producer; forwards not acknowledged by then keep their offsets unstored.</summary>
    public void Dispose()
    {
        StopTaking();
        Volatile.Write(ref _closing, 1);
        _producer.Flush(TimeSpan.Zero);
        _producer.Dispose();
        _slots.Dispose();
    }

    private void Finished()
    {
        TaskCompletionSource? idle = null;
        lock (_idleGate)
        {
            if (--_inFlight == 0)
            {
                _idleEvent.Set();
                idle = _idle;
                _idle = null;
            }
        }

        try
        {
            _slots.Release();
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile.
        }

        idle?.TrySetResult();
    }

    private static Dictionary<string, string> DeriveProducerProperties(IReadOnlyDictionary<string, string> consumer)
    {
        var properties = consumer
            .Where(p => InheritedPrefixes.Any(prefix => p.Key.StartsWith(prefix, StringComparison.Ordinal)))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        properties["acks"] = "all";
        properties["enable.idempotence"] = "true";
        return properties;
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>One poison record on its way to the dead-letter topic.</summary>
    private sealed class Forward(DeadLetterForwarder owner, ConsumeResult<byte[], byte[]> record, DeserializationException failure, OffsetStore.Entry entry)
    {
        private int _attempts;
        private Error? _oversized;
        private string _topic = "(none)";

        public void Send()
        {
            if (Volatile.Read(ref owner._closing) != 0)
            {
                Abandon();
                return;
            }

            try
            {
                _topic = owner._policy.TopicFor(record.Topic);
            }
            catch (Exception ex)
            {
                // A topic selector that fails is a permanent failure for this record, never a loop.
                Undeliverable(new Error(ErrorCode.Local_Fail, $"The dead-letter policy could not choose a topic: {ErrorText.Safe(ex.Message)}"));
                return;
            }

            try
            {
                owner._producer.Produce(_topic, Message(), OnReport);
            }
            catch (ProduceException<byte[], byte[]> ex)
            {
                OnFailure(ex.Error);
            }
            catch (ObjectDisposedException)
            {
                Abandon();
            }
        }

        private void OnReport(DeliveryReport<byte[], byte[]> report)
        {
            try
            {
                Handle(report);
            }
            catch (Exception ex)
            {
                // Nothing may escape into the dead-letter producer's delivery thread: it would stop every later report.
                owner._errors.Report(new Error(ErrorCode.Local_Fail, $"Handling the dead letter report for {record.TopicPartitionOffset} failed: {ex.GetType().Name}: {ErrorText.Safe(ex.Message)}"));
            }
        }

        private void Handle(DeliveryReport<byte[], byte[]> report)
        {
            if (!report.Error.IsError)
            {
                Interlocked.Increment(ref owner._forwarded);
                Observe(report.Error);
                owner._offsets.Finish(record.TopicPartition, entry);
                owner.Finished();
                return;
            }

            OnFailure(report.Error);
        }

        private void OnFailure(Error error)
        {
            if (Volatile.Read(ref owner._closing) != 0)
            {
                Abandon();
                return;
            }

            if (_oversized is null && owner._policy.TruncateOversized
                && error.Code is ErrorCode.MsgSizeTooLarge or ErrorCode.RecordListTooLarge)
            {
                _oversized = error;
                Send();
                return;
            }

            if (!error.IsFatal && KafkaErrors.IsRetriable(error.Code))
            {
                var attempt = ++_attempts;
                var backoff = Backoff(attempt);
                owner._errors.Report(new Error(
                    error.Code,
                    $"Dead letter for {record.TopicPartitionOffset} to \"{_topic}\" failed (attempt {attempt}): {ErrorText.Safe(error.Reason)}; retrying in {backoff.TotalSeconds:0.###} s, its offset is not stored meanwhile."));
                _ = RetryLaterAsync(backoff);
                return;
            }

            Undeliverable(error);
        }

        private async Task RetryLaterAsync(TimeSpan backoff)
        {
            await Task.Delay(backoff, owner._time).ConfigureAwait(false);
            Send();
        }

        private TimeSpan Backoff(int attempt)
        {
            var backoff = owner._policy.RetryBackoff * Math.Pow(2, Math.Min(attempt - 1, 16));
            return backoff > MaxBackoff ? MaxBackoff : backoff;
        }

        private void Undeliverable(Error error)
        {
            Observe(error);
            var exception = new DeadLetterException(_topic, error, record.TopicPartitionOffset, failure);
            if (owner._policy.OnUndeliverable is { } handler)
            {
                try
                {
                    handler(exception);
                }
                catch (Exception ex)
                {
                    owner._errors.Report(new Error(ErrorCode.Local_Fail, $"The dead-letter policy's OnUndeliverable handler threw {ex.GetType().Name}: {ErrorText.Safe(ex.Message)}"));
                }
            }
            else
            {
                owner._failures.Enqueue(exception);
            }

            // Permanent: the consumer moves past the record; the handler or the thrown exception has its bytes.
            owner._offsets.Finish(record.TopicPartition, entry);
            owner.Finished();
        }

        private void Abandon()
        {
            // Closing: the offset stays unstored, so the record is read again by the partition's next owner.
            owner.Finished();
        }

        private void Observe(Error error)
        {
            owner._telemetry.OnDeadLettered(record.TopicPartitionOffset, _topic, error);
        }

        private Message<byte[], byte[]> Message()
        {
            var headers = new Headers();
            if (record.Message.Headers is { } original)
            {
                foreach (var header in original)
                {
                    headers.Add(header.Key, header.GetValueBytes());
                }
            }

            headers.Add(DeadLetterPolicy.HeaderError, Utf8(ErrorText.Safe(failure.InnerException?.Message ?? failure.Message)));
            headers.Add(DeadLetterPolicy.HeaderErrorType, Utf8((failure.InnerException ?? failure).GetType().FullName!));
            headers.Add(DeadLetterPolicy.HeaderComponent, Utf8(failure.Component == MessageComponentType.Key ? "key" : "value"));
            headers.Add(DeadLetterPolicy.HeaderSourceTopic, Utf8(record.Topic));
            headers.Add(DeadLetterPolicy.HeaderSourcePartition, Utf8(record.Partition.Value.ToString(CultureInfo.InvariantCulture)));
            headers.Add(DeadLetterPolicy.HeaderSourceOffset, Utf8(record.Offset.Value.ToString(CultureInfo.InvariantCulture)));
            if (_oversized is null)
            {
                return new Message<byte[], byte[]> { Key = record.Message.Key, Value = record.Message.Value, Timestamp = record.Message.Timestamp, Headers = headers };
            }

            headers.Add(DeadLetterPolicy.HeaderTruncated, Utf8("true"));
            headers.Add(DeadLetterPolicy.HeaderOriginalKeySize, Utf8((record.Message.Key?.Length ?? 0).ToString(CultureInfo.InvariantCulture)));
            headers.Add(DeadLetterPolicy.HeaderOriginalValueSize, Utf8((record.Message.Value?.Length ?? 0).ToString(CultureInfo.InvariantCulture)));
            headers.Add(DeadLetterPolicy.HeaderForwardError, Utf8(ErrorText.Safe($"{_oversized.Code}: {_oversized.Reason}")));
            return new Message<byte[], byte[]> { Key = null!, Value = null!, Timestamp = record.Message.Timestamp, Headers = headers };
        }
    }
}

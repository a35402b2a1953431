using System.Collections.Concurrent;
using Confluent.Kafka;
using KafkaClient.Diagnostics;
using KafkaClient.Serialization;

namespace KafkaClient.Consumer;

/// <summary>The one path every consume call takes: librdkafka's poll fills a bounded buffer; readers deserialize, apply the poison and retry rules, and store offsets.</summary>
/// <remarks>
/// <para>
/// One thread at a time polls librdkafka: the one holding the poll lease. The reader takes it itself, without
/// waiting, whenever the buffer is empty, and fetches what librdkafka already holds (a poll of zero timeout), so a
/// busy stream crosses no thread. The owner thread takes it when the reader waits for records, has not come by for
/// a while (it keeps the buffer filled and the group membership alive), or a command is posted. Rebalance callbacks,
/// the error handler, commits, seeks and assignment changes run on the lease holder; callers post commands and
/// wait, synchronously or asynchronously, and the owner thread runs them. <c>Poll</c>, <c>PollAsync</c> and
/// <c>ConsumeAsync</c> read through one method written once for both (Npgsql's <c>bool async</c> pattern): with
/// <c>async: false</c> it completes synchronously.
/// </para>
/// <para>
/// A transient deserialization failure keeps the record (the consumer "stays on it"), retries it with backoff and
/// reports each failure; a permanent one follows the <see cref="PoisonRecordPolicy"/>.
/// </para>
/// </remarks>
internal sealed class ConsumerPipeline<TKey, TValue> : IDisposable
{
    private static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(25);

    private const int Free = 0;
    private const int Held = 1;
    private const int Closed = 2;

    /// <summary>The most records fetched without waiting before the reader is woken for them.</summary>
    private const int MaxBatch = 64;

    private readonly IConsumer<byte[], byte[]> _inner;
    private readonly DeserializerSlot<TKey> _key;
    private readonly DeserializerSlot<TValue> _value;
    private readonly bool _synchronous;
    private readonly FetchBuffer _buffer;
    private readonly OffsetStore _offsets;
    private readonly PoisonRecordPolicy _poison;
    private readonly DeadLetterForwarder? _deadLetters;
    private readonly ConsumerSettings _settings;
    private readonly ErrorReporter _errors;
    private readonly ClientTelemetry _telemetry;
    private readonly TimeProvider _time;

    private readonly Thread _owner;
    private Thread? _poller; // the lease holder's thread, while it holds the lease
    private int _lease; // Free, Held or Closed
    private long _readerPolledAt = long.MinValue / 2; // Environment.TickCount64 of the reader's last own poll
    private readonly PollInterrupt? _interrupt;
    private readonly ConcurrentQueue<Command> _commands = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly ManualResetEventSlim _stopped = new(false);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _ownerExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closeFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _closeFinishedEvent = new(false);
    private Thread? _closer; // the thread inside librdkafka's close, while it is
    private readonly Lock _commandGate = new();
    private readonly ConcurrentDictionary<TopicPartition, Offset> _seekedTo = new();
    private bool _ownerDone;
    private bool _seekPending; // lease holder only: a seek's partition has not fetched yet
    private int _closed;
    private int _hasSource;

    // Reader state: one reader at a time, as with librdkafka's own consumer.
    private Fetched? _held;
    private int _attempts;
    private long _retryAt;
    private long _skipped;
    private DeliveredRecord? _delivered;

    public ConsumerPipeline(
        IConsumer<byte[], byte[]> inner,
        DeserializerSlot<TKey> key,
        DeserializerSlot<TValue> value,
        OffsetStore offsets,
        DeadLetterForwarder? deadLetters,
        ConsumerSettings settings,
        ErrorReporter errors,
        ClientTelemetry telemetry,
        TimeProvider time)
    {
        _inner = inner;
        _key = key;
        _value = value;
        _synchronous = key.IsSynchronous && value.IsSynchronous;
        _offsets = offsets;
        _deadLetters = deadLetters;
        _settings = settings;
        _poison = settings.Poison;
        _errors = errors;
        _telemetry = telemetry;
        _time = time;
        _buffer = new FetchBuffer(settings.FetchBufferSize, () => _wake.Set());
        _interrupt = PollInterrupt.Create(inner);
        _owner = new Thread(Run) { IsBackground = true, Name = $"{inner.Name} poll" };
        _owner.Start();
    }

    public IConsumer<byte[], byte[]> Inner => _inner;

    public long Skipped => Interlocked.Read(ref _skipped);

    public long DeadLettered => _deadLetters?.Forwarded ?? 0;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    // ---- Rebalance callbacks: librdkafka calls them on the lease holder's thread (or the closing thread). ----

    public void OnAssigned(List<TopicPartition> partitions, Action<IReadOnlyList<TopicPartition>>? user)
    {
        _buffer.Invalidate(partitions);
        Forget(partitions);
        _offsets.Forget(partitions);
        CallHandler(user, partitions);
    }

    public void OnRevoked(List<TopicPartitionOffset> partitions, Action<IReadOnlyList<TopicPartitionOffset>>? user)
    {
        var revoked = partitions.Select(p => p.TopicPartition).ToList();
        _buffer.Invalidate(revoked);
        Forget(revoked);
        if (_deadLetters is not null && _offsets.IsHolding(revoked))
        {
            // Let dead letters on their way land, so their offsets are stored before the revocation commits.
            _ = _deadLetters.DrainAsync(async: false);
        }

        // librdkafka commits the revoked partitions' stored offsets after this: store what the reader finished first.
        _offsets.Flush();
        try
        {
            CallHandler(user, partitions);
        }
        finally
        {
            _offsets.Forget(revoked);
        }
    }

    public void OnLost(List<TopicPartitionOffset> partitions, Action<IReadOnlyList<TopicPartitionOffset>>? user)
    {
        var lost = partitions.Select(p => p.TopicPartition).ToList();
        _buffer.Invalidate(lost);
        Forget(lost);
        _offsets.Forget(lost);
        CallHandler(user, partitions);
    }

    /// <summary>Runs an application's rebalance handler; its exception is raised from the reader's next poll, never into librdkafka's poll.</summary>
    /// <remarks>
    /// Left to Confluent's consumer, a handler's exception is rethrown from its Consume, on the polling thread, where
    /// it would end the thread and the process. During Close the exception is left to propagate: Close throws it.
    /// </remarks>
    private void CallHandler<T>(Action<IReadOnlyList<T>>? handler, List<T> partitions)
    {
        if (handler is null)
        {
            return;
        }

        if (!OnPollThread)
        {
            handler(partitions);
            return;
        }

        try
        {
            handler(partitions);
        }
        catch (Exception ex)
        {
            _buffer.AddUnreserved(ex);
        }
    }

    // ---- Reading ----

    /// <summary>Takes, deserializes and returns the next record; the one method behind Poll, PollAsync and ConsumeAsync.</summary>
    public async ValueTask<ConsumeResult<TKey, TValue>?> PollAsync(TimeSpan timeout, bool async, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        if (!async && !_synchronous)
        {
            throw new InvalidOperationException("This consumer has an asynchronous deserializer; blocking on it could deadlock. Use PollAsync or ConsumeAsync.");
        }

        EnsureSource();
        cancellationToken.ThrowIfCancellationRequested();
        var start = _time.GetTimestamp();
        while (true)
        {
            if (_deadLetters is not null && _deadLetters.TryTakeFailure(out var undeliverable))
            {
                throw undeliverable!;
            }

            var fetched = _held;
            if (fetched is null)
            {
                if (_buffer.IsEmpty)
                {
                    PollHere();
                }

                fetched = await _buffer.TakeAsync(Remaining(start, timeout), async, cancellationToken).ConfigureAwait(false);
                if (fetched is null)
                {
                    return null;
                }
            }
            else if (!_buffer.IsCurrent(fetched.Value))
            {
                Release();
                continue;
            }
            else if (!await BackOffAsync(start, timeout, async, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            var item = fetched.Value;
            if (item.Error is { } error)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }

            if (item.Record is not { } raw)
            {
                ThrowIfClosed(); // the wake-up left by Close
                continue;
            }

            if (!_buffer.IsCurrent(item))
            {
                continue;
            }

            if (raw.IsPartitionEOF)
            {
                return EndOfPartition(raw);
            }

            var (result, failure) = await DeserializeAsync(raw).ConfigureAwait(false);
            if (failure is null)
            {
                Release();
                if (_settings.Acknowledged)
                {
                    // Held until the application acknowledges it: later offsets of the partition wait behind it.
                    _delivered = new DeliveredRecord(raw, _offsets.Hold(raw));
                }
                else
                {
                    _offsets.Done(raw);
                }

                _telemetry.OnConsumed(raw, result!.Message.Key as string); // only a string key is an attribute: no box for other keys
                return result;
            }

            if (failure.IsRetriable)
            {
                // Not poison: stay on the record and try it again after a backoff.
                _telemetry.OnDeserializationFailed(failure, "retried");
                _held = fetched;
                _attempts++;
                _retryAt = _time.GetTimestamp() + (long)(_settings.Backoff(_attempts).TotalSeconds * _time.TimestampFrequency);
                if (_settings.TransientErrorHandler is not { } handler)
                {
                    throw failure;
                }

                handler(failure);
                if (Expired(start, timeout))
                {
                    return null;
                }

                continue;
            }

            Release();
            switch (_poison.Action)
            {
                case PoisonRecordPolicy.PoisonAction.Skip:
                    _offsets.Done(raw);
                    Interlocked.Increment(ref _skipped);
                    _telemetry.OnDeserializationFailed(failure, "skipped");
                    _poison.OnSkipped?.Invoke(failure);
                    break;
                case PoisonRecordPolicy.PoisonAction.DeadLetter:
                    if (!await _deadLetters!.StartAsync(raw, failure, Remaining(start, timeout), async, cancellationToken).ConfigureAwait(false))
                    {
                        // As many dead letters as allowed are on their way: stay on this record.
                        _held = fetched;
                        _retryAt = 0;
                        return null;
                    }

                    _telemetry.OnDeserializationFailed(failure, "dead-lettered");
                    break;
                default:
                    _offsets.Done(raw);
                    _telemetry.OnDeserializationFailed(failure, "raised");
                    throw failure;
            }

            if (Expired(start, timeout))
            {
                return null;
            }
        }
    }

    /// <summary>Reader, in acknowledgement mode: takes the raw form and the offset entry of the record the last poll returned.</summary>
    public DeliveredRecord? TakeDelivered()
    {
        var delivered = _delivered;
        _delivered = null;
        return delivered;
    }

    /// <summary>Any thread, in acknowledgement mode: the application is done with a record; its offset is stored once every record before it in its partition is done too.</summary>
    public void Acknowledge(DeliveredRecord delivered) => _offsets.Finish(delivered.Raw.TopicPartition, delivered.Entry);

    public IAsyncEnumerable<ConsumeResult<TKey, TValue>> ConsumeAsync(CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        EnsureSource();
        return Stream(cancellationToken);
    }

    /// <summary>Gets the offset the reader will be handed next for a partition; computed by the owner thread holding the poll lease, so no fetch is half done meanwhile.</summary>
    public Offset Position(TopicPartition partition) =>
        InvokeAsync(() => PositionNow(partition), async: false, CancellationToken.None).GetAwaiter().GetResult();

    private Offset PositionNow(TopicPartition partition)
    {
        if (_held is { Record: { } held } && held.TopicPartition.Equals(partition) && _buffer.IsCurrent(_held.Value))
        {
            return held.Offset;
        }

        if (_buffer.FirstOffset(partition) is { } buffered)
        {
            return buffered;
        }

        // Until the partition fetches from the seek's offset, librdkafka's position is stale or unset; the seek's offset is next.
        return _seekedTo.TryGetValue(partition, out var target) ? target : _inner.Position(partition);
    }

    // ---- Owner-thread operations ----

    public ValueTask<T> InvokeAsync<T>(Func<T> call, bool async, CancellationToken cancellationToken)
    {
        if (OnPollThread)
        {
            // From a handler: a commit among these calls commits what the reader has finished with.
            _offsets.Flush();
            return new ValueTask<T>(call());
        }

        Command<T>? command = null;
        lock (_commandGate)
        {
            if (!_ownerDone)
            {
                command = new Command<T>(call, async);
                _commands.Enqueue(command);
            }
        }

        if (command is null)
        {
            // The owner thread has stopped polling: nothing runs callbacks concurrently any more, so the call runs
            // here. This is how a revocation handler run by Close may still commit; once closed, librdkafka's
            // consumer itself refuses with ObjectDisposedException.
            _offsets.Flush();
            return new ValueTask<T>(call());
        }

        _wake.Set();
        _interrupt?.Interrupt(); // the owner may be inside a poll of up to one slice
        return command.WaitAsync(cancellationToken);
    }

    public void Invoke(Action call) => InvokeAsync(() => { call(); return true; }, async: false, CancellationToken.None).GetAwaiter().GetResult();

    public void Subscribe(IEnumerable<string> topics)
    {
        var list = topics.ToList();
        Invoke(() => _inner.Subscribe(list));
        Volatile.Write(ref _hasSource, list.Count > 0 ? 1 : 0);
    }

    public void Unsubscribe()
    {
        Invoke(() =>
        {
            _buffer.InvalidateAll();
            _seekedTo.Clear();
            _inner.Unsubscribe();
        });
        Volatile.Write(ref _hasSource, 0);
    }

    public void Assign(List<TopicPartitionOffset> partitions)
    {
        Invoke(() =>
        {
            _buffer.InvalidateAll();
            _seekedTo.Clear();
            _inner.Assign(partitions);
        });
        Volatile.Write(ref _hasSource, partitions.Count > 0 ? 1 : 0);
    }

    public void Unassign()
    {
        Invoke(() =>
        {
            _buffer.InvalidateAll();
            _seekedTo.Clear();
            _inner.Unassign();
        });
        Volatile.Write(ref _hasSource, 0);
    }

    public void Seek(TopicPartitionOffset offset) => Invoke(() =>
    {
        _buffer.Invalidate([offset.TopicPartition]);
        if (_settings.Acknowledged)
        {
            // Records from the new position on are read again: their entries no longer hold the partition back.
            _offsets.Rewind(offset.TopicPartition, offset.Offset);
        }

        _inner.Seek(offset);
        _seekedTo[offset.TopicPartition] = offset.Offset;
        _seekPending = true;
    });

    public ValueTask<IReadOnlyList<TopicPartitionOffset>> CommitAsync(bool async, CancellationToken cancellationToken) =>
        InvokeAsync<IReadOnlyList<TopicPartitionOffset>>(
            () =>
            {
                try
                {
                    return _inner.Commit();
                }
                catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
                {
                    return []; // nothing stored since the last commit: nothing to do
                }
            },
            async,
            cancellationToken);

    public ValueTask<bool> CommitAsync(List<TopicPartitionOffset> offsets, bool async, CancellationToken cancellationToken) =>
        InvokeAsync(() => { _inner.Commit(offsets); return true; }, async, cancellationToken);

    // ---- Closing ----

    /// <summary>Stops the owner thread, lets dead letters on their way land (bounded), then commits and leaves the group.</summary>
    public async ValueTask CloseAsync(bool async)
    {
        ThrowIfOnPollThread();
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            // Closed, or closing on another thread (a Dispose after a Close that took long): wait for it, because
            // releasing librdkafka's consumer while its close runs ends the process in a rebalance callback.
            if (async)
            {
                await _closeFinished.Task.ConfigureAwait(false);
            }
            else
            {
                _closeFinishedEvent.Wait();
            }

            return;
        }

        try
        {
            await CloseOnceAsync(async).ConfigureAwait(false);
        }
        finally
        {
            _closeFinishedEvent.Set();
            _closeFinished.TrySetResult();
        }
    }

    private async ValueTask CloseOnceAsync(bool async)
    {
        _stopped.Set();
        _closing.Cancel(); // ends a reader's backoff
        _wake.Set();
        _interrupt?.Interrupt();
        _deadLetters?.StopTaking();
        if (async)
        {
            await _ownerExited.Task.ConfigureAwait(false);
        }
        else
        {
            _owner.Join();
        }

        // A command posted just before the owner stopped may still be about to interrupt a poll: not librdkafka's close.
        _interrupt?.Disable();
        _buffer.AddUnreserved(null); // wakes a reader still waiting
        try
        {
            if (_deadLetters is not null)
            {
                await _deadLetters.DrainAsync(async).ConfigureAwait(false);
            }

            // Close commits: what the reader and the dead-letter forwards finished is stored first.
            _offsets.Flush();

            if (async)
            {
                // librdkafka's close blocks (it leaves the group and runs the revocation callback): not on a pool thread.
                await Task.Factory.StartNew(CloseInner, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            }
            else
            {
                CloseInner();
            }
        }
        finally
        {
            _deadLetters?.Dispose();
        }
    }

    /// <summary>librdkafka's close, on the thread that runs the revocation handler in it: that handler may not close or dispose either.</summary>
    private void CloseInner()
    {
        Volatile.Write(ref _closer, Thread.CurrentThread);
        try
        {
            _inner.Close();
        }
        finally
        {
            Volatile.Write(ref _closer, null);
        }
    }

    /// <summary>Closing waits for the poll thread and for a close in progress, and releasing librdkafka's consumer inside its own callback is not allowed: a handler (on the poll thread, or run by the close) may do none of these.</summary>
    public void ThrowIfOnPollThread()
    {
        if (OnPollThread || Thread.CurrentThread == Volatile.Read(ref _closer))
        {
            throw new InvalidOperationException("A consumer cannot be closed or disposed from its own handlers (they run on its poll thread, which closing waits for, or inside the close itself). Signal another thread to do it, for example by cancelling the token of ConsumeAsync.");
        }
    }

    public void Dispose()
    {
        _telemetry.Dispose();
        _inner.Dispose();
        _wake.Dispose();
        _stopped.Dispose();
        _closing.Dispose();
        _buffer.Dispose();
        _closeFinishedEvent.Dispose();
    }

    private void Run()
    {
        WaitHandle[] wakeOrRoom = [_wake, _buffer.Room];
        try
        {
            while (!_stopped.IsSet)
            {
                var readerPolls = ReaderPollsItself();
                if ((readerPolls && _commands.IsEmpty) || !TryTakeLease())
                {
                    // The reader fetches for itself, or holds the lease now: it wakes this thread when it waits for
                    // records, and releasing the lease wakes it for a command posted meanwhile.
                    _wake.WaitOne(Slice);
                    continue;
                }

                if (!PollOwned(readerPolls))
                {
                    WaitHandle.WaitAny(wakeOrRoom, Slice); // the buffer is full: wait for the reader to make room
                }
            }
        }
        finally
        {
            // From here on nothing polls: commands, and the reader's own polls, are refused the lease for good.
            var spin = default(SpinWait);
            while (Interlocked.CompareExchange(ref _lease, Closed, Free) != Free)
            {
                spin.SpinOnce();
            }

            lock (_commandGate)
            {
                _ownerDone = true;
            }

            RunCommands();
            _offsets.Flush();
            _ownerExited.TrySetResult();
        }
    }

    /// <summary>Owner thread, holding the lease: runs the commands, then fills the buffer unless the reader fetches for itself; false when the buffer is full.</summary>
    private bool PollOwned(bool readerPolls)
    {
        try
        {
            RunCommands();
            if (readerPolls)
            {
                // The reader fetches for itself, but not while commands wait or run: fetch a batch of what librdkafka
                // already holds in its stead, so a steady stream of commands cannot keep every poll away. A command
                // posted meanwhile waits for at most this batch of polls that do not wait.
                FetchReady(stopForCommands: false);
                return true;
            }

            if (!_buffer.HasRoom())
            {
                _offsets.Flush();
                return false;
            }

            // Waits for the first record, then takes what librdkafka already holds without waiting, and wakes the
            // reader once for the batch.
            var fetched = Fetch(Slice);
            for (var batch = 1; fetched && batch < MaxBatch && _buffer.HasRoom() && _commands.IsEmpty; batch++)
            {
                fetched = Fetch(TimeSpan.Zero);
            }

            _buffer.Publish();
            if (!fetched || _offsets.FlushDue())
            {
                // Idle, or a while since the last time: hand the offsets the reader finished with to librdkafka.
                _offsets.Flush();
            }

            return true;
        }
        finally
        {
            ReleaseLease();
        }
    }

    /// <summary>Gets a value indicating whether the calling thread holds the poll lease (so a callback of librdkafka's is running on it).</summary>
    private bool OnPollThread => Thread.CurrentThread == Volatile.Read(ref _poller);

    /// <summary>Gets a value indicating whether the reader fetched for itself within the last slice and is not waiting now.</summary>
    private bool ReaderPollsItself() =>
        !_buffer.ReaderWaiting && Environment.TickCount64 - Volatile.Read(ref _readerPolledAt) < (long)Slice.TotalMilliseconds;

    private bool TryTakeLease()
    {
        if (Interlocked.CompareExchange(ref _lease, Held, Free) != Free)
        {
            return false;
        }

        Volatile.Write(ref _poller, Thread.CurrentThread);
        return true;
    }

    private void ReleaseLease()
    {
        Volatile.Write(ref _poller, null);
        Interlocked.Exchange(ref _lease, Free);
        if (!_commands.IsEmpty)
        {
            _wake.Set(); // posted while the lease was held: the owner thread runs it
        }
    }

    /// <summary>Reader: with the buffer empty, fetches what librdkafka already holds on this thread, unless another thread is polling.</summary>
    private void PollHere()
    {
        Volatile.Write(ref _readerPolledAt, Environment.TickCount64);
        if (!_commands.IsEmpty || !TryTakeLease())
        {
            return;
        }

        try
        {
            FetchReady(stopForCommands: true);
        }
        finally
        {
            ReleaseLease();
        }
    }

    /// <summary>Lease holder: takes what librdkafka already holds without waiting, up to a batch (and until a command is posted, if asked), and wakes the reader once for it.</summary>
    private void FetchReady(bool stopForCommands)
    {
        var fetched = true;
        for (var batch = 0; fetched && batch < MaxBatch && _buffer.HasRoom() && !(stopForCommands && !_commands.IsEmpty); batch++)
        {
            fetched = Fetch(TimeSpan.Zero);
        }

        _buffer.Publish();
        if (!fetched || _offsets.FlushDue())
        {
            _offsets.Flush();
        }
    }

    /// <summary>Lease holder: polls librdkafka once and buffers what came, a record or an error; false when nothing came.</summary>
    private bool Fetch(TimeSpan timeout)
    {
        ConsumeResult<byte[], byte[]>? record;
        try
        {
            record = _inner.Consume(timeout);
        }
        catch (ConsumeException ex)
        {
            var tpo = ex.ConsumerRecord?.TopicPartitionOffset;
            _buffer.Add(null, new KafkaOperationException($"Consume failed: {ErrorText.Safe(ex.Error.Reason)} ({ex.Error.Code})", ex.Error, tpo?.Topic, tpo?.Partition, tpo?.Offset, ex));
            return false;
        }
        catch (KafkaException ex)
        {
            _buffer.Add(null, new KafkaOperationException($"Consume failed: {ErrorText.Safe(ex.Error.Reason)} ({ex.Error.Code})", ex.Error, innerException: ex));
            return false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Anything else (a callback's failure rethrown by Confluent's consumer) goes to the reader: an
            // exception escaping this thread would end the process.
            _buffer.Add(null, ex);
            return false;
        }

        if (record is null)
        {
            return false;
        }

        _errors.Connected();
        if (_seekPending)
        {
            // Fetched from where the seek sent it: the partition's position is known again.
            _seekedTo.TryRemove(record.TopicPartition, out _);
            _seekPending = !_seekedTo.IsEmpty;
        }

        _buffer.Add(record, null);
        return true;
    }

    private void Forget(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions)
        {
            _seekedTo.TryRemove(partition, out _);
        }
    }

    private void RunCommands()
    {
        // Those posted before it started, not those posted meanwhile: a steady stream of commands from a few threads
        // would otherwise hold this thread here for good, and nothing would poll.
        for (var count = _commands.Count; count > 0 && _commands.TryDequeue(out var command); count--)
        {
            // Before each command, not once before all: a commit commits what the reader finished with until it
            // was asked for, also while an earlier command held this thread; an assignment or a seek does not
            // find offsets of records returned before it stored only after it.
            _offsets.Flush();
            command.Run();
        }
    }

    private async IAsyncEnumerable<ConsumeResult<TKey, TValue>> Stream([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !IsClosed)
        {
            ConsumeResult<TKey, TValue>? record;
            try
            {
                record = await PollAsync(Timeout.InfiniteTimeSpan, async: true, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            catch (ObjectDisposedException) when (IsClosed)
            {
                yield break;
            }

            if (record is not null)
            {
                yield return record;
            }
        }
    }

    private async ValueTask<(ConsumeResult<TKey, TValue>? Result, DeserializationException? Failure)> DeserializeAsync(ConsumeResult<byte[], byte[]> raw)
    {
        // Synchronous deserializers complete at once, so the synchronous Poll never waits here.
        TKey key;
        try
        {
            key = await _key.DeserializeAsync(raw.Message.Key, new SerializationContext(MessageComponentType.Key, raw.Topic, raw.Message.Headers)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return (null, DeserializationException.Create(MessageComponentType.Key, raw!, ex));
        }

        TValue value;
        try
        {
            value = await _value.DeserializeAsync(raw.Message.Value, new SerializationContext(MessageComponentType.Value, raw.Topic, raw.Message.Headers)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return (null, DeserializationException.Create(MessageComponentType.Value, raw!, ex));
        }

        return (new ConsumeResult<TKey, TValue>
        {
            Topic = raw.Topic,
            Partition = raw.Partition,
            Offset = raw.Offset,
            LeaderEpoch = raw.LeaderEpoch,
            Message = new Message<TKey, TValue> { Key = key, Value = value, Headers = raw.Message.Headers, Timestamp = raw.Message.Timestamp },
        }, null);
    }

    /// <summary>Waits out the backoff of a held record; false when the poll's timeout ends first.</summary>
    private async ValueTask<bool> BackOffAsync(long start, TimeSpan timeout, bool async, CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
        if (_retryAt <= now)
        {
            return true;
        }

        var wait = _time.GetElapsedTime(now, _retryAt);
        var left = Remaining(start, timeout);
        var delay = left == Timeout.InfiniteTimeSpan || wait < left ? wait : left;
        if (async)
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
            try
            {
                await Task.Delay(delay, _time, either.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Closed meanwhile: thrown just below as ObjectDisposedException, which ends a stream quietly.
            }
        }
        else
        {
            _stopped.Wait(delay, cancellationToken);
        }

        ThrowIfClosed();
        return delay == wait;
    }

    private void Release()
    {
        _held = null;
        _attempts = 0;
    }

    private void EnsureSource()
    {
        if (Volatile.Read(ref _hasSource) == 0)
        {
            throw new InvalidOperationException("This consumer is neither subscribed nor assigned, so it would wait forever: call Subscribe or Assign first.");
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

    private bool Expired(long start, TimeSpan timeout) => timeout != Timeout.InfiniteTimeSpan && _time.GetElapsedTime(start) >= timeout;

    private static ConsumeResult<TKey, TValue> EndOfPartition(ConsumeResult<byte[], byte[]> raw) => new()
    {
        Topic = raw.Topic,
        Partition = raw.Partition,
        Offset = raw.Offset,
        IsPartitionEOF = true,
    };

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(IsClosed, this);

    private abstract class Command
    {
        public abstract void Run();
    }

    /// <summary>A call that must run on the owner thread, and its caller waiting for it synchronously or asynchronously.</summary>
    private sealed class Command<T>(Func<T> call, bool async) : Command
    {
        private readonly TaskCompletionSource<T>? _completion = async ? new(TaskCreationOptions.RunContinuationsAsynchronously) : null;
        private readonly ManualResetEventSlim? _done = async ? null : new();
        private T? _result;
        private Exception? _failure;

        public override void Run()
        {
            try
            {
                _result = call();
            }
            catch (Exception ex)
            {
                _failure = ex;
            }

            if (_completion is not null)
            {
                if (_failure is null)
                {
                    _completion.TrySetResult(_result!);
                }
                else
                {
                    _completion.TrySetException(_failure);
                }
            }
            else
            {
                _done!.Set();
            }
        }

        public ValueTask<T> WaitAsync(CancellationToken cancellationToken)
        {
            if (_completion is not null)
            {
                return new ValueTask<T>(_completion.Task.WaitAsync(cancellationToken));
            }

            _done!.Wait(cancellationToken);
            _done.Dispose();
            if (_failure is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_failure);
            }

            return new ValueTask<T>(_result!);
        }
    }
}

/// <summary>The consumer's settings beyond librdkafka's, validated once by the builder.</summary>
internal sealed record ConsumerSettings(
    PoisonRecordPolicy Poison,
    Action<DeserializationException>? TransientErrorHandler,
    TimeSpan InitialBackoff,
    TimeSpan MaxBackoff,
    int FetchBufferSize)
{
    /// <summary>Gets a value indicating whether a returned record's offset waits for the application's acknowledgement instead of being stored at once.</summary>
    public bool Acknowledged { get; init; }

    public TimeSpan Backoff(int attempt)
    {
        var backoff = InitialBackoff * Math.Pow(2, Math.Min(attempt - 1, 20));
        return backoff > MaxBackoff ? MaxBackoff : backoff;
    }
}

/// <summary>A record returned in acknowledgement mode: its raw bytes (for forwarding it unchanged) and the entry that holds its partition's offset back until acknowledged.</summary>
internal sealed class DeliveredRecord(ConsumeResult<byte[], byte[]> raw, OffsetStore.Entry entry)
{
    public ConsumeResult<byte[], byte[]> Raw { get; } = raw;

    public OffsetStore.Entry Entry { get; } = entry;
}

using System.Runtime.CompilerServices;
using Confluent.Kafka;
using KafkaClient.Consumer;
using KafkaClient.Serialization;

namespace KafkaClient;

/// <summary>A Kafka consumer that deserializes keys and values and never lets one undeserializable record stall a partition.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>
/// <para>Made by <see cref="DeserializingConsumerBuilder{TKey, TValue}"/>.</para>
/// <para>
/// Threading: like librdkafka's consumer, poll from one thread (or one asynchronous flow) at a time. Commit,
/// position, seek and the other members may be called from any thread. Rebalance handlers run on the thread
/// that polls; with <see cref="PollAsync"/> and <see cref="ConsumeAsync"/> that is the consumer's own
/// background thread, so asynchronous callers never block a thread-pool thread.
/// </para>
/// <para>
/// Offsets: unless <c>enable.auto.offset.store=false</c> is configured, a record's offset is stored when it is
/// returned, when its deserialization failure is thrown, or when the dead-letter topic acknowledged it,
/// and <c>enable.auto.commit</c> (default true) commits stored offsets in the background and on close.
/// </para>
/// </remarks>
public sealed class DeserializingConsumer<TKey, TValue> : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(50);

    private readonly IConsumer<byte[], byte[]> _inner;
    private readonly DeserializerSlot<TKey> _key;
    private readonly DeserializerSlot<TValue> _value;
    private readonly bool _synchronous;
    private readonly bool _storeOffsets;
    private readonly DeadLetterForwarder? _deadLetters;
    private readonly Lock _workerGate = new();
    private BlockingCallWorker? _worker;
    private int _closed;

    internal DeserializingConsumer(
        IConsumer<byte[], byte[]> inner,
        DeserializerSlot<TKey> key,
        DeserializerSlot<TValue> value,
        bool storeOffsets,
        DeadLetterForwarder? deadLetters)
    {
        _inner = inner;
        _key = key;
        _value = value;
        _synchronous = key.IsSynchronous && value.IsSynchronous;
        _storeOffsets = storeOffsets;
        _deadLetters = deadLetters;
    }

    /// <summary>Gets the client's name as librdkafka reports it.</summary>
    public string Name => _inner.Name;

    /// <summary>Gets the consumer group member id, or an empty string before the first join.</summary>
    public string MemberId => _inner.MemberId;

    /// <summary>Gets the partitions currently assigned to this consumer.</summary>
    public IReadOnlyList<TopicPartition> Assignment => _inner.Assignment;

    /// <summary>Gets the topics this consumer is subscribed to.</summary>
    public IReadOnlyList<string> Subscription => _inner.Subscription;

    /// <summary>Gets the group metadata, for committing offsets inside a producer transaction.</summary>
    public IConsumerGroupMetadata ConsumerGroupMetadata => _inner.ConsumerGroupMetadata;

    /// <summary>Subscribes to topics through the consumer group, replacing any earlier subscription.</summary>
    /// <param name="topics">Topic names; a name starting with <c>^</c> is a regular expression.</param>
    public void Subscribe(IEnumerable<string> topics) => _inner.Subscribe(topics);

    /// <summary>Subscribes to one topic through the consumer group, replacing any earlier subscription.</summary>
    /// <param name="topic">The topic name, or a regular expression starting with <c>^</c>.</param>
    public void Subscribe(string topic) => _inner.Subscribe(topic);

    /// <summary>Leaves the subscription; the group then rebalances without this member.</summary>
    public void Unsubscribe() => _inner.Unsubscribe();

    /// <summary>Reads the given partitions directly, from the given offsets, without group management.</summary>
    /// <param name="partitions">The partitions and start offsets (<see cref="Offset.Beginning"/>, <see cref="Offset.End"/>, <see cref="Offset.Stored"/> or a number).</param>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions) => _inner.Assign(partitions);

    /// <summary>Reads the given partitions directly, from their committed offsets (else <c>auto.offset.reset</c>), without group management.</summary>
    /// <param name="partitions">The partitions.</param>
    public void Assign(IEnumerable<TopicPartition> partitions) => _inner.Assign(partitions);

    /// <summary>Stops reading all directly assigned partitions.</summary>
    public void Unassign() => _inner.Unassign();

    /// <summary>Waits up to <paramref name="timeout"/> for the next record and deserializes it.</summary>
    /// <param name="timeout">How long to wait; <see cref="TimeSpan.Zero"/> only returns what is already fetched.</param>
    /// <returns>The record, a partition-EOF marker (when <c>enable.partition.eof=true</c>), or null if none arrived in time.</returns>
    /// <exception cref="KeyDeserializationException">The key could not be deserialized; the position is past the record, so the next poll returns the one after it.</exception>
    /// <exception cref="ValueDeserializationException">The value could not be deserialized; the position is past the record.</exception>
    /// <exception cref="DeadLetterException">With a dead-letter policy: forwarding failed; the position was moved back to the record.</exception>
    /// <exception cref="KafkaOperationException">Kafka reported a consumer error.</exception>
    /// <exception cref="InvalidOperationException">A deserializer is asynchronous: use <see cref="PollAsync"/> or <see cref="ConsumeAsync"/>, which never block on it.</exception>
    public ConsumeResult<TKey, TValue>? Poll(TimeSpan timeout)
    {
        ThrowIfClosed();
        if (!_synchronous)
        {
            throw new InvalidOperationException(
                "This consumer has an asynchronous deserializer; blocking on it could deadlock. Use PollAsync or ConsumeAsync.");
        }

        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        while (true)
        {
            var raw = ConsumeRaw(Remaining(deadline));
            if (raw is null)
            {
                return null;
            }

            if (TryDeserialize(raw, out var result, out var failure))
            {
                Store(raw);
                return result;
            }

            if (_deadLetters is null)
            {
                Store(raw);
                throw failure!;
            }

            var error = _deadLetters.Forward(raw, failure!, out var topic);
            AfterDeadLetter(raw, failure!, error, topic);
            if (DateTime.UtcNow >= deadline)
            {
                return null;
            }
        }
    }

    /// <summary>Waits, without blocking a thread, up to <paramref name="timeout"/> for the next record and deserializes it.</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits until a record arrives or <paramref name="cancellationToken"/> fires.</param>
    /// <param name="cancellationToken">Stops waiting; observed within about 50 ms.</param>
    /// <returns>The record, a partition-EOF marker, or null if none arrived in time.</returns>
    /// <remarks>Errors are those of <see cref="Poll"/>.</remarks>
    public async ValueTask<ConsumeResult<TKey, TValue>?> PollAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        cancellationToken.ThrowIfCancellationRequested();
        var deadline = timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout;
        while (true)
        {
            // Fast path: a record already fetched is taken on the caller's thread.
            var raw = ConsumeRaw(TimeSpan.Zero);
            if (raw is null && DateTime.UtcNow < deadline)
            {
                raw = await ConsumeOnWorkerAsync(deadline, cancellationToken).ConfigureAwait(false);
            }

            if (raw is null)
            {
                return null;
            }

            ConsumeResult<TKey, TValue>? result;
            DeserializationException? failure;
            if (_synchronous)
            {
                TryDeserialize(raw, out result, out failure);
            }
            else
            {
                (result, failure) = await DeserializeAsync(raw).ConfigureAwait(false);
            }

            if (failure is null)
            {
                Store(raw);
                return result;
            }

            if (_deadLetters is null)
            {
                Store(raw);
                throw failure;
            }

            var (error, topic) = await _deadLetters.ForwardAsync(raw, failure, CancellationToken.None).ConfigureAwait(false);
            AfterDeadLetter(raw, failure, error, topic);
            if (DateTime.UtcNow >= deadline)
            {
                return null;
            }
        }
    }

    /// <summary>Streams deserialized records until <paramref name="cancellationToken"/> fires, which ends the stream quietly.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The records, in order per partition.</returns>
    /// <remarks>
    /// A record that cannot be deserialized ends the stream with <see cref="KeyDeserializationException"/> or
    /// <see cref="ValueDeserializationException"/> (unless a dead-letter policy forwards it); the position is past
    /// it, so calling <see cref="ConsumeAsync"/> again continues with the next record.
    /// </remarks>
    public async IAsyncEnumerable<ConsumeResult<TKey, TValue>> ConsumeAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ConsumeResult<TKey, TValue>? record;
            try
            {
                record = await PollAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            if (record is not null)
            {
                yield return record;
            }
        }
    }

    /// <summary>Stores the offset after <paramref name="record"/> for the next commit (when <c>enable.auto.offset.store=false</c> is configured).</summary>
    /// <param name="record">A record returned by this consumer.</param>
    public void StoreOffset(ConsumeResult<TKey, TValue> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _inner.StoreOffset(new TopicPartitionOffset(record.TopicPartition, record.Offset + 1, record.LeaderEpoch));
    }

    /// <summary>Stores an offset for the next commit.</summary>
    /// <param name="offset">The partition and the offset of the next record to read.</param>
    public void StoreOffset(TopicPartitionOffset offset) => _inner.StoreOffset(offset);

    /// <summary>Commits the stored offsets of all assigned partitions and waits for the broker's answer.</summary>
    /// <returns>The offsets committed.</returns>
    /// <exception cref="KafkaOperationException">The commit failed.</exception>
    public IReadOnlyList<TopicPartitionOffset> Commit() => Wrap(() => _inner.Commit(), "Commit");

    /// <summary>Commits the given offsets (each the offset of the next record to read) and waits for the broker's answer.</summary>
    /// <param name="offsets">The offsets.</param>
    /// <exception cref="KafkaOperationException">The commit failed.</exception>
    public void Commit(IEnumerable<TopicPartitionOffset> offsets)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        Wrap(() => { _inner.Commit(offsets); return 0; }, "Commit");
    }

    /// <summary>Commits the offset after <paramref name="record"/> and waits for the broker's answer.</summary>
    /// <param name="record">A record returned by this consumer.</param>
    public void Commit(ConsumeResult<TKey, TValue> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Commit([new TopicPartitionOffset(record.TopicPartition, record.Offset + 1, record.LeaderEpoch)]);
    }

    /// <summary>Commits the stored offsets without blocking the calling thread.</summary>
    /// <param name="cancellationToken">Stops waiting for the answer; the commit may still happen.</param>
    /// <returns>The offsets committed.</returns>
    public Task<IReadOnlyList<TopicPartitionOffset>> CommitAsync(CancellationToken cancellationToken = default) =>
        Worker().Run(Commit).WaitAsync(cancellationToken);

    /// <summary>Commits the given offsets without blocking the calling thread.</summary>
    /// <param name="offsets">The offsets (each the offset of the next record to read).</param>
    /// <param name="cancellationToken">Stops waiting for the answer; the commit may still happen.</param>
    /// <returns>A task that completes when the broker has answered.</returns>
    public Task CommitAsync(IEnumerable<TopicPartitionOffset> offsets, CancellationToken cancellationToken = default)
    {
        var list = offsets?.ToList() ?? throw new ArgumentNullException(nameof(offsets));
        return Worker().Run(() => { Commit(list); return 0; }).WaitAsync(cancellationToken);
    }

    /// <summary>Reads the committed offsets of the given partitions from the group coordinator.</summary>
    /// <param name="partitions">The partitions.</param>
    /// <param name="timeout">How long to wait for the coordinator.</param>
    /// <returns>The committed offsets (<see cref="Offset.Unset"/> where none was committed).</returns>
    public IReadOnlyList<TopicPartitionOffset> Committed(IEnumerable<TopicPartition> partitions, TimeSpan timeout) =>
        Wrap(() => _inner.Committed(partitions, timeout), "Committed");

    /// <summary>Gets the offset of the next record this consumer will return for a partition.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <returns>The position, or <see cref="Offset.Unset"/> if nothing was read yet.</returns>
    public Offset Position(TopicPartition partition) => _inner.Position(partition);

    /// <summary>Moves the position of an assigned partition, for replay or skip.</summary>
    /// <param name="offset">The partition and the offset to read next.</param>
    public void Seek(TopicPartitionOffset offset) => _inner.Seek(offset);

    /// <summary>Finds, per partition, the first offset whose timestamp is at or after the given time.</summary>
    /// <param name="timestamps">Partitions and times.</param>
    /// <param name="timeout">How long to wait for the brokers.</param>
    /// <returns>The offsets (<see cref="Offset.End"/> where no record is that late).</returns>
    public IReadOnlyList<TopicPartitionOffset> OffsetsForTimes(IEnumerable<TopicPartitionTimestamp> timestamps, TimeSpan timeout) =>
        Wrap(() => _inner.OffsetsForTimes(timestamps, timeout), "OffsetsForTimes");

    /// <summary>Gets the low and high watermarks of a partition as last seen by this consumer, without a broker call.</summary>
    /// <param name="partition">The partition.</param>
    /// <returns>The cached watermarks.</returns>
    public WatermarkOffsets GetWatermarkOffsets(TopicPartition partition) => _inner.GetWatermarkOffsets(partition);

    /// <summary>Asks the partition leader for the low and high watermarks of a partition.</summary>
    /// <param name="partition">The partition.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <returns>The watermarks.</returns>
    public WatermarkOffsets QueryWatermarkOffsets(TopicPartition partition, TimeSpan timeout) =>
        Wrap(() => _inner.QueryWatermarkOffsets(partition, timeout), "QueryWatermarkOffsets");

    /// <summary>Stops fetching from the given partitions until <see cref="Resume"/>.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    public void Pause(IEnumerable<TopicPartition> partitions) => _inner.Pause(partitions);

    /// <summary>Resumes fetching from paused partitions.</summary>
    /// <param name="partitions">Paused partitions.</param>
    public void Resume(IEnumerable<TopicPartition> partitions) => _inner.Resume(partitions);

    /// <summary>Commits stored offsets (when auto-commit is on), leaves the consumer group and stops fetching.</summary>
    /// <remarks>Blocks until the group has been left; <see cref="DisposeAsync"/> does the same without blocking the caller.</remarks>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        StopWorker();
        try
        {
            _inner.Close();
        }
        finally
        {
            _deadLetters?.Dispose();
        }
    }

    /// <summary>Closes the consumer (see <see cref="Close"/>) and releases it.</summary>
    public void Dispose()
    {
        try
        {
            Close();
        }
        finally
        {
            _inner.Dispose();
        }
    }

    /// <summary>Closes the consumer on its background thread and releases it, without blocking the caller.</summary>
    /// <returns>A task that completes when the consumer has left its group and is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _closed) == 0)
        {
            using var closer = new BlockingCallWorker($"{_inner.Name} close");
            await closer.Run(() => { Close(); return 0; }).ConfigureAwait(false);
        }

        _inner.Dispose();
    }

    private ConsumeResult<byte[], byte[]>? ConsumeRaw(TimeSpan timeout)
    {
        try
        {
            return _inner.Consume(timeout);
        }
        catch (ConsumeException ex)
        {
            var tpo = ex.ConsumerRecord?.TopicPartitionOffset;
            throw new KafkaOperationException($"Consume failed: {ex.Error.Reason} ({ex.Error.Code})", ex.Error, tpo?.Topic, tpo?.Partition, tpo?.Offset, ex);
        }
    }

    private Task<ConsumeResult<byte[], byte[]>?> ConsumeOnWorkerAsync(DateTime deadline, CancellationToken cancellationToken)
    {
        var worker = Worker();
        var completion = new TaskCompletionSource<ConsumeResult<byte[], byte[]>?>(TaskCreationOptions.RunContinuationsAsynchronously);

        void Slice()
        {
            try
            {
                while (true)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        completion.TrySetCanceled(cancellationToken);
                        return;
                    }

                    var left = Remaining(deadline);
                    var record = ConsumeRaw(left == Timeout.InfiniteTimeSpan || left > WaitSlice ? WaitSlice : left);
                    if (record is not null || DateTime.UtcNow >= deadline || Volatile.Read(ref _closed) != 0)
                    {
                        completion.TrySetResult(record);
                        return;
                    }

                    if (worker.HasWaiting)
                    {
                        // Let a queued commit run, then continue waiting.
                        worker.Post(Slice);
                        return;
                    }
                }
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        }

        worker.Post(Slice);
        return completion.Task;
    }

    private bool TryDeserialize(ConsumeResult<byte[], byte[]> raw, out ConsumeResult<TKey, TValue>? result, out DeserializationException? failure)
    {
        result = null;
        failure = null;
        if (raw.IsPartitionEOF)
        {
            result = EndOfPartition(raw);
            return true;
        }

        TKey key;
        try
        {
            key = _key.Deserialize(raw.Message.Key, new SerializationContext(MessageComponentType.Key, raw.Topic, raw.Message.Headers));
        }
        catch (Exception ex)
        {
            failure = DeserializationException.Create(MessageComponentType.Key, raw!, ex);
            return false;
        }

        TValue value;
        try
        {
            value = _value.Deserialize(raw.Message.Value, new SerializationContext(MessageComponentType.Value, raw.Topic, raw.Message.Headers));
        }
        catch (Exception ex)
        {
            failure = DeserializationException.Create(MessageComponentType.Value, raw!, ex);
            return false;
        }

        result = Typed(raw, key, value);
        return true;
    }

    private async ValueTask<(ConsumeResult<TKey, TValue>? Result, DeserializationException? Failure)> DeserializeAsync(ConsumeResult<byte[], byte[]> raw)
    {
        if (raw.IsPartitionEOF)
        {
            return (EndOfPartition(raw), null);
        }

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

        return (Typed(raw, key, value), null);
    }

    private static ConsumeResult<TKey, TValue> Typed(ConsumeResult<byte[], byte[]> raw, TKey key, TValue value) => new()
    {
        Topic = raw.Topic,
        Partition = raw.Partition,
        Offset = raw.Offset,
        LeaderEpoch = raw.LeaderEpoch,
        Message = new Message<TKey, TValue>
        {
            Key = key,
            Value = value,
            Headers = raw.Message.Headers,
            Timestamp = raw.Message.Timestamp,
        },
    };

    private static ConsumeResult<TKey, TValue> EndOfPartition(ConsumeResult<byte[], byte[]> raw) => new()
    {
        Topic = raw.Topic,
        Partition = raw.Partition,
        Offset = raw.Offset,
        IsPartitionEOF = true,
    };

    private void AfterDeadLetter(ConsumeResult<byte[], byte[]> raw, DeserializationException failure, Error error, string topic)
    {
        if (!error.IsError)
        {
            Store(raw);
            return;
        }

        // Not forwarded: go back to the record so the next poll tries again; nothing is lost.
        try
        {
            _inner.Seek(raw.TopicPartitionOffset);
        }
        catch (KafkaException)
        {
            // The partition was revoked meanwhile; its next owner reads the record from the last commit.
        }

        throw new DeadLetterException(topic, error, raw.TopicPartitionOffset, failure);
    }

    private void Store(ConsumeResult<byte[], byte[]> raw)
    {
        if (!_storeOffsets || raw.IsPartitionEOF)
        {
            return;
        }

        try
        {
            _inner.StoreOffset(raw);
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_State)
        {
            // The partition was revoked between fetch and store: its new owner reads from the last commit.
        }
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        if (deadline == DateTime.MaxValue)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private T Wrap<T>(Func<T> call, string operation)
    {
        try
        {
            return call();
        }
        catch (TopicPartitionOffsetException ex)
        {
            var failed = ex.Results.FirstOrDefault(r => r.Error.IsError);
            throw new KafkaOperationException($"{operation} failed for {failed?.TopicPartition}: {failed?.Error.Reason ?? ex.Error.Reason}", failed?.Error ?? ex.Error, failed?.Topic, failed?.Partition, failed?.Offset, ex);
        }
        catch (KafkaException ex)
        {
            throw new KafkaOperationException($"{operation} failed: {ex.Error.Reason} ({ex.Error.Code})", ex.Error, innerException: ex);
        }
    }

    private BlockingCallWorker Worker()
    {
        ThrowIfClosed();
        lock (_workerGate)
        {
            return _worker ??= new BlockingCallWorker($"{_inner.Name} poll");
        }
    }

    private void StopWorker()
    {
        BlockingCallWorker? worker;
        lock (_workerGate)
        {
            worker = _worker;
            _worker = null;
        }

        worker?.Dispose();
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
}

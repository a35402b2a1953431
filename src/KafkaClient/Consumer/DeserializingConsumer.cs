using Confluent.Kafka;
using KafkaClient.Consumer;

namespace KafkaClient;

/// <summary>A Kafka consumer that deserializes keys and values and never lets one undeserializable record stall a partition.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>
/// <para>Made by <see cref="DeserializingConsumerBuilder{TKey, TValue}"/>.</para>
/// <para>
/// Threading: one thread at a time polls librdkafka (the "poll thread" of the handlers' documentation): the
/// reader itself, inside <see cref="Poll"/>, <see cref="PollAsync"/> or <see cref="ConsumeAsync"/>, when its
/// buffer is empty, or else the consumer's background thread, which fetches records ahead into a small bounded
/// buffer while the reader waits or is away. Rebalance handlers and the error handler run on whichever polls, so
/// possibly inside a read call; commits, seeks and assignment changes run on the background thread, and calls to
/// those from other threads wait for it. Read records from one thread or one asynchronous flow at a time;
/// deserializers run on that reader. Every other member may be called from any thread.
/// </para>
/// <para>
/// Failures: a record that fails to deserialize for a transient reason (a schema registry that cannot be reached)
/// is not skipped: the consumer stays on it, retries it with backoff and reports each failure to the transient
/// error handler, or throws it (<see cref="KafkaClientException.IsRetriable"/> true, offset not stored) when none
/// is set. A permanent failure (bad bytes, unknown schema id, schema violation) follows the
/// <see cref="PoisonRecordPolicy"/>: raise (default), skip, or dead-letter.
/// </para>
/// <para>
/// Offsets: unless <c>enable.auto.offset.store=false</c> is configured, a record's offset is stored when it is
/// returned, when its poison failure is raised or skipped, or when the dead-letter topic acknowledged it (and
/// never past a record before it in the same partition that is still on its way there); <c>enable.auto.commit</c>
/// (default true) commits stored offsets in the background and on close.
/// </para>
/// </remarks>
public sealed class DeserializingConsumer<TKey, TValue> : IDeserializingConsumer<TKey, TValue>
{
    private readonly ConsumerPipeline<TKey, TValue> _pipeline;
    private readonly IConsumer<byte[], byte[]> _inner;

    internal DeserializingConsumer(ConsumerPipeline<TKey, TValue> pipeline)
    {
        _pipeline = pipeline;
        _inner = pipeline.Inner;
    }

    /// <inheritdoc/>
    public string Name => _inner.Name;

    /// <inheritdoc/>
    public string MemberId => _inner.MemberId;

    /// <inheritdoc/>
    public IReadOnlyList<TopicPartition> Assignment => _inner.Assignment;

    /// <inheritdoc/>
    public IReadOnlyList<string> Subscription => _inner.Subscription;

    /// <inheritdoc/>
    public IConsumerGroupMetadata ConsumerGroupMetadata => _inner.ConsumerGroupMetadata;

    /// <inheritdoc/>
    public long SkippedRecords => _pipeline.Skipped;

    /// <inheritdoc/>
    public long DeadLetteredRecords => _pipeline.DeadLettered;

    /// <inheritdoc/>
    public void Subscribe(IEnumerable<string> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        _pipeline.Subscribe(topics);
    }

    /// <inheritdoc/>
    public void Subscribe(string topic)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        _pipeline.Subscribe([topic]);
    }

    /// <inheritdoc/>
    public void Unsubscribe() => _pipeline.Unsubscribe();

    /// <inheritdoc/>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        _pipeline.Assign([.. partitions]);
    }

    /// <inheritdoc/>
    public void Assign(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        _pipeline.Assign([.. partitions.Select(p => new TopicPartitionOffset(p, Offset.Unset))]);
    }

    /// <inheritdoc/>
    public void Unassign() => _pipeline.Unassign();

    /// <inheritdoc/>
    public ConsumeResult<TKey, TValue>? Poll(TimeSpan timeout)
    {
        var poll = _pipeline.PollAsync(timeout, async: false, CancellationToken.None);
        System.Diagnostics.Debug.Assert(poll.IsCompleted, "The synchronous path completes synchronously.");
        return poll.GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public ValueTask<ConsumeResult<TKey, TValue>?> PollAsync(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _pipeline.PollAsync(timeout, async: true, cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<ConsumeResult<TKey, TValue>> ConsumeAsync(CancellationToken cancellationToken = default) =>
        _pipeline.ConsumeAsync(cancellationToken);

    /// <summary>Reader, when built with acknowledged offsets: takes the raw record and offset entry of the record the last poll returned.</summary>
    internal DeliveredRecord? TakeDelivered() => _pipeline.TakeDelivered();

    /// <summary>Any thread, when built with acknowledged offsets: the record was handled; its offset is stored once every earlier record of its partition was.</summary>
    internal void Acknowledge(DeliveredRecord delivered) => _pipeline.Acknowledge(delivered);

    /// <inheritdoc/>
    public void StoreOffset(ConsumeResult<TKey, TValue> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        _inner.StoreOffset(new TopicPartitionOffset(record.TopicPartition, record.Offset + 1, record.LeaderEpoch));
    }

    /// <inheritdoc/>
    public void StoreOffset(TopicPartitionOffset offset)
    {
        ArgumentNullException.ThrowIfNull(offset);
        _inner.StoreOffset(offset);
    }

    /// <inheritdoc/>
    public IReadOnlyList<TopicPartitionOffset> Commit() =>
        Wrap(() => _pipeline.CommitAsync(async: false, CancellationToken.None).GetAwaiter().GetResult(), "Commit");

    /// <inheritdoc/>
    public void Commit(IEnumerable<TopicPartitionOffset> offsets)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        List<TopicPartitionOffset> list = [.. offsets];
        Wrap(() => _pipeline.CommitAsync(list, async: false, CancellationToken.None).GetAwaiter().GetResult(), "Commit");
    }

    /// <inheritdoc/>
    public void Commit(ConsumeResult<TKey, TValue> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Commit([new TopicPartitionOffset(record.TopicPartition, record.Offset + 1, record.LeaderEpoch)]);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<TopicPartitionOffset>> CommitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _pipeline.CommitAsync(async: true, cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException ex)
        {
            throw Wrapped(ex, "Commit");
        }
    }

    /// <inheritdoc/>
    public async Task CommitAsync(IEnumerable<TopicPartitionOffset> offsets, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        try
        {
            await _pipeline.CommitAsync([.. offsets], async: true, cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException ex)
        {
            throw Wrapped(ex, "Commit");
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<TopicPartitionOffset> Committed(IEnumerable<TopicPartition> partitions, TimeSpan timeout) =>
        Wrap(() => _inner.Committed(partitions, timeout), "Committed");

    /// <inheritdoc/>
    public Offset Position(TopicPartition partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return _pipeline.Position(partition);
    }

    /// <inheritdoc/>
    public void Seek(TopicPartitionOffset offset)
    {
        ArgumentNullException.ThrowIfNull(offset);
        Wrap(() => { _pipeline.Seek(offset); return 0; }, "Seek");
    }

    /// <inheritdoc/>
    public IReadOnlyList<TopicPartitionOffset> OffsetsForTimes(IEnumerable<TopicPartitionTimestamp> timestamps, TimeSpan timeout) =>
        Wrap(() => _inner.OffsetsForTimes(timestamps, timeout), "OffsetsForTimes");

    /// <inheritdoc/>
    public WatermarkOffsets GetWatermarkOffsets(TopicPartition partition) => _inner.GetWatermarkOffsets(partition);

    /// <inheritdoc/>
    public WatermarkOffsets QueryWatermarkOffsets(TopicPartition partition, TimeSpan timeout) =>
        Wrap(() => _inner.QueryWatermarkOffsets(partition, timeout), "QueryWatermarkOffsets");

    /// <inheritdoc/>
    public void Pause(IEnumerable<TopicPartition> partitions)
    {
        // On the poll lease, never beside a Consume: librdkafka resumes a paused partition from the position of
        // the last record its Consume returned, and a pause racing that Consume fetches the record again.
        var list = partitions.ToList();
        _pipeline.Invoke(() => _inner.Pause(list));
    }

    /// <inheritdoc/>
    public void Resume(IEnumerable<TopicPartition> partitions)
    {
        var list = partitions.ToList();
        _pipeline.Invoke(() => _inner.Resume(list));
    }

    /// <summary>Stops fetching, lets dead letters on their way land (at most the dead-letter delivery timeout), commits stored offsets (when auto-commit is on) and leaves the consumer group.</summary>
    /// <remarks>Blocks until the group has been left; <see cref="DisposeAsync"/> does the same without blocking the caller. The revocation handler runs on the calling thread.</remarks>
    /// <exception cref="InvalidOperationException">Called from one of this consumer's handlers (they run on its poll thread, which closing waits for); the same holds for <see cref="Dispose"/> and <see cref="DisposeAsync"/>.</exception>
    public void Close() => _pipeline.CloseAsync(async: false).GetAwaiter().GetResult();

    /// <summary>Closes the consumer (see <see cref="Close"/>) and releases it.</summary>
    public void Dispose()
    {
        _pipeline.ThrowIfOnPollThread();
        try
        {
            Close();
        }
        finally
        {
            _pipeline.Dispose();
        }
    }

    /// <summary>Closes the consumer (see <see cref="Close"/>) without blocking the caller, and releases it.</summary>
    /// <returns>A task that completes when the consumer has left its group and is released.</returns>
    public async ValueTask DisposeAsync()
    {
        _pipeline.ThrowIfOnPollThread();
        try
        {
            await _pipeline.CloseAsync(async: true).ConfigureAwait(false);
        }
        finally
        {
            _pipeline.Dispose();
        }
    }

    private static T Wrap<T>(Func<T> call, string operation)
    {
        try
        {
            return call();
        }
        catch (KafkaException ex)
        {
            throw Wrapped(ex, operation);
        }
    }

    private static KafkaOperationException Wrapped(KafkaException ex, string operation)
    {
        if (ex is TopicPartitionOffsetException partial)
        {
            var failed = partial.Results.FirstOrDefault(r => r.Error.IsError);
            return new KafkaOperationException($"{operation} failed for {failed?.TopicPartition}: {failed?.Error.Reason ?? ex.Error.Reason}", failed?.Error ?? ex.Error, failed?.Topic, failed?.Partition, failed?.Offset, ex);
        }

        return new KafkaOperationException($"{operation} failed: {ex.Error.Reason} ({ex.Error.Code})", ex.Error, innerException: ex);
    }
}

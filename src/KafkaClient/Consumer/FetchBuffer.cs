using System.Collections.Concurrent;
using Confluent.Kafka;

namespace KafkaClient.Consumer;

/// <summary>The bounded hand-over between the thread that owns librdkafka's poll and the callers of Poll, PollAsync and ConsumeAsync.</summary>
/// <remarks>
/// <para>
/// One writer (the owner thread) and one reader at a time. Every record carries the stamp current when it was
/// fetched; seeking, assigning, revoking or losing partitions invalidates the records of those partitions already
/// in the buffer (librdkafka's position for them changes), and the reader drops them.
/// </para>
/// </remarks>
internal sealed class FetchBuffer : IDisposable
{
    private readonly ConcurrentQueue<Fetched> _queue = new();
    private readonly SemaphoreSlim _items = new(0);
    private readonly SemaphoreSlim _space;
    private readonly Lock _stampGate = new();
    private readonly Dictionary<TopicPartition, long> _invalidatedAt = [];
    private long _stamp;
    private long _allInvalidatedAt;

    public FetchBuffer(int capacity)
    {
        _space = new SemaphoreSlim(capacity, capacity);
    }

    /// <summary>Gets a handle that is signalled while there is room for another record.</summary>
    public WaitHandle Room => _space.AvailableWaitHandle;

    /// <summary>Owner thread: takes room for one record, if there is any.</summary>
    public bool TryReserve() => _space.Wait(0);

    /// <summary>Owner thread: gives back room taken by <see cref="TryReserve"/> when nothing was fetched.</summary>
    public void Unreserve() => _space.Release();

    /// <summary>Owner thread: adds a fetched record or a consume error into reserved room.</summary>
    public void Add(ConsumeResult<byte[], byte[]>? record, Exception? error)
    {
        _queue.Enqueue(new Fetched(record, error, Volatile.Read(ref _stamp)));
        _items.Release();
    }

    /// <summary>Any thread: adds an error, or the wake-up left by close (both null), without reserved room; taking it gives no room back.</summary>
    public void AddUnreserved(Exception? error)
    {
        _queue.Enqueue(new Fetched(null, error, Volatile.Read(ref _stamp)) { Unreserved = true });
        _items.Release();
    }

    /// <summary>Owner thread: drops what was fetched for these partitions and not yet taken.</summary>
    public void Invalidate(IEnumerable<TopicPartition> partitions)
    {
        lock (_stampGate)
        {
            var stamp = ++_stamp;
            foreach (var partition in partitions)
            {
                _invalidatedAt[new TopicPartition(partition.Topic, partition.Partition)] = stamp;
            }

            Volatile.Write(ref _stamp, stamp);
        }
    }

    /// <summary>Owner thread: drops everything fetched and not yet taken.</summary>
    public void InvalidateAll()
    {
        lock (_stampGate)
        {
            var stamp = ++_stamp;
            _allInvalidatedAt = stamp;
            _invalidatedAt.Clear();
            Volatile.Write(ref _stamp, stamp);
        }
    }

    /// <summary>Gets a value indicating whether a fetched record is still what its partition would deliver next.</summary>
    public bool IsCurrent(Fetched fetched)
    {
        if (fetched.Stamp == Volatile.Read(ref _stamp) || fetched.Record is null)
        {
            return true;
        }

        lock (_stampGate)
        {
            return fetched.Stamp >= _allInvalidatedAt
                && (!_invalidatedAt.TryGetValue(fetched.Record.TopicPartition, out var at) || fetched.Stamp >= at);
        }
    }

    /// <summary>Reader: takes the next item, waiting up to <paramref name="timeout"/>; null when none came.</summary>
    public async ValueTask<Fetched?> TakeAsync(TimeSpan timeout, bool async, CancellationToken cancellationToken)
    {
        var taken = async
            ? await _items.WaitAsync(timeout, cancellationToken).ConfigureAwait(false)
            : _items.Wait(timeout, cancellationToken);
        if (!taken)
        {
            return null;
        }

        _queue.TryDequeue(out var fetched);
        if (fetched is not { Unreserved: true })
        {
            _space.Release();
        }

        return fetched;
    }

    /// <summary>Gets the offset of the first current record of a partition still in the buffer, if any.</summary>
    public Offset? FirstOffset(TopicPartition partition)
    {
        foreach (var fetched in _queue)
        {
            if (fetched.Record is { IsPartitionEOF: false } record && record.TopicPartition.Equals(partition) && IsCurrent(fetched))
            {
                return record.Offset;
            }
        }

        return null;
    }

    public void Dispose()
    {
        _items.Dispose();
        _space.Dispose();
    }
}

/// <summary>A record or a consume error taken from librdkafka, stamped with the buffer's stamp at that moment.</summary>
internal sealed record Fetched(ConsumeResult<byte[], byte[]>? Record, Exception? Error, long Stamp)
{
    /// <summary>Gets a value indicating whether the item took no room in the buffer (close's wake-up, a rebalance handler's failure).</summary>
    public bool Unreserved { get; init; }
}

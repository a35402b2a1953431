using System.Collections.Concurrent;
using Confluent.Kafka;

namespace KafkaClient.Consumer;

/// <summary>The bounded hand-over between the thread that owns librdkafka's poll and the callers of Poll, PollAsync and ConsumeAsync.</summary>
/// <remarks>
/// <para>
/// One writer (whichever thread holds the consumer's poll lease) and one reader at a time. Neither side signals the other per record: the reader
/// takes what is there without waiting, and the writer wakes it only when it is waiting, once per batch
/// (<see cref="Publish"/>); the writer waits for room only when the buffer is full, and the reader wakes it only
/// once the buffer has drained to half. So a steady stream crosses threads without a kernel or thread-pool hop
/// per record.
/// </para>
/// <para>
/// Every record carries the stamp current when it was fetched; seeking, assigning, revoking or losing partitions
/// invalidates the records of those partitions already in the buffer (librdkafka's position for them changes),
/// and the reader drops them.
/// </para>
/// </remarks>
internal sealed class FetchBuffer : IDisposable
{
    private readonly ConcurrentQueue<Fetched> _queue = new();
    private readonly int _capacity;
    private readonly int _lowWater;
    private readonly AutoResetEvent _room = new(false);
    private readonly ManualResetEventSlim _itemsEvent = new(false);
    private readonly Lock _stampGate = new();
    private readonly Dictionary<TopicPartition, long> _invalidatedAt = [];
    private readonly Action? _readerWaits;
    private TaskCompletionSource? _itemsWaiter;
    private int _count;
    private int _readerWaiting;
    private int _writerWaiting;
    private int _unpublished;
    private long _stamp;
    private long _allInvalidatedAt;

    public FetchBuffer(int capacity, Action? readerWaits = null)
    {
        _capacity = capacity;
        _lowWater = capacity / 2;
        _readerWaits = readerWaits;
    }

    /// <summary>Gets a value indicating whether nothing is waiting to be taken.</summary>
    public bool IsEmpty => _queue.IsEmpty;

    /// <summary>Gets a value indicating whether the reader is waiting for the next item.</summary>
    public bool ReaderWaiting => Volatile.Read(ref _readerWaiting) != 0;

    /// <summary>Gets a handle that the reader signals when it has made room after <see cref="HasRoom"/> said there was none.</summary>
    public WaitHandle Room => _room;

    /// <summary>Lease holder: whether another record fits; when not, the reader signals <see cref="Room"/> once the buffer has drained to half.</summary>
    public bool HasRoom()
    {
        if (Volatile.Read(ref _count) < _capacity)
        {
            return true;
        }

        _room.Reset();
        Interlocked.Exchange(ref _writerWaiting, 1);

        // Read again after raising the flag: the reader may have drained the buffer in between and not seen it.
        if (Volatile.Read(ref _count) < _capacity)
        {
            Volatile.Write(ref _writerWaiting, 0);
            return true;
        }

        return false;
    }

    /// <summary>Lease holder: adds a fetched record or a consume error, taking room; the reader learns of it at the next <see cref="Publish"/>.</summary>
    public void Add(ConsumeResult<byte[], byte[]>? record, Exception? error)
    {
        _queue.Enqueue(new Fetched(record, error, Volatile.Read(ref _stamp)));
        Interlocked.Increment(ref _count);
        _unpublished++;
    }

    /// <summary>Lease holder: wakes a waiting reader if anything was added since the last call.</summary>
    public void Publish()
    {
        if (_unpublished != 0)
        {
            _unpublished = 0;
            WakeReader();
        }
    }

    /// <summary>Any thread: adds an error, or the wake-up left by close (both null), without taking room, and wakes the reader.</summary>
    public void AddUnreserved(Exception? error)
    {
        _queue.Enqueue(new Fetched(null, error, Volatile.Read(ref _stamp)) { Unreserved = true });
        Interlocked.MemoryBarrier();
        WakeReader();
    }

    /// <summary>Lease holder: drops what was fetched for these partitions and not yet taken.</summary>
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

    /// <summary>Lease holder: drops everything fetched and not yet taken.</summary>
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
    public ValueTask<Fetched?> TakeAsync(TimeSpan timeout, bool async, CancellationToken cancellationToken) =>
        TryTake(out var fetched) ? new ValueTask<Fetched?>(fetched) : WaitAndTakeAsync(timeout, async, cancellationToken);

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
        _room.Dispose();
        _itemsEvent.Dispose();
    }

    private bool TryTake(out Fetched fetched)
    {
        if (!_queue.TryDequeue(out fetched))
        {
            return false;
        }

        if (!fetched.Unreserved && Interlocked.Decrement(ref _count) <= _lowWater
            && Volatile.Read(ref _writerWaiting) != 0 && Interlocked.Exchange(ref _writerWaiting, 0) != 0)
        {
            _room.Set();
        }

        return true;
    }

    private async ValueTask<Fetched?> WaitAndTakeAsync(TimeSpan timeout, bool async, CancellationToken cancellationToken)
    {
        var start = Environment.TickCount64;
        while (true)
        {
            TaskCompletionSource? waiter = null;
            if (async)
            {
                waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _itemsWaiter, waiter);
            }
            else
            {
                _itemsEvent.Reset();
            }

            // Raise the flag, then look again: a record published in between is either seen here or wakes the waiter.
            Interlocked.Exchange(ref _readerWaiting, 1);
            try
            {
                if (TryTake(out var fetched))
                {
                    return fetched;
                }

                var left = Left(start, timeout);
                if (left == TimeSpan.Zero)
                {
                    return null;
                }

                _readerWaits?.Invoke(); // whoever fills the buffer learns that the reader now waits for it

                if (async)
                {
                    try
                    {
                        await waiter!.Task.WaitAsync(left, cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // Looked at once more below.
                    }
                }
                else
                {
                    _itemsEvent.Wait(left, cancellationToken);
                }
            }
            finally
            {
                Volatile.Write(ref _readerWaiting, 0);
                Interlocked.CompareExchange(ref _itemsWaiter, null, waiter);
            }

            if (TryTake(out var next))
            {
                return next;
            }

            if (Left(start, timeout) == TimeSpan.Zero)
            {
                return null;
            }
        }
    }

    private void WakeReader()
    {
        if (Volatile.Read(ref _readerWaiting) == 0)
        {
            return;
        }

        Interlocked.Exchange(ref _itemsWaiter, null)?.TrySetResult();
        _itemsEvent.Set();
    }

    private static TimeSpan Left(long start, TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return timeout;
        }

        var left = timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }
}

/// <summary>A record or a consume error taken from librdkafka, stamped with the buffer's stamp at that moment.</summary>
/// <remarks>A value, not an object: the buffer's slots hold it, so handing a record over allocates nothing.</remarks>
internal readonly record struct Fetched(ConsumeResult<byte[], byte[]>? Record, Exception? Error, long Stamp)
{
    /// <summary>Gets a value indicating whether the item took no room in the buffer (close's wake-up, a rebalance handler's failure).</summary>
    public bool Unreserved { get; init; }
}

using Confluent.Kafka;
using KafkaClient.Consumer;

namespace KafkaClient.Hosting;

/// <summary>One assignment of a partition to a hosted consumer: whether it was taken away, how many of its records are being handled, and its lanes.</summary>
/// <remarks>
/// Thread-safe: the reader takes records in, handlers finish them on pool threads, and the consumer's poll thread
/// revokes it. A partition assigned again gets a new instance, so records of the old assignment never run under it.
/// </remarks>
internal sealed class PartitionState(TopicPartition partition)
{
    private readonly object _gate = new();
    private int _running;
    private bool _revoked;
    private long _taken;
    private long _finished;

    public TopicPartition Partition { get; } = partition;

    /// <summary>Gets the lanes of the per-record dispatcher: by key bytes with per-key parallelism, else one.</summary>
    /// <remarks>Guarded by <see cref="Gate"/>.</remarks>
    public Dictionary<LaneKey, Lane> Lanes { get; } = [];

    public object Gate => _gate;

    public bool Revoked
    {
        get
        {
            lock (_gate)
            {
                return _revoked;
            }
        }
    }

    /// <summary>Gets how many records of this assignment were finished: handled, or forwarded to a retry or dead-letter topic.</summary>
    public long Finished => Interlocked.Read(ref _finished);

    /// <summary>Gets how many records were taken in and are not finished (running, waiting for their turn, or left by stopping).</summary>
    public long InFlight => Interlocked.Read(ref _taken) - Interlocked.Read(ref _finished);

    /// <summary>Reader: a record of this partition was taken in.</summary>
    public void Took() => Interlocked.Increment(ref _taken);

    /// <summary>A record of this partition was finished.</summary>
    public void Finish() => Interlocked.Increment(ref _finished);

    /// <summary>Starts handling a record unless the partition was taken away.</summary>
    public bool TryBeginRunning()
    {
        lock (_gate)
        {
            if (_revoked)
            {
                return false;
            }

            _running++;
            return true;
        }
    }

    public void EndRunning()
    {
        lock (_gate)
        {
            if (--_running == 0)
            {
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Poll thread: no record of this partition starts any more; waits up to <paramref name="timeout"/> for those running.</summary>
    /// <returns>How many were still running when the wait ended.</returns>
    public int RevokeAndWait(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_gate)
        {
            _revoked = true;
            while (_running > 0)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    break;
                }

                Monitor.Wait(_gate, TimeSpan.FromMilliseconds(left));
            }

            return _running;
        }
    }
}

/// <summary>A record taken in by a hosted consumer, with what acknowledging and forwarding it needs.</summary>
internal sealed class Delivery<TKey, TValue>(ConsumeResult<TKey, TValue> record, DeliveredRecord delivered, PartitionState partition)
{
    public ConsumeResult<TKey, TValue> Record { get; } = record;

    public DeliveredRecord Delivered { get; } = delivered;

    public PartitionState Partition { get; } = partition;

    public override string ToString() => $"{Record.Topic} [{Record.Partition.Value}] @{Record.Offset.Value}";
}

/// <summary>Records of one partition, or of one key in it, handled one at a time in order.</summary>
/// <remarks>Guarded by its partition's <see cref="PartitionState.Gate"/>.</remarks>
internal sealed class Lane
{
    public Queue<object> Waiting { get; } = new();

    public bool Busy { get; set; }
}

/// <summary>A lane's key: a record key's bytes compared by content (null for the partition's single lane, or for null keys).</summary>
internal readonly struct LaneKey(byte[]? bytes) : IEquatable<LaneKey>
{
    private readonly byte[]? _bytes = bytes;

    public bool Equals(LaneKey other) =>
        _bytes is null ? other._bytes is null : other._bytes is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is LaneKey other && Equals(other);

    public override int GetHashCode()
    {
        if (_bytes is null)
        {
            return 0;
        }

        var hash = default(HashCode);
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }
}

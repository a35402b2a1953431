using Confluent.Kafka;

namespace KafkaClient.Consumer;

/// <summary>Stores consumed offsets in order per partition, holding them back behind poison records whose dead letter is not acknowledged yet.</summary>
/// <remarks>
/// While no forward is pending, a record's offset is stored at once by the reader (no lock). A partition with a
/// pending forward queues the offsets that follow it; when the dead-letter topic acknowledges the forward, the
/// longest finished prefix is stored, so the stored offset never passes a record the dead-letter topic does not have.
/// Thread-safe: the reader and the dead-letter producer's delivery thread use it at once.
/// </remarks>
internal sealed class OffsetStore(IConsumer<byte[], byte[]> consumer, bool enabled)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TopicPartition, Queue<Entry>> _held = [];
    private int _partitionsHeld;

    /// <summary>Reader: the record was returned, skipped or raised; its offset may be stored.</summary>
    public void Done(ConsumeResult<byte[], byte[]> record)
    {
        if (!enabled || record.IsPartitionEOF)
        {
            return;
        }

        if (Volatile.Read(ref _partitionsHeld) == 0)
        {
            Store(record.TopicPartition, record.Offset, record.LeaderEpoch);
            return;
        }

        lock (_gate)
        {
            if (_held.TryGetValue(record.TopicPartition, out var queue))
            {
                queue.Enqueue(new Entry(record.Offset, record.LeaderEpoch) { Done = true });
                return;
            }

            Store(record.TopicPartition, record.Offset, record.LeaderEpoch);
        }
    }

    /// <summary>Reader: a forward of this record starts; offsets after it wait for <see cref="Finish"/>.</summary>
    public Entry Hold(ConsumeResult<byte[], byte[]> record)
    {
        var entry = new Entry(record.Offset, record.LeaderEpoch);
        if (!enabled)
        {
            return entry;
        }

        lock (_gate)
        {
            if (!_held.TryGetValue(record.TopicPartition, out var queue))
            {
                queue = new Queue<Entry>();
                _held.Add(record.TopicPartition, queue);
                Volatile.Write(ref _partitionsHeld, _partitionsHeld + 1);
            }

            queue.Enqueue(entry);
        }

        return entry;
    }

    /// <summary>Any thread: the forward of <paramref name="entry"/> is finished; stores what is no longer held back.</summary>
    public void Finish(TopicPartition partition, Entry entry)
    {
        if (!enabled)
        {
            return;
        }

        lock (_gate)
        {
            entry.Done = true;
            if (!_held.TryGetValue(partition, out var queue))
            {
                return; // the partition was revoked meanwhile: its next owner reads from the last commit
            }

            Entry? last = null;
            while (queue.TryPeek(out var head) && head.Done)
            {
                last = queue.Dequeue();
            }

            if (last is not null)
            {
                // Stored before the partition stops counting as held, so the reader's lock-free path cannot overtake it.
                Store(partition, last.Offset, last.LeaderEpoch);
            }

            if (queue.Count == 0)
            {
                _held.Remove(partition);
                Volatile.Write(ref _partitionsHeld, _partitionsHeld - 1);
            }
        }
    }

    /// <summary>Owner thread: forgets partitions that were revoked or lost.</summary>
    public void Forget(IEnumerable<TopicPartition> partitions)
    {
        lock (_gate)
        {
            foreach (var partition in partitions)
            {
                if (_held.Remove(partition))
                {
                    Volatile.Write(ref _partitionsHeld, _partitionsHeld - 1);
                }
            }
        }
    }

    /// <summary>Gets a value indicating whether any of these partitions still waits for a dead letter.</summary>
    public bool IsHolding(IEnumerable<TopicPartition> partitions)
    {
        lock (_gate)
        {
            return partitions.Any(p => _held.TryGetValue(p, out var queue) && queue.Any(e => !e.Done));
        }
    }

    private void Store(TopicPartition partition, Offset offset, int? leaderEpoch)
    {
        try
        {
            consumer.StoreOffset(new TopicPartitionOffset(partition, offset + 1, leaderEpoch));
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_State)
        {
            // The partition was revoked between fetch and store: its new owner reads from the last commit.
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: what was not stored is read again by the next owner.
        }
    }

    /// <summary>One record whose offset waits in line.</summary>
    internal sealed class Entry(Offset offset, int? leaderEpoch)
    {
        public Offset Offset { get; } = offset;

        public int? LeaderEpoch { get; } = leaderEpoch;

        public bool Done { get; set; }
    }
}

using Confluent.Kafka;

namespace KafkaClient.Consumer;

/// <summary>Stores consumed offsets in order per partition, holding them back behind poison records whose dead letter is not acknowledged yet.</summary>
/// <remarks>
/// <para>
/// While no forward is pending, a record's offset is stored at once by the reader. A partition with a pending
/// forward queues the offsets that follow it; when the dead-letter topic acknowledges the forward, the longest
/// finished prefix is stored, so the stored offset never passes a record the dead-letter topic does not have.
/// </para>
/// <para>
/// "Stored" here means noted per partition; the thread polling librdkafka hands the latest offset of each partition to
/// librdkafka (<see cref="Flush"/>) when idle, every <see cref="FlushInterval"/> while busy, and before every
/// command (a commit), revocation and close. Storing each record's offset in librdkafka as it was returned cost a
/// native call and several allocations per record; what librdkafka commits is the same.
/// </para>
/// <para>
/// When the application acknowledges records (the hosted consumer), each returned record is held the same way
/// (<see cref="Hold"/>) until it is acknowledged (<see cref="Finish"/>), so the stored offset of a partition is the
/// lowest one not finished yet: records handled out of order never store past one still running.
/// </para>
/// <para>Thread-safe: the reader, the owner thread and the dead-letter producer's delivery thread use it at once.</para>
/// </remarks>
internal sealed class OffsetStore(IConsumer<byte[], byte[]> consumer, bool enabled)
{
    /// <summary>The longest a noted offset waits for the polling thread while records keep coming.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(20);

    private readonly Lock _gate = new();
    private readonly Dictionary<TopicPartition, Queue<Entry>> _held = [];
    private readonly Lock _notedGate = new();
    private readonly Dictionary<(string Topic, int Partition), Noted> _noted = [];
    private readonly Lock _flushGate = new();
    private Noted? _last;
    private bool _dirty;
    private long _flushedAt = System.Diagnostics.Stopwatch.GetTimestamp();
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
            Store(record.Topic, record.Partition, record.Offset, record.LeaderEpoch);
            return;
        }

        lock (_gate)
        {
            if (_held.TryGetValue(record.TopicPartition, out var queue))
            {
                queue.Enqueue(new Entry(record.Offset, record.LeaderEpoch) { Done = true });
                return;
            }

            Store(record.Topic, record.Partition, record.Offset, record.LeaderEpoch);
        }
    }

    /// <summary>Gets a value indicating whether offsets were noted and the last flush is <see cref="FlushInterval"/> ago.</summary>
    public bool FlushDue() =>
        Volatile.Read(ref _dirty) && System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _flushedAt)) >= FlushInterval;

    /// <summary>Owner thread, or any thread once it has stopped (the closing thread, a commit made then): hands the latest noted offset of each partition to librdkafka.</summary>
    public void Flush()
    {
        if (!enabled)
        {
            return;
        }

        lock (_flushGate)
        {
            List<TopicPartitionOffset>? due = null;
            lock (_notedGate)
            {
                Volatile.Write(ref _flushedAt, System.Diagnostics.Stopwatch.GetTimestamp());
                if (!_dirty)
                {
                    return;
                }

                _dirty = false;
                foreach (var noted in _noted.Values)
                {
                    if (noted.Dirty)
                    {
                        noted.Dirty = false;
                        (due ??= []).Add(new TopicPartitionOffset(noted.Topic, noted.Partition, noted.Offset + 1, noted.LeaderEpoch));
                    }
                }
            }

            foreach (var offset in due ?? [])
            {
                StoreNow(offset);
            }
        }
    }

    /// <summary>Reader: a forward of this record starts (or, acknowledging, the record is returned); offsets after it wait for <see cref="Finish"/>.</summary>
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

            StoreFinished(partition, queue);
        }
    }

    /// <summary>Owner thread, when the application acknowledges records: a seek moved the partition to <paramref name="offset"/>, so the records from there on are read again and no longer hold it back.</summary>
    public void Rewind(TopicPartition partition, Offset offset)
    {
        if (!enabled)
        {
            return;
        }

        lock (_gate)
        {
            if (!_held.TryGetValue(partition, out var queue))
            {
                return;
            }

            var kept = queue.Where(e => e.Offset < offset).ToList();
            queue.Clear();
            foreach (var entry in kept)
            {
                queue.Enqueue(entry);
            }

            StoreFinished(partition, queue);
        }
    }

    /// <summary>Owner thread: forgets partitions that were assigned (anew), revoked or lost, with their offsets not yet flushed.</summary>
    public void Forget(IEnumerable<TopicPartition> partitions)
    {
        lock (_gate)
        {
            lock (_notedGate)
            {
                _last = null;
                foreach (var partition in partitions)
                {
                    _noted.Remove((partition.Topic, partition.Partition));
                    if (_held.Remove(partition))
                    {
                        Volatile.Write(ref _partitionsHeld, _partitionsHeld - 1);
                    }
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

    /// <summary>Under <see cref="_gate"/>: stores the longest finished prefix of a held partition and stops holding it once nothing waits.</summary>
    private void StoreFinished(TopicPartition partition, Queue<Entry> queue)
    {
        Entry? last = null;
        while (queue.TryPeek(out var head) && head.Done)
        {
            last = queue.Dequeue();
        }

        if (last is not null)
        {
            // Stored before the partition stops counting as held, so the reader's lock-free path cannot overtake it.
            Store(partition.Topic, partition.Partition, last.Offset, last.LeaderEpoch);
        }

        if (queue.Count == 0)
        {
            _held.Remove(partition);
            Volatile.Write(ref _partitionsHeld, _partitionsHeld - 1);
        }
    }

    /// <summary>Notes the offset of a finished record; the next <see cref="Flush"/> stores the one after it.</summary>
    private void Store(string topic, int partition, Offset offset, int? leaderEpoch)
    {
        lock (_notedGate)
        {
            var noted = _last;
            if (noted is null || noted.Partition != partition || !string.Equals(noted.Topic, topic, StringComparison.Ordinal))
            {
                if (!_noted.TryGetValue((topic, partition), out noted))
                {
                    noted = new Noted(topic, partition);
                    _noted.Add((topic, partition), noted);
                }

                _last = noted;
            }

            noted.Offset = offset;
            noted.LeaderEpoch = leaderEpoch;
            noted.Dirty = true;
            _dirty = true;
        }
    }

    private void StoreNow(TopicPartitionOffset offset)
    {
        try
        {
            consumer.StoreOffset(offset);
        }
        catch (KafkaException)
        {
            // Local_State: the partition was revoked between fetch and store, and its new owner reads from the last
            // commit; any other refusal (an unknown partition, say) is not thrown either: this runs on the owner
            // thread, where an exception would end the process, and an offset not stored only means reading again.
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: what was not stored is read again by the next owner.
        }
    }

    /// <summary>The latest finished offset of one partition, until flushed.</summary>
    private sealed class Noted(string topic, int partition)
    {
        public string Topic { get; } = topic;

        public int Partition { get; } = partition;

        public Offset Offset { get; set; }

        public int? LeaderEpoch { get; set; }

        public bool Dirty { get; set; }
    }

    /// <summary>One record whose offset waits in line.</summary>
    internal sealed class Entry(Offset offset, int? leaderEpoch)
    {
        public Offset Offset { get; } = offset;

        public int? LeaderEpoch { get; } = leaderEpoch;

        public bool Done { get; set; }
    }
}

using Confluent.Kafka;

namespace KafkaClient;

/// <summary>A Kafka consumer of typed keys and values, as implemented by <see cref="DeserializingConsumer{TKey, TValue}"/>; for dependency injection and test doubles.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>Read records from one thread or one asynchronous flow at a time; every other member may be called from any thread. See <see cref="DeserializingConsumer{TKey, TValue}"/> for the threading, failure and offset rules.</remarks>
public interface IDeserializingConsumer<TKey, TValue> : IDisposable, IAsyncDisposable
{
    /// <summary>Gets the client's name as librdkafka reports it.</summary>
    string Name { get; }

    /// <summary>Gets the consumer group member id, or an empty string before the first join.</summary>
    string MemberId { get; }

    /// <summary>Gets the partitions currently assigned to this consumer.</summary>
    IReadOnlyList<TopicPartition> Assignment { get; }

    /// <summary>Gets the topics this consumer is subscribed to.</summary>
    IReadOnlyList<string> Subscription { get; }

    /// <summary>Gets the group metadata, for committing offsets inside a producer transaction.</summary>
    IConsumerGroupMetadata ConsumerGroupMetadata { get; }

    /// <summary>Gets how many poison records the <see cref="PoisonRecordPolicy.Skip"/> policy skipped.</summary>
    long SkippedRecords { get; }

    /// <summary>Gets how many poison records the dead-letter topic acknowledged.</summary>
    long DeadLetteredRecords { get; }

    /// <summary>Subscribes to topics through the consumer group, replacing any earlier subscription.</summary>
    /// <param name="topics">Topic names; a name starting with <c>^</c> is a regular expression.</param>
    void Subscribe(IEnumerable<string> topics);

    /// <summary>Subscribes to one topic through the consumer group, replacing any earlier subscription.</summary>
    /// <param name="topic">The topic name, or a regular expression starting with <c>^</c>.</param>
    void Subscribe(string topic);

    /// <summary>Leaves the subscription; the group then rebalances without this member.</summary>
    void Unsubscribe();

    /// <summary>Reads the given partitions directly, from the given offsets, without group management.</summary>
    /// <param name="partitions">The partitions and start offsets (<see cref="Offset.Beginning"/>, <see cref="Offset.End"/>, <see cref="Offset.Stored"/> or a number).</param>
    void Assign(IEnumerable<TopicPartitionOffset> partitions);

    /// <summary>Reads the given partitions directly, from their committed offsets (else <c>auto.offset.reset</c>), without group management.</summary>
    /// <param name="partitions">The partitions.</param>
    void Assign(IEnumerable<TopicPartition> partitions);

    /// <summary>Stops reading all directly assigned partitions.</summary>
    void Unassign();

    /// <summary>Waits up to <paramref name="timeout"/> for the next record and deserializes it.</summary>
    /// <param name="timeout">How long to wait; <see cref="TimeSpan.Zero"/> only returns what is already fetched.</param>
    /// <returns>The record, a partition-EOF marker (when <c>enable.partition.eof=true</c>), or null if none arrived in time.</returns>
    /// <exception cref="KeyDeserializationException">Raise policy: the key is poison and the position is past the record; or, with <see cref="KafkaClientException.IsRetriable"/> true and no transient error handler, the key failed transiently and the consumer stays on the record.</exception>
    /// <exception cref="ValueDeserializationException">As for the key, for the value.</exception>
    /// <exception cref="DeadLetterException">Dead-letter policy: a poison record could not be forwarded for a permanent reason and no <see cref="DeadLetterPolicy.OnUndeliverable"/> handler is set; the consumer has moved past it.</exception>
    /// <exception cref="KafkaOperationException">Kafka reported a consumer error.</exception>
    /// <exception cref="InvalidOperationException">A deserializer is asynchronous (use <see cref="PollAsync"/> or <see cref="ConsumeAsync"/>), or the consumer is neither subscribed nor assigned.</exception>
    ConsumeResult<TKey, TValue>? Poll(TimeSpan timeout);

    /// <summary>Waits, without blocking a thread, up to <paramref name="timeout"/> for the next record and deserializes it.</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits until a record arrives or <paramref name="cancellationToken"/> fires.</param>
    /// <param name="cancellationToken">Stops waiting, at once.</param>
    /// <returns>The record, a partition-EOF marker, or null if none arrived in time.</returns>
    /// <remarks>Errors are those of <see cref="Poll"/>.</remarks>
    ValueTask<ConsumeResult<TKey, TValue>?> PollAsync(TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Streams deserialized records until <paramref name="cancellationToken"/> fires or the consumer is closed, either of which ends the stream quietly.</summary>
    /// <param name="cancellationToken">Ends the stream.</param>
    /// <returns>The records, in order per partition.</returns>
    /// <remarks>
    /// With the default <see cref="PoisonRecordPolicy.Raise"/>, a poison record ends the stream with its exception
    /// (the position is past it, so a new stream continues after it); with <see cref="PoisonRecordPolicy.Skip"/> or
    /// <see cref="PoisonRecordPolicy.DeadLetter"/> one stream runs past any number of them.
    /// </remarks>
    /// <exception cref="InvalidOperationException">The consumer is neither subscribed nor assigned (thrown at once).</exception>
    IAsyncEnumerable<ConsumeResult<TKey, TValue>> ConsumeAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores the offset after <paramref name="record"/> for the next commit (when <c>enable.auto.offset.store=false</c> is configured).</summary>
    /// <param name="record">A record returned by this consumer.</param>
    void StoreOffset(ConsumeResult<TKey, TValue> record);

    /// <summary>Stores an offset for the next commit.</summary>
    /// <param name="offset">The partition and the offset of the next record to read.</param>
    void StoreOffset(TopicPartitionOffset offset);

    /// <summary>Commits the stored offsets of all assigned partitions and waits for the broker's answer.</summary>
    /// <returns>The offsets committed; empty when nothing was stored since the last commit.</returns>
    /// <exception cref="KafkaOperationException">The commit failed.</exception>
    IReadOnlyList<TopicPartitionOffset> Commit();

    /// <summary>Commits the given offsets (each the offset of the next record to read) and waits for the broker's answer.</summary>
    /// <param name="offsets">The offsets.</param>
    /// <exception cref="KafkaOperationException">The commit failed.</exception>
    void Commit(IEnumerable<TopicPartitionOffset> offsets);

    /// <summary>Commits the offset after <paramref name="record"/> and waits for the broker's answer.</summary>
    /// <param name="record">A record returned by this consumer.</param>
    void Commit(ConsumeResult<TKey, TValue> record);

    /// <summary>Commits the stored offsets without blocking the calling thread.</summary>
    /// <param name="cancellationToken">Stops waiting for the answer; the commit may still happen.</param>
    /// <returns>The offsets committed; empty when nothing was stored since the last commit.</returns>
    Task<IReadOnlyList<TopicPartitionOffset>> CommitAsync(CancellationToken cancellationToken = default);

    /// <summary>Commits the given offsets without blocking the calling thread.</summary>
    /// <param name="offsets">The offsets (each the offset of the next record to read).</param>
    /// <param name="cancellationToken">Stops waiting for the answer; the commit may still happen.</param>
    /// <returns>A task that completes when the broker has answered.</returns>
    Task CommitAsync(IEnumerable<TopicPartitionOffset> offsets, CancellationToken cancellationToken = default);

    /// <summary>Reads the committed offsets of the given partitions from the group coordinator.</summary>
    /// <param name="partitions">The partitions.</param>
    /// <param name="timeout">How long to wait for the coordinator.</param>
    /// <returns>The committed offsets (<see cref="Offset.Unset"/> where none was committed).</returns>
    IReadOnlyList<TopicPartitionOffset> Committed(IEnumerable<TopicPartition> partitions, TimeSpan timeout);

    /// <summary>Gets the offset of the next record this consumer will return for a partition.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <returns>The position, or <see cref="Offset.Unset"/> if nothing was read yet.</returns>
    Offset Position(TopicPartition partition);

    /// <summary>Moves the position of an assigned partition, for replay or skip; records fetched ahead for it are dropped.</summary>
    /// <param name="offset">The partition and the offset to read next.</param>
    void Seek(TopicPartitionOffset offset);

    /// <summary>Finds, per partition, the first offset whose timestamp is at or after the given time.</summary>
    /// <param name="timestamps">Partitions and times.</param>
    /// <param name="timeout">How long to wait for the brokers.</param>
    /// <returns>The offsets (<see cref="Offset.End"/> where no record is that late).</returns>
    IReadOnlyList<TopicPartitionOffset> OffsetsForTimes(IEnumerable<TopicPartitionTimestamp> timestamps, TimeSpan timeout);

    /// <summary>Gets the low and high watermarks of a partition as last seen by this consumer, without a broker call.</summary>
    /// <param name="partition">The partition.</param>
    /// <returns>The cached watermarks.</returns>
    WatermarkOffsets GetWatermarkOffsets(TopicPartition partition);

    /// <summary>Asks the partition leader for the low and high watermarks of a partition.</summary>
    /// <param name="partition">The partition.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <returns>The watermarks.</returns>
    WatermarkOffsets QueryWatermarkOffsets(TopicPartition partition, TimeSpan timeout);

    /// <summary>Stops fetching from the given partitions until <see cref="Resume"/>; records already fetched ahead for them (at most the fetch buffer's size) are still returned.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    void Pause(IEnumerable<TopicPartition> partitions);

    /// <summary>Resumes fetching from paused partitions.</summary>
    /// <param name="partitions">Paused partitions.</param>
    void Resume(IEnumerable<TopicPartition> partitions);

    /// <summary>Commits stored offsets (when auto-commit is on), leaves the consumer group and stops fetching.</summary>
    void Close();
}

namespace KafkaClient.Hosting;

/// <summary>Settings of a hosted consumer registered with <see cref="KafkaConsumerServiceExtensions"/>; validated once, when the host starts it.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>
/// <para>
/// A record whose handler throws is attempted again in place, up to <see cref="MaxAttempts"/> attempts with a backoff
/// of <see cref="RetryBackoff"/> doubling up to <see cref="MaxRetryBackoff"/>. Then, when <see cref="RetryTopicDelays"/>
/// has tiers, it is forwarded to the next retry topic (<c>orders</c> to <c>orders-retry-5s</c> to <c>orders-retry-30s</c>),
/// read back from there no earlier than the tier's delay after the forward, and attempted again; after the last tier
/// it goes to <see cref="DeadLetterTopic"/>, or, when none is set, is logged as an error and skipped. Headers are
/// those of <see cref="RetryHeaders"/>.
/// </para>
/// <para>
/// A transient failure (the handler throws a <see cref="KafkaClientException"/> with
/// <see cref="KafkaClientException.IsRetriable"/> true, itself or as an inner exception: a broker or a schema registry
/// that cannot be reached) never uses up attempts: the record is attempted again with the same backoff until it
/// succeeds or the service stops, and is never forwarded.
/// </para>
/// <para>Not thread-safe: set it in the registration's callback; the service reads it once, when it starts.</para>
/// </remarks>
public sealed class KafkaConsumerServiceOptions<TKey, TValue>
{
    /// <summary>Gets the consumer's librdkafka properties and builder callback, as for <see cref="KafkaServiceCollectionExtensions.AddKafkaConsumer{TKey, TValue}(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{KafkaConsumerOptions{TKey, TValue}})"/>.</summary>
    /// <remarks>
    /// The service stores offsets itself, after each handler succeeded (<c>enable.auto.offset.store</c> does not apply);
    /// <c>enable.auto.commit</c> (default true) commits them in the background as well. Rebalance handlers set in
    /// <see cref="KafkaConsumerOptions{TKey, TValue}.ConfigureBuilder"/> are replaced by the service's own. With
    /// <see cref="DeadLetterTopic"/> set, records that cannot be deserialized go to it as well (the core's
    /// <see cref="PoisonRecordPolicy.DeadLetter"/>), unless <c>ConfigureBuilder</c> sets another poison policy.
    /// </remarks>
    public KafkaConsumerOptions<TKey, TValue> Consumer { get; } = new();

    /// <summary>Gets the librdkafka properties of the producer that forwards records to retry topics and the dead-letter topic.</summary>
    /// <remarks>When <see cref="KafkaProducerOptions{TKey, TValue}.Config"/> is left empty: the consumer's <c>bootstrap.servers</c>, <c>client.id</c>, <c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>, <c>socket.*</c> and <c>broker.address.family</c>, with <c>acks=all</c> and <c>enable.idempotence=true</c>.</remarks>
    public KafkaProducerOptions<byte[], byte[]> Producer { get; } = new();

    /// <summary>Gets the topics to consume (required; names, not patterns, when <see cref="RetryTopicDelays"/> has tiers).</summary>
    public IList<string> Topics { get; } = new List<string>();

    /// <summary>Gets or sets the consumer group; when null, <c>group.id</c> of <see cref="Consumer"/> (one of them is required).</summary>
    public string? GroupId { get; set; }

    /// <summary>Gets or sets how many records may be taken in and not finished at once (running or waiting for their partition or key), default 16.</summary>
    /// <remarks>Records of different partitions run concurrently up to this bound. The batch variant handles one batch at a time and ignores it.</remarks>
    public int MaxInFlight { get; set; } = 16;

    /// <summary>Gets or sets a value indicating whether records of one partition with different keys may be handled concurrently (default false: one partition, one record at a time).</summary>
    /// <remarks>Records with the same key (compared as bytes; all null keys count as one key) are still handled one at a time, in order. The offset stored for a partition never passes a record not finished yet. The batch variant ignores it.</remarks>
    public bool PerKeyParallelism { get; set; }

    /// <summary>Gets or sets how many times the handler is called for a record before it is forwarded (default 3: the first attempt and 2 retries in place).</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Gets or sets the wait before the first retry in place; it doubles with each retry up to <see cref="MaxRetryBackoff"/> (default 200 ms).</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Gets or sets the longest wait between two attempts, also for transient failures and failed forwards (default 10 seconds).</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets the delays of the retry topics, one topic per delay and source topic, in the order records go through them (default none).</summary>
    /// <remarks>
    /// The service subscribes to these topics too, and they must exist (the embedded cluster and clusters without
    /// topic auto-creation create none), unless <see cref="CreateRetryAndDeadLetterTopics"/> creates them. A retry
    /// topic's partition whose next record is not due yet is paused until it is, without holding up other partitions.
    /// </remarks>
    public IList<TimeSpan> RetryTopicDelays { get; } = new List<TimeSpan>();

    /// <summary>Gets or sets the name of a retry topic, where <c>{topic}</c> is the source topic and <c>{delay}</c> the delay (<c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, <c>1d</c>); default <c>{topic}-retry-{delay}</c>.</summary>
    public string RetryTopicFormat { get; set; } = "{topic}-retry-{delay}";

    /// <summary>Gets or sets the dead-letter topic, where <c>{topic}</c> stands for the source topic (<c>{topic}-dlt</c>), or null for none (the default).</summary>
    /// <remarks>It must exist, unless <see cref="CreateRetryAndDeadLetterTopics"/> creates it.</remarks>
    public string? DeadLetterTopic { get; set; }

    /// <summary>Gets or sets a value indicating whether the retry topics and dead-letter topics that do not exist are created when the service starts (default false: they must exist).</summary>
    /// <remarks>
    /// <para>
    /// Off by default: creating topics takes the cluster's permission to (a <c>CREATE</c> ACL), and many clusters have
    /// their topics managed elsewhere. When on, each missing retry or dead-letter topic is created on the background
    /// loop, before the consumer subscribes, through <see cref="TopicAdmin"/>, with as many partitions as its source topic
    /// and the broker's default replication factor. A source topic that does not exist yet gets none (a warning says
    /// so). A failure that may pass (a broker not reachable yet) is tried again with backoff until it succeeds or the
    /// service stops; one that cannot (no permission) stops the service, logged as critical, naming the topic.
    /// </para>
    /// </remarks>
    public bool CreateRetryAndDeadLetterTopics { get; set; }

    /// <summary>Gets or sets the admin that creates missing retry and dead-letter topics, or null (the default) for a <see cref="KafkaClient.TopicAdmin"/> on the consumer's connection keys (<c>bootstrap.servers</c>, <c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>, ...).</summary>
    /// <remarks>The service does not dispose it. An <c>EmbeddedKafkaCluster</c> is one: the embedded cluster creates topics only through its own API.</remarks>
    public ITopicAdmin? TopicAdmin { get; set; }

    /// <summary>Gets or sets how long stopping may take in all: draining handlers, committing and leaving the group (default 20 seconds).</summary>
    /// <remarks>
    /// Handlers' tokens fire when the shutdown timeout is close: a fifth of it (at most 5 seconds) before it ends, the
    /// time kept for the commit and for leaving the group. Keep it below the host's <c>HostOptions.ShutdownTimeout</c>
    /// (30 seconds by default), which ends waiting for every hosted service.
    /// </remarks>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Gets or sets the most records in one batch of the batch variant (default 100).</summary>
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>Gets or sets how long the batch variant waits for more records after the first one of a batch (default 100 ms).</summary>
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Returns the settings, with the values of secret consumer and producer keys replaced by <c>***</c>.</summary>
    /// <returns>The settings, secrets hidden.</returns>
    public override string ToString() =>
        $"topics [{string.Join(", ", Topics)}], group {GroupId ?? "(from group.id)"}, max in flight {MaxInFlight}, per-key parallelism {PerKeyParallelism}, "
        + $"max attempts {MaxAttempts}, retry topics [{string.Join(", ", RetryTopicDelays.Select(RetryTopology.FormatDelay))}], dead-letter topic {DeadLetterTopic ?? "(none)"}, "
        + $"create retry and dead-letter topics {CreateRetryAndDeadLetterTopics}, "
        + $"shutdown timeout {ShutdownTimeout}; {Consumer}; {Producer}";
}

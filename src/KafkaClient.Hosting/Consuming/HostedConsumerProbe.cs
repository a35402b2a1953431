using Confluent.Kafka;

namespace KafkaClient.Hosting;

/// <summary>What a health check may ask of a hosted consumer registration, whatever its key and value types.</summary>
/// <remarks>Thread-safe: checks run on any thread, beside the service.</remarks>
internal interface IHostedConsumerProbe
{
    /// <summary>Gets the registration's name, for messages (its handler type's name).</summary>
    string Name { get; }

    /// <summary>Gets the handler type the registration runs.</summary>
    Type HandlerType { get; }

    /// <summary>Takes a snapshot of the running service: its phase and, while it reads, each partition's progress.</summary>
    HostedConsumerSnapshot Snapshot();
}

/// <summary>Where a hosted consumer stands.</summary>
internal enum HostedConsumerPhase
{
    /// <summary>Not started, or stopped.</summary>
    NotRunning,

    /// <summary>Started; its consumer is being created and subscribed on the background loop.</summary>
    Starting,

    /// <summary>Reading and handling records.</summary>
    Running,

    /// <summary>Stopping: draining, committing, leaving the group.</summary>
    Stopping,

    /// <summary>Stopped by a failure it cannot recover from.</summary>
    Failed,
}

/// <summary>A hosted consumer's phase, the failure that stopped it, and its partitions while it reads.</summary>
internal sealed record HostedConsumerSnapshot(HostedConsumerPhase Phase, string? Failure = null, string? ConsumerName = null, IReadOnlyList<PartitionProgress>? Partitions = null)
{
    public static readonly HostedConsumerSnapshot NotRunning = new(HostedConsumerPhase.NotRunning);
}

/// <summary>One assigned partition of a hosted consumer: its assignment (a new one after each rebalance), where the consumer reads, how many records finished and how many are taken in but not finished.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="Assignment">The assignment's identity: progress is compared only within one assignment.</param>
/// <param name="Position">The offset of the next record the consumer hands out.</param>
/// <param name="High">The high watermark last seen.</param>
/// <param name="Finished">How many records of this assignment were handled (or forwarded).</param>
/// <param name="InFlight">How many records were taken in and are not finished: running, or waiting for their partition or key.</param>
/// <param name="Deferred">Whether the partition is paused until its next retry record is due.</param>
internal readonly record struct PartitionProgress(TopicPartition Partition, object Assignment, Offset Position, Offset High, long Finished, long InFlight, bool Deferred);

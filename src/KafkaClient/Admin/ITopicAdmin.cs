namespace KafkaClient;

/// <summary>Creates, lists, describes and deletes topics, on a real cluster or on the embedded one.</summary>
/// <remarks>Implementations are thread-safe.</remarks>
public interface ITopicAdmin
{
    /// <summary>Creates a topic, as <c>kafka-topics --create --partitions P --replication-factor R --config k=v</c> does.</summary>
    /// <param name="name">The topic name.</param>
    /// <param name="partitions">The number of partitions, 1 or more.</param>
    /// <param name="replicationFactor">The replication factor, or -1 for the broker default.</param>
    /// <param name="configs">Topic configs such as <c>retention.ms</c> or <c>cleanup.policy</c>; null for none.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the topic exists.</returns>
    Task CreateTopicAsync(string name, int partitions, short replicationFactor = -1, IReadOnlyDictionary<string, string>? configs = null, CancellationToken cancellationToken = default);

    /// <summary>Lists the topics, internal ones excluded.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The topic names, sorted.</returns>
    Task<IReadOnlyList<string>> ListTopicsAsync(CancellationToken cancellationToken = default);

    /// <summary>Describes a topic's partitions.</summary>
    /// <param name="name">The topic name.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The partitions with their leaders and replicas.</returns>
    Task<TopicDescription> DescribeTopicAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Deletes a topic and its records.</summary>
    /// <param name="name">The topic name.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the topic is deleted.</returns>
    Task DeleteTopicAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>A topic and its partitions.</summary>
/// <param name="Name">The topic name.</param>
/// <param name="Partitions">The partitions, by id.</param>
public sealed record TopicDescription(string Name, IReadOnlyList<PartitionDescription> Partitions);

/// <summary>One partition of a topic.</summary>
/// <param name="Id">The partition id.</param>
/// <param name="Leader">The leader broker id, or -1 when there is none.</param>
/// <param name="Replicas">The broker ids holding replicas.</param>
public sealed record PartitionDescription(int Id, int Leader, IReadOnlyList<int> Replicas);

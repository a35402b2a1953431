using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace KafkaClient;

/// <summary>Topic administration against a real Kafka cluster, through Confluent's admin client.</summary>
/// <remarks>Thread-safe. Errors arrive as <see cref="KafkaOperationException"/> naming the topic.</remarks>
public sealed class TopicAdmin : ITopicAdmin, IDisposable
{
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(30);
    private readonly IAdminClient _admin;

    /// <summary>Initializes a new instance of the <see cref="TopicAdmin"/> class.</summary>
    /// <param name="config">An <see cref="AdminClientConfig"/> or <c>bootstrap.servers</c>-style pairs.</param>
    /// <exception cref="ArgumentException">A configuration key is unknown or its value invalid.</exception>
    public TopicAdmin(IEnumerable<KeyValuePair<string, string>> config)
        : this(config, null, null)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="TopicAdmin"/> class whose librdkafka log lines and client-level errors go to the given handlers instead of librdkafka's defaults.</summary>
    /// <param name="config">An <see cref="AdminClientConfig"/> or <c>bootstrap.servers</c>-style pairs.</param>
    /// <param name="log">Receives librdkafka's log lines; null for librdkafka's default (stderr).</param>
    /// <param name="error">Receives client-level errors; null for none.</param>
    /// <exception cref="ArgumentException">A configuration key is unknown or its value invalid.</exception>
    internal TopicAdmin(IEnumerable<KeyValuePair<string, string>> config, Action<LogMessage>? log, Action<Error>? error)
    {
        try
        {
            var builder = new AdminClientBuilder(config);
            if (log is not null)
            {
                builder.SetLogHandler((_, message) => log(message));
            }

            if (error is not null)
            {
                builder.SetErrorHandler((_, e) => error(e));
            }

            _admin = builder.Build();
        }
        catch (Exception ex) when (ex is InvalidOperationException or KafkaException)
        {
            throw new ArgumentException($"Invalid admin configuration: {ex.Message}", nameof(config), ex);
        }
    }

    /// <inheritdoc/>
    public async Task CreateTopicAsync(string name, int partitions, short replicationFactor = -1, IReadOnlyDictionary<string, string>? configs = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        var specification = new TopicSpecification
        {
            Name = name,
            NumPartitions = partitions,
            ReplicationFactor = replicationFactor,
            Configs = configs?.ToDictionary(c => c.Key, c => c.Value),
        };
        try
        {
            await _admin.CreateTopicsAsync([specification]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CreateTopicsException ex)
        {
            var error = ex.Results.First().Error;
            throw new KafkaOperationException($"Could not create topic \"{name}\": {error.Reason} ({error.Code})", error, name, innerException: ex);
        }
        catch (KafkaException ex)
        {
            throw new KafkaOperationException($"Could not create topic \"{name}\": {ex.Error.Reason} ({ex.Error.Code})", ex.Error, name, innerException: ex);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListTopicsAsync(CancellationToken cancellationToken = default) =>
        Task.Run<IReadOnlyList<string>>(
            () => _admin.GetMetadata(MetadataTimeout).Topics.Where(t => !t.Topic.StartsWith("__", StringComparison.Ordinal)).Select(t => t.Topic).Order(StringComparer.Ordinal).ToList(),
            cancellationToken);

    /// <inheritdoc/>
    public Task<TopicDescription> DescribeTopicAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return Task.Run(() => Describe(_admin, name, MetadataTimeout), cancellationToken);
    }

    /// <inheritdoc/>
    public async Task DeleteTopicAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        try
        {
            await _admin.DeleteTopicsAsync([name]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DeleteTopicsException ex)
        {
            var error = ex.Results.First().Error;
            throw new KafkaOperationException($"Could not delete topic \"{name}\": {error.Reason} ({error.Code})", error, name, innerException: ex);
        }
        catch (KafkaException ex)
        {
            throw new KafkaOperationException($"Could not delete topic \"{name}\": {ex.Error.Reason} ({ex.Error.Code})", ex.Error, name, innerException: ex);
        }
    }

    /// <summary>Releases the admin client.</summary>
    public void Dispose() => _admin.Dispose();

    /// <summary>Describes a topic from cluster metadata.</summary>
    /// <param name="admin">An admin client.</param>
    /// <param name="name">The topic.</param>
    /// <param name="timeout">How long to wait for metadata.</param>
    /// <returns>The description.</returns>
    internal static TopicDescription Describe(IAdminClient admin, string name, TimeSpan timeout)
    {
        var topic = admin.GetMetadata(name, timeout).Topics.Single();
        if (topic.Error.IsError)
        {
            throw new KafkaOperationException($"Could not describe topic \"{name}\": {topic.Error.Reason} ({topic.Error.Code})", topic.Error, name);
        }

        return new TopicDescription(
            name,
            topic.Partitions.OrderBy(p => p.PartitionId).Select(p => new PartitionDescription(p.PartitionId, p.Leader, p.Replicas)).ToList());
    }
}

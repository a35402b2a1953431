using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KafkaClient.Hosting;

/// <summary>Health checks for the Kafka cluster, the Schema Registry and a registered consumer.</summary>
/// <remarks>
/// Each check is bounded by its timeout (default 5 s) and reports the failure's message with secret configuration
/// values replaced by <c>***</c>. Checks may run concurrently with each other and with the application.
/// </remarks>
public static class KafkaHealthChecks
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Adds a check that a broker of the cluster answers a metadata request.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="configuration">A section with librdkafka keys (at least <c>bootstrap.servers</c>), as for a producer.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="timeout">How long the metadata request may take (default 5 s).</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddKafkaBroker(this IHealthChecksBuilder builder, IConfiguration configuration, string name = "kafka", TimeSpan? timeout = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return builder.AddKafkaBroker(
            configuration.AsEnumerable(makePathsRelative: true).Where(e => e.Value is not null).Select(e => new KeyValuePair<string, string>(e.Key, e.Value!)),
            name,
            timeout,
            tags);
    }

    /// <summary>Adds a check that a broker of the cluster answers a metadata request.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="config">librdkafka configuration (at least <c>bootstrap.servers</c>), as for a producer.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="timeout">How long the metadata request may take (default 5 s).</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><c>bootstrap.servers</c> is missing.</exception>
    public static IHealthChecksBuilder AddKafkaBroker(this IHealthChecksBuilder builder, IEnumerable<KeyValuePair<string, string>> config, string name = "kafka", TimeSpan? timeout = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(config);
        var entries = config.ToList();
        if (!entries.Any(e => e.Key == "bootstrap.servers" && !string.IsNullOrWhiteSpace(e.Value)))
        {
            throw new ArgumentException("The Kafka health check needs 'bootstrap.servers' in its configuration.", nameof(config));
        }

        var wait = Positive(timeout, nameof(timeout));

        // One admin client per check, kept between runs and disposed with the container.
        var key = new CheckKey(name);
        builder.Services.AddKeyedSingleton(key, (_, _) => new BrokerHealthCheck(entries, wait));
        return builder.Add(new HealthCheckRegistration(name, sp => sp.GetRequiredKeyedService<BrokerHealthCheck>(key), HealthStatus.Unhealthy, tags, wait + TimeSpan.FromSeconds(1)));
    }

    /// <summary>Adds a check that the Schema Registry registered in the container (<c>AddSchemaRegistryClient</c>) answers.</summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="timeout">How long the request may take (default 5 s).</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddSchemaRegistry(this IHealthChecksBuilder builder, string name = "schema-registry", TimeSpan? timeout = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var wait = Positive(timeout, nameof(timeout));
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new RegistryHealthCheck(sp.GetRequiredService<ISchemaRegistryClient>(), wait),
            HealthStatus.Unhealthy,
            tags,
            wait + TimeSpan.FromSeconds(1)));
    }

    /// <summary>Adds a check that a consumer registered in the container has partitions and is not stalled: a partition with records to read whose position has not moved for <paramref name="stalledAfter"/> is unhealthy.</summary>
    /// <typeparam name="TKey">The consumer's key type.</typeparam>
    /// <typeparam name="TValue">The consumer's value type.</typeparam>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="stalledAfter">How long a partition may lag without progress (default 1 minute).</param>
    /// <param name="serviceKey">The service key of a keyed consumer; null for the unkeyed one.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns>The builder.</returns>
    /// <remarks>A consumer without partitions is degraded, not unhealthy: a group may have more members than partitions.</remarks>
    public static IHealthChecksBuilder AddKafkaConsumer<TKey, TValue>(this IHealthChecksBuilder builder, string name = "kafka-consumer", TimeSpan? stalledAfter = null, object? serviceKey = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var stall = stalledAfter is null ? TimeSpan.FromMinutes(1) : Positive(stalledAfter, nameof(stalledAfter));
        // The check remembers positions between runs: one per registration.
        var key = new CheckKey(name);
        builder.Services.AddKeyedSingleton(key, (sp, _) => new ConsumerHealthCheck<TKey, TValue>(
            serviceKey is null ? sp.GetRequiredService<IDeserializingConsumer<TKey, TValue>>() : sp.GetRequiredKeyedService<IDeserializingConsumer<TKey, TValue>>(serviceKey),
            stall,
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return builder.Add(new HealthCheckRegistration(name, sp => sp.GetRequiredKeyedService<ConsumerHealthCheck<TKey, TValue>>(key), HealthStatus.Unhealthy, tags, DefaultTimeout));
    }

    private static TimeSpan Positive(TimeSpan? value, string name)
    {
        var result = value ?? DefaultTimeout;
        return result > TimeSpan.Zero ? result : throw new ArgumentOutOfRangeException(name, result, "Must be positive.");
    }

    /// <summary>The service key of a check's state: its registration's name, in a type of its own so it meets no application key.</summary>
    private sealed record CheckKey(string Name);

    private sealed class BrokerHealthCheck(List<KeyValuePair<string, string>> config, TimeSpan timeout) : IHealthCheck, IDisposable
    {
        private readonly Lazy<IAdminClient> _admin = new(() => Secrets.Guard(config, () => new AdminClientBuilder(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build()));

        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                // librdkafka's metadata call blocks: on a thread of its own, bounded by the timeout.
                var metadata = await Task.Run(() => _admin.Value.GetMetadata(timeout), cancellationToken).ConfigureAwait(false);
                return metadata.Brokers.Count > 0
                    ? HealthCheckResult.Healthy($"{metadata.Brokers.Count} broker(s) answered.")
                    : new HealthCheckResult(context.Registration.FailureStatus, "The cluster answered without brokers.");
            }
            catch (Exception ex) when (ex is KafkaException or InvalidOperationException or ArgumentException)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, Secrets.Redact($"No broker answered within {timeout.TotalSeconds:0.###} s: {ex.Message}", Secrets.SecretValues(config)));
            }
        }

        public void Dispose()
        {
            if (_admin.IsValueCreated)
            {
                _admin.Value.Dispose();
            }
        }
    }

    private sealed class RegistryHealthCheck(ISchemaRegistryClient registry, TimeSpan timeout) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var subjects = await registry.GetAllSubjectsAsync().WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy($"The registry answered ({subjects.Count} subject(s)).");
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var reason = ex is TimeoutException ? $"no answer within {timeout.TotalSeconds:0.###} s" : ex.Message;
                return new HealthCheckResult(context.Registration.FailureStatus, $"The Schema Registry is unreachable: {reason}");
            }
        }
    }

    /// <summary>Compares each partition's position with the last check's; remembers since when it has not moved.</summary>
    private sealed class ConsumerHealthCheck<TKey, TValue>(IDeserializingConsumer<TKey, TValue> consumer, TimeSpan stalledAfter, TimeProvider time) : IHealthCheck
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<TopicPartition, (Offset Position, long Since)> _seen = [];

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            IReadOnlyList<TopicPartition> assignment;
            try
            {
                assignment = consumer.Assignment;
            }
            catch (ObjectDisposedException)
            {
                return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"Consumer {consumer.Name} is closed."));
            }

            if (assignment.Count == 0)
            {
                return Task.FromResult(HealthCheckResult.Degraded($"Consumer {consumer.Name} has no partitions assigned."));
            }

            var now = time.GetTimestamp();
            var stalled = new List<string>();
            lock (_gate)
            {
                foreach (var partition in assignment)
                {
                    var position = consumer.Position(partition);
                    var high = consumer.GetWatermarkOffsets(partition).High;
                    if (position.IsSpecial || high.IsSpecial || high.Value <= position.Value)
                    {
                        _seen.Remove(partition); // unknown yet, or nothing to read: not stalled
                        continue;
                    }

                    if (!_seen.TryGetValue(partition, out var seen) || seen.Position != position)
                    {
                        _seen[partition] = (position, now);
                        continue;
                    }

                    var still = time.GetElapsedTime(seen.Since, now);
                    if (still >= stalledAfter)
                    {
                        stalled.Add($"{partition.Topic} [{partition.Partition.Value}] at offset {position.Value} with {high.Value - position.Value} record(s) to read, for {still.TotalSeconds:0} s");
                    }
                }

                foreach (var gone in _seen.Keys.Where(p => !assignment.Contains(p)).ToList())
                {
                    _seen.Remove(gone);
                }
            }

            return Task.FromResult(stalled.Count == 0
                ? HealthCheckResult.Healthy($"Consumer {consumer.Name} has {assignment.Count} partition(s), none stalled.")
                : new HealthCheckResult(context.Registration.FailureStatus, $"Consumer {consumer.Name} is stalled: {string.Join("; ", stalled)}."));
        }
    }
}

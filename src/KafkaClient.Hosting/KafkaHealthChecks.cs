using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KafkaClient.Hosting;

/// <summary>Health checks for the Kafka cluster, the Schema Registry, a registered consumer and hosted consumers.</summary>
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

    /// <summary>Adds a check that the hosted consumers running <typeparamref name="THandler"/> (registered with <c>AddKafkaConsumerService</c> or <c>AddKafkaBatchConsumerService</c>) run, have partitions and are not stalled.</summary>
    /// <typeparam name="THandler">The handler type the hosted consumers were registered with.</typeparam>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name; null for <c>kafka-consumer-service-</c> followed by the handler type's name.</param>
    /// <param name="stalledAfter">How long a partition with records to handle may go without finishing one (default 1 minute).</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>
    /// A hosted consumer is healthy while it reads and no partition is stalled. It is degraded while it starts (its
    /// consumer is created on the background loop) and while it has no partitions (a group may have more members than
    /// partitions). It is unhealthy when it is not running (never started, stopping or stopped), when a failure stopped
    /// it, and when one of its partitions has records to handle (taken in and not finished, or not read yet) but has
    /// finished none and moved on by none for <paramref name="stalledAfter"/>: a handler that hangs, a transient
    /// failure that lasts (a registry or broker outage), a forward that keeps failing. A retry topic's partition waiting
    /// for its next record's due time is not stalled.
    /// </para>
    /// <para>With several hosted consumers of that handler type, the check reports each, and its status is the worst of theirs.</para>
    /// </remarks>
    public static IHealthChecksBuilder AddKafkaConsumerService<THandler>(this IHealthChecksBuilder builder, string? name = null, TimeSpan? stalledAfter = null, IEnumerable<string>? tags = null)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        var stall = stalledAfter is null ? TimeSpan.FromMinutes(1) : Positive(stalledAfter, nameof(stalledAfter));
        name ??= "kafka-consumer-service-" + typeof(THandler).Name;
        var key = new CheckKey(name);
        builder.Services.AddKeyedSingleton(key, (sp, _) => new ConsumerServiceHealthCheck(
            typeof(THandler),
            sp.GetServices<IHostedConsumerProbe>(),
            stall,
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return builder.Add(new HealthCheckRegistration(name, sp => sp.GetRequiredKeyedService<ConsumerServiceHealthCheck>(key), HealthStatus.Unhealthy, tags, DefaultTimeout));
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
        private readonly StallTracker _tracker = new(stalledAfter, time);

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

            var stalled = _tracker.Observe(assignment.Select(partition =>
            {
                var position = consumer.Position(partition);
                var high = consumer.GetWatermarkOffsets(partition).High;
                var toRead = position.IsSpecial || high.IsSpecial ? 0 : high.Value - position.Value;
                return new StallTracker.Sample(partition, partition, position, position, toRead, 0);
            }));

            return Task.FromResult(stalled.Count == 0
                ? HealthCheckResult.Healthy($"Consumer {consumer.Name} has {assignment.Count} partition(s), none stalled.")
                : new HealthCheckResult(context.Registration.FailureStatus, $"Consumer {consumer.Name} is stalled: {string.Join("; ", stalled)}."));
        }
    }

    /// <summary>Reports the hosted consumers of one handler type from their snapshots; remembers since when each partition has not moved.</summary>
    private sealed class ConsumerServiceHealthCheck(Type handler, IEnumerable<IHostedConsumerProbe> probes, TimeSpan stalledAfter, TimeProvider time) : IHealthCheck
    {
        private readonly IHostedConsumerProbe[] _probes = [.. probes.Where(p => p.HandlerType == handler)];
        private readonly StallTracker _tracker = new(stalledAfter, time);

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (_probes.Length == 0)
            {
                return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"No hosted consumer with handler {handler.Name} is registered."));
            }

            var worst = HealthStatus.Healthy;
            var descriptions = new List<string>(_probes.Length);
            var samples = new List<StallTracker.Sample>();
            var snapshots = _probes.Select(p => (p.Name, Snapshot: p.Snapshot())).ToList();
            foreach (var (_, snapshot) in snapshots)
            {
                foreach (var partition in snapshot.Partitions ?? [])
                {
                    // A partition paused until its next retry record is due has nothing to do yet.
                    var toRead = partition.Deferred || partition.Position.IsSpecial || partition.High.IsSpecial ? 0 : Math.Max(0, partition.High.Value - partition.Position.Value);
                    var inFlight = partition.Deferred ? 0 : partition.InFlight;
                    samples.Add(new StallTracker.Sample(partition.Assignment, partition.Partition, (partition.Position, partition.Finished), partition.Position, toRead, inFlight));
                }
            }

            var stalled = _tracker.Observe(samples);
            foreach (var (service, snapshot) in snapshots)
            {
                var (status, description) = snapshot.Phase switch
                {
                    HostedConsumerPhase.NotRunning => (context.Registration.FailureStatus, $"{service} is not running."),
                    HostedConsumerPhase.Starting => (HealthStatus.Degraded, $"{service} is starting."),
                    HostedConsumerPhase.Stopping => (context.Registration.FailureStatus, $"{service} is stopping."),
                    HostedConsumerPhase.Failed => (context.Registration.FailureStatus, $"{service} was stopped by a failure: {snapshot.Failure}"),
                    _ when snapshot.Partitions is not { Count: > 0 } => (HealthStatus.Degraded, $"{service} (consumer {snapshot.ConsumerName}) has no partitions assigned."),
                    _ when snapshot.Partitions.Any(p => stalled.ContainsKey(p.Assignment)) => (
                        context.Registration.FailureStatus,
                        $"{service} (consumer {snapshot.ConsumerName}) is stalled: {string.Join("; ", snapshot.Partitions.Where(p => stalled.ContainsKey(p.Assignment)).Select(p => stalled[p.Assignment]))}."),
                    _ => (HealthStatus.Healthy, $"{service} (consumer {snapshot.ConsumerName}) has {snapshot.Partitions.Count} partition(s), none stalled."),
                };
                worst = status < worst ? status : worst;
                descriptions.Add(description);
            }

            return Task.FromResult(new HealthCheckResult(worst, string.Join(" ", descriptions)));
        }
    }

    /// <summary>Remembers, per partition assignment, since when its progress marker has not changed while it had records to handle.</summary>
    /// <remarks>Thread-safe: checks may run concurrently.</remarks>
    private sealed class StallTracker(TimeSpan stalledAfter, TimeProvider time)
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<object, (object Marker, long Since)> _seen = [];

        /// <summary>Compares each sample with the last; returns the stalled ones, by assignment, each described.</summary>
        public Dictionary<object, string> Observe(IEnumerable<Sample> samples)
        {
            var now = time.GetTimestamp();
            var stalled = new Dictionary<object, string>();
            var present = new HashSet<object>();
            lock (_gate)
            {
                foreach (var sample in samples)
                {
                    present.Add(sample.Assignment);
                    if (sample.ToRead <= 0 && sample.InFlight <= 0)
                    {
                        _seen.Remove(sample.Assignment); // nothing to do: not stalled
                        continue;
                    }

                    if (!_seen.TryGetValue(sample.Assignment, out var seen) || !Equals(seen.Marker, sample.Marker))
                    {
                        _seen[sample.Assignment] = (sample.Marker, now);
                        continue;
                    }

                    var still = time.GetElapsedTime(seen.Since, now);
                    if (still >= stalledAfter)
                    {
                        var handling = sample.InFlight > 0 ? $", {sample.InFlight} being handled" : string.Empty;
                        stalled[sample.Assignment] = $"{sample.Partition.Topic} [{sample.Partition.Partition.Value}] at offset {sample.Position.Value} with {sample.ToRead} record(s) to read{handling}, for {still.TotalSeconds:0} s";
                    }
                }

                foreach (var gone in _seen.Keys.Where(k => !present.Contains(k)).ToList())
                {
                    _seen.Remove(gone);
                }
            }

            return stalled;
        }

        /// <summary>One partition assignment's state: what must change for it to count as progress, and how much it has to do.</summary>
        public readonly record struct Sample(object Assignment, TopicPartition Partition, object Marker, Offset Position, long ToRead, long InFlight);
    }
}

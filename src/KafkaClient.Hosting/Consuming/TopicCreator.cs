using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting;

/// <summary>Creates a hosted consumer's missing retry and dead-letter topics, each with its source topic's partition count.</summary>
/// <remarks>Runs once, on the service's background loop, before the consumer subscribes.</remarks>
internal static class TopicCreator
{
    /// <summary>Creates every missing retry and dead-letter topic; returns when they exist (or their source topic does not), throws when creating cannot succeed.</summary>
    /// <param name="admin">The admin client.</param>
    /// <param name="topology">The topics the service reads and forwards to.</param>
    /// <param name="settings">The backoff between tries.</param>
    /// <param name="logger">The service's logger.</param>
    /// <param name="service">The service's name, for log records.</param>
    /// <param name="stopping">Fires when the service stops: tries end.</param>
    /// <returns>False when stopping ended the tries.</returns>
    /// <exception cref="KafkaOperationException">A topic could not be created for a reason that does not pass (no permission, an invalid setting).</exception>
    public static async Task<bool> CreateMissingAsync(ITopicAdmin admin, RetryTopology topology, ServiceSettings settings, ILogger logger, string service, CancellationToken stopping)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await CreateOnceAsync(admin, topology, logger, service, stopping).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                var backoff = settings.Backoff(attempt);
                ServiceLog.TopicCreationFailed(logger, ex, service, attempt, (long)backoff.TotalMilliseconds);
                if (!await Attempts.DelayAsync(backoff, settings.Time, stopping).ConfigureAwait(false))
                {
                    return false;
                }
            }
        }
    }

    private static async Task CreateOnceAsync(ITopicAdmin admin, RetryTopology topology, ILogger logger, string service, CancellationToken stopping)
    {
        var existing = new HashSet<string>(await admin.ListTopicsAsync(stopping).ConfigureAwait(false), StringComparer.Ordinal);
        foreach (var (source, targets) in topology.ForwardTargets())
        {
            var missing = targets.Where(t => !existing.Contains(t)).ToList();
            if (missing.Count == 0)
            {
                continue;
            }

            if (!existing.Contains(source))
            {
                ServiceLog.SourceTopicMissing(logger, service, source, string.Join(", ", missing));
                continue;
            }

            var partitions = (await admin.DescribeTopicAsync(source, stopping).ConfigureAwait(false)).Partitions.Count;
            foreach (var topic in missing)
            {
                try
                {
                    await admin.CreateTopicAsync(topic, partitions, cancellationToken: stopping).ConfigureAwait(false);
                    ServiceLog.TopicCreated(logger, service, topic, partitions, source);
                }
                catch (Exception ex) when (Code(ex) == ErrorCode.TopicAlreadyExists)
                {
                    // Another instance of the service created it meanwhile.
                }

                existing.Add(topic); // a dead-letter topic may serve several sources
            }
        }
    }

    private static ErrorCode? Code(Exception ex) => ex switch
    {
        KafkaOperationException operation => operation.Error.Code,
        KafkaException kafka => kafka.Error.Code,
        _ => null,
    };

    private static bool IsTransient(Exception ex) => ex switch
    {
        KafkaClientException client => client.IsRetriable,
        KafkaException kafka => !kafka.Error.IsFatal && KafkaErrors.IsRetriable(kafka.Error.Code),
        _ => false,
    };
}

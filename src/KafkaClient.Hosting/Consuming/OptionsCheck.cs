using Microsoft.Extensions.Options;

namespace KafkaClient.Hosting;

/// <summary>Checks a hosted consumer's options once, when it starts, naming each option that is wrong.</summary>
internal static class OptionsCheck
{
    private const string GroupIdKey = "group.id";

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem, each naming its option.</summary>
    public static void Validate<TKey, TValue>(KafkaConsumerServiceOptions<TKey, TValue> options, string name)
    {
        var failures = new List<string>();
        void Fail(string option, string problem) => failures.Add($"{nameof(KafkaConsumerServiceOptions<TKey, TValue>)}.{option} {problem}");

        if (options.Topics.Count == 0)
        {
            Fail(nameof(options.Topics), "must name at least one topic.");
        }

        foreach (var topic in options.Topics)
        {
            if (string.IsNullOrWhiteSpace(topic))
            {
                Fail(nameof(options.Topics), "must not contain an empty topic name.");
            }
            else if (topic.StartsWith('^') && (options.RetryTopicDelays.Count > 0 || options.DeadLetterTopic is not null))
            {
                Fail(nameof(options.Topics), $"must name topics, not patterns (\"{topic}\"), when retry or dead-letter topics are set.");
            }
        }

        if (options.Topics.Distinct(StringComparer.Ordinal).Count() != options.Topics.Count)
        {
            Fail(nameof(options.Topics), "must not name a topic twice.");
        }

        var configuredGroup = options.Consumer.Config.TryGetValue(GroupIdKey, out var group) ? group : null;
        if (string.IsNullOrWhiteSpace(options.GroupId) && string.IsNullOrWhiteSpace(configuredGroup))
        {
            Fail(nameof(options.GroupId), $"is required (or '{GroupIdKey}' in the consumer configuration).");
        }

        if (options.MaxInFlight < 1)
        {
            Fail(nameof(options.MaxInFlight), $"must be at least 1 (was {options.MaxInFlight}).");
        }

        if (options.MaxAttempts < 1)
        {
            Fail(nameof(options.MaxAttempts), $"must be at least 1 (was {options.MaxAttempts}).");
        }

        if (options.RetryBackoff < TimeSpan.Zero)
        {
            Fail(nameof(options.RetryBackoff), $"must not be negative (was {options.RetryBackoff}).");
        }

        if (options.MaxRetryBackoff < options.RetryBackoff || options.MaxRetryBackoff <= TimeSpan.Zero)
        {
            Fail(nameof(options.MaxRetryBackoff), $"must be positive and at least RetryBackoff (was {options.MaxRetryBackoff}).");
        }

        if (options.ShutdownTimeout <= TimeSpan.Zero || options.ShutdownTimeout == Timeout.InfiniteTimeSpan)
        {
            Fail(nameof(options.ShutdownTimeout), $"must be positive and finite (was {options.ShutdownTimeout}).");
        }

        if (options.MaxBatchSize < 1)
        {
            Fail(nameof(options.MaxBatchSize), $"must be at least 1 (was {options.MaxBatchSize}).");
        }

        if (options.MaxBatchWait < TimeSpan.Zero)
        {
            Fail(nameof(options.MaxBatchWait), $"must not be negative (was {options.MaxBatchWait}).");
        }

        CheckTopics(options, Fail);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(name, typeof(KafkaConsumerServiceOptions<TKey, TValue>), failures);
        }
    }

    private static void CheckTopics<TKey, TValue>(KafkaConsumerServiceOptions<TKey, TValue> options, Action<string, string> fail)
    {
        foreach (var delay in options.RetryTopicDelays)
        {
            if (delay < TimeSpan.FromMilliseconds(1))
            {
                fail(nameof(options.RetryTopicDelays), $"must hold delays of at least 1 ms (was {delay}).");
            }
        }

        if (options.RetryTopicDelays.Count > 0
            && (options.RetryTopicFormat is null
                || !options.RetryTopicFormat.Contains("{topic}", StringComparison.Ordinal)
                || (options.RetryTopicDelays.Count > 1 && !options.RetryTopicFormat.Contains("{delay}", StringComparison.Ordinal))))
        {
            fail(nameof(options.RetryTopicFormat), $"must contain {{topic}} and, with more than one delay, {{delay}} (was \"{options.RetryTopicFormat}\").");
            return;
        }

        if (options.DeadLetterTopic is { } deadLetters && string.IsNullOrWhiteSpace(deadLetters))
        {
            fail(nameof(options.DeadLetterTopic), "must be null or a topic name, not empty.");
            return;
        }

        var seen = new HashSet<string>(options.Topics, StringComparer.Ordinal);
        foreach (var topic in options.Topics.Where(t => !string.IsNullOrWhiteSpace(t) && !t.StartsWith('^')))
        {
            foreach (var delay in options.RetryTopicDelays)
            {
                var name = RetryTopology.RetryTopicName(options.RetryTopicFormat, topic, delay);
                if (!IsTopicName(name))
                {
                    fail(nameof(options.RetryTopicFormat), $"gives \"{name}\", which is not a valid topic name (up to 249 of a-z, A-Z, 0-9, '.', '_', '-').");
                }
                else if (!seen.Add(name))
                {
                    fail(nameof(options.RetryTopicDelays), $"gives the topic \"{name}\" twice (or a source topic's name); each delay needs its own topic.");
                }
            }
        }

        foreach (var topic in options.Topics.Where(t => !string.IsNullOrWhiteSpace(t) && !t.StartsWith('^')))
        {
            if (RetryTopology.DeadLetterTopicName(options.DeadLetterTopic, topic) is { } name)
            {
                if (!IsTopicName(name))
                {
                    fail(nameof(options.DeadLetterTopic), $"gives \"{name}\", which is not a valid topic name (up to 249 of a-z, A-Z, 0-9, '.', '_', '-').");
                }
                else if (seen.Contains(name))
                {
                    fail(nameof(options.DeadLetterTopic), $"gives \"{name}\", which is also a topic this service reads.");
                }
            }
        }
    }

    private static bool IsTopicName(string name) =>
        name.Length is > 0 and <= 249 && name is not "." and not ".." && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}

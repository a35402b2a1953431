using System.Globalization;

namespace KafkaClient.Hosting;

/// <summary>The topics a hosted consumer reads and forwards to: each source topic, its retry topics in order, and its dead-letter topic.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed class RetryTopology
{
    private readonly Dictionary<string, Stage> _stages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _retryTopics = new(StringComparer.Ordinal);
    private readonly TimeSpan[] _delays;
    private readonly string? _deadLetterFormat;

    public RetryTopology(IEnumerable<string> topics, IEnumerable<TimeSpan> delays, string retryFormat, string? deadLetterFormat)
    {
        _delays = [.. delays];
        _deadLetterFormat = deadLetterFormat;
        var subscribed = new List<string>();
        foreach (var topic in topics)
        {
            _stages[topic] = new Stage(topic, 0);
            subscribed.Add(topic);
        }

        foreach (var topic in subscribed.ToList())
        {
            var names = _delays.Select(d => RetryTopicName(retryFormat, topic, d)).ToArray();
            _retryTopics[topic] = names;
            for (var i = 0; i < names.Length; i++)
            {
                _stages[names[i]] = new Stage(topic, i + 1);
                subscribed.Add(names[i]);
            }
        }

        Subscribed = subscribed;
    }

    /// <summary>Gets the source topics followed by every retry topic.</summary>
    public IReadOnlyList<string> Subscribed { get; }

    /// <summary>Gets a value indicating whether failed records leave their topic (to a retry topic or the dead-letter topic).</summary>
    public bool Forwards => _delays.Length > 0 || _deadLetterFormat is not null;

    public static string RetryTopicName(string format, string topic, TimeSpan delay) =>
        format.Replace("{topic}", topic, StringComparison.Ordinal).Replace("{delay}", FormatDelay(delay), StringComparison.Ordinal);

    public static string? DeadLetterTopicName(string? format, string topic) =>
        format?.Replace("{topic}", topic, StringComparison.Ordinal);

    /// <summary>Writes a delay in its largest whole unit: <c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, <c>1d</c>.</summary>
    public static string FormatDelay(TimeSpan delay)
    {
        var ms = (long)delay.TotalMilliseconds;
        (long Size, string Unit)[] units = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")];
        foreach (var (size, unit) in units)
        {
            if (ms > 0 && ms % size == 0)
            {
                return (ms / size).ToString(CultureInfo.InvariantCulture) + unit;
            }
        }

        return ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    /// <summary>Gets the source topics with the retry topics and dead-letter topic each forwards to, in forwarding order.</summary>
    public IEnumerable<(string Source, IReadOnlyList<string> Targets)> ForwardTargets() =>
        _retryTopics.Select(e => (e.Key, (IReadOnlyList<string>)[.. e.Value, .. DeadLetterTopicName(_deadLetterFormat, e.Key) is { } deadLetters ? [deadLetters] : Array.Empty<string>()]));

    /// <summary>Gets where a topic stands: its source topic and 0 for a source topic, n for its n-th retry topic; false for a topic this consumer does not know (a pattern's match).</summary>
    public bool TryGetStage(string topic, out Stage stage) => _stages.TryGetValue(topic, out stage);

    /// <summary>Gets the delay of a retry stage (1 or more).</summary>
    public TimeSpan DelayOf(int stage) => _delays[stage - 1];

    /// <summary>Gets where a record that failed at <paramref name="stage"/> of <paramref name="source"/> goes: the next retry topic with its delay, the dead-letter topic (delay null), or nothing.</summary>
    public (string Topic, TimeSpan? Delay)? Next(string source, int stage)
    {
        if (_retryTopics.TryGetValue(source, out var names) && stage < names.Length)
        {
            return (names[stage], _delays[stage]);
        }

        return DeadLetterTopicName(_deadLetterFormat, source) is { } deadLetters ? (deadLetters, null) : null;
    }

    /// <summary>Gets the dead-letter topic for records read from <paramref name="topic"/> (a source or retry topic), or null.</summary>
    public string? DeadLetterTopicFor(string topic) =>
        DeadLetterTopicName(_deadLetterFormat, _stages.TryGetValue(topic, out var stage) ? stage.Source : topic);

    /// <summary>A topic's place: the source topic it serves and its retry tier (0 for the source topic itself).</summary>
    internal readonly record struct Stage(string Source, int Tier);
}

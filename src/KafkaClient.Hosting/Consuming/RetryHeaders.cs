namespace KafkaClient.Hosting;

/// <summary>The headers a hosted consumer writes on a record it forwards to a retry topic or to the dead-letter topic.</summary>
/// <remarks>
/// <para>
/// Values are UTF-8 text: numbers in decimal, times in Unix milliseconds (UTC), error messages at most 1 KB with
/// credentials in URLs removed. A forwarded record keeps its raw key, value and other headers; each forward replaces
/// these headers, keeping the original topic, partition, offset, timestamp and first error of the first forward.
/// </para>
/// <para>
/// A dead letter also carries the core's <see cref="DeadLetterPolicy"/> headers: <see cref="DeadLetterPolicy.HeaderError"/>
/// and <see cref="DeadLetterPolicy.HeaderErrorType"/> (the last error), <see cref="DeadLetterPolicy.HeaderComponent"/>
/// (<c>handler</c>, where a record that could not be deserialized says <c>key</c> or <c>value</c>), and
/// <see cref="DeadLetterPolicy.HeaderSourceTopic"/>, <see cref="DeadLetterPolicy.HeaderSourcePartition"/>,
/// <see cref="DeadLetterPolicy.HeaderSourceOffset"/> (where it was last read from, a retry topic after retries).
/// </para>
/// </remarks>
public static class RetryHeaders
{
    /// <summary>The topic the record was first read from.</summary>
    public const string OriginalTopic = "retry.original.topic";

    /// <summary>The partition the record was first read from.</summary>
    public const string OriginalPartition = "retry.original.partition";

    /// <summary>The record's offset in the partition it was first read from.</summary>
    public const string OriginalOffset = "retry.original.offset";

    /// <summary>The record's timestamp where it was first read, in Unix milliseconds.</summary>
    public const string OriginalTimestamp = "retry.original.timestamp";

    /// <summary>How many times the handler failed on the record so far, over all topics.</summary>
    public const string Attempts = "retry.attempts";

    /// <summary>The full type name of the first exception the handler threw for the record.</summary>
    public const string FirstErrorType = "retry.first.error.type";

    /// <summary>The message of the first exception the handler threw for the record.</summary>
    public const string FirstError = "retry.first.error";

    /// <summary>The full type name of the last exception the handler threw for the record.</summary>
    public const string LastErrorType = "retry.last.error.type";

    /// <summary>The message of the last exception the handler threw for the record.</summary>
    public const string LastError = "retry.last.error";

    /// <summary>When the record is due on its retry topic, in Unix milliseconds: the forward's timestamp plus the topic's delay.</summary>
    public const string Due = "retry.due";
}

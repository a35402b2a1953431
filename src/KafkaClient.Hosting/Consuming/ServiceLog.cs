using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting;

/// <summary>The log records of hosted consumers (category <see cref="KafkaConsumerServiceExtensions.ConsumerServiceLogCategory"/>).</summary>
internal static partial class ServiceLog
{
    [LoggerMessage(EventId = 100, EventName = "ConsumerServiceStarted", Level = LogLevel.Information, Message = "{Service}: consuming [{Topics}] as group {Group}")]
    public static partial void Started(ILogger logger, string service, string topics, string group);

    [LoggerMessage(EventId = 101, EventName = "ConsumerServiceFailed", Level = LogLevel.Critical, Message = "{Service}: stopped by a failure it cannot recover from")]
    public static partial void Failed(ILogger logger, Exception exception, string service);

    [LoggerMessage(EventId = 102, EventName = "HandlerFailed", Level = LogLevel.Warning, Message = "{Service}: handler failed on {Records} (attempt {Attempt} of {MaxAttempts}); next attempt in {BackoffMs} ms")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string service, string records, int attempt, int maxAttempts, long backoffMs);

    [LoggerMessage(EventId = 116, EventName = "HandlerAttemptsExhausted", Level = LogLevel.Warning, Message = "{Service}: handler failed on {Records} (attempt {Attempt} of {Attempt}); no attempt is left here")]
    public static partial void AttemptsExhausted(ILogger logger, Exception exception, string service, string records, int attempt);

    [LoggerMessage(EventId = 103, EventName = "HandlerFailedTransiently", Level = LogLevel.Warning, Message = "{Service}: handler failed transiently on {Records} ({Failures} time(s) in a row); it stays on the record(s), next attempt in {BackoffMs} ms")]
    public static partial void HandlerFailedTransiently(ILogger logger, Exception exception, string service, string records, int failures, long backoffMs);

    [LoggerMessage(EventId = 104, EventName = "RecordForwarded", Level = LogLevel.Information, Message = "{Service}: {Record} forwarded to {Target} after {Attempts} failed attempt(s)")]
    public static partial void Forwarded(ILogger logger, string service, string record, string target, int attempts);

    [LoggerMessage(EventId = 105, EventName = "ForwardFailed", Level = LogLevel.Warning, Message = "{Service}: forwarding {Record} to {Target} failed (attempt {Attempt}); its offset is not stored, next attempt in {BackoffMs} ms")]
    public static partial void ForwardFailed(ILogger logger, Exception exception, string service, string record, string target, int attempt, long backoffMs);

    [LoggerMessage(EventId = 106, EventName = "RecordSkipped", Level = LogLevel.Error, Message = "{Service}: {Record} skipped after {Attempts} failed attempt(s): no retry or dead-letter topic is left for it")]
    public static partial void Skipped(ILogger logger, Exception exception, string service, string record, int attempts);

    [LoggerMessage(EventId = 107, EventName = "ConsumeFailed", Level = LogLevel.Warning, Message = "{Service}: consuming failed; the consumer goes on")]
    public static partial void ConsumeFailed(ILogger logger, Exception exception, string service);

    [LoggerMessage(EventId = 108, EventName = "PoisonRecord", Level = LogLevel.Error, Message = "{Service}: a record could not be deserialized and was passed over by the consumer's poison-record policy")]
    public static partial void Poison(ILogger logger, Exception exception, string service);

    [LoggerMessage(EventId = 109, EventName = "RecordDeferred", Level = LogLevel.Debug, Message = "{Service}: {Record} is due at {Due:O}; its partition is paused until then")]
    public static partial void Deferred(ILogger logger, string service, string record, DateTimeOffset due);

    [LoggerMessage(EventId = 110, EventName = "HandlersOutlivedShutdown", Level = LogLevel.Warning, Message = "{Service}: {Count} record(s) still being handled when the shutdown timeout ran out; they are not committed and will be read again")]
    public static partial void HandlersOutlivedShutdown(ILogger logger, string service, int count);

    [LoggerMessage(EventId = 111, EventName = "CommitFailed", Level = LogLevel.Error, Message = "{Service}: committing the handled offsets failed; records handled since the last commit will be read again")]
    public static partial void CommitFailed(ILogger logger, Exception exception, string service);

    [LoggerMessage(EventId = 112, EventName = "ConsumerServiceStopped", Level = LogLevel.Information, Message = "{Service}: stopped; committed [{Offsets}]")]
    public static partial void Stopped(ILogger logger, string service, string offsets);

    [LoggerMessage(EventId = 113, EventName = "CloseFailed", Level = LogLevel.Warning, Message = "{Service}: leaving the group did not finish within the shutdown timeout, or failed")]
    public static partial void CloseFailed(ILogger logger, Exception? exception, string service);

    [LoggerMessage(EventId = 114, EventName = "RevokedWhileHandling", Level = LogLevel.Warning, Message = "{Service}: {Partition} was revoked while {Count} of its record(s) were still being handled; they may be handled again by its next owner")]
    public static partial void RevokedWhileHandling(ILogger logger, string service, string partition, int count);

    [LoggerMessage(EventId = 117, EventName = "TopicCreated", Level = LogLevel.Information, Message = "{Service}: created topic {Topic} with {Partitions} partition(s), as many as {Source}")]
    public static partial void TopicCreated(ILogger logger, string service, string topic, int partitions, string source);

    [LoggerMessage(EventId = 118, EventName = "SourceTopicMissing", Level = LogLevel.Warning, Message = "{Service}: topic {Source} does not exist, so its retry and dead-letter topics [{Topics}] are not created")]
    public static partial void SourceTopicMissing(ILogger logger, string service, string source, string topics);

    [LoggerMessage(EventId = 119, EventName = "TopicCreationFailed", Level = LogLevel.Warning, Message = "{Service}: creating the retry and dead-letter topics failed (attempt {Attempt}); next attempt in {BackoffMs} ms")]
    public static partial void TopicCreationFailed(ILogger logger, Exception exception, string service, int attempt, long backoffMs);

    [LoggerMessage(EventId = 115, EventName = "HandlerError", Level = LogLevel.Error, Message = "{Service}: unexpected failure while handling {Records}")]
    public static partial void Unexpected(ILogger logger, Exception exception, string service, string records);
}

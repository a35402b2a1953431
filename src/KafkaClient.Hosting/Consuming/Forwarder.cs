using System.Globalization;
using System.Text;
using Confluent.Kafka;
using KafkaClient.Consumer;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting;

/// <summary>Sends a record whose attempts failed to its next retry topic, or to the dead-letter topic, raw and with the <see cref="RetryHeaders"/>.</summary>
/// <remarks>Thread-safe: many records are forwarded at once. A forward that fails is tried again with backoff until it succeeds or the service stops.</remarks>
internal sealed class Forwarder(
    ISerializingProducer<byte[], byte[]>? producer,
    RetryTopology topology,
    ServiceSettings settings,
    ILogger logger,
    string service)
{
    private static readonly HashSet<string> Replaced = new(StringComparer.Ordinal)
    {
        RetryHeaders.OriginalTopic, RetryHeaders.OriginalPartition, RetryHeaders.OriginalOffset, RetryHeaders.OriginalTimestamp,
        RetryHeaders.Attempts, RetryHeaders.FirstErrorType, RetryHeaders.FirstError, RetryHeaders.LastErrorType, RetryHeaders.LastError,
        RetryHeaders.Due,
        DeadLetterPolicy.HeaderError, DeadLetterPolicy.HeaderErrorType, DeadLetterPolicy.HeaderComponent,
        DeadLetterPolicy.HeaderSourceTopic, DeadLetterPolicy.HeaderSourcePartition, DeadLetterPolicy.HeaderSourceOffset,
    };

    /// <summary>Forwards a failed record; true once it is forwarded (or, with nowhere to go, logged and skipped), false when stopping ended the tries.</summary>
    public async ValueTask<bool> ForwardAsync(DeliveredRecord delivered, AttemptResult failure, CancellationToken stopping, CancellationToken abort)
    {
        var raw = delivered.Raw;
        var stage = topology.TryGetStage(raw.Topic, out var known) ? known : new RetryTopology.Stage(raw.Topic, 0);
        var headers = raw.Message.Headers;
        var attempts = (ReadLong(headers, RetryHeaders.Attempts) ?? 0) + failure.Failures;
        if (topology.Next(stage.Source, stage.Tier) is not { } next || producer is null)
        {
            ServiceLog.Skipped(logger, failure.Last!, service, Describe(raw), (int)Math.Min(attempts, int.MaxValue));
            return true;
        }

        var message = Message(raw, failure, attempts, next.Delay);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await producer.ProduceAsync(next.Topic, message, abort).ConfigureAwait(false);
                ServiceLog.Forwarded(logger, service, Describe(raw), next.Topic, (int)Math.Min(attempts, int.MaxValue));
                return true;
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception ex) when (ex is KafkaClientException or KafkaException)
            {
                var backoff = settings.Backoff(attempt);
                ServiceLog.ForwardFailed(logger, ex, service, Describe(raw), next.Topic, attempt, (long)backoff.TotalMilliseconds);
                if (!await Attempts.DelayAsync(backoff, settings.Time, stopping).ConfigureAwait(false))
                {
                    return false;
                }
            }
        }
    }

    private static string Describe(ConsumeResult<byte[], byte[]> raw) => $"{raw.Topic} [{raw.Partition.Value}] @{raw.Offset.Value}";

    private Message<byte[], byte[]> Message(ConsumeResult<byte[], byte[]> raw, AttemptResult failure, long attempts, TimeSpan? delay)
    {
        var original = raw.Message.Headers;
        var headers = new Headers();
        if (original is not null)
        {
            foreach (var header in original)
            {
                if (!Replaced.Contains(header.Key))
                {
                    headers.Add(header.Key, header.GetValueBytes());
                }
            }
        }

        // The original place and first error come from the first forward, when this record is one.
        var hasOriginal = ReadText(original, RetryHeaders.OriginalTopic) is not null;
        Add(headers, RetryHeaders.OriginalTopic, hasOriginal ? ReadText(original, RetryHeaders.OriginalTopic)! : raw.Topic);
        Add(headers, RetryHeaders.OriginalPartition, hasOriginal ? ReadText(original, RetryHeaders.OriginalPartition) ?? string.Empty : Number(raw.Partition.Value));
        Add(headers, RetryHeaders.OriginalOffset, hasOriginal ? ReadText(original, RetryHeaders.OriginalOffset) ?? string.Empty : Number(raw.Offset.Value));
        Add(headers, RetryHeaders.OriginalTimestamp, hasOriginal ? ReadText(original, RetryHeaders.OriginalTimestamp) ?? string.Empty : Number(raw.Message.Timestamp.UnixTimestampMs));
        Add(headers, RetryHeaders.Attempts, Number(attempts));
        Add(headers, RetryHeaders.FirstErrorType, ReadText(original, RetryHeaders.FirstErrorType) ?? TypeName(failure.First!));
        Add(headers, RetryHeaders.FirstError, ReadText(original, RetryHeaders.FirstError) ?? ErrorText.Safe(failure.First!.Message));
        Add(headers, RetryHeaders.LastErrorType, TypeName(failure.Last!));
        Add(headers, RetryHeaders.LastError, ErrorText.Safe(failure.Last!.Message));

        var now = settings.Time.GetUtcNow();
        Timestamp timestamp;
        if (delay is { } wait)
        {
            // The forward's timestamp and its due time are one clock reading apart by exactly the delay.
            var sent = now.ToUnixTimeMilliseconds();
            timestamp = new Timestamp(sent, TimestampType.CreateTime);
            Add(headers, RetryHeaders.Due, Number(sent + (long)wait.TotalMilliseconds));
        }
        else
        {
            timestamp = new Timestamp(raw.Message.Timestamp.UnixTimestampMs, TimestampType.CreateTime);
            Add(headers, DeadLetterPolicy.HeaderError, ErrorText.Safe(failure.Last!.Message));
            Add(headers, DeadLetterPolicy.HeaderErrorType, TypeName(failure.Last!));
            Add(headers, DeadLetterPolicy.HeaderComponent, "handler");
            Add(headers, DeadLetterPolicy.HeaderSourceTopic, raw.Topic);
            Add(headers, DeadLetterPolicy.HeaderSourcePartition, Number(raw.Partition.Value));
            Add(headers, DeadLetterPolicy.HeaderSourceOffset, Number(raw.Offset.Value));
        }

        return new Message<byte[], byte[]> { Key = raw.Message.Key, Value = raw.Message.Value, Headers = headers, Timestamp = timestamp };
    }

    /// <summary>Reads a header as UTF-8 text, or null when absent.</summary>
    public static string? ReadText(Headers? headers, string name) =>
        headers is not null && headers.TryGetLastBytes(name, out var bytes) && bytes is not null ? Encoding.UTF8.GetString(bytes) : null;

    /// <summary>Reads a header as a decimal number, or null when absent or not a number.</summary>
    public static long? ReadLong(Headers? headers, string name) =>
        long.TryParse(ReadText(headers, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string TypeName(Exception exception) => exception.GetType().FullName ?? exception.GetType().Name;

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static void Add(Headers headers, string name, string value) => headers.Add(name, Encoding.UTF8.GetBytes(value));
}

using System.Collections.Concurrent;
using Confluent.Kafka;
using Streamiz.Kafka.Net;

namespace KafkaClient.Streams;

/// <summary>Applies the core's <see cref="PoisonRecordPolicy"/> in Streamiz's deserialization-exception handler, with the core's typed exceptions.</summary>
/// <remarks>
/// <para>
/// Streamiz calls <c>IStreamConfig.DeserializationExceptionHandler</c> with the raw record and the exception a source's
/// serdes threw, and lets it answer <see cref="ExceptionHandlerResponse.CONTINUE"/> (skip the record, go on) or
/// <see cref="ExceptionHandlerResponse.FAIL"/> (throw; the stream thread stops, and the record, not committed, is read
/// again when the application restarts). The handler made here turns each failure into the core's
/// <see cref="KeyDeserializationException"/> or <see cref="ValueDeserializationException"/> (raw key and value,
/// headers, timestamp, topic, partition, offset; the serdes' exception, for example a
/// <see cref="SchemaRegistry.Json.JsonSerdeException"/>, inside), as a <see cref="DeserializingConsumer{TKey, TValue}"/> would,
/// and answers:
/// </para>
/// <list type="bullet">
/// <item><see cref="PoisonRecordPolicy.Raise"/>: FAIL, as Streamiz's own default does.</item>
/// <item><see cref="PoisonRecordPolicy.Skip"/>: the callback gets the exception, then CONTINUE. A callback that throws stops the stream thread with its exception, and the record is not skipped. Streamiz deserializes each record twice (once for the timestamp extractor, once to process it) and so asks twice about each poison record: the callback is called once.</item>
/// <item>A transient failure (<see cref="KafkaClientException.IsRetriable"/>: a registry that could not be reached even after the serdes' retries) is never poison: FAIL whatever the policy, so no good record is skipped.</item>
/// </list>
/// <para>
/// <see cref="PoisonRecordPolicy.DeadLetter"/> is not supported here (Streamiz offers no way to hold a record's offset
/// until a forward is acknowledged); a skip callback may forward the raw record itself.
/// </para>
/// <para>
/// Whether the key or the value failed is known for this package's serdes (<see cref="JsonSchemaSerDes{T}"/>,
/// <see cref="ProtobufSerDes{T}"/>); a failure of other serdes is reported as the value's, Streamiz not saying which.
/// </para>
/// </remarks>
public static class PoisonRecordHandler
{
    /// <summary>Makes a handler for <c>IStreamConfig.DeserializationExceptionHandler</c> that applies <paramref name="policy"/>.</summary>
    /// <param name="policy"><see cref="PoisonRecordPolicy.Raise"/> or a <see cref="PoisonRecordPolicy.Skip"/> policy.</param>
    /// <returns>The handler.</returns>
    /// <exception cref="ArgumentException"><paramref name="policy"/> is a dead-letter policy.</exception>
    public static Func<ProcessorContext, ConsumeResult<byte[]?, byte[]?>, Exception, ExceptionHandlerResponse> Create(PoisonRecordPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Action == PoisonRecordPolicy.PoisonAction.DeadLetter)
        {
            throw new ArgumentException(
                "A dead-letter policy is not supported in a Streamiz topology: Streamiz cannot hold a record's offset until its forward is acknowledged. Use PoisonRecordPolicy.Skip with a callback that forwards the record (DeserializationException.RawKey, RawValue, Headers).",
                nameof(policy));
        }

        var skipped = new ConcurrentDictionary<TopicPartition, SkippedOffsets>();
        return (_, record, exception) => Handle(policy, skipped, record, exception);
    }

    /// <summary>Sets <c>DeserializationExceptionHandler</c> of <paramref name="config"/> to a handler that applies <paramref name="policy"/>.</summary>
    /// <typeparam name="TConfig">The configuration's type.</typeparam>
    /// <param name="config">The stream configuration.</param>
    /// <param name="policy"><see cref="PoisonRecordPolicy.Raise"/> or a <see cref="PoisonRecordPolicy.Skip"/> policy.</param>
    /// <returns><paramref name="config"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="policy"/> is a dead-letter policy.</exception>
    public static TConfig SetPoisonRecordPolicy<TConfig>(this TConfig config, PoisonRecordPolicy policy)
        where TConfig : IStreamConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        config.DeserializationExceptionHandler = Create(policy);
        return config;
    }

    /// <summary>Makes the core's exception for a record Streamiz could not deserialize.</summary>
    /// <param name="record">The raw record.</param>
    /// <param name="exception">The serdes' exception.</param>
    /// <returns>A <see cref="KeyDeserializationException"/> or a <see cref="ValueDeserializationException"/>.</returns>
    internal static DeserializationException Describe(ConsumeResult<byte[]?, byte[]?> record, Exception exception) =>
        DeserializationException.Create(FailedComponent.Of(exception) ?? MessageComponentType.Value, record, exception);

    private static ExceptionHandlerResponse Handle(PoisonRecordPolicy policy, ConcurrentDictionary<TopicPartition, SkippedOffsets> skipped, ConsumeResult<byte[]?, byte[]?> record, Exception exception)
    {
        // Streamiz deserializes each record twice (for the timestamp extractor, then to process it), so the handler is
        // asked twice about one poison record: the second time gets the same answer without a second report.
        if (skipped.TryGetValue(record.TopicPartition, out var known) && known.Contains(record.Offset))
        {
            return ExceptionHandlerResponse.CONTINUE;
        }

        var failure = Describe(record, exception);
        if (failure.IsRetriable || policy.Action == PoisonRecordPolicy.PoisonAction.Raise)
        {
            return ExceptionHandlerResponse.FAIL;
        }

        policy.OnSkipped?.Invoke(failure);
        skipped[record.TopicPartition] = known.Then(record.Offset);
        return ExceptionHandlerResponse.CONTINUE;
    }

    /// <summary>
    /// The last two records of a partition skipped: Streamiz reads the timestamp of a partition's next record before it
    /// processes the current one, so when both are poison the handler is asked about the next before it is asked again
    /// about the current, and never about a record further back.
    /// </summary>
    /// <param name="Last">The offset skipped last.</param>
    /// <param name="Previous">The offset skipped before it.</param>
    private readonly record struct SkippedOffsets(Offset? Last, Offset? Previous)
    {
        public bool Contains(Offset offset) => Last == offset || Previous == offset;

        public SkippedOffsets Then(Offset offset) => new(offset, Last);
    }
}

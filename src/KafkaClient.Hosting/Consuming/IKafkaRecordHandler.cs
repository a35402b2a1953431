using Confluent.Kafka;

namespace KafkaClient.Hosting;

/// <summary>Handles one record for a hosted consumer registered with <see cref="KafkaConsumerServiceExtensions.AddKafkaConsumerService{TKey, TValue, THandler}(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{KafkaConsumerServiceOptions{TKey, TValue}})"/>.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>
/// <para>
/// Each attempt at a record resolves the handler from a new asynchronous DI scope, disposed when the attempt ends,
/// so scoped services (a database context) are never shared between records or attempts, and runs inside the record's
/// <c>process</c> activity (<see cref="KafkaClientTelemetry.StartProcessActivity{TKey, TValue}"/>). Returning completes the
/// record: its offset is stored once every earlier record of its partition is done. Throwing fails the attempt (see
/// <see cref="KafkaConsumerServiceOptions{TKey, TValue}"/> for retries, retry topics and the dead-letter topic).
/// </para>
/// <para>
/// Threading: records of one partition are handled one at a time and in order (with
/// <see cref="KafkaConsumerServiceOptions{TKey, TValue}.PerKeyParallelism"/>, one at a time and in order per key);
/// records of other partitions (or keys) may be handled at the same time on other threads, up to
/// <see cref="KafkaConsumerServiceOptions{TKey, TValue}.MaxInFlight"/>. The token fires only when the shutdown timeout
/// is close; a handler that then stops by throwing <see cref="OperationCanceledException"/> leaves its record to be
/// read again.
/// </para>
/// </remarks>
public interface IKafkaRecordHandler<TKey, TValue>
{
    /// <summary>Handles one record; returning completes it, throwing fails this attempt.</summary>
    /// <param name="record">The record, with its topic, partition, offset, key, value, headers and timestamp.</param>
    /// <param name="cancellationToken">Fires when the service's shutdown timeout is close.</param>
    /// <returns>A task that completes when the record is handled.</returns>
    ValueTask HandleAsync(ConsumeResult<TKey, TValue> record, CancellationToken cancellationToken = default);
}

/// <summary>Handles records in batches for a hosted consumer registered with <see cref="KafkaConsumerServiceExtensions.AddKafkaBatchConsumerService{TKey, TValue, THandler}(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{KafkaConsumerServiceOptions{TKey, TValue}})"/>.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>
/// <para>
/// A batch holds up to <see cref="KafkaConsumerServiceOptions{TKey, TValue}.MaxBatchSize"/> records, gathered for at
/// most <see cref="KafkaConsumerServiceOptions{TKey, TValue}.MaxBatchWait"/> after its first one, in the order they
/// were read (each partition's records in offset order; it may mix partitions and topics). Each attempt resolves the
/// handler from a new asynchronous DI scope. Returning completes every record of the batch; throwing fails the whole
/// batch: it is attempted again as a whole, and once attempts are exhausted each of its records goes to the retry or
/// dead-letter topic on its own. Each attempt runs inside one <c>process</c> activity
/// (<see cref="KafkaClientTelemetry.StartBatchProcessActivity{TKey, TValue}"/>), linked to each record's producer.
/// </para>
/// <para>Threading: one batch at a time, never concurrently with another; the token fires only when the shutdown timeout is close.</para>
/// </remarks>
public interface IKafkaBatchHandler<TKey, TValue>
{
    /// <summary>Handles a batch of records; returning completes all of them, throwing fails this attempt for all of them.</summary>
    /// <param name="records">The records, at least one.</param>
    /// <param name="cancellationToken">Fires when the service's shutdown timeout is close.</param>
    /// <returns>A task that completes when the batch is handled.</returns>
    ValueTask HandleAsync(IReadOnlyList<ConsumeResult<TKey, TValue>> records, CancellationToken cancellationToken = default);
}

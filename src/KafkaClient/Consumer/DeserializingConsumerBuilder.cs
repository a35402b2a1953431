using Confluent.Kafka;
using KafkaClient.Configuration;
using KafkaClient.Consumer;
using KafkaClient.Diagnostics;
using KafkaClient.Serialization;

namespace KafkaClient;

/// <summary>Builds a <see cref="DeserializingConsumer{TKey, TValue}"/> from librdkafka configuration and deserializers.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>
/// <para>Not thread-safe; build once.</para>
/// <para>
/// Defaults: the primitive serdes of <see cref="Serdes"/> for string, int, long, float, double, byte[],
/// <see cref="Null"/> and <see cref="Ignore"/> when no deserializer is given; <see cref="PoisonRecordPolicy.Raise"/>
/// (a poison record is thrown as <see cref="DeserializationException"/>, past it); transient failures thrown to
/// the caller, the record kept, with a retry backoff of 100 ms doubling to 10 s; a fetch buffer of 1,024 records;
/// librdkafka's log discarded (nothing on standard error).
/// </para>
/// <para>Configuration is validated once, by <see cref="Build"/>: an unknown key or an ill-typed value throws <see cref="ArgumentException"/> naming the key.</para>
/// </remarks>
public sealed class DeserializingConsumerBuilder<TKey, TValue>
{
    /// <summary>The configuration entry that may hold the key deserializer, as in confluent-kafka-python.</summary>
    public const string KeyDeserializerKey = "key.deserializer";

    /// <summary>The configuration entry that may hold the value deserializer, as in confluent-kafka-python.</summary>
    public const string ValueDeserializerKey = "value.deserializer";

    private const string AutoOffsetStoreKey = "enable.auto.offset.store";

    private readonly Dictionary<string, string> _properties;
    private object? _keyDeserializer;
    private object? _valueDeserializer;
    private PoisonRecordPolicy _poisonPolicy = PoisonRecordPolicy.Raise;
    private Action<DeserializationException>? _transientErrorHandler;
    private TimeSpan _initialBackoff = TimeSpan.FromMilliseconds(100);
    private TimeSpan _maxBackoff = TimeSpan.FromSeconds(10);
    private int _fetchBufferSize = 1024;
    private Action<string>? _statisticsHandler;
    private TimeProvider _timeProvider = TimeProvider.System;
    private Action<IReadOnlyList<TopicPartition>>? _onAssigned;
    private Action<IReadOnlyList<TopicPartitionOffset>>? _onRevoked;
    private Action<IReadOnlyList<TopicPartitionOffset>>? _onLost;
    private Action<Error>? _errorHandler;
    private Action<LogMessage>? _logHandler;
    private bool _acknowledged;

    /// <summary>Initializes a new instance of the <see cref="DeserializingConsumerBuilder{TKey, TValue}"/> class from librdkafka properties.</summary>
    /// <param name="config">A <see cref="ConsumerConfig"/> or any <c>group.id</c>-style key/value pairs.</param>
    public DeserializingConsumerBuilder(IEnumerable<KeyValuePair<string, string>> config)
    {
        _properties = ConfigEntries.ToProperties(config);
    }

    /// <summary>Initializes a new instance of the <see cref="DeserializingConsumerBuilder{TKey, TValue}"/> class from a Python-style dictionary.</summary>
    /// <param name="config">librdkafka properties (strings, bools or numbers) and, optionally, <c>key.deserializer</c> and <c>value.deserializer</c> entries.</param>
    /// <exception cref="ArgumentException">An entry is null, of a type no property takes, or a deserializer of the wrong type; the message names the key.</exception>
    public DeserializingConsumerBuilder(IEnumerable<KeyValuePair<string, object?>> config)
    {
        _properties = ConfigEntries.ToProperties(config, new Dictionary<string, Action<object>>(StringComparer.Ordinal)
        {
            [KeyDeserializerKey] = value => _keyDeserializer = Check<TKey>(KeyDeserializerKey, value),
            [ValueDeserializerKey] = value => _valueDeserializer = Check<TValue>(ValueDeserializerKey, value),
        });
    }

    /// <summary>Sets a synchronous key deserializer.</summary>
    /// <param name="deserializer">The deserializer; Confluent's and any other <see cref="IDeserializer{T}"/> plug in unchanged.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetKeyDeserializer(IDeserializer<TKey> deserializer)
    {
        ArgumentNullException.ThrowIfNull(deserializer);
        _keyDeserializer = deserializer;
        return this;
    }

    /// <summary>Sets an asynchronous key deserializer; the consumer then serves records through PollAsync and ConsumeAsync only.</summary>
    /// <param name="deserializer">The deserializer; awaited, never blocked on.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetKeyDeserializer(IAsyncDeserializer<TKey> deserializer)
    {
        ArgumentNullException.ThrowIfNull(deserializer);
        _keyDeserializer = deserializer;
        return this;
    }

    /// <summary>Sets a synchronous value deserializer.</summary>
    /// <param name="deserializer">The deserializer.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetValueDeserializer(IDeserializer<TValue> deserializer)
    {
        ArgumentNullException.ThrowIfNull(deserializer);
        _valueDeserializer = deserializer;
        return this;
    }

    /// <summary>Sets an asynchronous value deserializer; the consumer then serves records through PollAsync and ConsumeAsync only.</summary>
    /// <param name="deserializer">The deserializer; awaited, never blocked on.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetValueDeserializer(IAsyncDeserializer<TValue> deserializer)
    {
        ArgumentNullException.ThrowIfNull(deserializer);
        _valueDeserializer = deserializer;
        return this;
    }

    /// <summary>Forwards poison records to a dead-letter topic instead of throwing; the same as <see cref="SetPoisonRecordPolicy"/> with <see cref="PoisonRecordPolicy.DeadLetter"/>.</summary>
    /// <param name="policy">Where and how to forward.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetDeadLetterPolicy(DeadLetterPolicy policy) =>
        SetPoisonRecordPolicy(PoisonRecordPolicy.DeadLetter(policy));

    /// <summary>Sets what the consumer does with records it cannot deserialize for a permanent reason (default <see cref="PoisonRecordPolicy.Raise"/>).</summary>
    /// <param name="policy">Raise, skip with a callback, or dead-letter.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetPoisonRecordPolicy(PoisonRecordPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _poisonPolicy = policy;
        return this;
    }

    /// <summary>Sets the handler for transient deserialization failures; with it, the consumer retries the record itself until it succeeds, the poll times out, or the handler throws.</summary>
    /// <param name="handler">Called on the polling caller with each failed attempt; throwing from it ends the poll with that exception, still on the record.</param>
    /// <returns>This builder.</returns>
    /// <remarks>Without a handler, each failed attempt is thrown from the poll (<see cref="KafkaClientException.IsRetriable"/> true); the record is kept and the next poll retries it after the backoff.</remarks>
    public DeserializingConsumerBuilder<TKey, TValue> SetTransientErrorHandler(Action<DeserializationException> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _transientErrorHandler = handler;
        return this;
    }

    /// <summary>Sets the backoff between attempts at a record that failed transiently (default 100 ms, doubling up to 10 s).</summary>
    /// <param name="initial">The first wait; zero or more.</param>
    /// <param name="max">The longest wait; at least <paramref name="initial"/>.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetRetryBackoff(TimeSpan initial, TimeSpan max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        _initialBackoff = initial;
        _maxBackoff = max;
        return this;
    }

    /// <summary>Sets how many records the consumer's poll thread fetches ahead of the reader (default 1,024).</summary>
    /// <param name="records">1 or more.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetFetchBufferSize(int records)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(records, 1);
        _fetchBufferSize = records;
        return this;
    }

    /// <summary>Sets the clock used for poll deadlines and retry backoff (default <see cref="TimeProvider.System"/>).</summary>
    /// <param name="timeProvider">The clock; tests may pass a fake one.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        return this;
    }

    /// <summary>Sets the handler called when the group assigns partitions to this consumer.</summary>
    /// <param name="handler">Called on the consumer's poll thread, before records of those partitions are returned.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetPartitionsAssignedHandler(Action<IReadOnlyList<TopicPartition>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onAssigned = handler;
        return this;
    }

    /// <summary>Sets the handler called when the group takes partitions away in an orderly rebalance.</summary>
    /// <param name="handler">Called on the consumer's poll thread (on the closing thread during <c>Close</c>); offsets may still be committed in it.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetPartitionsRevokedHandler(Action<IReadOnlyList<TopicPartitionOffset>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onRevoked = handler;
        return this;
    }

    /// <summary>Sets the handler called when partitions were lost (for example after a session timeout) and may already be owned by another member.</summary>
    /// <param name="handler">Called on the consumer's poll thread; committing is pointless there.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetPartitionsLostHandler(Action<IReadOnlyList<TopicPartitionOffset>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onLost = handler;
        return this;
    }

    /// <summary>Sets the handler for client-level errors (default: none).</summary>
    /// <param name="handler">Called on the consumer's poll thread, or the dead-letter producer's delivery thread; must not block.</param>
    /// <remarks>An unreachable cluster is reported once per outage, not on every reconnect attempt; the next outage is reported again once a record has been fetched.</remarks>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetErrorHandler(Action<Error> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _errorHandler = handler;
        return this;
    }

    /// <summary>Sets the handler for librdkafka's log lines (default: none; nothing is written to standard error).</summary>
    /// <param name="handler">Called on librdkafka's threads; must not block.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetLogHandler(Action<LogMessage> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _logHandler = handler;
        return this;
    }

    /// <summary>Sets the handler for librdkafka's statistics, a JSON document every <c>statistics.interval.ms</c> (default: none; statistics are off unless that key is set).</summary>
    /// <param name="handler">Called on the consumer's poll thread; must not block.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetStatisticsHandler(Action<string> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _statisticsHandler = handler;
        return this;
    }

    /// <summary>Makes the consumer store a returned record's offset only when <see cref="DeserializingConsumer{TKey, TValue}"/>'s acknowledgement says it was handled, and never past a record of the same partition not acknowledged yet.</summary>
    /// <returns>This builder.</returns>
    /// <remarks>For the hosted consumer, which reads through the internal acknowledgement members; overrides <c>enable.auto.offset.store</c>.</remarks>
    internal DeserializingConsumerBuilder<TKey, TValue> SetAcknowledgedOffsets()
    {
        _acknowledged = true;
        return this;
    }

    /// <summary>Validates the configuration and creates the consumer.</summary>
    /// <returns>A consumer, not yet subscribed or assigned.</returns>
    /// <exception cref="ArgumentException">A configuration key is unknown or its value invalid (the message names it), or no deserializer is known for a type.</exception>
    public DeserializingConsumer<TKey, TValue> Build()
    {
        var key = DeserializerSlot<TKey>.From(_keyDeserializer ?? DefaultSerdes.For<TKey>("key", "SetKeyDeserializer", KeyDeserializerKey));
        var value = DeserializerSlot<TValue>.From(_valueDeserializer ?? DefaultSerdes.For<TValue>("value", "SetValueDeserializer", ValueDeserializerKey));

        var properties = new Dictionary<string, string>(_properties, StringComparer.Ordinal);
        var storeOffsets = true;
        if (properties.TryGetValue(AutoOffsetStoreKey, out var store))
        {
            storeOffsets = store.Trim().ToLowerInvariant() switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                _ => throw new ArgumentException($"Invalid consumer configuration: configuration key '{AutoOffsetStoreKey}' must be true or false, not \"{store}\".", "config"),
            };
        }

        // Offsets are stored by this client, after deserialization or the dead-letter policy has run.
        properties[AutoOffsetStoreKey] = "false";

        var errors = new ErrorReporter(_errorHandler, _logHandler);
        var creation = new CreationLog(_logHandler);
        ConsumerPipeline<TKey, TValue>? pipeline = null;
        var onAssigned = _onAssigned;
        var onRevoked = _onRevoked;
        var onLost = _onLost;
        var onStatistics = _statisticsHandler;
        ClientTelemetry? telemetry = null;
        var builder = new ConsumerBuilder<byte[], byte[]>(properties)
            .SetErrorHandler((_, error) => errors.OnClientError(error))
            .SetLogHandler((_, log) => creation.Log(log))
            .SetPartitionsAssignedHandler((_, partitions) => pipeline!.OnAssigned(partitions, onAssigned))
            .SetPartitionsRevokedHandler((_, partitions) => pipeline!.OnRevoked(partitions, onRevoked))
            .SetPartitionsLostHandler((_, partitions) => pipeline!.OnLost(partitions, onLost))
            .SetStatisticsHandler((_, json) =>
            {
                telemetry?.OnStatistics(json);
                onStatistics?.Invoke(json);
            });

        IConsumer<byte[], byte[]> inner;
        try
        {
            inner = builder.Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            throw ConfigEntries.Invalid("consumer", ex, _properties.Keys);
        }

        telemetry = new ClientTelemetry(inner.Name, properties.GetValueOrDefault("group.id"));
        var offsets = new OffsetStore(inner, storeOffsets || _acknowledged);
        DeadLetterForwarder? deadLetters = null;
        try
        {
            if (ConfigEntries.Misplaced("consumer", creation.Finish()) is { } misplaced)
            {
                throw misplaced;
            }

            if (_poisonPolicy.DeadLetters is { } deadLetterPolicy)
            {
                deadLetters = new DeadLetterForwarder(deadLetterPolicy, properties, offsets, errors, telemetry, _timeProvider);
            }
        }
        catch
        {
            inner.Dispose();
            throw;
        }

        var settings = new ConsumerSettings(_poisonPolicy, _transientErrorHandler, _initialBackoff, _maxBackoff, _fetchBufferSize) { Acknowledged = _acknowledged };
        pipeline = new ConsumerPipeline<TKey, TValue>(inner, key, value, offsets, deadLetters, settings, errors, telemetry, _timeProvider);
        return new DeserializingConsumer<TKey, TValue>(pipeline);
    }

    private static object Check<T>(string key, object value) =>
        value is IDeserializer<T> or IAsyncDeserializer<T>
            ? value
            : throw new ArgumentException(
                $"Configuration key '{key}' must hold an IDeserializer<{typeof(T).Name}> or IAsyncDeserializer<{typeof(T).Name}>, but holds a {value.GetType().Name}.",
                "config");
}

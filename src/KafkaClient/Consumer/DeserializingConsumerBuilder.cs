using Confluent.Kafka;
using KafkaClient.Configuration;
using KafkaClient.Consumer;
using KafkaClient.Serialization;

namespace KafkaClient;

/// <summary>Builds a <see cref="DeserializingConsumer{TKey, TValue}"/> from librdkafka configuration and deserializers.</summary>
/// <typeparam name="TKey">The record key type.</typeparam>
/// <typeparam name="TValue">The record value type.</typeparam>
/// <remarks>
/// <para>Not thread-safe; build once.</para>
/// <para>
/// Defaults: the primitive serdes of <see cref="Serdes"/> for string, int, long, float, double, byte[],
/// <see cref="Null"/> and <see cref="Ignore"/> when no deserializer is given; no dead-letter policy (an
/// undeserializable record is thrown as <see cref="DeserializationException"/>, then skipped).
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
    private DeadLetterPolicy? _deadLetterPolicy;
    private Action<IReadOnlyList<TopicPartition>>? _onAssigned;
    private Action<IReadOnlyList<TopicPartitionOffset>>? _onRevoked;
    private Action<IReadOnlyList<TopicPartitionOffset>>? _onLost;
    private Action<Error>? _errorHandler;
    private Action<LogMessage>? _logHandler;

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

    /// <summary>Forwards records that cannot be deserialized to a dead-letter topic instead of throwing.</summary>
    /// <param name="policy">Where and how to forward.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetDeadLetterPolicy(DeadLetterPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _deadLetterPolicy = policy;
        return this;
    }

    /// <summary>Sets the handler called when the group assigns partitions to this consumer.</summary>
    /// <param name="handler">Called on the polling thread, before records of those partitions are returned.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetPartitionsAssignedHandler(Action<IReadOnlyList<TopicPartition>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onAssigned = handler;
        return this;
    }

    /// <summary>Sets the handler called when the group takes partitions away in an orderly rebalance.</summary>
    /// <param name="handler">Called on the polling thread; offsets may still be committed in it.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetPartitionsRevokedHandler(Action<IReadOnlyList<TopicPartitionOffset>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onRevoked = handler;
        return this;
    }

    /// <summary>Sets the handler called when partitions were lost (for example after a session timeout) and may already be owned by another member.</summary>
    /// <param name="handler">Called on the polling thread; committing is pointless there.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetPartitionsLostHandler(Action<IReadOnlyList<TopicPartitionOffset>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _onLost = handler;
        return this;
    }

    /// <summary>Sets the handler for client-level errors (default: librdkafka's log).</summary>
    /// <param name="handler">Called on the polling thread; must not block.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetErrorHandler(Action<Error> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _errorHandler = handler;
        return this;
    }

    /// <summary>Sets the handler for librdkafka's log lines (default: written to standard error).</summary>
    /// <param name="handler">Called on librdkafka's threads; must not block.</param>
    /// <returns>This builder.</returns>
    public DeserializingConsumerBuilder<TKey, TValue> SetLogHandler(Action<LogMessage> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _logHandler = handler;
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

        var builder = new ConsumerBuilder<byte[], byte[]>(properties);
        if (_onAssigned is { } onAssigned)
        {
            builder.SetPartitionsAssignedHandler((_, partitions) => onAssigned(partitions));
        }

        if (_onRevoked is { } onRevoked)
        {
            builder.SetPartitionsRevokedHandler((_, partitions) => onRevoked(partitions));
        }

        if (_onLost is { } onLost)
        {
            builder.SetPartitionsLostHandler((_, partitions) => onLost(partitions));
        }

        if (_errorHandler is { } onError)
        {
            builder.SetErrorHandler((_, error) => onError(error));
        }

        if (_logHandler is { } onLog)
        {
            builder.SetLogHandler((_, log) => onLog(log));
        }

        IConsumer<byte[], byte[]> inner;
        try
        {
            inner = builder.Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            throw ConfigEntries.Invalid("consumer", ex);
        }

        DeadLetterForwarder? deadLetters = null;
        try
        {
            deadLetters = _deadLetterPolicy is null ? null : new DeadLetterForwarder(_deadLetterPolicy, properties);
        }
        catch
        {
            inner.Dispose();
            throw;
        }

        return new DeserializingConsumer<TKey, TValue>(inner, key, value, storeOffsets, deadLetters);
    }

    private static object Check<T>(string key, object value) =>
        value is IDeserializer<T> or IAsyncDeserializer<T>
            ? value
            : throw new ArgumentException(
                $"Configuration key '{key}' must hold an IDeserializer<{typeof(T).Name}> or IAsyncDeserializer<{typeof(T).Name}>, but holds a {value.GetType().Name}.",
                "config");
}

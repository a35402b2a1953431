using Confluent.Kafka;
using KafkaClient.Configuration;
using KafkaClient.Diagnostics;
using KafkaClient.Producer;
using KafkaClient.Serialization;

namespace KafkaClient;

/// <summary>Builds a <see cref="SerializingProducer{TKey, TValue}"/> from librdkafka configuration and serializers.</summary>
/// <typeparam name="TKey">The message key type.</typeparam>
/// <typeparam name="TValue">The message value type.</typeparam>
/// <remarks>
/// <para>Not thread-safe; build once and share the producer, which is.</para>
/// <para>
/// Defaults: <c>partitioner=murmur2_random</c> (the Java client's choice: murmur2 of the key bytes, sticky
/// batches for null keys) unless the configuration names another; a dispose timeout of 30 seconds; the
/// primitive serdes of <see cref="Serdes"/> for string, int, long, float, double, byte[] and
/// <see cref="Null"/> keys and values when no serializer is given. Delivery reports are built from the caller's own
/// message, so librdkafka is never asked to hand back copies of value and headers
/// (<c>dotnet.producer.delivery.report.fields</c> is always <c>key,timestamp,status</c>; the key reported is the
/// message's own record, not a copy), and
/// <c>dotnet.producer.enable.delivery.reports=false</c> is refused: every outcome is learned from its report.
/// </para>
/// <para>Configuration is validated once, by <see cref="Build"/>: an unknown key or an ill-typed value throws <see cref="ArgumentException"/> naming the key.</para>
/// </remarks>
public sealed class SerializingProducerBuilder<TKey, TValue>
{
    /// <summary>The configuration entry that may hold the key serializer, as in confluent-kafka-python.</summary>
    public const string KeySerializerKey = "key.serializer";

    /// <summary>The configuration entry that may hold the value serializer, as in confluent-kafka-python.</summary>
    public const string ValueSerializerKey = "value.serializer";

    private const string DeliveryReportFields = "dotnet.producer.delivery.report.fields";
    private const string EnableDeliveryReports = "dotnet.producer.enable.delivery.reports";

    private readonly Dictionary<string, string> _properties;
    private object? _keySerializer;
    private object? _valueSerializer;
    private TimeSpan _disposeTimeout = TimeSpan.FromSeconds(30);
    private Action<Error>? _errorHandler;
    private Action<LogMessage>? _logHandler;
    private Action<string>? _statisticsHandler;
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Initializes a new instance of the <see cref="SerializingProducerBuilder{TKey, TValue}"/> class from librdkafka properties.</summary>
    /// <param name="config">A <see cref="ProducerConfig"/> or any <c>bootstrap.servers</c>-style key/value pairs.</param>
    public SerializingProducerBuilder(IEnumerable<KeyValuePair<string, string>> config)
    {
        _properties = ConfigEntries.ToProperties(config);
    }

    /// <summary>Initializes a new instance of the <see cref="SerializingProducerBuilder{TKey, TValue}"/> class from a Python-style dictionary.</summary>
    /// <param name="config">librdkafka properties (strings, bools or numbers) and, optionally, <c>key.serializer</c> and <c>value.serializer</c> entries holding an <see cref="ISerializer{T}"/> or <see cref="IAsyncSerializer{T}"/>.</param>
    /// <exception cref="ArgumentException">An entry is null, of a type no property takes, or a serializer of the wrong type; the message names the key.</exception>
    public SerializingProducerBuilder(IEnumerable<KeyValuePair<string, object?>> config)
    {
        _properties = ConfigEntries.ToProperties(config, new Dictionary<string, Action<object>>(StringComparer.Ordinal)
        {
            [KeySerializerKey] = value => _keySerializer = Check<TKey>(KeySerializerKey, value),
            [ValueSerializerKey] = value => _valueSerializer = Check<TValue>(ValueSerializerKey, value),
        });
    }

    /// <summary>Sets a synchronous key serializer.</summary>
    /// <param name="serializer">The serializer; Confluent's and any other <see cref="ISerializer{T}"/> plug in unchanged.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetKeySerializer(ISerializer<TKey> serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        _keySerializer = serializer;
        return this;
    }

    /// <summary>Sets an asynchronous key serializer (for example a schema-registry serializer).</summary>
    /// <param name="serializer">The serializer; awaited, never blocked on.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetKeySerializer(IAsyncSerializer<TKey> serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        _keySerializer = serializer;
        return this;
    }

    /// <summary>Sets a synchronous value serializer.</summary>
    /// <param name="serializer">The serializer.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetValueSerializer(ISerializer<TValue> serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        _valueSerializer = serializer;
        return this;
    }

    /// <summary>Sets an asynchronous value serializer (for example a schema-registry serializer).</summary>
    /// <param name="serializer">The serializer; awaited, never blocked on.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetValueSerializer(IAsyncSerializer<TValue> serializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        _valueSerializer = serializer;
        return this;
    }

    /// <summary>Sets how long disposing waits for queued messages to be delivered (default 30 seconds).</summary>
    /// <param name="timeout">Zero or more; messages still undelivered after it are reported as failed.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetDisposeTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        _disposeTimeout = timeout;
        return this;
    }

    /// <summary>Sets the handler for client-level errors and for failed deliveries that have no callback of their own.</summary>
    /// <param name="handler">Called on the delivery-report thread; must not block.</param>
    /// <remarks>An unreachable cluster is reported once per outage, not on every reconnect attempt; the next outage is reported again once a delivery has succeeded.</remarks>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetErrorHandler(Action<Error> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _errorHandler = handler;
        return this;
    }

    /// <summary>Sets the handler for librdkafka's log lines (default: none; nothing is written to standard error).</summary>
    /// <param name="handler">Called on librdkafka's threads; must not block.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetLogHandler(Action<LogMessage> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _logHandler = handler;
        return this;
    }

    /// <summary>Sets the clock used for flush and dispose deadlines (default <see cref="TimeProvider.System"/>).</summary>
    /// <param name="timeProvider">The clock; tests may pass a fake one.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        return this;
    }

    /// <summary>Sets the handler for librdkafka's statistics, a JSON document every <c>statistics.interval.ms</c> (default: none; statistics are off unless that key is set).</summary>
    /// <param name="handler">Called on the producer's delivery-report thread; must not block.</param>
    /// <returns>This builder.</returns>
    public SerializingProducerBuilder<TKey, TValue> SetStatisticsHandler(Action<string> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _statisticsHandler = handler;
        return this;
    }

    /// <summary>Validates the configuration and creates the producer.</summary>
    /// <returns>A producer ready to send.</returns>
    /// <exception cref="ArgumentException">A configuration key is unknown or its value invalid (the message names it), or no serializer is known for a type.</exception>
    public SerializingProducer<TKey, TValue> Build()
    {
        var key = SerializerSlot<TKey>.From(_keySerializer ?? DefaultSerdes.For<TKey>("key", "SetKeySerializer", KeySerializerKey));
        var value = SerializerSlot<TValue>.From(_valueSerializer ?? DefaultSerdes.For<TValue>("value", "SetValueSerializer", ValueSerializerKey));

        if (_properties.TryGetValue(EnableDeliveryReports, out var reports) && !(bool.TryParse(reports, out var enabled) && enabled))
        {
            throw new ArgumentException(
                $"Configuration key '{EnableDeliveryReports}' cannot be '{reports}': the producer learns every message's outcome from its delivery report (flush, dispose and ProduceAsync wait for it).",
                "config");
        }

        var properties = new Dictionary<string, string>(_properties, StringComparer.Ordinal);
        properties.TryAdd("partitioner", "murmur2_random");

        // Reports are built from the caller's own message: librdkafka's copies of value and headers are never read back.
        // The key is Confluent.Kafka's own reference to the message handed over (an OutgoingMessage), not a copy.
        properties[DeliveryReportFields] = "key,timestamp,status";

        var errors = new ErrorReporter(_errorHandler, _logHandler);
        var creation = new CreationLog(_logHandler);
        var builder = new ProducerBuilder<OutgoingMessage, byte[]>(properties)
            .SetKeySerializer(OutgoingMessage.KeySerializer)
            .SetErrorHandler((_, error) => errors.OnClientError(error))
            .SetLogHandler((_, log) => creation.Log(log));
        if (_statisticsHandler is { } onStatistics)
        {
            builder.SetStatisticsHandler((_, json) => onStatistics(json));
        }

        IProducer<OutgoingMessage, byte[]> inner;
        try
        {
            inner = builder.Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            throw ConfigEntries.Invalid("producer", ex, _properties.Keys);
        }

        if (ConfigEntries.Misplaced("producer", creation.Finish()) is { } misplaced)
        {
            inner.Dispose();
            throw misplaced;
        }

        var pollsInBackground = !properties.TryGetValue("dotnet.producer.enable.background.poll", out var poll) || !bool.TryParse(poll, out var on) || on;
        var pipeline = new ProducerPipeline<TKey, TValue>(inner, key, value, _disposeTimeout, errors, new ClientTelemetry(inner.Name, group: null), _timeProvider, pollsInBackground);
        return new SerializingProducer<TKey, TValue>(pipeline);
    }

    private static object Check<T>(string key, object value) =>
        value is ISerializer<T> or IAsyncSerializer<T>
            ? value
            : throw new ArgumentException(
                $"Configuration key '{key}' must hold an ISerializer<{typeof(T).Name}> or IAsyncSerializer<{typeof(T).Name}>, but holds a {value.GetType().Name}.",
                "config");
}

using System.Text.Json;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using Streamiz.Kafka.Net.SerDes;

namespace KafkaClient.Streams;

/// <summary>
/// A Streamiz <see cref="ISerDes{T}"/> over <see cref="JsonSchemaSerializer{T}"/> and <see cref="JsonSchemaDeserializer{T}"/>:
/// JSON in Confluent's wire format through Schema Registry, with the same configuration keys (<see cref="JsonSchemaSerdeConfig"/>),
/// validation and exceptions as the core's producer and consumer get.
/// </summary>
/// <typeparam name="T">The value type; System.Text.Json maps it.</typeparam>
/// <remarks>
/// <para>
/// <b>No registry call per record.</b> Each call first takes the serdes' synchronous fast path, which completes on the
/// stream thread without a task once the subject's schema (serializing) or the writer's schema id (deserializing) is
/// cached. A cold call (the first value for a subject, the first record of a schema id) waits for the registry on the
/// stream thread, at most <see cref="RegistryWaitTimeout"/>: Streamiz's serdes are synchronous and give no other way.
/// To move that wait before the topology's first record, await <see cref="WarmUpSerializerAsync"/> for each topic this
/// instance writes and <see cref="WarmUpDeserializerAsync"/> for each topic it reads before starting the stream; Streamiz's
/// <see cref="Initialize"/> cannot do it, since it is not told the topic.
/// </para>
/// <para>
/// <b>Failures.</b> A record that cannot be read throws the deserializer's <see cref="JsonSerdeException"/> (a
/// <see cref="JsonSchemaValidationException"/> for a schema violation) unchanged; Streamiz hands it, with the raw record, to
/// <c>IStreamConfig.DeserializationExceptionHandler</c>. <see cref="PoisonRecordHandler"/> applies a core
/// <see cref="PoisonRecordPolicy"/> there. A registry that cannot be reached is retried in place with backoff until
/// <see cref="RegistryWaitTimeout"/>, then thrown retriable, which that handler never skips.
/// </para>
/// <para>Thread-safe: one instance may serve every stream thread, and both keys and values.</para>
/// </remarks>
public sealed class JsonSchemaSerDes<T> : ISerDes<T>
{
    private readonly JsonSchemaSerializer<T> _serializer;
    private readonly JsonSchemaDeserializer<T> _deserializer;
    private readonly RegistrySerDes<T> _core;
    private readonly TimeSpan _registryWaitTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaSerDes{T}"/> class with a serializer and a deserializer of the same settings.</summary>
    /// <param name="registry">The registry client, for example Confluent's <see cref="CachedSchemaRegistryClient"/>.</param>
    /// <param name="schema">The JSON Schema text values are written with, or null to generate one from <typeparamref name="T"/>.</param>
    /// <param name="config">Serde settings (Confluent's keys); null for the defaults.</param>
    /// <param name="jsonOptions">System.Text.Json options; null for the web defaults (camelCase).</param>
    /// <exception cref="ArgumentException">As the serializer's and deserializer's constructors throw it: a schema that is not valid JSON Schema, a registry client that would fail every call.</exception>
    public JsonSchemaSerDes(ISchemaRegistryClient registry, string? schema = null, JsonSchemaSerdeConfig? config = null, JsonSerializerOptions? jsonOptions = null)
        : this(new JsonSchemaSerializer<T>(registry, schema, config, jsonOptions), new JsonSchemaDeserializer<T>(registry, config, jsonOptions))
    {
    }

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaSerDes{T}"/> class over a serializer and a deserializer made elsewhere (for example with conversion hooks).</summary>
    /// <param name="serializer">The serializer.</param>
    /// <param name="deserializer">The deserializer.</param>
    public JsonSchemaSerDes(JsonSchemaSerializer<T> serializer, JsonSchemaDeserializer<T> deserializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(deserializer);
        _serializer = serializer;
        _deserializer = deserializer;
        _core = new RegistrySerDes<T>(serializer, deserializer, TimedOut);
    }

    /// <summary>Gets how long a cold call waits for the registry, retries of a registry that cannot be reached included, before it throws (default 30 seconds; keep it well below <c>max.poll.interval.ms</c>). The wait cannot be cancelled: disposing a <c>KafkaStream</c> while one of its threads waits takes until the wait ends.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive (<see cref="Timeout.InfiniteTimeSpan"/> included: the wait is always bounded).</exception>
    public TimeSpan RegistryWaitTimeout
    {
        get => _registryWaitTimeout;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _registryWaitTimeout = value;
        }
    }

    /// <summary>Gets how many serialize calls waited for the registry: one per subject, none after <see cref="WarmUpSerializerAsync"/>.</summary>
    internal long SerializerWaits => _core.SerializerWaits;

    /// <summary>Gets how many deserialize calls waited for the registry: one per writer schema id, none for ids warmed up.</summary>
    internal long DeserializerWaits => _core.DeserializerWaits;

    /// <summary>Gets how many payloads were decoded: one per record, though Streamiz deserializes each twice.</summary>
    internal long Decoded => _core.Decoded;

    /// <summary>Serializes a value in Confluent's wire format.</summary>
    /// <param name="data">The value; null gives null bytes (a tombstone).</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The framed bytes.</returns>
    /// <exception cref="JsonSerdeException">As <see cref="JsonSchemaSerializer{T}.SerializeAsync"/> throws it (<see cref="JsonSchemaValidationException"/> for a value that violates the schema).</exception>
    public byte[] Serialize(T data, SerializationContext context) => _core.Serialize(data, context, RegistryWaitTimeout)!;

    /// <summary>Deserializes bytes in Confluent's wire format.</summary>
    /// <param name="data">The bytes; null (a tombstone) gives the default.</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The value.</returns>
    /// <exception cref="JsonSerdeException">As <see cref="JsonSchemaDeserializer{T}.DeserializeAsync"/> throws it.</exception>
    public T Deserialize(byte[]? data, SerializationContext context) => _core.Deserialize(data, context, RegistryWaitTimeout);

    /// <summary>Deserializes bytes in Confluent's wire format, as an object.</summary>
    /// <param name="data">The bytes; null (a tombstone) gives null.</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The value.</returns>
    public object? DeserializeObject(byte[]? data, SerializationContext context) => Deserialize(data, context);

    /// <summary>Serializes a value given as an object.</summary>
    /// <param name="data">A <typeparamref name="T"/>, or null for a tombstone.</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The framed bytes.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="data"/> is not a <typeparamref name="T"/>.</exception>
    public byte[] SerializeObject(object? data, SerializationContext context) => _core.SerializeObject(data, context, RegistryWaitTimeout, nameof(JsonSchemaSerDes<T>))!;

    /// <summary>Called by Streamiz when a processor using these serdes starts; there is nothing to set up (the registry client and settings came with the constructor), so it does nothing.</summary>
    /// <param name="context">The stream configuration.</param>
    public void Initialize(SerDesContext context)
    {
    }

    /// <summary>Resolves the schema values written to <paramref name="topic"/> are framed with (registering it if <c>auto.register.schemas</c>), so that this instance serializes for that topic without ever waiting for the registry.</summary>
    /// <param name="topic">A topic this instance writes (a sink, or a changelog or repartition topic it serializes for).</param>
    /// <param name="isKey">True for the topic's keys.</param>
    /// <param name="cancellationToken">Stops waiting (the resolution itself goes on and is kept).</param>
    /// <returns>A task that completes when the schema is cached.</returns>
    /// <exception cref="JsonSerdeException">The registry refused or could not be reached, as the first value would have thrown.</exception>
    public Task WarmUpSerializerAsync(string topic, bool isKey = false, CancellationToken cancellationToken = default) =>
        _serializer.WarmUpAsync(RegistrySerDes<T>.Context(topic, isKey)).WaitAsync(cancellationToken);

    /// <summary>Fetches and prepares the latest schema registered for <paramref name="topic"/>'s subject, so that records written with it deserialize without waiting for the registry.</summary>
    /// <param name="topic">A topic this instance reads.</param>
    /// <param name="isKey">True for the topic's keys.</param>
    /// <param name="cancellationToken">Stops waiting (the preparation itself goes on and is kept).</param>
    /// <returns>The id of the schema prepared, or null when the subject has no schema yet (nothing to prepare).</returns>
    /// <exception cref="JsonSerdeException">The registry could not be reached or refused, or the schema cannot be loaded.</exception>
    public Task<int?> WarmUpDeserializerAsync(string topic, bool isKey = false, CancellationToken cancellationToken = default) =>
        _deserializer.WarmUpAsync(_serializer.SubjectFor(RegistrySerDes<T>.Context(topic, isKey))).WaitAsync(cancellationToken);

    private static JsonSerdeException TimedOut(SerializationContext context, TimeSpan timeout) => new(
        JsonSerdeFailure.RegistryUnavailable,
        $"Schema Registry did not answer within {timeout.TotalSeconds:0.###} s (RegistryWaitTimeout) for the {(context.Component == MessageComponentType.Key ? "key" : "value")} of a record of topic \"{context.Topic}\".",
        topic: context.Topic,
        isRetriable: true);
}

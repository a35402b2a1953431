using Confluent.Kafka;

namespace KafkaClient.Streams;

/// <summary>What the registry-aware Streamiz serdes share: the synchronous calls over a fast-path serializer and deserializer.</summary>
/// <typeparam name="T">The type serialized.</typeparam>
internal sealed class RegistrySerDes<T>
{
    private readonly IFastPathSerializer<T> _serializer;
    private readonly IFastPathDeserializer<T> _deserializer;
    private readonly Func<SerializationContext, TimeSpan, Exception> _timedOut;
    [ThreadStatic]
    private static LastDecoded? t_last;

    private long _serializerWaits;
    private long _deserializerWaits;
    private long _decoded;

    /// <summary>Initializes a new instance of the <see cref="RegistrySerDes{T}"/> class.</summary>
    /// <param name="serializer">The serializer.</param>
    /// <param name="deserializer">The deserializer.</param>
    /// <param name="timedOut">Makes the format's retriable exception for a registry wait that timed out.</param>
    public RegistrySerDes(IFastPathSerializer<T> serializer, IFastPathDeserializer<T> deserializer, Func<SerializationContext, TimeSpan, Exception> timedOut)
    {
        _serializer = serializer;
        _deserializer = deserializer;
        _timedOut = timedOut;
    }

    /// <summary>Gets how many serialize calls had to wait for the registry (the cold ones).</summary>
    public long SerializerWaits => Interlocked.Read(ref _serializerWaits);

    /// <summary>Gets how many deserialize calls had to wait for the registry (the cold ones).</summary>
    public long DeserializerWaits => Interlocked.Read(ref _deserializerWaits);

    /// <summary>Serializes on the calling thread; waits for the registry only on a cold call.</summary>
    /// <param name="data">The value; null gives null bytes (a tombstone).</param>
    /// <param name="context">The topic and part.</param>
    /// <param name="timeout">The bound of a cold call's wait.</param>
    /// <returns>The framed bytes.</returns>
    public byte[]? Serialize(T data, SerializationContext context, TimeSpan timeout)
    {
        if (_serializer.TrySerialize(data, context, out var serialized))
        {
            return serialized;
        }

        Interlocked.Increment(ref _serializerWaits);
        return SyncBridge.Wait(() => _serializer.SerializeAsync(data, context), timeout, t => _timedOut(context, t));
    }

    /// <summary>Gets how many payloads were decoded; a record Streamiz deserializes twice in a row is decoded once.</summary>
    public long Decoded => Interlocked.Read(ref _decoded);

    /// <summary>Deserializes on the calling thread; waits for the registry only on a cold call.</summary>
    /// <param name="data">The bytes; null for a tombstone, which gives the default.</param>
    /// <param name="context">The topic and part.</param>
    /// <param name="timeout">The bound of a cold call's wait.</param>
    /// <returns>The value.</returns>
    /// <remarks>
    /// Streamiz deserializes each record twice on its stream thread: once when the record becomes the head of its
    /// partition's queue (for the timestamp extractor) and again when it is processed, with the same array. The value
    /// decoded last on this thread is therefore kept with its array, and the same array (same instance, topic and part)
    /// gets the same value back without being decoded again. Kafka's arrays are never changed once read.
    /// </remarks>
    public T Deserialize(byte[]? data, SerializationContext context, TimeSpan timeout)
    {
        if (data is null)
        {
            return default!;
        }

        if (t_last is { } last && ReferenceEquals(last.Data, data) && ReferenceEquals(last.Owner, this)
            && last.Component == context.Component && string.Equals(last.Topic, context.Topic, StringComparison.Ordinal))
        {
            return last.Value;
        }

        T value;
        try
        {
            if (!_deserializer.TryDeserialize(data, isNull: false, context, out value))
            {
                Interlocked.Increment(ref _deserializerWaits);
                value = SyncBridge.Wait(() => _deserializer.DeserializeAsync(data, isNull: false, context), timeout, t => _timedOut(context, t));
            }
        }
        catch (Exception ex)
        {
            FailedComponent.Note(ex, context.Component);
            throw;
        }

        Interlocked.Increment(ref _decoded);
        var kept = t_last ??= new LastDecoded();
        (kept.Owner, kept.Data, kept.Component, kept.Topic, kept.Value) = (this, data, context.Component, context.Topic, value);
        return value;
    }

    /// <summary>Serializes a value given as an object, as Streamiz's untyped calls do.</summary>
    /// <param name="data">A <typeparamref name="T"/> or null.</param>
    /// <param name="context">The topic and part.</param>
    /// <param name="timeout">The bound of a cold call's wait.</param>
    /// <param name="serdesName">The serdes' name, for the message.</param>
    /// <returns>The framed bytes.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="data"/> is not a <typeparamref name="T"/>.</exception>
    public byte[]? SerializeObject(object? data, SerializationContext context, TimeSpan timeout, string serdesName) => data switch
    {
        null => Serialize(default!, context, timeout),
        T value => Serialize(value, context, timeout),
        _ => throw new InvalidOperationException($"{serdesName} serializes {typeof(T).Name}, not {data.GetType().Name}."),
    };

    /// <summary>Checks a warm-up's topic.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="isKey">Whether the keys are meant.</param>
    /// <returns>The serialization context of the topic's keys or values.</returns>
    public static SerializationContext Context(string topic, bool isKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        return new SerializationContext(isKey ? MessageComponentType.Key : MessageComponentType.Value, topic);
    }

    /// <summary>The value decoded last on a thread, with the array, serdes, topic and part it was decoded for (one per thread, overwritten).</summary>
    private sealed class LastDecoded
    {
        public RegistrySerDes<T>? Owner { get; set; }

        public byte[]? Data { get; set; }

        public MessageComponentType Component { get; set; }

        public string? Topic { get; set; }

        public T Value { get; set; } = default!;
    }
}

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
    private static RecentlyDecoded? t_recent;

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

    /// <summary>Gets how many payloads were decoded; a record Streamiz deserializes twice is decoded once.</summary>
    public long Decoded => Interlocked.Read(ref _decoded);

    /// <summary>Deserializes on the calling thread; waits for the registry only on a cold call.</summary>
    /// <param name="data">The bytes; null for a tombstone, which gives the default.</param>
    /// <param name="context">The topic and part.</param>
    /// <param name="timeout">The bound of a cold call's wait.</param>
    /// <returns>The value.</returns>
    /// <remarks>
    /// Streamiz deserializes each record twice on its stream thread, with the same array: once when the record becomes
    /// the head of its partition's queue (for the timestamp extractor), which happens just before the record ahead of it
    /// is processed, and again when it is processed itself. The last few values decoded on this thread are therefore
    /// kept with a copy of their bytes, and the same array (same instance, serdes, topic and part) read again with the
    /// same bytes gets its value back once without being decoded again; an array whose bytes changed in between is
    /// decoded anew.
    /// </remarks>
    public T Deserialize(byte[]? data, SerializationContext context, TimeSpan timeout)
    {
        if (data is null)
        {
            return default!;
        }

        var recent = t_recent ??= new RecentlyDecoded();
        if (recent.TryTake(this, data, context, out var kept))
        {
            return kept;
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
        recent.Keep(this, data, context, value);
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

    /// <summary>The values decoded last on a thread, each with its array, a copy of its bytes, and the serdes, topic and part it was decoded for.</summary>
    private sealed class RecentlyDecoded
    {
        /// <summary>
        /// How many values are kept. A value is taken back by the record's second read, which comes after the first reads
        /// of the next record of each partition the thread processes in turn (one key and one value each): enough for
        /// 7 partitions a thread whose keys and values both use these serdes, 15 for values only; beyond, records are
        /// decoded twice.
        /// </summary>
        private const int Capacity = 16;

        /// <summary>Larger payloads are not kept, so a thread's copies stay small; they are decoded twice.</summary>
        private const int MaxBytes = 32 * 1024;

        private readonly Entry[] _entries = [.. Enumerable.Range(0, Capacity).Select(_ => new Entry())];
        private int _next;

        /// <summary>Takes the value kept for <paramref name="data"/>, if its bytes are still the ones it was decoded from; a value is given back once.</summary>
        /// <param name="owner">The serdes asking.</param>
        /// <param name="data">The bytes.</param>
        /// <param name="context">The topic and part.</param>
        /// <param name="value">The value kept.</param>
        /// <returns>True when a value was kept for the array.</returns>
        public bool TryTake(RegistrySerDes<T> owner, byte[] data, SerializationContext context, out T value)
        {
            foreach (var entry in _entries)
            {
                if (ReferenceEquals(entry.Data, data) && ReferenceEquals(entry.Owner, owner) && entry.Component == context.Component
                    && string.Equals(entry.Topic, context.Topic, StringComparison.Ordinal) && data.AsSpan().SequenceEqual(entry.Bytes.AsSpan(0, entry.Length)))
                {
                    value = entry.Value;
                    entry.Clear();
                    return true;
                }
            }

            value = default!;
            return false;
        }

        /// <summary>Keeps a value just decoded, in a free place or else in place of one kept earlier.</summary>
        /// <param name="owner">The serdes that decoded it.</param>
        /// <param name="data">The bytes.</param>
        /// <param name="context">The topic and part.</param>
        /// <param name="value">The value.</param>
        public void Keep(RegistrySerDes<T> owner, byte[] data, SerializationContext context, T value)
        {
            if (data.Length > MaxBytes)
            {
                return;
            }

            var entry = Array.Find(_entries, e => e.Owner is null);
            if (entry is null)
            {
                entry = _entries[_next];
                _next = (_next + 1) % Capacity;
            }

            if (entry.Bytes.Length < data.Length)
            {
                entry.Bytes = new byte[Math.Max(data.Length, 256)];
            }

            data.CopyTo(entry.Bytes, 0);
            (entry.Owner, entry.Data, entry.Length, entry.Component, entry.Topic, entry.Value) = (owner, data, data.Length, context.Component, context.Topic, value);
        }

        private sealed class Entry
        {
            public RegistrySerDes<T>? Owner { get; set; }

            public byte[]? Data { get; set; }

            public byte[] Bytes { get; set; } = [];

            public int Length { get; set; }

            public MessageComponentType Component { get; set; }

            public string? Topic { get; set; }

            public T Value { get; set; } = default!;

            public void Clear() => (Owner, Data, Topic, Value) = (null, null, null, default!);
        }
    }
}

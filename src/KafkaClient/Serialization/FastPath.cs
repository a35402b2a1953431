using Confluent.Kafka;

namespace KafkaClient;

/// <summary>An asynchronous serializer that can also finish on the calling thread, without a task, once what it needs is known.</summary>
/// <typeparam name="T">The type serialized.</typeparam>
/// <remarks>
/// <para>
/// A schema-registry serializer must be asynchronous (its first value waits for the registry) but, once the
/// subject's schema id is cached, completes every later value at once. <see cref="SerializingProducer{TKey, TValue}"/>
/// calls <see cref="TrySerialize"/> first and <see cref="IAsyncSerializer{T}.SerializeAsync"/> only when it returns
/// false, so the steady state allocates no task per message. Confluent.Kafka's own producer sees an ordinary
/// <see cref="IAsyncSerializer{T}"/>.
/// </para>
/// <para>Implementations must be thread-safe: the producer calls them from every producing thread at once.</para>
/// </remarks>
public interface IFastPathSerializer<T> : IAsyncSerializer<T>
{
    /// <summary>Gets a value indicating whether the serializer may add headers to <see cref="SerializationContext.Headers"/>.</summary>
    /// <remarks>
    /// When false, the producer passes the caller's <see cref="Headers"/> object itself (null when the message has
    /// none) instead of a copy: false is a promise, and a serializer that adds headers anyway changes the caller's
    /// object. When true, the serializer gets a copy, never null.
    /// </remarks>
    bool MayWriteHeaders { get; }

    /// <summary>Serializes <paramref name="data"/> on the calling thread if nothing has to be awaited.</summary>
    /// <param name="data">The value.</param>
    /// <param name="context">The topic, component and headers, as for <see cref="IAsyncSerializer{T}.SerializeAsync"/>.</param>
    /// <param name="serialized">The bytes <see cref="IAsyncSerializer{T}.SerializeAsync"/> would have produced, when this returns true.</param>
    /// <returns>True when serialized; false, having done nothing, when the caller must use <see cref="IAsyncSerializer{T}.SerializeAsync"/>.</returns>
    /// <exception cref="Exception">Whatever <see cref="IAsyncSerializer{T}.SerializeAsync"/> would have failed its task with.</exception>
    bool TrySerialize(T data, SerializationContext context, out byte[]? serialized);
}

/// <summary>An asynchronous deserializer that can also finish on the calling thread, without a task, once what it needs is known.</summary>
/// <typeparam name="T">The type deserialized.</typeparam>
/// <remarks>
/// <para>
/// The schema-registry counterpart of <see cref="IFastPathSerializer{T}"/>: once the writer's schema is cached,
/// <see cref="DeserializingConsumer{TKey, TValue}"/> reads each record through <see cref="TryDeserialize"/> and
/// allocates no task for it.
/// </para>
/// <para>Implementations must be thread-safe.</para>
/// </remarks>
public interface IFastPathDeserializer<T> : IAsyncDeserializer<T>
{
    /// <summary>Deserializes <paramref name="data"/> on the calling thread if nothing has to be awaited.</summary>
    /// <param name="data">The bytes.</param>
    /// <param name="isNull">Whether the key or value is null.</param>
    /// <param name="context">The topic, component and headers.</param>
    /// <param name="result">The value <see cref="IAsyncDeserializer{T}.DeserializeAsync"/> would have produced, when this returns true.</param>
    /// <returns>True when deserialized; false, having done nothing, when the caller must use <see cref="IAsyncDeserializer{T}.DeserializeAsync"/>.</returns>
    /// <exception cref="Exception">Whatever <see cref="IAsyncDeserializer{T}.DeserializeAsync"/> would have failed its task with.</exception>
    bool TryDeserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context, out T result);
}

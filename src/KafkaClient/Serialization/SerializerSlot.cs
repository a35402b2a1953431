using Confluent.Kafka;

namespace KafkaClient.Serialization;

/// <summary>One configured serializer, synchronous or asynchronous, behind one call shape.</summary>
internal sealed class SerializerSlot<T>
{
    private readonly ISerializer<T>? _sync;
    private readonly IAsyncSerializer<T>? _async;
    private readonly IFastPathSerializer<T>? _fast;

    private SerializerSlot(ISerializer<T>? sync, IAsyncSerializer<T>? async)
    {
        _sync = sync;
        _async = async;
        _fast = async as IFastPathSerializer<T>;
        MayWriteHeaders = _fast?.MayWriteHeaders ?? sync is not Serde<T> { WritesNoHeaders: true };
    }

    /// <summary>Gets a value indicating whether the serializer may add headers, so that it must get a copy of the caller's.</summary>
    public bool MayWriteHeaders { get; }

    /// <summary>Gets a value indicating whether serialization always completes on the calling thread.</summary>
    public bool IsSynchronous => _sync is not null;

    public static SerializerSlot<T> From(object serializer) => serializer switch
    {
        // A serializer that offers both shapes is used synchronously: cheaper and never blocks.
        ISerializer<T> sync => new SerializerSlot<T>(sync, null),
        IAsyncSerializer<T> async => new SerializerSlot<T>(null, async),
        _ => throw new ArgumentException($"{serializer.GetType()} is neither an ISerializer<{typeof(T).Name}> nor an IAsyncSerializer<{typeof(T).Name}>.", nameof(serializer)),
    };

    public byte[] Serialize(T value, in SerializationContext context) => _sync!.Serialize(value, context);

    /// <summary>Serializes, completing synchronously when the serializer is synchronous or its task already finished.</summary>
    public ValueTask<byte[]> SerializeAsync(T value, SerializationContext context)
    {
        if (_sync is not null)
        {
            try
            {
                return new ValueTask<byte[]>(_sync.Serialize(value, context));
            }
            catch (Exception ex)
            {
                return ValueTask.FromException<byte[]>(ex);
            }
        }

        Task<byte[]> task;
        try
        {
            if (_fast is not null && _fast.TrySerialize(value, context, out var serialized))
            {
                return new ValueTask<byte[]>(serialized!);
            }

            task = _async!.SerializeAsync(value, context);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<byte[]>(ex);
        }

        return new ValueTask<byte[]>(task);
    }
}

/// <summary>One configured deserializer, synchronous or asynchronous, behind one call shape.</summary>
internal sealed class DeserializerSlot<T>
{
    private readonly IDeserializer<T>? _sync;
    private readonly IAsyncDeserializer<T>? _async;
    private readonly IFastPathDeserializer<T>? _fast;

    private DeserializerSlot(IDeserializer<T>? sync, IAsyncDeserializer<T>? async)
    {
        _sync = sync;
        _async = async;
        _fast = async as IFastPathDeserializer<T>;
    }

    public bool IsSynchronous => _sync is not null;

    public static DeserializerSlot<T> From(object deserializer) => deserializer switch
    {
        IDeserializer<T> sync => new DeserializerSlot<T>(sync, null),
        IAsyncDeserializer<T> async => new DeserializerSlot<T>(null, async),
        _ => throw new ArgumentException($"{deserializer.GetType()} is neither an IDeserializer<{typeof(T).Name}> nor an IAsyncDeserializer<{typeof(T).Name}>.", nameof(deserializer)),
    };

    public T Deserialize(byte[]? data, in SerializationContext context) =>
        _sync!.Deserialize(data is null ? ReadOnlySpan<byte>.Empty : data, data is null, context);

    public ValueTask<T> DeserializeAsync(byte[]? data, SerializationContext context)
    {
        if (_sync is not null)
        {
            return new ValueTask<T>(Deserialize(data, context));
        }

        if (_fast is not null && _fast.TryDeserialize(data is null ? ReadOnlySpan<byte>.Empty : data, data is null, context, out var result))
        {
            return new ValueTask<T>(result);
        }

        var task = _async!.DeserializeAsync(data is null ? ReadOnlyMemory<byte>.Empty : data, data is null, context);
        return new ValueTask<T>(task);
    }
}

internal static class ValueTasks
{
    /// <summary>Reads the result of a value task that has already completed successfully; never blocks.</summary>
    public static T CompletedResult<T>(this in ValueTask<T> task)
    {
        System.Diagnostics.Debug.Assert(task.IsCompletedSuccessfully, "Only for completed tasks.");
        return task.GetAwaiter().GetResult();
    }
}

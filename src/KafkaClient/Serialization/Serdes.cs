using System.Text;
using Confluent.Kafka;

namespace KafkaClient;

/// <summary>Serializers and deserializers for primitive types, byte-compatible with the Java client and confluent-kafka-python.</summary>
/// <remarks>
/// Each instance serializes and deserializes (it is both an <see cref="ISerializer{T}"/> and an
/// <see cref="IDeserializer{T}"/>), is stateless and is safe to share between threads and clients.
/// Numbers are big-endian: Int32 is 4 bytes (Java's IntegerSerializer, Python's IntegerSerializer),
/// Int64 8 bytes, Single 4 bytes and Double 8 bytes of IEEE 754. A null key or value stays null on the wire.
/// </remarks>
public static class Serdes
{
    /// <summary>Gets the UTF-8 string serde (Java's StringSerializer default, Python's StringSerializer('utf_8')).</summary>
    public static Serde<string> Utf8 { get; } = new(Serializers.Utf8, Deserializers.Utf8);

    /// <summary>Gets the 4-byte big-endian two's-complement Int32 serde.</summary>
    public static Serde<int> Int32 { get; } = new(Serializers.Int32, Deserializers.Int32);

    /// <summary>Gets the 8-byte big-endian two's-complement Int64 serde.</summary>
    public static Serde<long> Int64 { get; } = new(Serializers.Int64, Deserializers.Int64);

    /// <summary>Gets the 4-byte big-endian IEEE 754 Single serde.</summary>
    public static Serde<float> Single { get; } = new(Serializers.Single, Deserializers.Single);

    /// <summary>Gets the 8-byte big-endian IEEE 754 Double serde.</summary>
    public static Serde<double> Double { get; } = new(Serializers.Double, Deserializers.Double);

    /// <summary>Gets the serde that passes bytes through unchanged, without copying.</summary>
    public static Serde<byte[]> ByteArray { get; } = new(Serializers.ByteArray, Deserializers.ByteArray);

    /// <summary>Gets the serde for keys or values that are always null.</summary>
    public static Serde<Null> Null { get; } = new(Serializers.Null, Deserializers.Null);

    /// <summary>Gets a deserializer that skips the bytes without reading them.</summary>
    public static IDeserializer<Ignore> Ignore => Deserializers.Ignore;

    /// <summary>Creates a string serde for the given encoding.</summary>
    /// <param name="encoding">The text encoding, for example <see cref="Encoding.Latin1"/> or <see cref="Encoding.Unicode"/>.</param>
    /// <returns>A serde that writes and reads strings in <paramref name="encoding"/> with no byte-order mark.</returns>
    public static Serde<string> String(Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        if (encoding.CodePage == Encoding.UTF8.CodePage)
        {
            return Utf8;
        }

        var codec = new EncodedString(encoding);
        return new Serde<string>(codec, codec);
    }

    private sealed class EncodedString(Encoding encoding) : ISerializer<string>, IDeserializer<string>, EncodedStringMarker
    {
        public byte[] Serialize(string data, SerializationContext context) => data is null ? null! : encoding.GetBytes(data);

        public string Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) => isNull ? null! : encoding.GetString(data);
    }
}

/// <summary>A serializer and deserializer for one type, usable wherever Confluent.Kafka takes either.</summary>
/// <typeparam name="T">The type written and read.</typeparam>
/// <remarks>Thread-safe when the wrapped serializer and deserializer are.</remarks>
public sealed class Serde<T> : ISerializer<T>, IDeserializer<T>
{
    private readonly ISerializer<T> _serializer;
    private readonly IDeserializer<T> _deserializer;

    /// <summary>Initializes a new instance of the <see cref="Serde{T}"/> class.</summary>
    /// <param name="serializer">Writes <typeparamref name="T"/>.</param>
    /// <param name="deserializer">Reads <typeparamref name="T"/>.</param>
    public Serde(ISerializer<T> serializer, IDeserializer<T> deserializer)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(deserializer);
        _serializer = serializer;
        _deserializer = deserializer;
        WritesNoHeaders = IsConfluentBuiltIn(serializer) || serializer is EncodedStringMarker;
    }

    /// <summary>Gets a value indicating whether the serializer is one of the built-in primitives, which never add headers.</summary>
    internal bool WritesNoHeaders { get; }

    /// <inheritdoc/>
    public byte[] Serialize(T data, SerializationContext context) => _serializer.Serialize(data, context);

    private static bool IsConfluentBuiltIn(ISerializer<T> serializer) =>
        serializer.GetType().Assembly == typeof(Serializers).Assembly;

    /// <inheritdoc/>
    public T Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) => _deserializer.Deserialize(data, isNull, context);
}

/// <summary>Marks the library's own encoded-string serializer, which never adds headers.</summary>
internal interface EncodedStringMarker
{
}

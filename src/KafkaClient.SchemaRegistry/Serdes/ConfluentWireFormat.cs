using System.Buffers.Binary;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>Confluent's framing of registry-encoded payloads, the same for every schema format: magic byte 0, a 4-byte big-endian schema id, the payload.</summary>
/// <remarks>A format may put its own bytes between the header and the payload (Protobuf's message indexes); that is the format's business.</remarks>
public static class ConfluentWireFormat
{
    /// <summary>The length of the header before the payload.</summary>
    public const int HeaderLength = 5;

    /// <summary>The magic byte that starts every framed payload.</summary>
    private const byte MagicByte = 0;

    /// <summary>Frames a payload.</summary>
    /// <param name="schemaId">The registry schema id.</param>
    /// <param name="payload">The encoded value.</param>
    /// <returns>A new array: header then payload.</returns>
    public static byte[] Frame(int schemaId, ReadOnlySpan<byte> payload) => Frame(schemaId, [], payload);

    /// <summary>Reads the schema id of a framed payload.</summary>
    /// <param name="framed">The bytes as read from Kafka.</param>
    /// <returns>The schema id.</returns>
    /// <exception cref="InvalidDataException">The bytes are shorter than the header or do not start with magic byte 0.</exception>
    public static int ReadSchemaId(ReadOnlySpan<byte> framed)
    {
        if (framed.Length < HeaderLength)
        {
            throw new InvalidDataException($"Expected at least {HeaderLength} bytes of Confluent framing (magic byte and schema id), got {framed.Length}.");
        }

        if (framed[0] != MagicByte)
        {
            throw new InvalidDataException($"Unknown magic byte {framed[0]}: not Confluent Schema Registry framing (expected 0).");
        }

        return BinaryPrimitives.ReadInt32BigEndian(framed[1..]);
    }

    /// <summary>Writes the header (magic byte and schema id) into the first <see cref="HeaderLength"/> bytes of <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="HeaderLength"/> bytes.</param>
    /// <param name="schemaId">The registry schema id.</param>
    internal static void WriteHeader(Span<byte> destination, int schemaId)
    {
        destination[0] = MagicByte;
        BinaryPrimitives.WriteInt32BigEndian(destination[1..], schemaId);
    }

    /// <summary>Frames a payload with format-specific bytes (for example Protobuf's message indexes) between the header and the payload.</summary>
    /// <param name="schemaId">The registry schema id.</param>
    /// <param name="formatPrefix">Bytes the format writes after the header; empty for JSON and Avro.</param>
    /// <param name="payload">The encoded value.</param>
    /// <returns>A new array: header, prefix, payload.</returns>
    internal static byte[] Frame(int schemaId, ReadOnlySpan<byte> formatPrefix, ReadOnlySpan<byte> payload)
    {
        var framed = new byte[HeaderLength + formatPrefix.Length + payload.Length];
        framed[0] = MagicByte;
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(1), schemaId);
        formatPrefix.CopyTo(framed.AsSpan(HeaderLength));
        payload.CopyTo(framed.AsSpan(HeaderLength + formatPrefix.Length));
        return framed;
    }
}

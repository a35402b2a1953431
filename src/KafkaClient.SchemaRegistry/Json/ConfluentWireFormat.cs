using System.Buffers.Binary;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Confluent's framing of registry-encoded payloads: magic byte 0, a 4-byte big-endian schema id, the payload.</summary>
public static class ConfluentWireFormat
{
    /// <summary>The length of the header before the payload.</summary>
    public const int HeaderLength = 5;

    /// <summary>Frames a payload.</summary>
    /// <param name="schemaId">The registry schema id.</param>
    /// <param name="payload">The encoded value.</param>
    /// <returns>A new array: header then payload.</returns>
    public static byte[] Frame(int schemaId, ReadOnlySpan<byte> payload)
    {
        var framed = new byte[HeaderLength + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(1), schemaId);
        payload.CopyTo(framed.AsSpan(HeaderLength));
        return framed;
    }

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

        if (framed[0] != 0)
        {
            throw new InvalidDataException($"Unknown magic byte {framed[0]}: not Confluent Schema Registry framing (expected 0).");
        }

        return BinaryPrimitives.ReadInt32BigEndian(framed[1..]);
    }
}

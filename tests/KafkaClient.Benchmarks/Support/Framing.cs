using System.Buffers.Binary;

namespace KafkaClient.Benchmarks.Support;

/// <summary>Confluent's 5-byte header (magic byte 0, big-endian schema id), written by hand for the raw baselines.</summary>
internal static class Framing
{
    public const int HeaderLength = 5;

    /// <summary>Frames a payload into one exactly sized array: the least any framing serializer can allocate.</summary>
    public static byte[] Frame(int schemaId, ReadOnlySpan<byte> payload)
    {
        var framed = new byte[HeaderLength + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(1), schemaId);
        payload.CopyTo(framed.AsSpan(HeaderLength));
        return framed;
    }

    /// <summary>Reads the schema id of a framed payload.</summary>
    public static int SchemaId(ReadOnlySpan<byte> framed) =>
        framed.Length >= HeaderLength && framed[0] == 0
            ? BinaryPrimitives.ReadInt32BigEndian(framed[1..])
            : throw new InvalidDataException("Not Confluent framing.");

    /// <summary>The payload after the header, after checking the magic byte.</summary>
    public static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> framed) =>
        framed.Length >= HeaderLength && framed[0] == 0 ? framed[HeaderLength..] : throw new InvalidDataException("Not Confluent framing.");

    /// <summary>The fast path of a serde declined after warm-up: it would have asked the registry, so the benchmark would not measure the steady state.</summary>
    public static InvalidOperationException NotWarm() => new("The serde's fast path declined after warm-up: its schema is not cached.");
}

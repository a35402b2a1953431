using Google.Protobuf.Reflection;

namespace KafkaClient.SchemaRegistry.Protobuf;

/// <summary>
/// The message-index path that Confluent's Protobuf framing puts between the schema id and the message: where the
/// message sits in its .proto file, as the index among the file's top-level messages, then among each parent's nested messages.
/// </summary>
/// <remarks>
/// Encoded as a count then the indexes, each a zig-zag varint (Confluent's current format) or a plain unsigned varint
/// (confluent-kafka-python before 1.8.2); the path [0] is the single byte 0 in both. Stateless and thread-safe.
/// </remarks>
internal static class MessageIndexes
{
    /// <summary>The longest path read: deeper nesting than this is refused as a corrupt frame.</summary>
    internal const int MaxDepth = 100;

    /// <summary>Computes the path of a message in its file, root first.</summary>
    /// <param name="message">The message's descriptor.</param>
    /// <returns>The path, for example [0] for the first top-level message or [2, 0, 3] for a nested one.</returns>
    public static int[] PathOf(MessageDescriptor message)
    {
        var path = new List<int>();
        for (var current = message; current is not null; current = current.ContainingType)
        {
            path.Add(current.Index);
        }

        path.Reverse();
        return [.. path];
    }

    /// <summary>Encodes a path as the frame carries it.</summary>
    /// <param name="path">The path, root first; not empty.</param>
    /// <param name="deprecatedFormat">True for plain unsigned varints, false for zig-zag varints.</param>
    /// <returns>The encoded bytes.</returns>
    public static byte[] Encode(ReadOnlySpan<int> path, bool deprecatedFormat)
    {
        if (path is [0])
        {
            return [0];
        }

        var buffer = new List<byte>(1 + (path.Length * 2));
        WriteVarint(buffer, path.Length, deprecatedFormat);
        foreach (var index in path)
        {
            WriteVarint(buffer, index, deprecatedFormat);
        }

        return [.. buffer];
    }

    /// <summary>Reads a path from the bytes after the schema id.</summary>
    /// <param name="data">The bytes after the 5-byte header.</param>
    /// <param name="deprecatedFormat">True for plain unsigned varints, false for zig-zag varints.</param>
    /// <param name="path">The path read, root first.</param>
    /// <param name="consumed">How many bytes the path took.</param>
    /// <param name="error">Why the bytes are not a path, when false is returned.</param>
    /// <returns>True when a path was read.</returns>
    public static bool TryRead(ReadOnlySpan<byte> data, bool deprecatedFormat, out int[] path, out int consumed, out string? error)
    {
        path = [];
        consumed = 0;
        if (!TryReadVarint(data, ref consumed, deprecatedFormat, out var count, out error))
        {
            error = $"message-index count: {error}";
            return false;
        }

        if (count == 0)
        {
            path = [0];
            return true;
        }

        if (count < 0 || count > MaxDepth)
        {
            error = $"message-index count {count} is out of range (1 to {MaxDepth}){(deprecatedFormat ? string.Empty : "; a frame written by confluent-kafka-python before 1.8.2 needs use.deprecated.format=true")}";
            return false;
        }

        path = new int[count];
        for (var i = 0; i < count; i++)
        {
            if (!TryReadVarint(data, ref consumed, deprecatedFormat, out var index, out error))
            {
                error = $"message index {i + 1} of {count}: {error}";
                return false;
            }

            if (index < 0)
            {
                error = $"message index {i + 1} of {count} is negative ({index})";
                return false;
            }

            path[i] = index;
        }

        return true;
    }

    /// <summary>Writes a path as text, for messages: <c>[2, 0, 3]</c>.</summary>
    /// <param name="path">The path.</param>
    /// <returns>The text.</returns>
    public static string Describe(IEnumerable<int> path) => $"[{string.Join(", ", path)}]";

    private static void WriteVarint(List<byte> buffer, int value, bool deprecatedFormat)
    {
        var bits = deprecatedFormat ? (uint)value : (uint)((value << 1) ^ (value >> 31));
        while (bits >= 0x80)
        {
            buffer.Add((byte)(bits | 0x80));
            bits >>= 7;
        }

        buffer.Add((byte)bits);
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int offset, bool deprecatedFormat, out int value, out string? error)
    {
        uint bits = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (offset >= data.Length)
            {
                value = 0;
                error = "the varint is truncated (the frame ends inside it)";
                return false;
            }

            var b = data[offset++];
            if (shift == 28 && (b & 0xF0) != 0)
            {
                value = 0;
                error = "the varint does not fit in 32 bits";
                return false;
            }

            bits |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                value = deprecatedFormat ? (int)bits : (int)(bits >> 1) ^ -(int)(bits & 1);
                error = null;
                return true;
            }
        }

        value = 0;
        error = "the varint is longer than 5 bytes";
        return false;
    }
}

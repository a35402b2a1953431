using System.Buffers.Binary;
using System.Text;

namespace KafkaClient.DevStack;

/// <summary>The few parts of Kafka's wire protocol the dev stack reads or answers itself; every other byte passes unread.</summary>
/// <remarks>Requests and responses are given after their 4-byte size; responses are built with it.</remarks>
internal static class KafkaProtocol
{
    /// <summary>Produce: the one request a broker may leave unanswered (acks=0).</summary>
    public const short ProduceApiKey = 0;

    /// <summary>Metadata: may create the topics it names.</summary>
    public const short MetadataApiKey = 3;

    /// <summary>ApiVersions: the broker's list of requests and versions, to which the dev stack adds CreateTopics.</summary>
    public const short ApiVersionsApiKey = 18;

    /// <summary>CreateTopics, which librdkafka's mock does not implement and the dev stack answers itself.</summary>
    public const short CreateTopicsApiKey = 19;

    /// <summary>The highest CreateTopics version answered: 4, the last without flexible fields (librdkafka asks for 0 to 4; Java clients for 2 or more).</summary>
    public const short CreateTopicsMaxVersion = 4;

    /// <summary>Reads a request's header.</summary>
    /// <param name="request">The request, or at least its first 8 bytes.</param>
    /// <returns>The API key, its version and the correlation id; null when fewer than 8 bytes were given.</returns>
    public static RequestHeader? ReadHeader(ReadOnlySpan<byte> request) =>
        request.Length < 8
            ? null
            : new RequestHeader(BinaryPrimitives.ReadInt16BigEndian(request), BinaryPrimitives.ReadInt16BigEndian(request[2..]), BinaryPrimitives.ReadInt32BigEndian(request[4..]));

    /// <summary>Whether the broker answers a request: all do but a Produce request with acks=0.</summary>
    /// <param name="request">The request, at least up to a Produce request's acks.</param>
    /// <returns>False for a Produce request with acks=0; true otherwise, and when the request cannot be read.</returns>
    public static bool ExpectsResponse(ReadOnlySpan<byte> request)
    {
        try
        {
            var reader = new Reader(request);
            if (reader.Int16() != ProduceApiKey)
            {
                return true;
            }

            var version = reader.Int16();
            _ = reader.Int32(); // correlation id
            reader.SkipClientId(flexible: version >= 9);
            if (version >= 3)
            {
                // transactional_id, a nullable string
                var length = version >= 9 ? (int)reader.UnsignedVarint() - 1 : reader.Int16();
                reader.Skip(Math.Max(length, 0));
            }

            return reader.Int16() != 0;
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or OverflowException)
        {
            return true;
        }
    }

    /// <summary>The topics a Metadata request names and allows the broker to create.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The names; empty when the request is not a Metadata request, allows no creation or cannot be read.</returns>
    public static IReadOnlyList<string> AutoCreatableTopics(ReadOnlySpan<byte> request)
    {
        try
        {
            var reader = new Reader(request);
            if (reader.Int16() != MetadataApiKey)
            {
                return [];
            }

            var version = reader.Int16();
            _ = reader.Int32(); // correlation id
            var flexible = version >= 9;
            reader.SkipClientId(flexible);
            var names = new List<string>();
            var count = flexible ? (int)reader.UnsignedVarint() - 1 : reader.Int32();
            for (var i = 0; i < count; i++)
            {
                if (version >= 10)
                {
                    reader.Skip(16); // topic id
                }

                var length = flexible ? (int)reader.UnsignedVarint() - 1 : reader.Int16();
                if (length > 0)
                {
                    names.Add(reader.Utf8(length));
                }

                if (flexible)
                {
                    reader.SkipTaggedFields();
                }
            }

            // Before version 4 a Metadata request always allows creation.
            var allowAutoTopicCreation = version < 4 || reader.Byte() != 0;
            return allowAutoTopicCreation ? names : [];
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or OverflowException)
        {
            // Not a well-formed request: forward it as it is and let the broker answer.
            return [];
        }
    }

    /// <summary>Reads a CreateTopics request of a version the dev stack answers (0 to 4).</summary>
    /// <param name="request">The whole request.</param>
    /// <returns>The request; null when it is not one, is of another version or cannot be read.</returns>
    public static CreateTopicsRequest? ReadCreateTopics(ReadOnlySpan<byte> request)
    {
        try
        {
            var reader = new Reader(request);
            var header = new RequestHeader(reader.Int16(), reader.Int16(), reader.Int32());
            if (header.ApiKey != CreateTopicsApiKey || header.ApiVersion is < 0 or > CreateTopicsMaxVersion)
            {
                return null;
            }

            reader.SkipClientId(flexible: false);
            var topics = new List<NewTopic>();
            for (var count = reader.Int32(); topics.Count < count;)
            {
                var name = reader.String() ?? string.Empty;
                var partitions = reader.Int32();
                var replicationFactor = reader.Int16();
                var assignments = reader.Int32();
                for (var i = 0; i < assignments; i++)
                {
                    _ = reader.Int32(); // partition
                    reader.Skip(checked(4 * Math.Max(reader.Int32(), 0))); // its brokers
                }

                var configs = new List<KeyValuePair<string, string?>>();
                for (var i = reader.Int32(); i > 0; i--)
                {
                    configs.Add(new(reader.String() ?? string.Empty, reader.String()));
                }

                topics.Add(new NewTopic(name, partitions, replicationFactor, assignments > 0, configs));
            }

            _ = reader.Int32(); // timeout_ms: creating takes no time here
            var validateOnly = header.ApiVersion >= 1 && reader.Byte() != 0;
            return new CreateTopicsRequest(header, topics, validateOnly);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>Writes the response to a CreateTopics request.</summary>
    /// <param name="header">The request's header.</param>
    /// <param name="results">Each topic's outcome, in the request's order.</param>
    /// <returns>The response, its size first.</returns>
    public static byte[] CreateTopicsResponse(RequestHeader header, IReadOnlyList<CreateTopicResult> results)
    {
        var writer = new Writer();
        writer.Int32(header.CorrelationId);
        if (header.ApiVersion >= 2)
        {
            writer.Int32(0); // throttle_time_ms
        }

        writer.Int32(results.Count);
        foreach (var result in results)
        {
            writer.String(result.Name);
            writer.Int16(result.ErrorCode);
            if (header.ApiVersion >= 1)
            {
                writer.String(result.ErrorMessage);
            }
        }

        return writer.ToFrame();
    }

    /// <summary>Adds CreateTopics, versions 0 to <see cref="CreateTopicsMaxVersion"/>, to a successful ApiVersions response.</summary>
    /// <param name="response">The whole response.</param>
    /// <param name="requestVersion">The version of the ApiVersions request it answers.</param>
    /// <returns>The new response, its size first; null when the response is an error or cannot be read (it is then forwarded as it is).</returns>
    public static byte[]? WithCreateTopics(ReadOnlySpan<byte> response, short requestVersion)
    {
        try
        {
            // The response header of ApiVersions is always version 0 (the correlation id alone), whatever the request's version.
            var reader = new Reader(response);
            _ = reader.Int32();
            if (reader.Int16() != 0)
            {
                return null;
            }

            var flexible = requestVersion >= 3;
            var countAt = reader.Position;
            var count = flexible ? (int)reader.UnsignedVarint() - 1 : reader.Int32();
            var apis = new List<(short Key, byte[] Entry)>();
            for (var i = 0; i < count; i++)
            {
                var start = reader.Position;
                var key = reader.Int16();
                reader.Skip(4); // min and max version
                if (flexible)
                {
                    reader.SkipTaggedFields();
                }

                apis.Add((key, response[start..reader.Position].ToArray()));
            }

            var rest = response[reader.Position..];
            var createTopics = new Writer();
            createTopics.Int16(CreateTopicsApiKey);
            createTopics.Int16(0);
            createTopics.Int16(CreateTopicsMaxVersion);
            if (flexible)
            {
                createTopics.UnsignedVarint(0); // no tagged fields
            }

            apis.RemoveAll(a => a.Key == CreateTopicsApiKey);
            apis.Add((CreateTopicsApiKey, createTopics.ToArray()));
            apis.Sort((a, b) => a.Key.CompareTo(b.Key));

            var writer = new Writer();
            writer.Bytes(response[..countAt]);
            if (flexible)
            {
                writer.UnsignedVarint((uint)apis.Count + 1);
            }
            else
            {
                writer.Int32(apis.Count);
            }

            foreach (var (_, entry) in apis)
            {
                writer.Bytes(entry);
            }

            writer.Bytes(rest);
            return writer.ToFrame();
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>Reads Kafka's big-endian and varint encodings; reading past the end throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public int Position { get; private set; }

        public byte Byte() => Take(1)[0];

        public short Int16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

        public uint UnsignedVarint()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                value |= (uint)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            throw new ArgumentOutOfRangeException(nameof(data), "A varint longer than 5 bytes.");
        }

        public string Utf8(int length) => Encoding.UTF8.GetString(Take(length));

        /// <summary>A nullable string of a non-flexible version: a 16-bit length (-1: null), then UTF-8.</summary>
        public string? String()
        {
            var length = Int16();
            return length < 0 ? null : Utf8(length);
        }

        public void Skip(int length) => Take(length);

        /// <summary>The request header's client id, and its tagged fields in a flexible version (header version 2).</summary>
        public void SkipClientId(bool flexible)
        {
            Skip(Math.Max((int)Int16(), 0));
            if (flexible)
            {
                SkipTaggedFields();
            }
        }

        public void SkipTaggedFields()
        {
            var count = UnsignedVarint();
            for (var i = 0u; i < count; i++)
            {
                _ = UnsignedVarint(); // tag
                Skip(checked((int)UnsignedVarint()));
            }
        }

        private ReadOnlySpan<byte> Take(int length)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _data.Length - Position);
            var taken = _data.Slice(Position, length);
            Position += length;
            return taken;
        }
    }

    /// <summary>Writes Kafka's big-endian and varint encodings.</summary>
    private sealed class Writer
    {
        private readonly MemoryStream _buffer = new();

        public void Int16(short value)
        {
            Span<byte> bytes = stackalloc byte[2];
            BinaryPrimitives.WriteInt16BigEndian(bytes, value);
            _buffer.Write(bytes);
        }

        public void Int32(int value)
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(bytes, value);
            _buffer.Write(bytes);
        }

        public void UnsignedVarint(uint value)
        {
            while (value >= 0x80)
            {
                _buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            _buffer.WriteByte((byte)value);
        }

        /// <summary>A nullable string of a non-flexible version.</summary>
        public void String(string? value)
        {
            if (value is null)
            {
                Int16(-1);
                return;
            }

            var bytes = Encoding.UTF8.GetBytes(value);
            Int16(checked((short)bytes.Length));
            _buffer.Write(bytes);
        }

        public void Bytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

        public byte[] ToArray() => _buffer.ToArray();

        /// <summary>What was written, after its 4-byte size.</summary>
        public byte[] ToFrame()
        {
            var frame = new byte[4 + _buffer.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, (int)_buffer.Length);
            _buffer.GetBuffer().AsSpan(0, (int)_buffer.Length).CopyTo(frame.AsSpan(4));
            return frame;
        }
    }
}

/// <summary>A request's header.</summary>
/// <param name="ApiKey">What is asked.</param>
/// <param name="ApiVersion">The version of the request.</param>
/// <param name="CorrelationId">The id its response carries.</param>
internal readonly record struct RequestHeader(short ApiKey, short ApiVersion, int CorrelationId);

/// <summary>A CreateTopics request.</summary>
/// <param name="Header">Its header.</param>
/// <param name="Topics">The topics to create.</param>
/// <param name="ValidateOnly">Only check that they could be created.</param>
internal sealed record CreateTopicsRequest(RequestHeader Header, IReadOnlyList<NewTopic> Topics, bool ValidateOnly);

/// <summary>A topic a CreateTopics request asks for.</summary>
/// <param name="Name">The name.</param>
/// <param name="Partitions">The partitions; -1 for the broker's default.</param>
/// <param name="ReplicationFactor">The replication factor; -1 for the broker's default.</param>
/// <param name="HasAssignments">Whether replicas were placed by hand.</param>
/// <param name="Configs">Topic configs.</param>
internal sealed record NewTopic(string Name, int Partitions, short ReplicationFactor, bool HasAssignments, IReadOnlyList<KeyValuePair<string, string?>> Configs);

/// <summary>The outcome for one topic of a CreateTopics request.</summary>
/// <param name="Name">The topic.</param>
/// <param name="ErrorCode">0, or Kafka's error code.</param>
/// <param name="ErrorMessage">Why, or null.</param>
internal sealed record CreateTopicResult(string Name, short ErrorCode, string? ErrorMessage);

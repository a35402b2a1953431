using System.Diagnostics;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Testing;
using KafkaClient.Tests.Protos.Attack;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using Node = KafkaClient.Tests.Protos.Attack.Node;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using Value = Google.Protobuf.WellKnownTypes.Value;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>
/// Attacks on <see cref="ProtobufDeserializer{T}"/> and <see cref="ProtobufJsonDeserializer"/> with hand-made and mutated
/// frames: every failure must be a <see cref="ProtobufSerdeException"/> and no call may hang; and what the untyped
/// decoder reads must be what Google.Protobuf's JsonFormatter writes for the message the typed deserializer reads.
/// </summary>
public sealed class ProtobufDeserializerAttackTests : IAsyncLifetime
{
    private static readonly SerializationContext Context = new(MessageComponentType.Value, "zoo");
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private EmbeddedSchemaRegistry _registry = null!;
    private CachedSchemaRegistryClient _client = null!;
    private byte[] _animalHeader = null!;
    private byte[] _nodeHeader = null!;
    private byte[] _sample = null!;

    public async Task InitializeAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync();
        _client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url, MaxRetries = 1 });
        _sample = await new ProtobufSerializer<Animal>(_client).SerializeAsync(Sample(), Context);
        _animalHeader = _sample[..6]; // magic byte, id, path [0]
        var node = await new ProtobufSerializer<Node>(_client).SerializeAsync(new Node { Label = "x" }, Context);
        _nodeHeader = node[..^3]; // the payload is field 4 "x": 3 bytes; the path [1] is 2 bytes
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry.DisposeAsync();
    }

    // ---- Wire-format helpers ----

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    private static byte[] Tag(int field, int wireType) => Varint((ulong)((field << 3) | wireType));

    private static byte[] Len(int field, byte[] body) => [.. Tag(field, 2), .. Varint((ulong)body.Length), .. body];

    /// <summary>The leaf inside <paramref name="depth"/> levels of field 1, written outside in (no copy per level).</summary>
    private static byte[] Nest(int depth, byte[] leaf)
    {
        var sizes = new long[depth];
        long inner = leaf.Length;
        for (var i = depth - 1; i >= 0; i--)
        {
            sizes[i] = inner;
            inner += Tag(1, 2).Length + Varint((ulong)inner).Length;
        }

        var bytes = new List<byte>();
        foreach (var size in sizes)
        {
            bytes.AddRange(Tag(1, 2));
            bytes.AddRange(Varint((ulong)size));
        }

        bytes.AddRange(leaf);
        return [.. bytes];
    }

    private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private static Animal Sample() => new()
    {
        Name = "Leo",
        Species = Species.Lion,
        Scores = { ["speed"] = 9 },
        TagsById = { [42L] = new Animal.Types.Tag { Key = "k", Serial = 5, Color = Animal.Types.Tag.Types.Color.Blue } },
        TankNumber = 3,
        Weights = { 1, 2, 300 },
        Temps = { 36.6 },
        SeenWith = { Species.Otter },
        Born = new Timestamp { Seconds = 86_400, Nanos = 5 },
        FeedingInterval = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
        Age = 5,
        Nickname = "n",
        Extra = new Struct { Fields = { ["a"] = Value.ForNumber(1), ["b"] = Value.ForList(Value.ForString("x")) } },
        Legs = 4,
        Photo = ByteString.CopyFrom(1, 2),
        Height = 1.5f,
        Big = 7,
        Delta = -3,
        F64 = 9,
        AnyValue = Value.ForString("s"),
        Fed = true,
        AllTags = { new Animal.Types.Tag { Key = "t" } },
        Values = { ["v"] = Value.ForBool(true) },
        Times = { ["t"] = new Timestamp { Seconds = 1 } },
        Counts = { ["c"] = 3 },
        Mask = new FieldMask { Paths = { "name", "tank_number" } },
        Ratios = { 0.5f },
    };

    /// <summary>Runs a deserializer call within <see cref="Bound"/>; returns the failure, if any.</summary>
    private static async Task<Exception?> FailureOf(Func<Task> call)
    {
        var task = Task.Run(call);
        if (await Task.WhenAny(task, Task.Delay(Bound)) != task)
        {
            return new TimeoutException($"The call did not end within {Bound}.");
        }

        try
        {
            await task;
            return null;
        }
#pragma warning disable CA1031 // Any exception is what the test looks at.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return ex;
        }
    }

    private static string Describe(Exception? failure) => failure is null ? "no failure" : $"{failure.GetType().Name}: {failure.Message}\n{failure.StackTrace}";

    // ---- Every failure is typed ----

    [Fact]
    public async Task Typed_deserializer_fails_typed_on_a_wrapper_field_cut_short()
    {
        // Field 13 (google.protobuf.Int32Value age), length 2, and the frame ends: Google.Protobuf's wrapper reader throws
        // InvalidOperationException ("SkipLastField cannot be called at the end of a stream"), not InvalidProtocolBufferException.
        byte[] frame = [.. _animalHeader, .. Tag(13, 2), 2];
        var failure = await FailureOf(() => new ProtobufDeserializer<Animal>(_client).DeserializeAsync(frame, false, Context));
        var typed = Assert.IsType<ProtobufSerdeException>(failure, exactMatch: false);
        Assert.Equal(ProtobufSerdeFailure.MalformedPayload, typed.Failure);
    }

    public static TheoryData<string, string> WellKnownValuesJsonCannotHold() => new()
    {
        // field 11 Timestamp: seconds beyond year 9999, or nanos beyond a second; field 12 Duration beyond 10,000 years;
        // field 23 Value with no kind set; field 15 Struct with an empty key; field 30 FieldMask with a path that is not snake_case.
        { "timestamp seconds out of range", Convert.ToHexString(Len(11, [.. Tag(1, 0), .. Varint(ulong.MaxValue >> 1)])) },
        { "timestamp nanos out of range", Convert.ToHexString(Len(11, [.. Tag(2, 0), .. Varint(2_000_000_000)])) },
        { "duration out of range", Convert.ToHexString(Len(12, [.. Tag(1, 0), .. Varint(1UL << 62)])) },
        { "value without a kind", Convert.ToHexString(Len(23, [])) },
        { "struct with an empty key", Convert.ToHexString(Len(15, Len(1, [.. Len(1, []), .. Len(2, [.. Tag(4, 0), 1])]))) },
        { "field mask that JSON cannot name", Convert.ToHexString(Len(30, Len(1, Utf8("fooBar")))) },
    };

    [Theory]
    [MemberData(nameof(WellKnownValuesJsonCannotHold))]
    public async Task Json_deserializer_fails_typed_on_a_well_known_value_that_json_cannot_hold(string what, string payloadHex)
    {
        // Valid Protobuf (the typed deserializer reads it), but Google.Protobuf's JsonFormatter refuses the value with an
        // InvalidOperationException, which the untyped decoder lets through.
        byte[] frame = [.. _animalHeader, .. Convert.FromHexString(payloadHex)];
        Assert.Null(await FailureOf(() => new ProtobufDeserializer<Animal>(_client).DeserializeAsync(frame, false, Context)));
        var failure = await FailureOf(() => new ProtobufJsonDeserializer(_client).DeserializeAsync(frame, false, Context));
        Assert.True(failure is ProtobufSerdeException { Failure: ProtobufSerdeFailure.MalformedPayload }, $"{what}: {Describe(failure)}");
    }

    [Fact]
    public async Task Mutated_frames_fail_only_with_ProtobufSerdeException_and_never_hang()
    {
        var typed = new ProtobufDeserializer<Animal>(_client);
        var json = new ProtobufJsonDeserializer(_client);
        var random = new Random(20260511);
        var untyped = new Dictionary<string, string>(StringComparer.Ordinal);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 4000; i++)
        {
            var frame = Mutate(random);
            foreach (var (name, call) in new (string, Func<Task>)[]
            {
                ("ProtobufDeserializer", () => typed.DeserializeAsync(frame, false, Context)),
                ("ProtobufJsonDeserializer", () => json.DeserializeAsync(frame, false, Context)),
            })
            {
                var failure = await FailureOf(call);
                if (failure is not null and not ProtobufSerdeException)
                {
                    untyped.TryAdd($"{name}: {failure.GetType().Name}", $"{Convert.ToHexString(frame)}: {failure.Message}");
                }
            }
        }

        Assert.True(untyped.Count == 0, string.Join("\n", untyped.Select(p => $"{p.Key} for {p.Value}")));
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), $"8000 calls took {watch.Elapsed}");
    }

    private byte[] Mutate(Random random)
    {
        var frame = (byte[])_sample.Clone();
        switch (random.Next(6))
        {
            case 0:
                // Random bytes after the header.
                var tail = new byte[random.Next(0, 64)];
                random.NextBytes(tail);
                return [.. _animalHeader, .. tail];
            case 1:
                // Flipped bits in the index path and the payload.
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    frame[random.Next(5, frame.Length)] ^= (byte)(1 << random.Next(8));
                }

                return frame;
            case 2:
                // A run of 0xFF (huge or endless varints) inserted anywhere after the id.
                var at = random.Next(5, frame.Length);
                return [.. frame[..at], .. Enumerable.Repeat((byte)0xFF, random.Next(1, 12)), .. frame[at..]];
            case 3:
                // Cut short.
                return frame[..random.Next(5, frame.Length)];
            case 4:
                // Bytes overwritten.
                for (var n = 0; n < 8; n++)
                {
                    frame[random.Next(5, frame.Length)] = (byte)random.Next(256);
                }

                return frame;
            default:
                // A random index path, then random bytes.
                var path = new byte[random.Next(0, 8)];
                random.NextBytes(path);
                var payload = new byte[random.Next(0, 40)];
                random.NextBytes(payload);
                return [.. frame[..5], .. path, .. payload];
        }
    }

    [Fact]
    public async Task Deep_nesting_is_refused_typed_and_fast_by_both_deserializers()
    {
        foreach (var depth in new[] { 100, 101, 5_000, 200_000 })
        {
            byte[] frame = [.. _nodeHeader, .. Nest(depth, Len(4, Utf8("leaf")))];
            var typed = await FailureOf(() => new ProtobufDeserializer<Node>(_client).DeserializeAsync(frame, false, Context));
            var json = await FailureOf(() => new ProtobufJsonDeserializer(_client).DeserializeAsync(frame, false, Context));
            if (depth <= 100)
            {
                Assert.Null(typed);
                Assert.Null(json);
            }
            else
            {
                Assert.True(typed is ProtobufSerdeException { Failure: ProtobufSerdeFailure.MalformedPayload }, $"{depth}: {Describe(typed)}");
                Assert.True(json is ProtobufSerdeException { Failure: ProtobufSerdeFailure.MalformedPayload }, $"{depth}: {Describe(json)}");
            }
        }
    }

    // ---- The untyped decoder reads what the typed deserializer reads ----

    public static TheoryData<string, string> Payloads() => new()
    {
        // What held up: the two deserializers agree on these.
        { "the sample", string.Empty },
        { "unknown enum number", Convert.ToHexString([.. Tag(2, 0), .. Varint(12345)]) },
        { "negative enum number", Convert.ToHexString([.. Tag(2, 0), .. Varint(ulong.MaxValue)]) },
        { "unknown enum in a packed repeated field", Convert.ToHexString([.. Tag(10, 2), 2, 2, 77]) },
        { "packed and unpacked occurrences of one repeated field", Convert.ToHexString([.. Tag(8, 2), 2, 5, 6, .. Tag(8, 0), 7]) },
        { "map entry without a key", Convert.ToHexString(Len(3, [.. Tag(2, 0), 1])) },
        { "map entry without a value", Convert.ToHexString(Len(4, [.. Tag(1, 0), 3])) },
        { "map entry with its fields reversed", Convert.ToHexString(Len(3, [.. Tag(2, 0), 4, .. Len(1, Utf8("k"))])) },
        { "map key repeated: the last entry wins", Convert.ToHexString([.. Len(3, [.. Len(1, Utf8("k")), .. Tag(2, 0), 1]), .. Len(3, [.. Len(1, Utf8("k")), .. Tag(2, 0), 2])]) },
        { "unknown fields of every wire type", Convert.ToHexString([.. Tag(99, 0), 1, .. Tag(98, 1), 1, 2, 3, 4, 5, 6, 7, 8, .. Len(97, [1, 2]), .. Tag(96, 5), 1, 2, 3, 4, .. Tag(95, 3), .. Tag(1, 0), 1, .. Tag(95, 4), .. Len(1, Utf8("n"))]) },
        { "a scalar repeated: the last wins", Convert.ToHexString([.. Len(1, Utf8("a")), .. Len(1, Utf8("b"))]) },

        // Defects: the untyped decoder disagrees.
        { "two members of one oneof: the last wins", Convert.ToHexString([.. Len(5, Utf8("pen")), .. Tag(6, 0), 7]) },
        { "a singular message field twice: the occurrences merge", Convert.ToHexString([.. Len(7, Len(1, Utf8("a"))), .. Len(7, [.. Tag(2, 0), 9])]) },
        { "a well-known field twice: the occurrences merge", Convert.ToHexString([.. Len(11, [.. Tag(1, 0), 5]), .. Len(11, [.. Tag(2, 0), 7])]) },
        { "an int32 field sent length-delimited: unknown, not a value", Convert.ToHexString([.. Tag(6, 2), 8, .. Len(1, Utf8("hacked"))]) },
        { "a string field sent as a varint: unknown", Convert.ToHexString([.. Tag(1, 0), 5, .. Tag(20, 0), 1]) },
        { "an enum field sent as fixed32: unknown", Convert.ToHexString([.. Tag(2, 5), 1, 0, 0, 0, .. Tag(20, 0), 1]) },
        { "a message field sent as a varint: unknown", Convert.ToHexString([.. Tag(7, 0), 3, .. Tag(20, 0), 1]) },
        { "a float", Convert.ToHexString([.. Tag(19, 5), .. BitConverter.GetBytes(0.1f)]) },
        { "packed floats", Convert.ToHexString([.. Tag(31, 2), 8, .. BitConverter.GetBytes(1.1f), .. BitConverter.GetBytes(3.3f)]) },
        { "a map value google.protobuf.Value holding null", Convert.ToHexString(Len(27, [.. Len(1, Utf8("k")), .. Len(2, [.. Tag(1, 0), 0])])) },
        { "a map value google.protobuf.Timestamp left out", Convert.ToHexString(Len(28, Len(1, Utf8("k")))) },
        { "a map value google.protobuf.Int32Value left out", Convert.ToHexString(Len(29, Len(1, Utf8("k")))) },
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public async Task The_untyped_decoder_writes_what_googles_json_formatter_writes_for_the_typed_message(string what, string payloadHex)
    {
        byte[] frame = payloadHex.Length == 0 ? _sample : [.. _animalHeader, .. Convert.FromHexString(payloadHex)];
        var message = await new ProtobufDeserializer<Animal>(_client).DeserializeAsync(frame, false, Context);
        var expected = new JsonObject { ["@type"] = $"type.googleapis.com/{Animal.Descriptor.FullName}" };
        foreach (var (name, value) in JsonNode.Parse(JsonFormatter.Default.Format(message))!.AsObject().ToList())
        {
            expected[name] = value?.DeepClone();
        }

        JsonNode? actual = null;
        var failure = await FailureOf(async () => actual = await new ProtobufJsonDeserializer(_client).DeserializeAsync(frame, false, Context));
        Assert.True(failure is null, $"{what}: the typed deserializer reads {expected.ToJsonString()}, the untyped one fails: {Describe(failure)}");
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{what}:\n expected {expected.ToJsonString()}\n actual   {actual?.ToJsonString()}");
    }

    [Fact]
    public async Task A_proto2_group_is_decoded_not_dropped()
    {
        // Confluent's registry and this library's parser take proto2 groups; the untyped decoder skips their bytes.
        var id = await _client.RegisterSchemaAsync("groups-value", new Schema("syntax = \"proto2\"; message M { optional group G = 1 { optional int32 a = 2; } optional int32 b = 3; }", SchemaType.Protobuf));
        byte[] frame = [0, (byte)(id >> 24), (byte)(id >> 16), (byte)(id >> 8), (byte)id, 0, .. Tag(1, 3), .. Tag(2, 0), 5, .. Tag(1, 4), .. Tag(3, 0), 7];
        var json = await new ProtobufJsonDeserializer(_client).DeserializeAsync(frame, false, Context);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"@type":"type.googleapis.com/M","g":{"a":5},"b":7}"""), json), json.ToJsonString());
    }

    [Fact]
    public async Task Invalid_utf8_fails_typed_in_both_deserializers()
    {
        foreach (var payload in new[] { Len(1, [0xC3, 0x28]), Len(3, [.. Len(1, [0xFF]), .. Tag(2, 0), 1]), Len(7, Len(1, [0xED, 0xA0, 0x80])) })
        {
            byte[] frame = [.. _animalHeader, .. payload];
            var typed = await FailureOf(() => new ProtobufDeserializer<Animal>(_client).DeserializeAsync(frame, false, Context));
            var json = await FailureOf(() => new ProtobufJsonDeserializer(_client).DeserializeAsync(frame, false, Context));
            Assert.True(typed is ProtobufSerdeException { Failure: ProtobufSerdeFailure.MalformedPayload }, Describe(typed));
            Assert.True(json is ProtobufSerdeException { Failure: ProtobufSerdeFailure.MalformedPayload }, Describe(json));
        }
    }
}

using System.Buffers.Binary;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Google.Protobuf;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Testing;
using KafkaClient.Tests.Protos;
using KafkaClient.Tests.Protos.Indexes;
using KafkaClient.Tests.Protos.Orders;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The Protobuf serdes against the embedded registry over loopback HTTP: golden bytes, references, every kind of bad frame.</summary>
public sealed class ProtobufSerdeUnitTests : IAsyncLifetime
{
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "orders");
    private EmbeddedSchemaRegistry _registry = null!;
    private CachedSchemaRegistryClient _client = null!;

    public async Task InitializeAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync();
        _client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url, MaxRetries = 1 });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry.DisposeAsync();
    }

    [Theory]
    [InlineData(new[] { 0 }, new byte[] { 0 }, new byte[] { 0 })]
    [InlineData(new[] { 1 }, new byte[] { 2, 2 }, new byte[] { 1, 1 })]
    [InlineData(new[] { 0, 1 }, new byte[] { 4, 0, 2 }, new byte[] { 2, 0, 1 })]
    [InlineData(new[] { 2, 0, 3 }, new byte[] { 6, 4, 0, 6 }, new byte[] { 3, 2, 0, 3 })]
    [InlineData(new[] { 70 }, new byte[] { 2, 0x8C, 0x01 }, new byte[] { 1, 70 })]
    public void Index_paths_encode_as_confluent_and_python_17_write_them(int[] path, byte[] zigzag, byte[] deprecated)
    {
        Assert.Equal(zigzag, MessageIndexes.Encode(path, deprecatedFormat: false));
        Assert.Equal(deprecated, MessageIndexes.Encode(path, deprecatedFormat: true));
        foreach (var (bytes, old) in new[] { (zigzag, false), (deprecated, true) })
        {
            Assert.True(MessageIndexes.TryRead([.. bytes, 0xAA], old, out var read, out var consumed, out var error), error);
            Assert.Equal(path, read);
            Assert.Equal(bytes.Length, consumed);
        }
    }

    [Fact]
    public void The_two_encodings_agree_only_for_the_first_message()
    {
        // Read in the other encoding, [1] is no path at all (zig-zag count 1 is -1) or a different one.
        Assert.False(MessageIndexes.TryRead([1, 1], deprecatedFormat: false, out _, out _, out var error));
        Assert.Contains("use.deprecated.format=true", error, StringComparison.Ordinal);
        Assert.True(MessageIndexes.TryRead([2, 2, 0x0A], deprecatedFormat: true, out var misread, out _, out _));
        Assert.Equal([2, 10], misread);
    }

    [Fact]
    public void Paths_of_generated_messages_follow_their_place_in_the_file()
    {
        Assert.Equal([0], MessageIndexes.PathOf(First.Descriptor));
        Assert.Equal([1], MessageIndexes.PathOf(Second.Descriptor));
        Assert.Equal([0, 1], MessageIndexes.PathOf(First.Types.Inner1.Descriptor));
        Assert.Equal([2, 0, 3], MessageIndexes.PathOf(Third.Types.A.Types.B3.Descriptor));
        Assert.Equal([3], MessageIndexes.PathOf(Empty.Descriptor));
    }

    [Theory]
    [InlineData(new byte[] { 0x80 }, "truncated")]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x7F }, "32 bits")]
    [InlineData(new byte[] { 0xCA, 0x01 }, "out of range")] // a count of 101 (zig-zag 202)
    [InlineData(new byte[] { 2, 1 }, "negative")]
    [InlineData(new byte[] { 4, 2 }, "truncated")]
    public void Corrupt_paths_are_refused_with_the_reason(byte[] bytes, string reason)
    {
        Assert.False(MessageIndexes.TryRead(bytes, deprecatedFormat: false, out _, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_is_framed_as_confluent_frames_it()
    {
        var user = new User { Name = "Ada", FavoriteNumber = 42, FavoriteColor = "blue" };
        var bytes = await new ProtobufSerializer<User>(_client).SerializeAsync(user, Value);

        var id = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1));
        Assert.Equal([0, .. bytes[1..5], 0, .. user.ToByteArray()], bytes);
        var registered = await _client.GetSchemaAsync(id, "serialized");
        Assert.Equal(SchemaType.Protobuf, registered.SchemaType);
        Assert.Equal(User.Descriptor.File.SerializedData.ToBase64(), registered.SchemaString);
        Assert.Equal(id, (await _client.GetLatestSchemaAsync("orders-value")).Id);
    }

    [Fact]
    public async Task Nested_second_and_empty_messages_carry_their_paths()
    {
        var nested = await new ProtobufSerializer<First.Types.Inner1>(_client).SerializeAsync(new First.Types.Inner1 { X = 7 }, new SerializationContext(MessageComponentType.Value, "nested"));
        Assert.Equal(new byte[] { 4, 0, 2, 0x08, 7 }, nested[5..]);
        var deep = await new ProtobufSerializer<Third.Types.A.Types.B3>(_client).SerializeAsync(new Third.Types.A.Types.B3 { V = "x" }, new SerializationContext(MessageComponentType.Value, "deep"));
        Assert.Equal(new byte[] { 6, 4, 0, 6, 0x0A, 1, (byte)'x' }, deep[5..]);
        var empty = await new ProtobufSerializer<Empty>(_client).SerializeAsync(new Empty(), new SerializationContext(MessageComponentType.Value, "empty"));
        Assert.Equal(new byte[] { 2, 6 }, empty[5..]);
        Assert.Equal(new Empty(), await new ProtobufDeserializer<Empty>(_client).DeserializeAsync(empty, false, Value));
        Assert.Equal("x", (await new ProtobufDeserializer<Third.Types.A.Types.B3>(_client).DeserializeAsync(deep, false, Value)).V);
    }

    [Fact]
    public async Task Messages_round_trip_and_tombstones_stay_null()
    {
        var order = new Order { Id = "o-1", PlacedAt = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 1_700_000_000 }, Total = new Protos.Common.Money { Currency = "EUR", Units = 12 } };
        order.Lines.Add(new Order.Types.Line { Sku = "sku", Quantity = 2 });
        var bytes = await new ProtobufSerializer<Order>(_client).SerializeAsync(order, Value);
        var deserializer = new ProtobufDeserializer<Order>(_client);
        Assert.Equal(order, await deserializer.DeserializeAsync(bytes, false, Value));
        Assert.Null(await new ProtobufSerializer<Order>(_client).SerializeAsync(null!, Value));
        Assert.Null(await deserializer.DeserializeAsync(ReadOnlyMemory<byte>.Empty, true, Value));
    }

    [Fact]
    public async Task Imports_are_registered_first_as_references_and_well_known_types_are_skipped()
    {
        var before = _registry.RequestCount;
        var serializer = new ProtobufSerializer<Order>(_client);
        var bytes = await serializer.SerializeAsync(new Order { Id = "1" }, Value);
        _ = await serializer.SerializeAsync(new Order { Id = "2" }, Value);
        var requests = _registry.RequestCount - before;

        var schema = await _client.GetSchemaAsync(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
        var reference = Assert.Single(schema.References);
        Assert.Equal(("common/money.proto", "common/money.proto", 1), (reference.Name, reference.Subject, reference.Version));
        var money = await _client.GetLatestSchemaAsync("common/money.proto");
        Assert.Equal(ProtobufSchema.Parse(Protos.Common.Money.Descriptor.File.SerializedData.ToBase64()).Canonical, ProtobufSchema.Parse(money.SchemaString).Canonical); // served as .proto text
        Assert.DoesNotContain("google/protobuf/timestamp.proto", await _client.GetAllSubjectsAsync());

        // Register and look up the import, then register the file: the second value asks nothing.
        Assert.Equal(3, requests);
    }

    [Fact]
    public async Task Known_types_are_registered_when_asked_and_reference_subjects_can_be_qualified()
    {
        var config = new ProtobufSerdeConfig(new Dictionary<string, string> { ["skip.known.types"] = "false", ["reference.subject.name.strategy"] = "qualified" });
        var bytes = await new ProtobufSerializer<Order>(_client, config).SerializeAsync(new Order { Id = "1" }, new SerializationContext(MessageComponentType.Value, "qualified"));
        var schema = await _client.GetSchemaAsync(BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));
        Assert.Equal(
            [("google/protobuf/timestamp.proto", "google.protobuf.timestamp"), ("common/money.proto", "common.money")],
            schema.References.Select(r => (r.Name, r.Subject)));
    }

    [Fact]
    public async Task Deprecated_format_is_written_and_read_and_the_current_reader_says_why_it_fails()
    {
        var old = new ProtobufSerdeConfig(new Dictionary<string, string> { ["use.deprecated.format"] = "true" });
        var bytes = await new ProtobufSerializer<Second>(_client, old).SerializeAsync(new Second { S = "v" }, Value);
        Assert.Equal(new byte[] { 1, 1 }, bytes[5..7]);
        Assert.Equal("v", (await new ProtobufDeserializer<Second>(_client, old).DeserializeAsync(bytes, false, Value)).S);

        var ex = await Assert.ThrowsAsync<ProtobufSerdeException>(() => new ProtobufDeserializer<Second>(_client).DeserializeAsync(bytes, false, Value));
        Assert.Equal(ProtobufSerdeFailure.InvalidFrame, ex.Failure);
        Assert.Contains("use.deprecated.format=true", ex.Message, StringComparison.Ordinal);

        // [0] is one byte 0 in both encodings.
        var first = await new ProtobufSerializer<First>(_client, old).SerializeAsync(new First { Name = "n" }, Value);
        Assert.Equal("n", (await new ProtobufDeserializer<First>(_client).DeserializeAsync(first, false, Value)).Name);
    }

    [Fact]
    public async Task Bad_frames_fail_typed_and_say_what_is_wrong()
    {
        var good = await new ProtobufSerializer<Second>(_client).SerializeAsync(new Second { S = "v" }, Value);
        var id = good[1..5];
        var deserializer = new ProtobufDeserializer<Second>(_client);

        async Task<ProtobufSerdeException> Fails(byte[] frame, ProtobufSerdeFailure failure)
        {
            var ex = await Assert.ThrowsAsync<ProtobufSerdeException>(() => deserializer.DeserializeAsync(frame, false, Value));
            Assert.Equal(failure, ex.Failure);
            Assert.False(ex.IsRetriable);
            return ex;
        }

        Assert.Contains("magic byte", (await Fails([1, .. id, 2, 2], ProtobufSerdeFailure.InvalidFrame)).Message, StringComparison.Ordinal);
        _ = await Fails([0, 0, 0], ProtobufSerdeFailure.InvalidFrame);
        Assert.Contains("truncated", (await Fails([0, .. id, 0x80], ProtobufSerdeFailure.InvalidFrame)).Message, StringComparison.Ordinal);
        Assert.Contains("[7]", (await Fails([0, .. id, 2, 14], ProtobufSerdeFailure.InvalidFrame)).Message, StringComparison.Ordinal);
        Assert.Contains("kafkaclient.tests.indexes.First", (await Fails([0, .. id, 0, 0x0A, 1, (byte)'n'], ProtobufSerdeFailure.ReaderMismatch)).Message, StringComparison.Ordinal);
        _ = await Fails([0, .. id, 2, 2, 0x0A, 0x05, (byte)'a'], ProtobufSerdeFailure.MalformedPayload);
        var unknown = await Fails([0, 0, 0, 0x7F, 0x7F, 2, 2], ProtobufSerdeFailure.UnknownSchema);
        Assert.Equal(0x7F7F, unknown.SchemaId);
        Assert.Equal("v", (await deserializer.DeserializeAsync(good, false, Value)).S);
    }

    [Fact]
    public async Task A_registry_that_is_down_is_retriable_and_nothing_is_remembered()
    {
        var registry = await EmbeddedSchemaRegistry.StartAsync();
        var url = registry.Url;
        await registry.DisposeAsync();
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = url, MaxRetries = 1, RequestTimeoutMs = 2000 });
        var ex = await Assert.ThrowsAsync<ProtobufSerdeException>(() => new ProtobufSerializer<User>(client).SerializeAsync(new User { Name = "a" }, Value));
        Assert.Equal(ProtobufSerdeFailure.RegistryUnavailable, ex.Failure);
        Assert.True(ex.IsRetriable);
        var read = await Assert.ThrowsAsync<ProtobufSerdeException>(() => new ProtobufDeserializer<User>(client).DeserializeAsync(new byte[] { 0, 0, 0, 0, 1, 0 }, false, Value));
        Assert.True(read.IsRetriable);
    }

    [Fact]
    public void Config_takes_confluents_keys_and_refuses_unknown_ones_by_name()
    {
        var defaults = ProtobufSerdeConfig.Default;
        Assert.True(defaults.SkipKnownTypes);
        Assert.False(defaults.UseDeprecatedFormat);
        Assert.Equal(ReferenceSubjectNaming.ReferenceName, defaults.ReferenceSubjectNaming);
        var dotnetNames = new ProtobufSerdeConfig(new Dictionary<string, string>
        {
            ["protobuf.serializer.auto.register.schemas"] = "false",
            ["protobuf.deserializer.use.deprecated.format"] = "true",
            ["subject.name.strategy"] = "record",
        });
        Assert.False(dotnetNames.AutoRegisterSchemas);
        Assert.True(dotnetNames.UseDeprecatedFormat);
        var ex = Assert.Throws<ArgumentException>(() => new ProtobufSerdeConfig(new Dictionary<string, string> { ["protobuf.serializer.skip.known.type"] = "true" }));
        Assert.Contains("'protobuf.serializer.skip.known.type'", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => new ProtobufSerdeConfig(new Dictionary<string, string> { ["reference.subject.name.strategy"] = "topic" }));
        Assert.Contains("reference.subject.name.strategy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Latest_version_must_have_the_message_at_the_same_path()
    {
        _ = await new ProtobufSerializer<First>(_client).SerializeAsync(new First(), new SerializationContext(MessageComponentType.Value, "latest"));
        var latest = new ProtobufSerdeConfig(new Dictionary<string, string> { ["use.latest.version"] = "true", ["auto.register.schemas"] = "false" });

        // The file registered holds Second at [1] too.
        var bytes = await new ProtobufSerializer<Second>(_client, latest).SerializeAsync(new Second { S = "s" }, new SerializationContext(MessageComponentType.Value, "latest"));
        Assert.Equal(new byte[] { 2, 2 }, bytes[5..7]);

        // A message with imports fits a latest schema that is its own file.
        _ = await new ProtobufSerializer<Order>(_client).SerializeAsync(new Order(), new SerializationContext(MessageComponentType.Value, "latest-orders"));
        var order = await new ProtobufSerializer<Order>(_client, latest).SerializeAsync(new Order { Id = "o" }, new SerializationContext(MessageComponentType.Value, "latest-orders"));
        Assert.Equal((byte)0, order[5]);

        // A latest schema that cannot read what Second writes (its s is now an int64) does not fit.
        await _client.RegisterSchemaAsync("latest-changed-value", new Schema(
            "syntax = \"proto3\"; package kafkaclient.tests.indexes; message First { string name = 1; } message Second { int64 s = 1; }",
            SchemaType.Protobuf));
        var changed = await Assert.ThrowsAsync<ProtobufSerdeException>(() => new ProtobufSerializer<Second>(_client, latest).SerializeAsync(new Second(), new SerializationContext(MessageComponentType.Value, "latest-changed")));
        Assert.Equal(ProtobufSerdeFailure.UnsupportedSchema, changed.Failure);
        var lenient = new ProtobufSerdeConfig(new Dictionary<string, string> { ["use.latest.version"] = "true", ["auto.register.schemas"] = "false", ["latest.compatibility.strict"] = "false" });
        Assert.NotNull(await new ProtobufSerializer<Second>(_client, lenient).SerializeAsync(new Second(), new SerializationContext(MessageComponentType.Value, "latest-changed")));

        // A user is not in that file.
        var ex = await Assert.ThrowsAsync<ProtobufSerdeException>(() => new ProtobufSerializer<User>(_client, latest).SerializeAsync(new User(), new SerializationContext(MessageComponentType.Value, "latest")));
        Assert.Equal(ProtobufSerdeFailure.UnsupportedSchema, ex.Failure);
    }
}

/// <summary>A registry that ignores <c>format=serialized</c> (older than Confluent 7) answers .proto text: the deserializer parses it.</summary>
public sealed class ProtobufTextSchemaTests
{
    [Fact]
    public async Task A_writer_schema_given_as_text_is_parsed()
    {
        var registry = new InProcessSchemaRegistry();
        registry.Add(5, """
            syntax = "proto3";
            package kafkaclient.tests;
            message User { string name = 1; int64 favorite_number = 2; string favorite_color = 3; string twitter_handle = 4; }
            """, SchemaType.Protobuf);
        var user = new User { Name = "text", FavoriteNumber = 9 };
        byte[] frame = [0, 0, 0, 0, 5, 0, .. user.ToByteArray()];
        Assert.Equal(user, await new ProtobufDeserializer<User>(registry).DeserializeAsync(frame, false, new SerializationContext(MessageComponentType.Value, "t")));

        registry.Add(6, "syntax = \"proto3\"; message Broken { Missing m = 1; }", SchemaType.Protobuf);
        var ex = await Assert.ThrowsAsync<ProtobufSerdeException>(() => new ProtobufDeserializer<User>(registry).DeserializeAsync(new byte[] { 0, 0, 0, 0, 6, 0 }, false, new SerializationContext(MessageComponentType.Value, "t")));
        Assert.Equal(ProtobufSerdeFailure.UnsupportedSchema, ex.Failure);
    }
}

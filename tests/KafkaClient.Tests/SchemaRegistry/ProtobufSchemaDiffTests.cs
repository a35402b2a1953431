using System.Text;
using Google.Protobuf;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.Tests.Protos;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Confluent's Protobuf compatibility rules on hand-written pairs, with the change lists Confluent gives.</summary>
public class ProtobufSchemaDiffTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);
    private static readonly ProtobufSchemaDiff Diff = new();

    private static SchemaComparison Compare(string original, string update) =>
        Diff.Compare(ProtobufSchema.Parse(original), ProtobufSchema.Parse(update));

    [Theory]
    // A scalar of another kind: int32 and string do not share a wire type.
    [InlineData("message M { int32 a = 1; }", "message M { string a = 1; }", false, "FIELD_SCALAR_KIND_CHANGED #/M/1")]
    // int32, int64, uint32, uint64, bool and enums are one kind.
    [InlineData("message M { int32 a = 1; }", "message M { uint64 a = 1; }", true)]
    [InlineData("message M { int32 a = 1; }", "message M { int32 a = 1; string b = 2; }", true, "FIELD_ADDED #/M/2")]
    [InlineData("message M { int32 a = 1; string b = 2; }", "message M { int32 a = 1; }", true, "FIELD_REMOVED #/M/2")]
    [InlineData("message M { int32 a = 1; }", "message M { int32 b = 1; }", true, "FIELD_NAME_CHANGED #/M/1")]
    // Messages in Java's hash order ("A" before "B"), each one's own differences before the next.
    [InlineData("message A { B b = 1; } message B {}", "message A { int32 b = 1; } ", false, "FIELD_KIND_CHANGED #/A/1", "MESSAGE_REMOVED #/B")]
    [InlineData("message A {} message B {}", "message A {}", false, "MESSAGE_REMOVED #/B")]
    [InlineData("message A { E e = 1; } enum E { X = 0; Y = 1; }", "message A { E e = 1; } enum E { X = 0; Z = 1; }", true, "ENUM_CONST_CHANGED #/E/1")]
    [InlineData("enum E { X = 0; Y = 1; }", "enum E { X = 0; Z = 2; }", true, "ENUM_CONST_REMOVED #/E/1", "ENUM_CONST_ADDED #/E/2")]
    [InlineData("message A { message B { C c = 1; } message C {} }", "message A { message B { D c = 1; } message D {} }", false, "FIELD_NAMED_TYPE_CHANGED #/A/B/1", "MESSAGE_REMOVED #/A/C", "MESSAGE_ADDED #/A/D")]
    public void Golden_change_lists(string original, string update, bool compatible, params string[] changes)
    {
        var result = Compare("syntax = \"proto3\";\n" + original, "syntax = \"proto3\";\n" + update);
        Assert.Equal(changes, result.Changes);
        Assert.Equal(compatible, result.IsCompatible);
    }

    [Theory]
    // Two top-level fields into one oneof: they could be set together before.
    [InlineData("message M { int32 a = 1; int32 b = 2; }", "message M { oneof o { int32 a = 1; int32 b = 2; } }", false, "MULTIPLE_FIELDS_MOVED_TO_ONEOF #/M/o", "ONEOF_ADDED #/M/o")]
    // One top-level field into a new oneof on its own: still independent.
    [InlineData("message M { int32 a = 1; int32 b = 2; }", "message M { int32 a = 1; oneof o { int32 b = 2; } }", true, "ONEOF_ADDED #/M/o")]
    // A field joins an existing oneof.
    [InlineData("message M { int32 a = 1; oneof o { int32 b = 2; } }", "message M { oneof o { int32 a = 1; int32 b = 2; } }", false, "FIELD_MOVED_TO_EXISTING_ONEOF #/M/o")]
    // Out of a oneof to the top level, and a member dropped from a surviving oneof.
    [InlineData("message M { oneof o { int32 a = 1; int32 b = 2; int32 c = 3; } }", "message M { int32 a = 1; oneof o { int32 b = 2; } }", false, "ONEOF_FIELD_MOVED_TO_TOP_LEVEL #/M/1", "ONEOF_FIELD_REMOVED #/M/o/3")]
    // A oneof deleted whole is compatible; its members are not reported one by one.
    [InlineData("message M { int32 x = 9; oneof o { int32 a = 1; int32 b = 2; } }", "message M { int32 x = 9; }", true, "ONEOF_REMOVED #/M/o")]
    // A member's type change is reported at its place in the update.
    [InlineData("message M { oneof o { int32 a = 1; } }", "message M { oneof p { string a = 1; } }", false, "ONEOF_REMOVED #/M/o", "ONEOF_ADDED #/M/p", "FIELD_SCALAR_KIND_CHANGED #/M/p/1")]
    public void Oneof_moves(string original, string update, bool compatible, params string[] changes)
    {
        var result = Compare("syntax = \"proto3\";\n" + original, "syntax = \"proto3\";\n" + update);
        Assert.Equal(changes, result.Changes);
        Assert.Equal(compatible, result.IsCompatible);
    }

    [Theory]
    // proto3 optional has a label (optional) and its synthetic oneof is no oneof.
    [InlineData("syntax = \"proto3\"; message M { int32 a = 1; }", "syntax = \"proto3\"; message M { optional int32 a = 1; }", true)]
    [InlineData("syntax = \"proto3\"; message M { optional int32 a = 1; }", "syntax = \"proto3\"; message M { repeated int32 a = 1; }", false, "FIELD_NUMERIC_LABEL_CHANGED #/M/1")]
    [InlineData("syntax = \"proto3\"; message M { optional string a = 1; }", "syntax = \"proto3\"; message M { repeated string a = 1; }", true, "FIELD_STRING_OR_BYTES_LABEL_CHANGED #/M/1")]
    // A proto3 field without a label has none: nothing to compare.
    [InlineData("syntax = \"proto3\"; message M { int32 a = 1; }", "syntax = \"proto3\"; message M { repeated int32 a = 1; }", true)]
    [InlineData("syntax = \"proto3\"; message M { optional int32 a = 1; }", "syntax = \"proto3\"; message M { oneof o { int32 a = 1; } }", true, "ONEOF_ADDED #/M/o")]
    // proto2: optional is a label, required is its own change.
    [InlineData("syntax = \"proto2\"; message M { optional int32 a = 1; }", "syntax = \"proto2\"; message M { repeated int32 a = 1; }", false, "FIELD_NUMERIC_LABEL_CHANGED #/M/1")]
    [InlineData("syntax = \"proto2\"; message M { optional int32 a = 1; }", "syntax = \"proto2\"; message M { optional int32 a = 1; required int32 b = 2; }", false, "REQUIRED_FIELD_ADDED #/M/2")]
    [InlineData("syntax = \"proto2\"; message M { optional int32 a = 1; }", "syntax = \"proto3\"; message M { int32 a = 1; }", true)]
    public void Labels(string original, string update, bool compatible, params string[] changes)
    {
        var result = Compare(original, update);
        Assert.Equal(changes, result.Changes);
        Assert.Equal(compatible, result.IsCompatible);
    }

    [Fact]
    public void Map_entries_are_no_messages_and_maps_compare_keys_and_values()
    {
        var result = Compare(
            "syntax = \"proto3\"; message M { message Inner { int32 v = 1; } }",
            "syntax = \"proto3\"; message M { map<string, Inner> items = 2; message Inner { int32 v = 1; } }");
        Assert.Equal(["FIELD_ADDED #/M/2"], result.Changes);

        result = Compare(
            "syntax = \"proto3\"; message M { map<string, int32> items = 2; }",
            "syntax = \"proto3\"; message M { map<int32, string> items = 2; }");
        Assert.Equal(["FIELD_SCALAR_KIND_CHANGED #/M/2", "FIELD_SCALAR_KIND_CHANGED #/M/2"], result.Changes);

        result = Compare(
            "syntax = \"proto3\"; message M { map<string, int32> items = 2; }",
            "syntax = \"proto3\"; message M { repeated int32 items = 2; }");
        Assert.Equal(["FIELD_KIND_CHANGED #/M/2"], result.Changes);
    }

    [Fact]
    public void A_schema_given_as_text_and_as_its_descriptor_has_no_differences()
    {
        var text = ProtobufSchema.Parse(ProtobufSchemaTests.ProtoSource("user.proto"));
        var descriptor = ProtobufSchema.Parse(User.Descriptor.File.SerializedData.ToBase64());
        Assert.Empty(Diff.Compare(text, descriptor).Changes);
        Assert.Empty(Diff.Compare(descriptor, text).Changes);

        const string maps = "syntax = \"proto3\"; package p; message M { map<string, N> items = 1; message N { int32 v = 1; } message O {} }";
        var mapsText = ProtobufSchema.Parse(maps);
        Assert.Empty(Diff.Compare(mapsText, ProtobufSchema.Parse(mapsText.ToBase64())).Changes);
    }

    [Fact]
    public void Types_from_one_subject_version_are_not_compared_again_and_from_another_they_are()
    {
        const string schema = "syntax = \"proto3\"; import \"dep.proto\"; message M { d.D d = 1; }";
        const string v1 = "syntax = \"proto3\"; package d; message D { int32 x = 1; }";
        const string v2 = "syntax = \"proto3\"; package d; message D { string x = 1; }";
        var original = ProtobufSchema.Parse(schema, [new ProtobufDependency("dep.proto", v1, "dep", 1)]);

        // The same subject and version: the registry's content is the same, so it is not compared again.
        Assert.Empty(Diff.Compare(original, ProtobufSchema.Parse(schema, [new ProtobufDependency("dep.proto", v1, "dep", 1)])).Changes);

        var result = Diff.Compare(original, ProtobufSchema.Parse(schema, [new ProtobufDependency("dep.proto", v2, "dep", 2)]));
        Assert.Equal(["FIELD_SCALAR_KIND_CHANGED #/D/1", "FIELD_NAMED_TYPE_CHANGED #/M/1"], result.Changes);
        Assert.False(result.IsCompatible);

        // Built-in files have no reference: their types are compared, and equal.
        const string withTimestamp = "syntax = \"proto3\"; import \"google/protobuf/timestamp.proto\"; message M { google.protobuf.Timestamp at = 1; }";
        Assert.Empty(Compare(withTimestamp, withTimestamp).Changes);
    }

    [Fact]
    public void Package_change_and_compatibility_levels()
    {
        var original = ProtobufSchema.Parse("syntax = \"proto3\"; package a; message M { int32 x = 1; }");
        var update = ProtobufSchema.Parse("syntax = \"proto3\"; package b; message M { int32 x = 1; }");
        Assert.Equal(["PACKAGE_CHANGED #/"], Diff.Compare(original, update).Changes);

        var messages = CompatibilityChecker.Check(Diff, CompatibilityLevel.Backward, update, [original]);
        Assert.Equal(["{errorType:'PACKAGE_CHANGED', description:'at #/', direction:'BACKWARD'}"], messages);
        Assert.Equal("PROTOBUF", Diff.SchemaType);
    }

    [Fact]
    public void Compatible_changes_are_confluents_fifteen_and_read_only()
    {
        Assert.Equal(15, ProtobufSchemaDiff.CompatibleChanges.Count);
        Assert.Contains("ONEOF_FIELD_MOVED_TO_TOP_LEVEL", ProtobufSchemaDiff.CompatibleChanges);
        Assert.DoesNotContain("FIELD_MOVED_TO_EXISTING_ONEOF", ProtobufSchemaDiff.CompatibleChanges);
        Assert.False(ProtobufSchemaDiff.CompatibleChanges is ICollection<string>);
    }

    [Fact]
    public void Java_hash_set_order_is_reproduced()
    {
        // Java iterates these names by bucket: "Status" 0, "TestMessage2" 9, "TestMessage3" 10, "TestMessage" 11.
        Assert.Equal(
            ["Status", "TestMessage2", "TestMessage3", "TestMessage"],
            JavaHashOrder.Union(["TestMessage", "TestMessage2"], ["TestMessage3", "Status"]));

        // Orders printed by Java 17's HashSet for the same keys: a set made from 12 or 13 keys starts with 32
        // buckets (Java 19 and later would start twelve with 16), and -1 spreads to bucket 0.
        Assert.Equal([0, -1, 1, 2, 3, 4, 5, 6, 7, 8, 40, 9, 10, 11, 12], JavaHashOrder.Union(Enumerable.Range(0, 13), [-1, 40]));
        Assert.Equal([0, 1, 65536, 2, 3, 4, 100, 5, 6, -7, 7, 8, 9, 10, 11], JavaHashOrder.Union(Enumerable.Range(0, 12), [100, -7, 65536]));
        Assert.Equal(
            ["Status", "M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8", "M9", "M11", "M10", "Other"],
            JavaHashOrder.Union(Enumerable.Range(0, 12).Select(i => $"M{i}"), ["Status", "Other"]));
    }

    [Fact]
    public async Task A_chain_of_types_compared_through_references_is_bounded_not_a_stack_overflow()
    {
        // 1,000 messages of a dependency, each holding the next: with another subject on each side, each one is
        // compared inside the one before, deeper and deeper.
        ProtobufSchema Chain(string subject, string scalar)
        {
            var types = new StringBuilder("syntax = \"proto3\"; package c;\n");
            for (var i = 0; i < 1_000; i++)
            {
                types.Append(i + 1 < 1_000 ? $"message T{i} {{ T{i + 1} next = 1; }}\n" : $"message T{i} {{ {scalar} v = 1; }}\n");
            }

            return ProtobufSchema.Parse(
                "syntax = \"proto3\"; import \"chain.proto\"; message M { c.T0 t = 1; }",
                [new ProtobufDependency("chain.proto", types.ToString(), subject, 1)]);
        }

        var original = Chain("a", "int32");
        var update = Chain("b", "string");
        var ex = await Assert.ThrowsAsync<SchemaTooComplexException>(() => Task.Run(() => Diff.Compare(original, update)).WaitAsync(HangGuard));
        Assert.Contains("more than 200 deep", ex.Message, StringComparison.Ordinal);

        // The same chain from one subject version on both sides is not compared again.
        Assert.Empty(Diff.Compare(original, Chain("a", "int32")).Changes);
    }

    [Fact]
    public async Task Work_is_bounded()
    {
        var text = new StringBuilder("syntax = \"proto3\";\n");
        for (var i = 0; i < 2_000; i++)
        {
            text.Append("message M").Append(i).Append(" { int32 a = 1; int32 b = 2; }\n");
        }

        var schema = ProtobufSchema.Parse(text.ToString());
        var result = await Task.Run(() => Diff.Compare(schema, schema)).WaitAsync(HangGuard);
        Assert.Empty(result.Changes);
        Assert.Throws<SchemaTooComplexException>(() => ProtobufSchemaDiff.Differences(schema, schema, maxWork: 100));
    }

    [Fact]
    public void A_type_that_refers_to_itself_compares()
    {
        const string schema = "syntax = \"proto3\"; message Node { repeated Node children = 1; Node parent = 2; }";
        Assert.Empty(Compare(schema, schema).Changes);

        // Through a dependency of another subject on each side, the message is compared once and not again inside itself.
        const string root = "syntax = \"proto3\"; import \"n.proto\"; message M { n.Node n = 1; }";
        const string node = "syntax = \"proto3\"; package n; message Node { Node next = 1; int32 v = 2; }";
        var result = Diff.Compare(
            ProtobufSchema.Parse(root, [new ProtobufDependency("n.proto", node, "a", 1)]),
            ProtobufSchema.Parse(root, [new ProtobufDependency("n.proto", node.Replace("int32 v", "string v", StringComparison.Ordinal), "b", 1)]));
        Assert.Equal(["FIELD_SCALAR_KIND_CHANGED #/Node/2", "FIELD_NAMED_TYPE_CHANGED #/M/1"], result.Changes);
    }
}

using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.Tests.Protos;
using KafkaClient.Tests.Protos.Common;
using KafkaClient.Tests.Protos.Orders;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Parsing Protobuf schemas given as .proto text or as serialized descriptors, with their imports.</summary>
public class ProtobufSchemaTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120); // a hang guard, not a speed check: generous for a loaded 2-core machine

    internal static string ProtoSource(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, "tests", "Protos", relativePath);
            if (File.Exists(file))
            {
                return File.ReadAllText(file);
            }
        }

        throw new FileNotFoundException("The test .proto file was not found above the test binaries.", relativePath);
    }

    private static string Base64(FileDescriptor file) => file.SerializedData.ToBase64();

    [Fact]
    public void Text_and_the_descriptor_protoc_embeds_in_generated_code_have_one_canonical_form()
    {
        var text = ProtobufSchema.Parse(ProtoSource("user.proto"));
        var embedded = ProtobufSchema.Parse(Base64(User.Descriptor.File));

        Assert.Equal(embedded.Canonical, text.Canonical);
        Assert.Equal("kafkaclient.tests", text.Descriptor.Package);
        Assert.Empty(text.Dependencies);
    }

    [Fact]
    public void Imports_a_dependency_and_a_well_known_type_with_the_same_canonical_form_as_text_or_descriptor()
    {
        var money = ProtoSource("common/money.proto");
        var text = ProtobufSchema.Parse(ProtoSource("orders/order.proto"), [new ProtobufDependency("common/money.proto", money, "money", 1)]);
        var embedded = ProtobufSchema.Parse(Base64(Order.Descriptor.File), [new ProtobufDependency("common/money.proto", Base64(Money.Descriptor.File), "money", 1)]);
        var mixed = ProtobufSchema.Parse(ProtoSource("orders/order.proto"), [new ProtobufDependency("common/money.proto", Base64(Money.Descriptor.File))]);

        Assert.Equal(embedded.Canonical, text.Canonical);
        Assert.Equal(text.Canonical, mixed.Canonical);
        Assert.Equal(["common/money.proto", "google/protobuf/timestamp.proto"], text.Dependencies.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["common/money.proto", "google/protobuf/timestamp.proto"], embedded.Dependencies.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("kafkaclient.tests.common", embedded.Dependencies["common/money.proto"].Package);
        Assert.Equal("common/money.proto", embedded.Dependencies["common/money.proto"].Name);
        var total = text.Descriptor.MessageType[0].Field.Single(f => f.Name == "total");
        Assert.Equal(".kafkaclient.tests.common.Money", total.TypeName);
        Assert.Equal(FieldDescriptorProto.Types.Type.Message, total.Type);
        Assert.Equal(("money", 1), (text.References[0].Subject, text.References[0].Version));
    }

    /// <summary>A proto2 schema with what a descriptor set carries beyond messages: options (custom ones too), groups, extensions, defaults, reserved ranges and a service.</summary>
    internal const string RichProto2 = """
        syntax = "proto2";
        package p.q;
        import "google/protobuf/descriptor.proto";
        import public "confluent/meta.proto";
        option java_package = "x";
        extend google.protobuf.FieldOptions { optional int32 weight = 50000; }
        message A {
          option (confluent.message_meta) = { doc: "a", params: [{ key: "k", value: "v" }] };
          required int32 id = 1 [default = 7, (weight) = 3];
          optional group G = 2 { optional string s = 3; }
          repeated B bs = 4 [packed = false];
          map<string, B> by_name = 5;
          oneof choice { string s1 = 6; B b1 = 7; }
          extensions 100 to max;
          reserved 8, 9 to 11;
          reserved "old";
          message B { optional E e = 1 [default = E1]; enum E { E0 = 0; E1 = 1; } }
        }
        extend A { optional string more = 100; }
        service S { rpc Call(A) returns (A.B); }
        """;

    /// <summary>What protoc 36.2 (Grpc.Tools 2.85.0) writes for <see cref="RichProto2"/> with <c>--descriptor_set_out</c>, as base64.</summary>
    private const string RichProto2FromProtoc =
        "CghzMC5wcm90bxIDcC5xGiBnb29nbGUvcHJvdG9idWYvZGVzY3JpcHRvci5wcm90bxoUY29uZmx1ZW50L21ldGEucHJvdG8i8gIKAUESFwoCaWQYASACKAU6ATdCBIC1GANSAmlkEhYKAWcYAiABKAoyCC5wLnEuQS5HUgFnEhwKAmJzGAQgAygLMggucC5xLkEuQkICEABSAmJzEisKB2J5X25hbWUYBSADKAsyEi5wLnEuQS5CeU5hbWVFbnRyeVIGYnlOYW1lEhAKAnMxGAYgASgJSABSAnMxEhoKAmIxGAcgASgLMggucC5xLkEuQkgAUgJiMRoRCgFHEgwKAXMYAyABKAlSAXMaQwoLQnlOYW1lRW50cnkSEAoDa2V5GAEgASgJUgNrZXkSHgoFdmFsdWUYAiABKAsyCC5wLnEuQS5CUgV2YWx1ZToCOAEaNgoBQhIcCgFlGAEgASgOMgoucC5xLkEuQi5FOgJFMVIBZSITCgFFEgYKAkUwEAASBgoCRTEQASoICGQQgICAgAI6DoJECwoBYRIGCgFrEgF2QggKBmNob2ljZUoECAgQCUoECAkQDFIDb2xkMh0KAVMSGAoEQ2FsbBIGLnAucS5BGggucC5xLkEuQjo3CgZ3ZWlnaHQSHS5nb29nbGUucHJvdG9idWYuRmllbGRPcHRpb25zGNCGAyABKAVSBndlaWdodDoaCgRtb3JlEgYucC5xLkEYZCABKAlSBG1vcmVCAwoBeFAB";

    [Fact]
    public void Text_has_the_canonical_form_of_protocs_descriptor_with_options_groups_extensions_and_services()
    {
        var text = ProtobufSchema.Parse(RichProto2);
        var protoc = ProtobufSchema.Parse(RichProto2FromProtoc);

        Assert.Equal(protoc.Canonical, text.Canonical);
        Assert.Empty(new ProtobufSchemaDiff().Compare(text, protoc).Changes);
    }

    [Fact]
    public void A_serialized_descriptor_is_kept_as_given_and_serializes_back()
    {
        var expected = FileDescriptorProto.Parser.ParseFrom(User.Descriptor.File.SerializedData);
        var schema = ProtobufSchema.Parse(Base64(User.Descriptor.File));

        Assert.Equal(expected, schema.Descriptor);
        Assert.Equal(Base64(User.Descriptor.File), schema.ToBase64());

        var fromText = ProtobufSchema.Parse(ProtoSource("user.proto"));
        Assert.Equal(fromText.Canonical, ProtobufSchema.Parse(fromText.ToBase64()).Canonical);
        Assert.Equal(string.Empty, fromText.Descriptor.Name);
        Assert.All(fromText.Descriptor.MessageType[0].Field, f => Assert.True(f.HasJsonName)); // as protoc's descriptor sets
    }

    [Fact]
    public void Descriptors_are_handed_out_as_copies()
    {
        var schema = ProtobufSchema.Parse(ProtoSource("user.proto"));
        schema.Descriptor.MessageType.Clear();
        Assert.Single(schema.Descriptor.MessageType);
    }

    [Fact]
    public void An_explicit_json_name_other_than_the_default_is_part_of_the_canonical_form()
    {
        var plain = ProtobufSchema.Parse("syntax = \"proto3\"; message A { string first_name = 1; }");
        var sameAsDefault = ProtobufSchema.Parse("syntax = \"proto3\"; message A { string first_name = 1 [json_name = \"firstName\"]; }");
        var other = ProtobufSchema.Parse("syntax = \"proto3\"; message A { string first_name = 1 [json_name = \"given\"]; }");

        Assert.Equal(plain.Canonical, sameAsDefault.Canonical);
        Assert.NotEqual(plain.Canonical, other.Canonical);
    }

    [Theory]
    [InlineData("foo_bar", "fooBar")]
    [InlineData("_foo", "Foo")]
    [InlineData("foo__bar_", "fooBar")]
    [InlineData("foo_1", "foo1")]
    [InlineData("FooBar", "FooBar")]
    public void Default_json_names_are_protocs(string name, string expected) => Assert.Equal(expected, ProtobufSchema.DefaultJsonName(name));

    [Fact]
    public void Relative_type_names_of_a_serialized_descriptor_are_resolved_and_checked()
    {
        var file = new FileDescriptorProto { Name = "default", Package = "p", Syntax = "proto3" };
        file.Dependency.Add("google/protobuf/timestamp.proto");
        var outer = new DescriptorProto { Name = "Outer" };
        outer.NestedType.Add(new DescriptorProto { Name = "Inner" });
        outer.EnumType.Add(new EnumDescriptorProto { Name = "Kind", Value = { new EnumValueDescriptorProto { Name = "K0", Number = 0 } } });
        outer.Field.Add(new FieldDescriptorProto { Name = "inner", Number = 1, Label = FieldDescriptorProto.Types.Label.Optional, TypeName = "Inner" });
        outer.Field.Add(new FieldDescriptorProto { Name = "kind", Number = 2, Label = FieldDescriptorProto.Types.Label.Optional, TypeName = "Outer.Kind" });
        outer.Field.Add(new FieldDescriptorProto { Name = "at", Number = 3, Label = FieldDescriptorProto.Types.Label.Optional, Type = FieldDescriptorProto.Types.Type.Message, TypeName = "google.protobuf.Timestamp" });
        file.MessageType.Add(outer);

        var fields = ProtobufSchema.Parse(file.ToByteString().ToBase64()).Descriptor.MessageType[0].Field;

        Assert.Equal((".p.Outer.Inner", FieldDescriptorProto.Types.Type.Message), (fields[0].TypeName, fields[0].Type));
        Assert.Equal((".p.Outer.Kind", FieldDescriptorProto.Types.Type.Enum), (fields[1].TypeName, fields[1].Type));
        Assert.Equal(".google.protobuf.Timestamp", fields[2].TypeName);

        outer.Field.Add(new FieldDescriptorProto { Name = "bad", Number = 4, Label = FieldDescriptorProto.Types.Label.Optional, Type = FieldDescriptorProto.Types.Type.Message, TypeName = ".nope.X" });
        var ex = Assert.Throws<FormatException>(() => ProtobufSchema.Parse(file.ToByteString().ToBase64()));
        Assert.Contains("type '.nope.X' not found", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    // Names are looked up as protoc does: case matters, innermost scope first...
    [InlineData("message Foo {} message foo {} message A { foo f = 1; Foo g = 2; }", ".foo", ".Foo")]
    [InlineData("message Outer { message foo {} Foo f = 1; } message Foo {}", ".Foo")]
    [InlineData("package p.q; message M { q.N n = 1; p.q.N m = 2; } message N {}", ".p.q.N", ".p.q.N")]
    [InlineData("package p; enum Kind { K0 = 0; } message M { Kind k = 1; M.Kind j = 2; enum Kind { J0 = 0; } }", ".p.M.Kind", ".p.M.Kind")]
    // ... and a compound name belongs to the innermost scope that has its first part.
    [InlineData("message Outer { message Foo {} message Inner { Foo.Bar x = 1; } } message Foo { message Bar {} }", null)]
    [InlineData("message Foo {} message A { foo f = 1; }", null)]
    public void Type_names_resolve_as_protoc_resolves_them(string body, params string?[] expected)
    {
        var schema = "syntax = \"proto3\";\n" + body;
        if (expected is null or [null])
        {
            var ex = Assert.Throws<FormatException>(() => ProtobufSchema.Parse(schema));
            Assert.Contains("not found", ex.Message, StringComparison.Ordinal);
            return;
        }

        var parsed = ProtobufSchema.Parse(schema);
        var fields = parsed.Descriptor.MessageType.SelectMany(m => m.Field.Concat(m.NestedType.SelectMany(n => n.Field))).ToList();
        Assert.Equal(expected, fields.Select(f => f.TypeName));
    }

    [Fact]
    public void Confluent_and_google_built_in_files_need_no_dependency()
    {
        const string schema = """
            syntax = "proto3";
            import "confluent/meta.proto";
            import "confluent/type/decimal.proto";
            import "google/type/money.proto";
            message Price {
              option (confluent.message_meta).doc = "a price";
              confluent.type.Decimal amount = 1 [(confluent.field_meta) = { params: [{ key: "precision", value: "8" }] }];
              google.type.Money money = 2;
            }
            enum Status {
              option (confluent.enum_meta) = { doc: "enum" };
              ACTIVE = 0 [(confluent.enum_value_meta) = { doc: "active" }];
            }
            """;
        var parsed = ProtobufSchema.Parse(schema);

        Assert.Equal(
            ["confluent/meta.proto", "confluent/type/decimal.proto", "google/protobuf/descriptor.proto", "google/type/money.proto"],
            parsed.Dependencies.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("confluent.type", parsed.Dependencies["confluent/type/decimal.proto"].Package);
        Assert.Equal(".confluent.type.Decimal", parsed.Descriptor.MessageType[0].Field[0].TypeName);
    }

    [Fact]
    public void Text_resolves_types_and_custom_options_from_a_serialized_dependency()
    {
        var meta = ProtobufSchema.Parse("syntax = \"proto3\"; import \"confluent/meta.proto\";").Dependencies["confluent/meta.proto"];
        const string schema = """
            syntax = "proto3";
            import "confluent/meta.proto";
            import "dep.proto";
            message A {
              option (confluent.message_meta).doc = "a";
              d.Kind kind = 1 [(confluent.field_meta) = { doc: "kind" }];
              d.D.Inner inner = 2;
            }
            """;
        var dep = new FileDescriptorProto { Name = "whatever", Package = "d", Syntax = "proto3" };
        dep.EnumType.Add(new EnumDescriptorProto { Name = "Kind", Value = { new EnumValueDescriptorProto { Name = "K0", Number = 0 } } });
        dep.MessageType.Add(new DescriptorProto { Name = "D", NestedType = { new DescriptorProto { Name = "Inner" } } });
        var parsed = ProtobufSchema.Parse(schema, [
            new ProtobufDependency("confluent/meta.proto", meta.ToByteString().ToBase64()),
            new ProtobufDependency("dep.proto", dep.ToByteString().ToBase64()),
        ]);

        var fields = parsed.Descriptor.MessageType[0].Field;
        Assert.Equal((".d.Kind", FieldDescriptorProto.Types.Type.Enum), (fields[0].TypeName, fields[0].Type));
        Assert.Equal(".d.D.Inner", fields[1].TypeName);
        Assert.Equal("dep.proto", parsed.Dependencies["dep.proto"].Name);
        Assert.Equal(ProtobufSchema.Parse(schema, [new ProtobufDependency("dep.proto", dep.ToByteString().ToBase64())]).Canonical, parsed.Canonical);
    }

    [Fact]
    public void A_dependency_replaces_a_built_in_file_of_its_name()
    {
        var parsed = ProtobufSchema.Parse(
            "syntax = \"proto3\"; import \"confluent/type/decimal.proto\"; message A { my.Decimal d = 1; }",
            [new ProtobufDependency("confluent/type/decimal.proto", "syntax = \"proto3\"; package my; message Decimal { string v = 1; }")]);
        Assert.Equal("my", parsed.Dependencies["confluent/type/decimal.proto"].Package);
    }

    [Theory]
    [InlineData("syntax = \"proto3\";\nmessage A {\n  int32 x = 1\n}\n", "<schema>(4,1")]
    [InlineData("syntax = \"proto3\";\nmessage A {\n  Foo f = 1;\n}\n", "type 'Foo' not found")]
    [InlineData("syntax = \"proto3\";\nimport \"x/y.proto\";\nmessage A {}\n", "<schema>(2,1): unresolved import 'x/y.proto'")]
    [InlineData("syntax = \"proto3\";\nimport \"google/api/annotations.proto\";\nmessage A {}\n", "unresolved import 'google/api/annotations.proto'")]
    [InlineData("syntax = \"proto3\";\nimport \"../etc/passwd\";\nmessage A {}\n", "invalid import path")]
    [InlineData("syntax = \"proto3\"; message A { int32 x = 99999999999999999999; }", "<schema>(1,")]
    [InlineData("syntax = \"proto3\"; message A { int32 x = 536870912; }", "field numbers must be in the range")]
    [InlineData("syntax = \"proto3\"; enum E { A = 0; B = 99999999999999999999; }", "<schema>(1,")]
    [InlineData("syntax = \"proto3\"; message A { reserved 1 to 99999999999999999999; }", "<schema>(1,")]
    [InlineData("syntax = \"proto3\"; message A { int32 a = 1; int32 b = 1; }", "already in use")]
    [InlineData("syntax = \"proto3\"; message A { int32 a = 19000; }", "reserved for the Protobuf implementation")]
    [InlineData("syntax = \"proto2\"; message A { int32 a = 1; }", "<schema>(1,")]
    [InlineData("AAAA", "nor is the schema base64 of a FileDescriptorProto")]
    public void Invalid_schemas_are_format_errors_that_say_where(string schema, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => ProtobufSchema.Parse(schema));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1, "which another field of the message has")]
    [InlineData(1, 19_500, "reserved for the Protobuf implementation")]
    [InlineData(0, 2, "outside 1 to 536870911")]
    public void Field_numbers_of_a_serialized_descriptor_are_checked(int first, int second, string expected)
    {
        var file = new FileDescriptorProto { Syntax = "proto3" };
        file.MessageType.Add(new DescriptorProto
        {
            Name = "M",
            Field =
            {
                new FieldDescriptorProto { Name = "a", Number = first, Type = FieldDescriptorProto.Types.Type.Int32, Label = FieldDescriptorProto.Types.Label.Optional },
                new FieldDescriptorProto { Name = "b", Number = second, Type = FieldDescriptorProto.Types.Type.Int32, Label = FieldDescriptorProto.Types.Label.Optional },
            },
        });
        var ex = Assert.Throws<FormatException>(() => ProtobufSchema.Parse(file.ToByteString().ToBase64()));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_error_in_a_dependency_names_the_dependency()
    {
        var ex = Assert.Throws<FormatException>(() => ProtobufSchema.Parse(
            "syntax = \"proto3\"; import \"dep.proto\"; message A { d.D x = 1; }",
            [new ProtobufDependency("dep.proto", "syntax = \"proto3\"; package d; message D { Nope n = 1; }")]));
        Assert.Contains("dep.proto(1,", ex.Message, StringComparison.Ordinal);
        Assert.Contains("type 'Nope' not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_dependencies_are_argument_errors()
    {
        Assert.Throws<ArgumentNullException>(() => ProtobufSchema.Parse(null!));
        Assert.Throws<ArgumentException>(() => ProtobufSchema.Parse("syntax = \"proto3\";", [null!]));
    }

    [Theory]
    [InlineData("import")]
    [InlineData("import public")]
    public async Task Dependencies_that_import_each_other_are_a_cycle_not_a_hang(string import)
    {
        var a = new ProtobufDependency("a.proto", $"syntax = \"proto3\"; package a; {import} \"b.proto\"; message A {{ b.B b = 1; }}");
        var b = new ProtobufDependency("b.proto", $"syntax = \"proto3\"; package b; {import} \"a.proto\"; message B {{ a.A a = 1; }}");

        var ex = await Assert.ThrowsAsync<FormatException>(() => Task.Run(() => ProtobufSchema.Parse("syntax = \"proto3\"; import \"a.proto\"; message R { a.A a = 1; }", [a, b])).WaitAsync(HangGuard));
        Assert.Contains("Import cycle: a.proto -> b.proto -> a.proto", ex.Message, StringComparison.Ordinal);

        var self = new ProtobufDependency("s.proto", $"syntax = \"proto3\"; {import} \"s.proto\"; message S {{}}");
        ex = Assert.Throws<FormatException>(() => ProtobufSchema.Parse("syntax = \"proto3\"; import \"s.proto\"; message R { S s = 1; }", [self]));
        Assert.Contains("Import cycle: s.proto -> s.proto", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_long_chain_of_public_imports_is_refused_without_overflowing_the_stack()
    {
        var dependencies = Enumerable.Range(0, 10_000)
            .Select(i => new ProtobufDependency($"f{i}.proto", i < 9_999 ? $"syntax = \"proto3\"; import public \"f{i + 1}.proto\";" : "syntax = \"proto3\"; package last; message T {}"))
            .ToList();
        var ex = await Assert.ThrowsAsync<FormatException>(() => Task.Run(() => ProtobufSchema.Parse("syntax = \"proto3\"; import \"f0.proto\"; message M { last.T t = 1; }", dependencies)).WaitAsync(HangGuard));
        Assert.Contains("chain of more than 64 imports", ex.Message, StringComparison.Ordinal);

        // Within the bound, names resolve through the chain.
        var parsed = ProtobufSchema.Parse("syntax = \"proto3\"; import \"f9960.proto\"; message M { last.T t = 1; }", dependencies);
        Assert.Equal(".last.T", parsed.Descriptor.MessageType[0].Field[0].TypeName);
        Assert.Equal(40, parsed.Dependencies.Count);
    }

    [Fact]
    public async Task A_lattice_of_imports_with_exponentially_many_paths_is_refused_at_once()
    {
        // 40 levels of two files, each importing (publicly) both files of the next level: 2^40 import paths.
        var dependencies = new List<ProtobufDependency>();
        for (var level = 0; level < 40; level++)
        {
            for (var side = 0; side < 2; side++)
            {
                var imports = level < 39 ? $"import public \"l{level + 1}a.proto\"; import public \"l{level + 1}b.proto\";" : string.Empty;
                dependencies.Add(new ProtobufDependency($"l{level}{(side == 0 ? 'a' : 'b')}.proto", $"syntax = \"proto3\"; {imports}"));
            }
        }

        var ex = await Assert.ThrowsAsync<FormatException>(() => Task.Run(() => ProtobufSchema.Parse("syntax = \"proto3\"; import \"l0a.proto\"; message M { Missing m = 1; }", dependencies)).WaitAsync(HangGuard));
        Assert.Contains("import paths", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Serialized_dependencies_that_import_each_other_are_a_cycle()
    {
        var a = new FileDescriptorProto { Name = "a.proto", Dependency = { "b.proto" } };
        var b = new FileDescriptorProto { Name = "b.proto", Dependency = { "a.proto" } };
        var ex = Assert.Throws<FormatException>(() => ProtobufSchema.Parse(
            "syntax = \"proto3\"; import \"a.proto\"; message R {}",
            [new ProtobufDependency("a.proto", a.ToByteString().ToBase64()), new ProtobufDependency("b.proto", b.ToByteString().ToBase64())]));
        Assert.Contains("Import cycle", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ten_thousand_nested_messages_are_refused_without_overflowing_the_stack()
    {
        var text = new StringBuilder("syntax = \"proto3\";\n");
        for (var i = 0; i < 10_000; i++)
        {
            text.Append("message M").Append(i).Append(" { ");
        }

        text.Append(new string('}', 10_000));
        var ex = await Assert.ThrowsAsync<FormatException>(() => Task.Run(() => ProtobufSchema.Parse(text.ToString())).WaitAsync(HangGuard));
        Assert.Contains("nests more than 64 levels deep", ex.Message, StringComparison.Ordinal);

        // The same as a serialized descriptor: built inside out, without recursion.
        var reversed = new List<byte>();
        void Prepend(IEnumerable<byte> bytes) => reversed.AddRange(bytes.Reverse());
        Prepend([0x0A, 0x01, (byte)'M']); // name = "M"
        for (var i = 0; i < 10_000; i++)
        {
            var length = reversed.Count;
            Prepend(Varint(length));
            Prepend([0x1A]); // nested_type, length-delimited
            Prepend([0x0A, 0x01, (byte)'M']);
        }

        var message = reversed.AsEnumerable().Reverse().ToArray();
        var file = new List<byte> { 0x22 }; // message_type
        file.AddRange(Varint(message.Length));
        file.AddRange(message);
        ex = await Assert.ThrowsAsync<FormatException>(() => Task.Run(() => ProtobufSchema.Parse(Convert.ToBase64String(file.ToArray()))).WaitAsync(HangGuard));
        Assert.Contains("nor is the schema base64 of a FileDescriptorProto", ex.Message, StringComparison.Ordinal);

        static byte[] Varint(int value)
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
    }

    [Fact]
    public void Sixty_nested_messages_parse()
    {
        var text = new StringBuilder("syntax = \"proto3\";\n");
        for (var i = 0; i < 60; i++)
        {
            text.Append("message M").Append(i).Append(" { int32 f = 1; ");
        }

        text.Append(new string('}', 60));
        var schema = ProtobufSchema.Parse(text.ToString());
        Assert.Equal(schema.Canonical, ProtobufSchema.Parse(schema.ToBase64()).Canonical);
    }

    [Fact]
    public async Task Three_thousand_sibling_messages_that_refer_to_each_other_parse_in_time()
    {
        var text = new StringBuilder("syntax = \"proto3\";\n");
        for (var i = 0; i < 3_000; i++)
        {
            text.Append("message M").Append(i).Append(" { M").Append((i + 1) % 3_000).Append(" next = 1; M").Append(i).Append(" self = 2; }\n");
        }

        var schema = await Task.Run(() => ProtobufSchema.Parse(text.ToString())).WaitAsync(HangGuard);
        Assert.Equal(3_000, schema.Descriptor.MessageType.Count);
    }
}

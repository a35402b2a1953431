using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Wkt = Google.Protobuf.WellKnownTypes;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.Tests.Protos;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Writing Protobuf schemas as .proto text (as Confluent's registry returns them) that parses back to the same schema.</summary>
public class ProtoTextPrinterTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120); // a hang guard, not a speed check

    /// <summary>Prints a schema, parses the text with the same dependencies and checks that the canonical forms are equal.</summary>
    private static (string Text, ProtobufSchema Back) RoundTrip(ProtobufSchema schema, IReadOnlyList<ProtobufDependency>? dependencies = null)
    {
        var text = schema.ToProtoText();
        ProtobufSchema back;
        try
        {
            back = ProtobufSchema.Parse(text, dependencies);
        }
        catch (FormatException ex)
        {
            Assert.Fail($"The printed text does not parse: {ex.Message}\n{text}");
            throw;
        }

        Assert.True(
            string.Equals(schema.Canonical, back.Canonical, StringComparison.Ordinal),
            $"The printed text parses to another schema.\n--- text:\n{text}\n--- original:\n{schema.Descriptor}\n--- parsed back:\n{back.Descriptor}");
        return (text, back);
    }

    private static string Base64(FileDescriptor file) => file.SerializedData.ToBase64();

    // ---- Every .proto of the tests, as protoc embeds it in generated code and as text ----

    private static Dictionary<string, FileDescriptor> GeneratedFiles() =>
        typeof(ProtoTextPrinterTests).Assembly.GetTypes()
            .Where(t => t.Namespace?.StartsWith("KafkaClient.Tests.Protos", StringComparison.Ordinal) == true && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => (FileDescriptor)t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!)
            .ToDictionary(f => f.Name, StringComparer.Ordinal);

    private static string ProtosFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var folder = Path.Combine(dir.FullName, "tests", "Protos");
            if (Directory.Exists(folder))
            {
                return folder;
            }
        }

        throw new DirectoryNotFoundException("tests/Protos was not found above the test binaries.");
    }

    public static TheoryData<string> TestProtos()
    {
        var folder = ProtosFolder();
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(folder, "*.proto", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(folder, file).Replace('\\', '/'));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(TestProtos))]
    public void Every_test_proto_round_trips_from_the_descriptor_protoc_embeds_and_from_its_text(string path)
    {
        var generated = GeneratedFiles();
        Assert.True(generated.TryGetValue(path, out var file), $"No generated code has the descriptor of {path}.");

        // Imports, transitively, except the built-in well-known types.
        var imports = new List<FileDescriptor>();
        var pending = new Stack<FileDescriptor>(file!.Dependencies);
        while (pending.Count > 0)
        {
            var next = pending.Pop();
            if (!next.Name.StartsWith("google/protobuf/", StringComparison.Ordinal) && imports.All(i => i.Name != next.Name))
            {
                imports.Add(next);
                foreach (var dependency in next.Dependencies)
                {
                    pending.Push(dependency);
                }
            }
        }

        List<ProtobufDependency> serialized = [.. imports.Select(i => new ProtobufDependency(i.Name, Base64(i)))];
        var embedded = ProtobufSchema.Parse(Base64(file), serialized);
        var (printed, _) = RoundTrip(embedded, serialized);

        List<ProtobufDependency> texts = [.. imports.Select(i => new ProtobufDependency(i.Name, ProtobufSchemaTests.ProtoSource(i.Name)))];
        var text = ProtobufSchema.Parse(ProtobufSchemaTests.ProtoSource(path), texts);
        RoundTrip(text, texts);

        // The text printed from protoc's descriptor is the same schema as the .proto file it was compiled from.
        Assert.Equal(text.Canonical, ProtobufSchema.Parse(printed, texts).Canonical);
    }

    [Fact]
    public void The_users_proto_is_written_in_confluents_layout()
    {
        var schema = ProtobufSchema.Parse(Base64(User.Descriptor.File));

        Assert.Equal(
            """
            syntax = "proto3";
            package kafkaclient.tests;

            option csharp_namespace = "KafkaClient.Tests.Protos";

            message User {
              string name = 1;
              int64 favorite_number = 2;
              string favorite_color = 3;
              string twitter_handle = 4;
            }

            """,
            schema.ToProtoText());
        Assert.Equal(schema.ToProtoText(), ProtobufSchema.Parse(ProtobufSchemaTests.ProtoSource("user.proto")).ToProtoText());
    }

    // ---- Google's well-known types, descriptor.proto first ----

    public static TheoryData<string> WellKnownFiles() =>
    [
        .. WellKnown.Select(f => f.Name),
    ];

    private static FileDescriptor[] WellKnown =>
    [
        DescriptorReflection.Descriptor, Wkt.AnyReflection.Descriptor, Wkt.ApiReflection.Descriptor, Wkt.DurationReflection.Descriptor,
        Wkt.EmptyReflection.Descriptor, Wkt.FieldMaskReflection.Descriptor, Wkt.SourceContextReflection.Descriptor, Wkt.StructReflection.Descriptor,
        Wkt.TimestampReflection.Descriptor, Wkt.TypeReflection.Descriptor, Wkt.WrappersReflection.Descriptor,
    ];

    [Theory]
    [MemberData(nameof(WellKnownFiles))]
    public void Googles_well_known_types_round_trip(string name)
    {
        RoundTrip(ProtobufSchema.Parse(Base64(WellKnown.Single(f => f.Name == name))));
    }

    [Fact]
    public void Descriptor_proto_keeps_its_proto2_defaults_ranges_and_option_values()
    {
        var (text, _) = RoundTrip(ProtobufSchema.Parse(Base64(DescriptorReflection.Descriptor)));

        Assert.StartsWith("syntax = \"proto2\";\npackage google.protobuf;\n", text, StringComparison.Ordinal);
        Assert.Contains("  optional .google.protobuf.FileOptions.OptimizeMode optimize_for = 9 [default = SPEED];\n", text, StringComparison.Ordinal);
        Assert.Contains("  extensions 1000 to max;\n", text, StringComparison.Ordinal);
        Assert.Contains("  repeated int32 path = 1 [packed = true];\n", text, StringComparison.Ordinal);
        Assert.Contains("feature_support = { edition_introduced: EDITION_", text, StringComparison.Ordinal);
        Assert.Contains("targets = TARGET_TYPE_FIELD", text, StringComparison.Ordinal);
    }

    // ---- Confluent's conformance schemas ----

    [RequiresConformanceDataFact]
    public void Every_schema_of_confluents_protobuf_conformance_cases_round_trips()
    {
        var folder = Path.Combine(ConformanceData.Folder ?? throw new DirectoryNotFoundException(ConformanceData.MissingMessage), "protobuf-provider");
        string Load(string schema) => schema.EndsWith(".proto", StringComparison.Ordinal) ? File.ReadAllText(Path.Combine(folder, schema)) : schema;

        var schemas = new List<(string Name, string Schema, List<ProtobufDependency> Dependencies)>();
        foreach (var file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            var cases = JsonNode.Parse(File.ReadAllText(file))!.AsArray();
            for (var i = 0; i < cases.Count; i++)
            {
                foreach (var side in new[] { "original", "update" })
                {
                    var dependencies = new List<ProtobufDependency>();
                    foreach (var dependency in cases[i]![$"{side}_dependencies"]?.AsArray() ?? [])
                    {
                        var name = (string)dependency!["name"]!;
                        var text = (string?)dependency["dependency"] ?? (File.Exists(Path.Combine(folder, name)) ? File.ReadAllText(Path.Combine(folder, name)) : null);
                        if (text is not null)
                        {
                            dependencies.Add(new ProtobufDependency(name, text)); // else a built-in file (confluent/meta.proto, ...)
                        }
                    }

                    schemas.Add(($"{Path.GetFileName(file)}[{i}].{side}", Load((string)cases[i]![$"{side}_schema"]!), dependencies));
                }
            }
        }

        foreach (var file in Directory.GetFiles(folder, "*.proto", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            schemas.Add((Path.GetRelativePath(folder, file), File.ReadAllText(file), []));
        }

        var roundTripped = 0;
        var skipped = new List<string>();
        foreach (var (name, schema, dependencies) in schemas)
        {
            ProtobufSchema parsed;
            try
            {
                parsed = ProtobufSchema.Parse(schema, dependencies);
            }
            catch (FormatException ex)
            {
                skipped.Add($"{name}: {ex.Message}");
                continue;
            }

            RoundTrip(parsed, dependencies);
            roundTripped++;

            // The same from the descriptor, as a client that registers base64 stores it.
            RoundTrip(ProtobufSchema.Parse(parsed.ToBase64(), dependencies), dependencies);
        }

        Assert.Empty(skipped);
        Assert.Equal(114, roundTripped); // 54 + 1 cases, two schemas each, and the 4 files of io/
    }

    // ---- Hand-written schemas: every construct of the text ----

    public static TheoryData<string, string> TrickySchemas() => new()
    {
        {
            "proto2 defaults, required, groups, extensions",
            """
            syntax = "proto2";
            package t.p2;
            message M {
              required int32 id = 1;
              optional string s = 2 [default = "a\"b\\c\x01\0017\n\t\r'é中\U0001F600\u200b"];
              optional bytes b = 3 [default = "\xff\x00\377\"\\z"];
              optional double inf = 4 [default = inf];
              optional double ninf = 5 [default = -inf];
              optional float nan = 6 [default = nan];
              optional float f = 7 [default = -1.5];
              optional double d = 8 [default = 1e20];
              optional double tiny = 9 [default = 1e-7];
              optional E e = 10 [default = B];
              optional int64 min = 11 [default = -9223372036854775808];
              optional uint64 max = 12 [default = 18446744073709551615];
              optional bool flag = 13 [default = true];
              optional sint32 hex = 14 [default = 0x10];
              optional fixed32 fx = 15 [default = 4294967295];
              optional string empty = 16 [default = ""];
              repeated int32 packed = 17 [packed = true];
              repeated int32 unpacked = 18 [packed = false];
              optional group Foo = 19 {
                optional int32 a = 20;
                repeated group Inner = 21 { required string deep = 22; }
              }
              repeated group Bar = 23 { optional int32 b = 24; }
              oneof choice {
                string c = 25;
                group Member = 26 { optional int32 m = 27; }
              }
              enum E { A = 1; B = 2; NEG = -3; }
              extensions 100 to 199;
              extensions 1000 to max;
              extend M { optional int32 scoped = 150; optional group ScopedGroup = 151 { optional string z = 1; } }
              reserved 30, 31 to 35, 40;
              reserved "x", "y";
            }
            extend M {
              optional int32 top = 100;
              repeated M many = 101;
              optional group TopGroup = 102 { optional string w = 1; }
              repeated int32 pk = 103 [packed = true];
            }
            message After {}
            """
        },
        {
            "proto3 optional, maps, oneofs, nested types in declaration order",
            """
            syntax = "proto3";
            package t.p3;
            import "google/protobuf/timestamp.proto";
            message M {
              message Before { string v = 1; }
              map<string, Before> by_name = 1;
              message Between { int32 v = 1; }
              map<int64, Kind> kinds = 2;
              map<bool, bytes> flags = 3;
              map<sfixed64, google.protobuf.Timestamp> times = 4;
              optional int32 maybe = 5;
              oneof first { string a = 6; Before b = 7; }
              optional string later = 8;
              oneof second { Kind k = 9; }
              repeated Between many = 10;
              int32 renamed = 11 [json_name = "RenamedTo"];
              int32 snake_case_name = 12 [json_name = "snakeCaseName"];
              enum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }
              message After { map<string, string> inner = 1; message Deeper { Kind k = 1; } }
              reserved 20 to 25;
              reserved "gone";
            }
            enum Top {
              option allow_alias = true;
              TOP_ZERO = 0;
              TOP_ONE = 1 [deprecated = true];
              TOP_ALIAS = 1;
              reserved 5, 7 to 9, 100 to max;
              reserved "OLD";
            }
            """
        },
        {
            "services, streaming and method options",
            """
            syntax = "proto3";
            package t.svc;
            import "google/protobuf/empty.proto";
            message Req {}
            message Res {}
            service S {
              option deprecated = true;
              rpc Unary(Req) returns (Res);
              rpc ClientStream(stream Req) returns (Res);
              rpc ServerStream(Req) returns (stream Res) { option deprecated = true; }
              rpc Both(stream Req) returns (stream google.protobuf.Empty) { option idempotency_level = NO_SIDE_EFFECTS; }
            }
            service Empty {}
            """
        },
        {
            "file, message, field, enum and value options",
            """
            syntax = "proto3";
            package t.opts;
            import public "google/protobuf/duration.proto";
            import "google/protobuf/descriptor.proto";
            option java_package = "com.example.opts";
            option java_outer_classname = "Opts";
            option java_multiple_files = true;
            option java_generate_equals_and_hash = true;
            option java_string_check_utf8 = true;
            option optimize_for = LITE_RUNTIME;
            option go_package = "example.com/opts;opts";
            option cc_generic_services = false;
            option java_generic_services = false;
            option py_generic_services = false;
            option deprecated = true;
            option cc_enable_arenas = true;
            option objc_class_prefix = "OPT";
            option csharp_namespace = "Example.Opts";
            option swift_prefix = "Opt";
            option php_class_prefix = "Opt";
            option php_namespace = "Example\\Opts";
            option php_metadata_namespace = "Example\\Opts\\Meta";
            option ruby_package = "Example::Opts";
            message M {
              option deprecated = true;
              option no_standard_descriptor_accessor = true;
              string a = 1 [deprecated = true, ctype = CORD];
              int64 b = 2 [jstype = JS_STRING];
              M c = 3 [lazy = true];
              string d = 4 [debug_redact = true];
              google.protobuf.Duration e = 5;
              oneof o {
                option (opt_oneof) = 7;
                int32 x = 6;
              }
            }
            enum E {
              option deprecated = true;
              E0 = 0 [deprecated = true, debug_redact = true];
            }
            extend google.protobuf.OneofOptions { int32 opt_oneof = 50000; }
            """
        },
        {
            "custom options of every kind",
            """
            syntax = "proto3";
            package t.custom;
            import "google/protobuf/descriptor.proto";
            import "confluent/meta.proto";
            option (confluent.file_meta) = { doc: "file" };
            option (file_tag) = "f\"ile";
            message Opt {
              int32 a = 1;
              repeated string tags = 2;
              Opt sub = 3;
              Kind kind = 4;
              bytes raw = 5;
              repeated int32 nums = 6;
              map<string, Opt> by_name = 7;
              double ratio = 8;
              sint64 zig = 9;
              fixed32 fixed = 10;
              bool on = 11;
              repeated Opt list = 12;
            }
            enum Kind { KIND_ZERO = 0; KIND_ONE = 1; }
            extend google.protobuf.FileOptions { string file_tag = 50000; }
            extend google.protobuf.MessageOptions {
              Opt mopt = 50001;
              repeated int32 rint = 50002;
              Kind kopt = 50003;
              float fopt = 50004;
              uint64 uopt = 50005;
            }
            extend google.protobuf.FieldOptions { Opt field_opt = 50001; int64 iopt = 50005; }
            extend google.protobuf.EnumOptions { bool eopt = 50001; }
            extend google.protobuf.EnumValueOptions { string vopt = 50001; }
            extend google.protobuf.ServiceOptions { string sopt = 50001; }
            extend google.protobuf.MethodOptions { string meopt = 50001; }
            message A {
              option (confluent.message_meta) = { doc: "hello \"w\"" tags: ["a", "b"] params: [{ key: "k" value: "v" }, { key: "k2" value: "v2" }] };
              option (mopt) = { a: 5 sub { a: 6 kind: KIND_ONE } raw: "\001\377" nums: [1, 2, 3] by_name: [{ key: "x" value: { a: 1 } }] ratio: 0.25 zig: -7 fixed: 4000000000 on: true list: [{ a: 1 }, { a: 2 }] };
              option (rint) = 1;
              option (rint) = -2;
              option (kopt) = KIND_ONE;
              option (fopt) = -1.5e-10;
              option (uopt) = 18446744073709551615;
              string f = 1 [(confluent.field_meta) = { params: [{ key: "precision", value: "8" }, { key: "scale", value: "3" }] }, (field_opt).a = 3, (iopt) = -5, deprecated = true];
            }
            enum Status {
              option (eopt) = true;
              option (confluent.enum_meta) = { doc: "enum" };
              ACTIVE = 0 [(vopt) = "v", (confluent.enum_value_meta) = { doc: "active" }];
            }
            service S {
              option (sopt) = "s";
              rpc M(A) returns (A) { option (meopt) = "m"; }
            }
            """
        },
        {
            "editions",
            """
            edition = "2023";
            package t.ed;
            option features.field_presence = IMPLICIT;
            message M {
              int32 a = 1 [features.field_presence = EXPLICIT];
              repeated int32 b = 2 [features.repeated_field_encoding = EXPANDED];
              M child = 3 [features.message_encoding = DELIMITED];
              reserved foo, bar;
            }
            enum E {
              option features.enum_type = CLOSED;
              E1 = 1;
            }
            """
        },
        {
            "names that are keywords elsewhere",
            """
            syntax = "proto3";
            package t.kw;
            message message { int32 optional = 1; string repeated = 2; int32 map = 3; int32 group = 4; int32 option = 5; message enum {} enum service { X = 0; } }
            message syntax { .t.kw.message package = 1; .t.kw.message.service import = 2; }
            """
        },
    };

    [Theory]
    [MemberData(nameof(TrickySchemas))]
    public void Hand_written_schemas_round_trip_from_text_and_from_their_descriptor(string description, string schema)
    {
        Assert.NotEmpty(description);
        var parsed = ProtobufSchema.Parse(schema);
        var (text, _) = RoundTrip(parsed);
        RoundTrip(ProtobufSchema.Parse(parsed.ToBase64()));

        // Printing is stable: the text of the text is the text.
        Assert.Equal(text, ProtobufSchema.Parse(text).ToProtoText());
    }

    [Fact]
    public void Maps_and_proto3_optional_fields_are_written_without_their_synthetic_messages_and_oneofs()
    {
        var text = ProtobufSchema.Parse("""
            syntax = "proto3";
            package t;
            message M {
              message Before {}
              map<string, Before> by_name = 1;
              optional int32 maybe = 2;
              oneof choice { string a = 3; int32 b = 4; }
            }
            """).ToProtoText();

        Assert.Equal(
            """
            syntax = "proto3";
            package t;

            message M {
              message Before {}
              map<string, .t.M.Before> by_name = 1;
              optional int32 maybe = 2;
              oneof choice {
                string a = 3;
                int32 b = 4;
              }
            }

            """,
            text);
    }

    [Fact]
    public void A_proto2_group_is_written_as_a_group_where_its_field_is()
    {
        var text = ProtobufSchema.Parse("syntax = \"proto2\"; message M { optional int32 a = 1; repeated group Item = 2 { required string id = 3; } message After {} }").ToProtoText();

        Assert.Contains(
            """
              optional int32 a = 1;
              repeated group Item = 2 {
                required string id = 3;
              }
              message After {}
            """,
            text,
            StringComparison.Ordinal);
    }

    // ---- Escaping ----

    [Theory]
    [InlineData("plain", "\"plain\"")]
    [InlineData("quote\" and back\\slash", "\"quote\\\" and back\\\\slash\"")]
    [InlineData("it's", "\"it's\"")]
    [InlineData("tab\tnew\nline\rret", "\"tab\\tnew\\nline\\rret\"")]
    [InlineData("\u0000\u0001\u001f\u007f", "\"\\000\\001\\037\\177\"")]
    [InlineData("élan 中文", "\"élan 中文\"")]
    [InlineData("\U0001F600", "\"\\U0001f600\"")]
    [InlineData("zero\u200bwidth\u2028line\u00a0nbsp", "\"zero\\u200bwidth\\u2028line\\u00a0nbsp\"")]
    public void Strings_are_escaped_so_that_protobuf_net_reads_them_back(string value, string expected) =>
        Assert.Equal(expected, ProtoTextPrinter.Quote(value));

    [Fact]
    public void String_and_bytes_defaults_of_any_content_round_trip()
    {
        var tricky = "q\"b\\s'\u0000\u0001\u0007\b\f\n\r\t\v\u001f\u007f é ü 中 \U0001F600 \u200b\u2028\u00a0 end";
        var file = new FileDescriptorProto { Package = "esc" }; // proto2, as protoc leaves it: no syntax
        var message = new DescriptorProto { Name = "M" };
        message.Field.Add(new FieldDescriptorProto { Name = "s", Number = 1, Label = FieldDescriptorProto.Types.Label.Optional, Type = FieldDescriptorProto.Types.Type.String, DefaultValue = tricky });
        var allBytes = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();

        // A bytes default as protoc escapes it (C escapes, octal for the rest), which is also how protobuf-net writes it.
        var escaped = ProtoTextPrinter.QuoteBytes(allBytes)[1..^1].Replace("'", "\\'", StringComparison.Ordinal);
        message.Field.Add(new FieldDescriptorProto { Name = "b", Number = 2, Label = FieldDescriptorProto.Types.Label.Optional, Type = FieldDescriptorProto.Types.Type.Bytes, DefaultValue = escaped });
        file.MessageType.Add(message);

        var schema = ProtobufSchema.Parse(file.ToByteString().ToBase64());
        var (text, back) = RoundTrip(schema);

        Assert.Equal(tricky, back.Descriptor.MessageType[0].Field[0].DefaultValue);
        Assert.Equal(allBytes, ProtoTextPrinter.Unescape(back.Descriptor.MessageType[0].Field[1].DefaultValue));
        Assert.All(text, c => Assert.False(char.IsControl(c) && c != '\n', $"control character U+{(int)c:X4} in the text"));
        Assert.All(text, c => Assert.False(char.IsSurrogate(c), "a surrogate in the text"));
    }

    // ---- What text cannot say: what happens ----

    [Fact]
    public void A_weak_import_is_written_as_a_plain_import()
    {
        var file = new FileDescriptorProto { Syntax = "proto3", Dependency = { "google/protobuf/empty.proto", "google/protobuf/any.proto" }, WeakDependency = { 0 }, PublicDependency = { 1 } };
        var schema = ProtobufSchema.Parse(file.ToByteString().ToBase64());

        var text = schema.ToProtoText();
        var back = ProtobufSchema.Parse(text).Descriptor;

        Assert.Contains("import \"google/protobuf/empty.proto\";\nimport public \"google/protobuf/any.proto\";\n", text, StringComparison.Ordinal);
        Assert.Empty(back.WeakDependency);
        Assert.Equal([1], back.PublicDependency);
        back.WeakDependency.Add(0);
        Assert.Equal(schema.Canonical, ProtobufSchema.Parse(back.ToByteString().ToBase64()).Canonical);
    }

    [Fact]
    public void A_custom_option_that_no_file_defines_is_left_out_and_the_rest_is_kept()
    {
        var defined = ProtobufSchema.Parse("""
            syntax = "proto3";
            import "google/protobuf/descriptor.proto";
            extend google.protobuf.MessageOptions { string known = 50001; }
            message M { option (known) = "kept"; option deprecated = true; }
            """);
        var file = defined.Descriptor;
        var options = file.MessageType[0].Options.ToByteArray();
        var unknown = new byte[] { 0xA0, 0x9F, 0x18, 0x07 }; // field 50004, varint 7: an extension nothing defines
        file.MessageType[0].Options = MessageOptions.Parser.ParseFrom([.. options, .. unknown]);
        var schema = ProtobufSchema.Parse(file.ToByteString().ToBase64());

        var text = schema.ToProtoText();
        var back = ProtobufSchema.Parse(text);

        Assert.Contains("  option deprecated = true;\n  option (.known) = \"kept\";\n}", text, StringComparison.Ordinal);
        Assert.Equal(defined.Canonical, back.Canonical);
        Assert.NotEqual(schema.Canonical, back.Canonical);
    }

    [Fact]
    public void Group_options_and_extension_range_options_cannot_be_read_back_by_protobuf_net()
    {
        var file = new FileDescriptorProto { Package = "g", Syntax = "proto2" };
        var message = new DescriptorProto { Name = "M" };
        message.NestedType.Add(new DescriptorProto { Name = "Grp" });
        message.Field.Add(new FieldDescriptorProto { Name = "grp", Number = 1, Label = FieldDescriptorProto.Types.Label.Optional, Type = FieldDescriptorProto.Types.Type.Group, TypeName = ".g.M.Grp", Options = new FieldOptions { Deprecated = true } });
        message.ExtensionRange.Add(new DescriptorProto.Types.ExtensionRange { Start = 100, End = 200, Options = new ExtensionRangeOptions { Verification = ExtensionRangeOptions.Types.VerificationState.Unverified } });
        file.MessageType.Add(message);
        var schema = ProtobufSchema.Parse(file.ToByteString().ToBase64());

        var text = schema.ToProtoText();
        var back = ProtobufSchema.Parse(text).Descriptor.MessageType[0];

        Assert.Contains("  optional group Grp = 1 {}\n  extensions 100 to 199 [verification = UNVERIFIED];\n", text, StringComparison.Ordinal);
        Assert.Null(back.Field[0].Options);
        Assert.Null(back.ExtensionRange[0].Options);
        Assert.Equal(".g.M.Grp", back.Field[0].TypeName);
    }

    [Fact]
    public void Protobuf_net_rounds_a_floating_point_default_it_formats_with_an_exponent()
    {
        var schema = ProtobufSchema.Parse("syntax = \"proto2\"; message M { optional double d = 1 [default = 1.5e20]; optional double e = 2 [default = 1e20]; }");
        var fields = schema.Descriptor.MessageType[0].Field;
        Assert.Equal(("2e+20", "1e+20"), (fields[0].DefaultValue, fields[1].DefaultValue)); // protobuf-net's own rounding

        var protoc = schema.Descriptor;
        protoc.MessageType[0].Field[0].DefaultValue = "1.5e+20"; // as protoc writes it
        var fromProtoc = ProtobufSchema.Parse(protoc.ToByteString().ToBase64());

        var back = ProtobufSchema.Parse(fromProtoc.ToProtoText());
        Assert.Contains("[default = 1.5e20]", fromProtoc.ToProtoText(), StringComparison.Ordinal);
        Assert.Equal("2e+20", back.Descriptor.MessageType[0].Field[0].DefaultValue);
    }

    [Fact]
    public void Protobuf_net_writes_option_values_unpacked_and_leaves_out_a_value_equal_to_its_proto2_default()
    {
        var schema = ProtobufSchema.Parse("""
            syntax = "proto2";
            package o;
            import "google/protobuf/descriptor.proto";
            message Opt { optional int32 a = 1; optional int32 b = 2 [default = 5]; repeated int32 nums = 3 [packed = true]; }
            extend google.protobuf.MessageOptions { optional Opt o = 50001; }
            message M { option deprecated = true; }
            """);

        // { a: 0 b: 5 nums: [1, 2] } as protoc serializes it: b although it is the default, nums packed.
        var file = schema.Descriptor;
        file.MessageType.Single(m => m.Name == "M").Options = MessageOptions.Parser.ParseFrom([0x18, 0x01, 0x8A, 0xB5, 0x18, 0x08, 0x08, 0x00, 0x10, 0x05, 0x1A, 0x02, 0x01, 0x02]);
        var fromProtoc = ProtobufSchema.Parse(file.ToByteString().ToBase64());

        var text = fromProtoc.ToProtoText();
        var back = ProtobufSchema.Parse(text).Descriptor.MessageType.Single(m => m.Name == "M").Options.ToByteArray();

        Assert.Contains("  option (.o.o) = { a: 0 b: 5 nums: 1 nums: 2 };\n", text, StringComparison.Ordinal);
        Assert.Equal([0x18, 0x01, 0x8A, 0xB5, 0x18, 0x06, 0x08, 0x00, 0x18, 0x01, 0x18, 0x02], back); // no b, nums unpacked
    }

    [Fact]
    public void An_explicit_proto2_syntax_and_an_empty_oneof_are_written_as_text_has_them()
    {
        var file = new FileDescriptorProto { Package = "s", Syntax = "proto2" };
        var message = new DescriptorProto { Name = "M", OneofDecl = { new OneofDescriptorProto { Name = "empty" }, new OneofDescriptorProto { Name = "full" } } };
        message.Field.Add(new FieldDescriptorProto { Name = "a", Number = 1, Type = FieldDescriptorProto.Types.Type.Int32, Label = FieldDescriptorProto.Types.Label.Optional, OneofIndex = 1 });
        file.MessageType.Add(message);
        var schema = ProtobufSchema.Parse(file.ToByteString().ToBase64());

        var text = schema.ToProtoText();

        Assert.Contains("  oneof empty {}\n  oneof full {\n    int32 a = 1;\n  }\n", text, StringComparison.Ordinal);
        var back = ProtobufSchema.Parse(text).Descriptor;
        Assert.Equal(string.Empty, back.Syntax); // a parsed proto2 file has no syntax, as protoc's
        Assert.Equal(["empty", "full"], back.MessageType[0].OneofDecl.Select(o => o.Name));
        Assert.Equal(1, back.MessageType[0].Field[0].OneofIndex);
    }

    // ---- Descriptors that cannot be written ----

    public static TheoryData<string, FileDescriptorProto> Unwritable()
    {
        static FileDescriptorProto With(DescriptorProto message, string syntax = "proto3") => new() { Package = "p", Syntax = syntax, MessageType = { message } };
        static FieldDescriptorProto Field(string name, FieldDescriptorProto.Types.Type type, string? typeName = null, string? defaultValue = null)
        {
            var field = new FieldDescriptorProto { Name = name, Number = 1, Label = FieldDescriptorProto.Types.Label.Optional, Type = type };
            if (typeName is not null)
            {
                field.TypeName = typeName;
            }

            if (defaultValue is not null)
            {
                field.DefaultValue = defaultValue;
            }

            return field;
        }

        return new()
        {
            { "message name", With(new DescriptorProto { Name = "M } message X {" }) },
            { "field name", With(new DescriptorProto { Name = "M", Field = { Field("a b", FieldDescriptorProto.Types.Type.Int32) } }) },
            { "type of field", With(new DescriptorProto { Name = "M", Field = { Field("a", FieldDescriptorProto.Types.Type.Message, ".p.M; int32 x = 2") } }) },
            { "enum value name", new FileDescriptorProto { Syntax = "proto3", EnumType = { new EnumDescriptorProto { Name = "E", Value = { new EnumValueDescriptorProto { Name = "1x", Number = 0 } } } } } },
            { "default value", With(new DescriptorProto { Name = "M", Field = { Field("a", FieldDescriptorProto.Types.Type.Int32, defaultValue: "12abc") } }, "proto2") },
            { "default value", With(new DescriptorProto { Name = "M", Field = { Field("a", FieldDescriptorProto.Types.Type.Bytes, defaultValue: "\\q") } }, "proto2") },
            { "syntax", new FileDescriptorProto { Syntax = "proto4" } },
            { "package", new FileDescriptorProto { Syntax = "proto3", Package = "a..b" } },
            { "group field", With(new DescriptorProto { Name = "M", Field = { Field("g", FieldDescriptorProto.Types.Type.Group, ".p.M") } }, "proto2") },
        };
    }

    [Theory]
    [MemberData(nameof(Unwritable))]
    public void A_descriptor_that_text_cannot_express_is_a_format_error(string what, FileDescriptorProto file)
    {
        var ex = Assert.Throws<FormatException>(() => ProtoTextPrinter.Print(file, new Dictionary<string, FileDescriptorProto>()));
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be written as .proto text", ex.Message, StringComparison.Ordinal);
    }

    // ---- Depth ----

    [Fact]
    public async Task Ten_thousand_nested_messages_print_without_recursion_and_the_text_is_refused_by_the_parser()
    {
        const int Depth = 10_000;
        var root = new DescriptorProto { Name = "M0" };
        var current = root;
        for (var i = 1; i < Depth; i++)
        {
            var next = new DescriptorProto { Name = "M" + i };
            next.Field.Add(new FieldDescriptorProto { Name = "f", Number = 1, Label = FieldDescriptorProto.Types.Label.Optional, Type = FieldDescriptorProto.Types.Type.Message, TypeName = ".p.M0" });
            current.NestedType.Add(next);
            current = next;
        }

        var file = new FileDescriptorProto { Package = "p", Syntax = "proto3", MessageType = { root } };

        var text = await Task.Run(() => ProtoTextPrinter.Print(file, new Dictionary<string, FileDescriptorProto>())).WaitAsync(HangGuard);

        var lines = text.Split('\n');
        Assert.Equal(Depth, lines.Count(l => l.TrimStart().StartsWith("message M", StringComparison.Ordinal)));
        Assert.Equal(Depth, lines.Count(l => l.Trim() == "}"));
        Assert.True(lines.Max(l => l.Length) < 200, "indentation stops growing");
        var ex = await Assert.ThrowsAsync<FormatException>(() => Task.Run(() => ProtobufSchema.Parse(text)).WaitAsync(HangGuard));
        Assert.Contains("nests more than 64 levels deep", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sixty_nested_messages_with_maps_and_groups_round_trip()
    {
        var text = new StringBuilder("syntax = \"proto2\";\npackage deep;\n");
        for (var i = 0; i < 30; i++)
        {
            text.Append("message M").Append(i).Append(" { map<string, int32> m = 1; optional group G = 2 { optional int32 g = 3; } ");
        }

        text.Append(new string('}', 30));
        RoundTrip(ProtobufSchema.Parse(text.ToString()));
    }

    [Fact]
    public void An_option_value_that_nests_too_deeply_is_a_format_error()
    {
        var schema = ProtobufSchema.Parse("""
            syntax = "proto3";
            package o;
            import "google/protobuf/descriptor.proto";
            message Opt { Opt sub = 1; int32 v = 2; }
            extend google.protobuf.MessageOptions { Opt nest = 50001; }
            message M { option (nest) = { sub { sub { v: 1 } } }; }
            """);
        RoundTrip(schema);

        // (nest) = { sub { sub { ... 100 levels ... } } }, built inside out.
        var value = new byte[] { 0x10, 0x01 };
        for (var i = 0; i < 100; i++)
        {
            value = [0x0A, .. Varint(value.Length), .. value];
        }

        var file = schema.Descriptor;
        file.MessageType.Single(m => m.Name == "M").Options = MessageOptions.Parser.ParseFrom([0x8A, 0xB5, 0x18, .. Varint(value.Length), .. value]);

        var ex = Assert.Throws<FormatException>(() => ProtoTextPrinter.Print(file, schema.Dependencies));
        Assert.Contains($"nests more than {ProtoTextPrinter.MaxOptionDepth} messages deep", ex.Message, StringComparison.Ordinal);

        static byte[] Varint(int length)
        {
            var bytes = new List<byte>();
            while (length >= 0x80)
            {
                bytes.Add((byte)(length | 0x80));
                length >>= 7;
            }

            bytes.Add((byte)length);
            return [.. bytes];
        }
    }

    [Theory]
    [InlineData("foo_bar", "FooBarEntry")]
    [InlineData("_x", "XEntry")]
    [InlineData("a__b1_c", "AB1CEntry")]
    [InlineData("Map", "MapEntry")]
    public void Map_entry_names_are_protocs(string field, string expected) => Assert.Equal(expected, ProtoTextPrinter.MapEntryName(field));
}

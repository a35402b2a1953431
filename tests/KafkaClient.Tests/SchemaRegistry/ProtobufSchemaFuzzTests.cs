using System.Text;
using Google.Protobuf;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.Tests.Protos.Orders;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Mangled .proto texts and descriptors: a FormatException or a schema, never another exception or a hang.</summary>
public class ProtobufSchemaFuzzTests
{
    private static readonly string[] Seeds =
    [
        ProtobufSchemaTests.ProtoSource("user.proto"),
        ProtobufSchemaTests.ProtoSource("indexes.proto"),
        ProtobufSchemaTests.RichProto2,
        """
        syntax = "proto3";
        package x;
        message M { optional int32 a = 1; map<int64, M> m = 2; oneof o { M one = 3; bytes two = 4; } enum K { K0 = 0; K1 = 1; } K k = 5; }
        """,
    ];

    private static readonly string[] Fragments =
    [
        "{", "}", ";", "=", "\"", "'", "/*", "*/", "//", "\n", "<", ">", "[", "]", "(", ")", ".", "message ", "enum ", "oneof ",
        "map<", "import \"", "option (", "repeated ", "optional ", "required ", "extend ", "99999999999999999999", "-1", "0x7fffffff",
        "max", "group ", "stream ", "reserved ", "extensions ", "syntax = \"proto3\";", "edition = \"2023\";", "\\", "\0",
    ];

    [Fact]
    public async Task Mangled_text_is_a_schema_or_a_format_error()
    {
        var random = new Random(20250601);
        var failures = new List<string>();
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("PROTOBUF_FUZZ_ITERATIONS"), out var n) ? n : 300;
        await Task.Run(() =>
        {
            for (var i = 0; i < iterations; i++)
            {
                var text = new StringBuilder(Seeds[random.Next(Seeds.Length)]);
                for (var edits = random.Next(1, 6); edits > 0 && text.Length > 0; edits--)
                {
                    var at = random.Next(text.Length);
                    switch (random.Next(3))
                    {
                        case 0:
                            text.Remove(at, Math.Min(text.Length - at, random.Next(1, 12)));
                            break;
                        case 1:
                            text.Insert(at, Fragments[random.Next(Fragments.Length)]);
                            break;
                        default:
                            var from = random.Next(text.Length);
                            text.Insert(at, text.ToString(from, Math.Min(text.Length - from, random.Next(1, 40))));
                            break;
                    }
                }

                Check(text.ToString(), failures);
            }
        }).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Take(5)));
    }

    [Fact]
    public async Task Mangled_descriptors_are_a_schema_or_a_format_error()
    {
        var random = new Random(20250602);
        var failures = new List<string>();
        var seed = Order.Descriptor.File.SerializedData.ToByteArray();
        var money = new ProtobufDependency("common/money.proto", ProtobufSchemaTests.ProtoSource("common/money.proto"));
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("PROTOBUF_FUZZ_ITERATIONS"), out var n) ? n : 300;
        await Task.Run(() =>
        {
            for (var i = 0; i < iterations; i++)
            {
                var bytes = seed.ToList();
                for (var edits = random.Next(1, 4); edits > 0 && bytes.Count > 0; edits--)
                {
                    var at = random.Next(bytes.Count);
                    switch (random.Next(3))
                    {
                        case 0:
                            bytes[at] = (byte)random.Next(256);
                            break;
                        case 1:
                            bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 6)));
                            break;
                        default:
                            bytes.Insert(at, (byte)random.Next(256));
                            break;
                    }
                }

                Check(Convert.ToBase64String([.. bytes]), failures, money);
            }
        }).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Take(5)));
    }

    private static void Check(string schema, List<string> failures, params ProtobufDependency[] dependencies)
    {
        try
        {
            var parsed = ProtobufSchema.Parse(schema, dependencies);
            _ = parsed.Canonical;
            var again = ProtobufSchema.Parse(parsed.ToBase64(), dependencies);
            var diff = new ProtobufSchemaDiff();
            Assert.Empty(diff.Compare(parsed, again).Changes);
            _ = diff.Compare(parsed, ProtobufSchema.Parse(Seeds[3]));
        }
        catch (FormatException)
        {
        }
        catch (SchemaTooComplexException)
        {
        }
        catch (Exception ex)
        {
            failures.Add($"{ex.GetType().Name}: {ex.Message}\n{schema}\n{ex.StackTrace}");
        }
    }
}

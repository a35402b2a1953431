using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The serializer writes header and JSON into one pooled buffer: the bytes are the same as framing <see cref="JsonSerializer.SerializeToUtf8Bytes{TValue}(TValue, JsonSerializerOptions?)"/>.</summary>
public class JsonSerializerFramingTests
{
    private const string OpenSchema = """{"type":"object"}""";
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "framing");
    private static readonly JsonSchemaSerdeConfig NoValidation = new(new Dictionary<string, string> { ["validate.on.serialize"] = "false" });

    public static TheoryData<string> Options => ["web", "default", "indented", "relaxed", "snake", "tabs"];

    private static JsonSerializerOptions Named(string name) => name switch
    {
        "web" => JsonSerializerOptions.Web,
        "default" => JsonSerializerOptions.Default,
        "indented" => new JsonSerializerOptions { WriteIndented = true },
        "relaxed" => new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping },
        "snake" => new JsonSerializerOptions(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower },
        _ => new JsonSerializerOptions { WriteIndented = true, IndentCharacter = '\t', IndentSize = 1, NewLine = "\r\n" },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public async Task Framed_bytes_are_the_header_and_system_text_jsons_bytes(string options)
    {
        var json = Named(options);
        var registry = new InProcessSchemaRegistry();
        var value = new Sample("zürich <&> \"q\" 🎉", 42, [1.5, -2], new Dictionary<string, string?> { ["k"] = null });

        foreach (var config in new[] { NoValidation, JsonSchemaSerdeConfig.Default })
        {
            var framed = await new JsonSchemaSerializer<Sample>(registry, OpenSchema, config, json).SerializeAsync(value, Value);

            var id = ConfluentWireFormat.ReadSchemaId(framed);
            Assert.Equal(ConfluentWireFormat.Frame(id, JsonSerializer.SerializeToUtf8Bytes(value, json)), framed);
        }
    }

    [Fact]
    public async Task The_conversion_hook_writes_what_to_json_string_writes_and_null_as_null()
    {
        var registry = new InProcessSchemaRegistry();
        var node = JsonNode.Parse("""{"a":"zürich <&>","b":[1,2.50,{"c":null}]}""")!;
        var hooked = new JsonSchemaSerializer<string>(registry, "{}", toJson: (s, _) => s == "null" ? null : node);

        var framed = await hooked.SerializeAsync("x", Value);
        var nulled = await hooked.SerializeAsync("null", Value);

        var id = ConfluentWireFormat.ReadSchemaId(framed);
        Assert.Equal(ConfluentWireFormat.Frame(id, Encoding.UTF8.GetBytes(node.ToJsonString())), framed);
        Assert.Equal(ConfluentWireFormat.Frame(id, "null"u8), nulled);
    }

    [Fact]
    public async Task A_hook_that_serializes_on_the_same_thread_gets_its_own_buffer()
    {
        var registry = new InProcessSchemaRegistry();
        var inner = new JsonSchemaSerializer<Sample>(registry, OpenSchema);
        byte[]? innerBytes = null;
        var outer = new JsonSchemaSerializer<string>(registry, "{}", toJson: (s, _) =>
        {
            innerBytes = inner.SerializeAsync(new Sample(s, 1, [], []), Value).GetAwaiter().GetResult(); // completed: cached id
            return JsonValue.Create(s);
        });
        _ = await inner.SerializeAsync(new Sample("warm", 0, [], []), Value);

        var framed = await outer.SerializeAsync("outer", Value);

        Assert.Equal("\"outer\"", Encoding.UTF8.GetString(framed.AsSpan(ConfluentWireFormat.HeaderLength)));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new Sample("outer", 1, [], []), JsonSerializerOptions.Web), innerBytes.AsSpan(ConfluentWireFormat.HeaderLength).ToArray());
    }

    [Fact]
    public async Task A_large_value_and_then_a_small_one_frame_correctly()
    {
        var registry = new InProcessSchemaRegistry();
        var serializer = new JsonSchemaSerializer<Sample>(registry, OpenSchema);
        var large = new Sample(new string('x', 3 << 20), 1, [], []);
        var small = new Sample("s", 2, [], []);

        var first = await serializer.SerializeAsync(large, Value);
        var second = await serializer.SerializeAsync(small, Value);

        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(large, JsonSerializerOptions.Web), first.AsSpan(ConfluentWireFormat.HeaderLength).ToArray());
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(small, JsonSerializerOptions.Web), second.AsSpan(ConfluentWireFormat.HeaderLength).ToArray());
    }

    public sealed record Sample(string Name, int Count, double[] Values, Dictionary<string, string?> Map);
}

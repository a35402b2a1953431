using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;
using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>
/// The deserializer reads a payload without a separate well-formedness pass (once without validation; validation and
/// mapping each read it with it on): it must accept and refuse exactly what a well-formedness pass first, then the
/// validation, then the mapping accepted and refused, with the same failure kind.
/// </summary>
public class JsonDeserializerSinglePassTests
{
    private const string Schema = """{"type":"object"}""";

    private const string ValidatedSchema = """
        {"type":"object","properties":{"name":{"type":"string","minLength":1},"favorite_number":{"type":"integer","minimum":1},
         "favorite_color":{"type":"string"},"extra":{"type":"object"}},"required":["name","favorite_number"]}
        """;

    private static readonly SerializationContext Value = new(MessageComponentType.Value, "single-pass");

    private static readonly JsonSchemaSerdeConfig NoValidation = new(new Dictionary<string, string> { ["validate.on.deserialize"] = "false" });

    private static readonly string[] Seeds =
    [
        """{"name":"alice","favorite_number":7,"favorite_color":"blue","twitter_handle":"@alice"}""",
        """{"name":"a\"b\\c\/d\b\f\n\r\t","favorite_number":1,"favorite_color":"x","extra":{"deep":[1,2,{"k":null}],"s":"t"}}""",
        """{"name":"n","favorite_number":2,"favorite_color":"c","data":{"any":[true,false,null,1.5e3,-0.0,"v"]}}""",
        """{"name":"n","favorite_number":3,"favorite_color":"c","unknown":[[[[{"a":"b"}]]]]}""",
    ];

    // Fragments that break JSON, or look like they might, spliced in at random places.
    private static readonly string[] Fragments =
    [
        "\uFEFF", "//c\n", "/*c*/", ",", ",]", ",}", "]", "}", "[", "{", ":", "\"", "\\", "\\x", "\\u", "\\u12", "\\ud800", "\\udc00",
        "\\u0041", "\u0001", "\t", "\n", " ", "01", "1.", "-", "+1", "NaN", "Infinity", "tru", "nul", "1e", ".5", "0x1", "'s'",
        "\"k\":1", "\"name\":\"dup\"", "\u00e9", "\ud83d\ude00", "\\\\u", "\\\"",
    ];

    public static TheoryData<string, bool> Targets => new()
    {
        { "typed", false },
        { "element", false },
        { "dictionary", false },
        { "typed", true },
        { "element", true },
        { "dictionary", true },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Mutated_payloads_are_accepted_and_refused_as_with_a_separate_check(string target, bool validate)
    {
        switch (target)
        {
            case "typed":
                await CompareAsync<Person>(validate);
                break;
            case "element":
                await CompareAsync<PersonWithElement>(validate);
                break;
            default:
                await CompareAsync<Dictionary<string, object>>(validate);
                break;
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Comment_and_trailing_comma_options_are_honoured_as_before(bool comments, bool trailingCommas)
    {
        var options = Options(comments, trailingCommas);
        foreach (var payload in new[] { "{\"name\":\"a\",/*c*/\"favorite_number\":1,\"favorite_color\":\"b\"}", "{\"name\":\"a\",\"favorite_number\":1,\"favorite_color\":\"b\",}", "\uFEFF{\"name\":\"a\",\"favorite_number\":1,\"favorite_color\":\"b\"}" })
        {
            await CompareOneAsync<Person>(options, Encoding.UTF8.GetBytes(payload), validator: null);
            await CompareOneAsync<Person>(options, Encoding.UTF8.GetBytes(payload), await JsonValidation.CreateAsync(ValidatedSchema));
        }
    }

    private static async Task CompareAsync<T>(bool validate)
    {
        var validator = validate ? await JsonValidation.CreateAsync(ValidatedSchema) : null;
        var random = new Random(20261126);
        var seen = new HashSet<JsonSerdeFailure?>();
        foreach (var options in new[] { Options(false, false), Options(true, true) })
        {
            foreach (var seed in Seeds)
            {
                seen.Add(await CompareOneAsync<T>(options, Encoding.UTF8.GetBytes(seed), validator));
                for (var i = 0; i < 400; i++)
                {
                    var text = seed;
                    for (var splices = random.Next(1, 3); splices > 0; splices--)
                    {
                        var at = random.Next(text.Length + 1);
                        text = random.Next(4) == 0 && at < text.Length
                            ? text.Remove(at, 1)
                            : text.Insert(at, Fragments[random.Next(Fragments.Length)]);
                    }

                    var bytes = Encoding.UTF8.GetBytes(text);
                    if (random.Next(10) == 0 && bytes.Length > 0)
                    {
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256); // occasionally not UTF-8
                    }

                    seen.Add(await CompareOneAsync<T>(options, bytes, validator));
                }
            }
        }

        // Not vacuous: the mutations were accepted, refused as malformed and (for a typed target) refused as unmappable.
        Assert.Contains(null, seen);
        Assert.Contains(JsonSerdeFailure.MalformedPayload, seen);
        Assert.DoesNotContain(JsonSerdeFailure.ReaderMismatch, seen);
        if (typeof(T) == typeof(Person) && !validate)
        {
            // With validation, what Person cannot hold breaks the schema first.
            Assert.Contains(JsonSerdeFailure.ConversionFailed, seen);
        }

        if (validate)
        {
            Assert.Contains(JsonSerdeFailure.SchemaViolation, seen);
        }
    }

    private static async Task<JsonSerdeFailure?> CompareOneAsync<T>(JsonSerializerOptions options, byte[] json, IJsonValidator? validator)
    {
        var registry = new InProcessSchemaRegistry();
        registry.Add(1, validator is null ? Schema : ValidatedSchema);
        var deserializer = new JsonSchemaDeserializer<T>(registry, validator is null ? NoValidation : null, options);
        var framed = ConfluentWireFormat.Frame(1, json);
        var expected = Separately<T>(json, options, validator);

        JsonSerdeFailure? actual = null;
        try
        {
            await deserializer.DeserializeAsync(framed, isNull: false, Value); // the task API: loads the schema
        }
        catch (JsonSerdeException ex)
        {
            actual = ex.Failure;
        }

        JsonSerdeFailure? fast = null;
        try
        {
            Assert.True(deserializer.TryDeserialize(framed, isNull: false, Value, out _));
        }
        catch (JsonSerdeException ex)
        {
            fast = ex.Failure;
        }

        var shown = Encoding.UTF8.GetString(json);
        Assert.True(expected == actual, $"Expected {expected?.ToString() ?? "accepted"}, got {actual?.ToString() ?? "accepted"}: {shown}");
        Assert.True(expected == fast, $"Fast path: expected {expected?.ToString() ?? "accepted"}, got {fast?.ToString() ?? "accepted"}: {shown}");
        return actual;
    }

    /// <summary>What the deserializer did before it stopped checking a payload whole up front: check it whole, then validate it, then map it.</summary>
    private static JsonSerdeFailure? Separately<T>(byte[] json, JsonSerializerOptions options, IJsonValidator? validator)
    {
        if (!Utf8.IsValid(json))
        {
            return JsonSerdeFailure.MalformedPayload;
        }

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = options.ReadCommentHandling, AllowTrailingCommas = options.AllowTrailingCommas, MaxDepth = options.MaxDepth });
            while (reader.Read())
            {
                if (reader.ValueIsEscaped && reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                {
                    _ = reader.GetString();
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return JsonSerdeFailure.MalformedPayload;
        }

        try
        {
            if (validator?.Check(json) is not null)
            {
                return JsonSerdeFailure.SchemaViolation;
            }
        }
        catch (Exception)
        {
            return JsonSerdeFailure.SchemaViolation; // the validator could not check the document
        }

        try
        {
            JsonSerializer.Deserialize<T>(json, options);
            return null;
        }
        catch (Exception)
        {
            return JsonSerdeFailure.ConversionFailed;
        }
    }

    private static JsonSerializerOptions Options(bool comments, bool trailingCommas) => new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = comments ? JsonCommentHandling.Skip : JsonCommentHandling.Disallow,
        AllowTrailingCommas = trailingCommas,
    };

    public sealed record Person(string Name, long FavoriteNumber, string FavoriteColor, string? TwitterHandle = null);

    public sealed class PersonWithElement
    {
        public string? Name { get; set; }

        public long FavoriteNumber { get; set; }

        public string? FavoriteColor { get; set; }

        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Rest { get; set; }
    }
}

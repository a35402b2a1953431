using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Defect #11: mutated framed payloads fail only with the library's exceptions, with bounded messages, and never later than deserialization.</summary>
public class JsonDeserializerFuzzTests
{
    private const int Iterations = 20_000;
    private const int MaxMessageLength = 1200;

    private const string ListSchema = """
        {
          "type": "object",
          "properties": {
            "items": { "type": "array", "items": { "type": "integer", "maximum": 1000 } },
            "meta": { "type": "object", "additionalProperties": { "type": "string" } },
            "ratio": { "type": "number" }
          },
          "required": ["items"]
        }
        """;

    private static readonly string[] UserSeeds =
    [
        """{"name":"alice","favorite_number":7,"favorite_color":"blue","twitter_handle":"@alice"}""",
        """{"name":"bob","favorite_number":15,"favorite_color":"red","twitter_handle":null}""",
        """{"name":"h\u00e9llo \u2713 \ud83c\udf89","favorite_number":42,"favorite_color":"gr\"een\\"}""",
        "{\"name\":\"z\u00fcrich ✓ 🎉\",\"favorite_number\":9223372036854775807,\"favorite_color\":\"x\"}",
    ];

    private static readonly string[] ListSeeds =
    [
        """{"items":[1,2,3],"meta":{"a":"b","c":"d"},"ratio":0.25}""",
        """{"items":[],"meta":{}}""",
        """{"items":[1000,-5,0],"ratio":-1e10}""",
    ];

    private static readonly byte[][] Tokens =
    [
        .. new[] { "{", "}", "[", "]", "\"", ",", ":", "\\", "\\u", "\\ud800", "null", "true", "1e999", "-", "0x1F", "NaN", "/*", "//", "\"a\":", "\"name\":1," }
            .Select(Encoding.UTF8.GetBytes),
        [0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0x80], [0xE2, 0x82], [0x00], [0xEF, 0xBB, 0xBF],
    ];

    [Fact]
    public async Task Defect11_fuzzed_payloads_fail_only_with_typed_bounded_errors()
    {
        var registry = new InProcessSchemaRegistry();
        registry.Add(1, JsonDeserializerDefectTests.UserSchema);
        registry.Add(2, ListSchema);
        var noValidation = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["validate.on.deserialize"] = "false" });
        var snake = JsonDeserializerDefectTests.Snake;
        var users = UserSeeds.Select(s => JsonDeserializerDefectTests.Frame(1, s)).ToArray();
        var lists = ListSeeds.Select(s => JsonDeserializerDefectTests.Frame(2, s)).ToArray();
        var seeds = users.Concat(lists).ToArray();

        // Each reader with the payloads it is meant for: typed readers with their own schema's, untyped ones with all.
        var targets = new (Func<byte[], Task<object?>> Read, byte[][] Seeds)[]
        {
            (Reader(new JsonSchemaDeserializer<JsonDeserializerDefectTests.User>(registry, null, snake)), users),
            (Reader(new JsonSchemaDeserializer<JsonDeserializerDefectTests.User>(registry, noValidation, snake)), users),
            (Reader(new JsonSchemaDeserializer<ListDoc>(registry)), lists),
            (Reader(new JsonSchemaDeserializer<JsonNode>(registry)), seeds),
            (Reader(new JsonSchemaDeserializer<JsonNode>(registry, noValidation)), seeds),
            (Reader(new JsonSchemaDeserializer<JsonElement>(registry, noValidation)), seeds),
            (Reader(new JsonSchemaDeserializer<Dictionary<string, JsonNode>>(registry, noValidation)), seeds),
        };

        // Every seed reads cleanly before it is mutated.
        foreach (var (read, mine) in targets)
        {
            foreach (var seed in mine)
            {
                Read(await read(seed));
            }
        }

        // A fixed seed; FUZZ_SEED explores others.
        var random = new Random(int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var fuzzSeed) ? fuzzSeed : 20_240_611);
        var failures = new Dictionary<string, int>();
        var successes = 0;
        for (var i = 0; i < Iterations; i++)
        {
            var target = targets[random.Next(targets.Length)];
            var payload = Mutate(target.Seeds[random.Next(target.Seeds.Length)], random);
            try
            {
                // Whatever comes back must be readable to the end: no failure may wait for the application.
                Read(await target.Read(payload));
                successes++;
            }
            catch (Exception ex)
            {
                var what = $"iteration {i}, payload {Convert.ToHexString(payload.AsSpan(0, Math.Min(payload.Length, 200)))}: {ex.GetType().FullName}: {ex.Message[..Math.Min(ex.Message.Length, 400)]}";
                var typed = ex as JsonSerdeException ?? throw new Xunit.Sdk.XunitException($"not the library's exception at {what}\n{ex}");
                Assert.True(ex.Message.Length <= MaxMessageLength, $"{ex.Message.Length} characters at {what}");
                Assert.False(typed.IsRetriable, what);
                var key = typed.Failure.ToString();
                failures[key] = failures.GetValueOrDefault(key) + 1;
            }
        }

        // The mutations reach every stage: framing, registry lookup, UTF-8, JSON syntax, validation and mapping.
        Assert.True(successes > 1000, $"only {successes} successes");
        foreach (var stage in new[] { JsonSerdeFailure.InvalidFrame, JsonSerdeFailure.UnknownSchema, JsonSerdeFailure.MalformedPayload, JsonSerdeFailure.SchemaViolation, JsonSerdeFailure.ConversionFailed })
        {
            Assert.True(failures.GetValueOrDefault(stage.ToString()) > 0, $"no {stage} among {string.Join(", ", failures)}");
        }
    }

    private static Func<byte[], Task<object?>> Reader<T>(JsonSchemaDeserializer<T> deserializer) =>
        async bytes => await deserializer.DeserializeAsync(bytes, false, new SerializationContext(MessageComponentType.Value, "fuzz"));

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        var rounds = random.Next(1, 4);
        for (var r = 0; r < rounds; r++)
        {
            switch (random.Next(8))
            {
                case 0: // bit flips, mostly in the JSON, sometimes in the header
                    for (var f = random.Next(1, 4); f > 0 && bytes.Count > 0; f--)
                    {
                        var at = random.Next(10) == 0 ? random.Next(Math.Min(5, bytes.Count)) : random.Next(bytes.Count);
                        bytes[at] ^= (byte)(1 << random.Next(8));
                    }

                    break;
                case 1: // truncation
                    var cut = random.Next(bytes.Count + 1);
                    bytes.RemoveRange(cut, bytes.Count - cut);
                    break;
                case 2: // insertion of a token or of invalid UTF-8
                    bytes.InsertRange(random.Next(Math.Min(5, bytes.Count), bytes.Count + 1), Tokens[random.Next(Tokens.Length)]);
                    break;
                case 3: // random bytes
                    var noise = new byte[random.Next(1, 8)];
                    random.NextBytes(noise);
                    bytes.InsertRange(random.Next(Math.Min(5, bytes.Count), bytes.Count + 1), noise);
                    break;
                case 4: // a huge number in place of a digit
                    var digit = bytes.FindIndex(Math.Min(5, bytes.Count), b => b is >= (byte)'0' and <= (byte)'9');
                    if (digit >= 0)
                    {
                        var huge = random.Next(3) switch
                        {
                            0 => new string('9', random.Next(19, 3000)),
                            1 => "1e" + random.Next(300, 100_000),
                            _ => "-" + new string('8', random.Next(19, 60)) + "." + new string('1', random.Next(1, 40)),
                        };
                        bytes.InsertRange(digit, Encoding.ASCII.GetBytes(huge));
                    }

                    break;
                case 5: // deep nesting
                    var depth = random.Next(10, 200);
                    bytes.InsertRange(Math.Min(5, bytes.Count), Enumerable.Repeat((byte)'[', depth));
                    bytes.AddRange(Enumerable.Repeat((byte)']', depth));
                    break;
                case 6: // a duplicated property
                    var open = bytes.IndexOf((byte)'{');
                    if (open >= 0)
                    {
                        bytes.InsertRange(open + 1, "\"name\":\"dup\","u8.ToArray());
                        bytes.InsertRange(open + 1, "\"name\":\"dup\","u8.ToArray());
                    }

                    break;
                default: // a byte removed
                    if (bytes.Count > 0)
                    {
                        bytes.RemoveAt(random.Next(bytes.Count));
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    private static void Read(object? value)
    {
        switch (value)
        {
            case JsonNode node:
                _ = node.ToJsonString();
                Walk(JsonSerializer.SerializeToElement(node));
                break;
            case JsonElement element:
                Walk(element);
                break;
            case IDictionary<string, JsonNode?> dictionary:
                foreach (var (_, node) in dictionary)
                {
                    _ = node?.ToJsonString();
                }

                break;
            default:
                _ = value?.ToString();
                break;
        }
    }

    private static void Walk(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    Walk(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item);
                }

                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }

    public sealed record ListDoc(List<long>? Items, Dictionary<string, string>? Meta, double? Ratio);
}

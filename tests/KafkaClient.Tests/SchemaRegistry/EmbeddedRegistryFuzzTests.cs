using System.Text;
using System.Text.Json.Nodes;
using KafkaClient.Testing;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Random and malformed bodies to the registry's POST and PUT endpoints: never a 5xx, never a hang.</summary>
public class EmbeddedRegistryFuzzTests
{
    private static readonly string[] Keywords =
    [
        "type", "properties", "required", "additionalProperties", "patternProperties", "dependencies", "dependentRequired",
        "items", "prefixItems", "additionalItems", "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "enum", "const", "anyOf", "oneOf", "allOf", "not", "$ref", "$schema", "$id", "default",
        "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties", "title", "description", "definitions",
    ];

    private static readonly string[] Endpoints =
    [
        "POST subjects/{s}/versions", "POST subjects/{s}", "POST compatibility/subjects/{s}/versions/latest",
        "POST compatibility/subjects/{s}/versions", "PUT config/{s}", "PUT mode/{s}",
    ];

    [Fact]
    public async Task Random_bodies_never_get_a_server_error()
    {
        await using var registry = await EmbeddedSchemaRegistry.StartAsync();
        using var http = new RegistryHttp(registry.Url, TimeSpan.FromSeconds(30));
        var random = new Random(20240607);
        var failures = new List<string>();
        for (var i = 0; i < 400; i++)
        {
            var endpoint = Endpoints[random.Next(Endpoints.Length)].Split(' ');
            var subject = "fuzz-" + random.Next(4);
            var body = Body(random);
            var answer = await http.SendAsync(endpoint[0], endpoint[1].Replace("{s}", subject, StringComparison.Ordinal), body);
            if (answer.Status >= 500 || string.IsNullOrWhiteSpace(answer.Body))
            {
                failures.Add($"{endpoint[0]} {endpoint[1]} {body} -> {answer}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static string Body(Random random)
    {
        switch (random.Next(6))
        {
            case 0:
                // Truncated or corrupted JSON.
                var valid = RequestBody(random).ToJsonString();
                return random.Next(2) == 0 ? valid[..random.Next(valid.Length)] : valid.Insert(random.Next(valid.Length), "\u0001{]\"");
            case 1:
                return Value(random, 2)?.ToJsonString() ?? "null";
            default:
                return RequestBody(random).ToJsonString();
        }
    }

    private static JsonObject RequestBody(Random random)
    {
        var body = new JsonObject();
        if (random.Next(5) > 0)
        {
            body["schemaType"] = random.Next(4) switch { 0 => "JSON", 1 => "AVRO", 2 => "PROTOBUF", _ => Value(random, 0) };
        }

        if (random.Next(5) > 0)
        {
            body["schema"] = random.Next(4) > 0 ? Schema(random, 3).ToJsonString() : Value(random, 1);
        }

        if (random.Next(4) == 0)
        {
            body["references"] = random.Next(2) == 0
                ? new JsonArray(new JsonObject { ["name"] = Value(random, 0), ["subject"] = "fuzz-" + random.Next(4), ["version"] = Value(random, 0) })
                : Value(random, 1);
        }

        if (random.Next(4) == 0)
        {
            body["compatibility"] = random.Next(2) == 0 ? "FULL_TRANSITIVE" : Value(random, 1);
        }

        if (random.Next(4) == 0)
        {
            body["compatibilityPolicy"] = random.Next(2) == 0 ? "LENIENT" : Value(random, 1);
        }

        if (random.Next(4) == 0)
        {
            body["mode"] = random.Next(2) == 0 ? "READWRITE" : Value(random, 1);
        }

        return body;
    }

    private static JsonNode Schema(Random random, int depth)
    {
        var schema = new JsonObject();
        for (var i = random.Next(4); i >= 0; i--)
        {
            var keyword = Keywords[random.Next(Keywords.Length)];
            schema[keyword] = random.Next(3) == 0 || depth == 0 ? Value(random, 1) : keyword switch
            {
                "type" => random.Next(2) == 0 ? "object" : new JsonArray("string", "null"),
                "properties" or "definitions" or "patternProperties" => new JsonObject { ["a"] = Schema(random, depth - 1), ["^b"] = Schema(random, depth - 1) },
                "anyOf" or "oneOf" or "allOf" or "prefixItems" => new JsonArray(Schema(random, depth - 1), Schema(random, depth - 1)),
                "$ref" => random.Next(2) == 0 ? "#/definitions/a" : "#/properties/a",
                _ => Schema(random, depth - 1),
            };
        }

        return schema;
    }

    private static JsonNode? Value(Random random, int depth) => random.Next(depth > 0 ? 12 : 9) switch
    {
        0 => null,
        1 => random.Next(2) == 0,
        2 => random.Next(-5, 5),
        3 => JsonNode.Parse("1e20"),
        4 => JsonNode.Parse("-0.5"),
        5 => JsonNode.Parse("123456789012345678901234567890"),
        6 => "latest",
        7 => new string((char)random.Next(0, 0x80), random.Next(3)),
        8 => "{\"type\":",
        9 => new JsonArray(Value(random, depth - 1), Value(random, depth - 1)),
        10 => new JsonObject { ["type"] = Value(random, depth - 1), ["x"] = Value(random, depth - 1) },
        _ => new JsonArray(),
    };
}

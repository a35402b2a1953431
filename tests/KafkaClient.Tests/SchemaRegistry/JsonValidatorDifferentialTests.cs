using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Json.Validation;
using Xunit.Abstractions;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>
/// The compiled validator against NJsonSchema (the validator it replaces) on many (schema, document) pairs: the same
/// valid/invalid verdict, except for the known differences, each listed in <see cref="KnownDifferences"/> and tested
/// on its own in <see cref="JsonValidatorTests"/>.
/// </summary>
public class JsonValidatorDifferentialTests(ITestOutputHelper output)
{
    private const int DocumentsPerSchema = 300;

    /// <summary>The kinds of disagreement that are intended: where NJsonSchema departs from JSON Schema.</summary>
    /// <remarks>
    /// ignored-keyword: NJsonSchema does not implement const, if/then/else, dependencies, dependentRequired,
    /// dependentSchemas, prefixItems, contains, propertyNames, and ignores maxItems/maxProperties of 0 and the siblings
    /// of $ref in 2019-09 and later; shown by the compiled verdict on the schema without them, which agrees.
    /// code-point-length: minLength/maxLength count code points (JSON Schema), NJsonSchema UTF-16 units.
    /// required-on-non-object: NJsonSchema applies required (and properties) to values that are not objects.
    /// null-skips-validation: NJsonSchema skips every keyword (enum, const, ...) for null when the type allows null.
    /// integer-with-zero-fraction: from draft 6, 1.0 is an integer; NJsonSchema says it is not.
    /// enum-by-text: NJsonSchema compares enum values by their text (1 equals "1"), JSON Schema by value.
    /// njsonschema-threw: NJsonSchema gives up on some values (an integer beyond decimal's range: InvalidCastException).
    /// beyond-double-range: the compiled validator gives up on a number beyond a double's range checked against a bound.
    /// </remarks>
    public static readonly IReadOnlyList<string> KnownDifferences =
    [
        "ignored-keyword", "code-point-length", "required-on-non-object", "null-skips-validation", "integer-with-zero-fraction",
        "enum-by-text", "njsonschema-threw", "beyond-double-range",
    ];

    public const string DocumentSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "Order",
          "type": "object",
          "definitions": {
            "money": {
              "type": "object",
              "properties": {
                "amount": { "type": "number", "minimum": 0, "maximum": 1000000, "multipleOf": 0.01 },
                "currency": { "type": "string", "enum": ["EUR", "USD", "GBP", "JPY"] }
              },
              "required": ["amount", "currency"],
              "additionalProperties": false
            },
            "address": {
              "type": "object",
              "properties": {
                "lines": { "type": "array", "items": { "type": "string", "minLength": 1, "maxLength": 80 }, "minItems": 1, "maxItems": 4 },
                "city": { "type": "string", "minLength": 1 },
                "postcode": { "type": "string", "pattern": "^[A-Z0-9 -]{3,10}$" },
                "country": { "type": "string", "pattern": "^[A-Z]{2}$" }
              },
              "required": ["lines", "city", "country"]
            }
          },
          "properties": {
            "id": { "type": "string", "format": "uuid" },
            "created": { "type": "string", "format": "date-time" },
            "delivery_date": { "type": ["string", "null"], "format": "date" },
            "status": { "type": "string", "enum": ["new", "paid", "shipped", "cancelled"] },
            "priority": { "type": "integer", "minimum": 1, "maximum": 5 },
            "customer": {
              "type": "object",
              "properties": {
                "name": { "type": "string", "minLength": 1, "maxLength": 100 },
                "email": { "type": "string", "format": "email" },
                "website": { "type": "string", "format": "uri" },
                "vip": { "type": "boolean" },
                "address": { "$ref": "#/definitions/address" }
              },
              "required": ["name", "email"]
            },
            "lines": {
              "type": "array",
              "minItems": 1,
              "maxItems": 50,
              "items": {
                "type": "object",
                "properties": {
                  "sku": { "type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$" },
                  "quantity": { "type": "integer", "exclusiveMinimum": 0, "maximum": 999 },
                  "price": { "$ref": "#/definitions/money" },
                  "tags": { "type": "array", "items": { "type": "string" }, "uniqueItems": true }
                },
                "required": ["sku", "quantity", "price"],
                "additionalProperties": false
              }
            },
            "total": { "$ref": "#/definitions/money" },
            "ip": { "type": "string", "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }] },
            "host": { "type": "string", "format": "hostname" },
            "notes": { "type": ["string", "null"], "maxLength": 500 },
            "discount": { "oneOf": [{ "type": "null" }, { "type": "number", "minimum": 0, "exclusiveMaximum": 100 }] },
            "channel": { "not": { "enum": ["fax"] } }
          },
          "required": ["id", "created", "status", "customer", "lines", "total"],
          "patternProperties": { "^x-": { "type": "string" } }
        }
        """;

    public const string DocumentSeed = """
        {"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","created":"2024-05-01T10:20:30Z","delivery_date":"2024-05-03","status":"paid","priority":2,
         "customer":{"name":"Alice","email":"alice@example.com","website":"https://example.com/a","vip":true,
           "address":{"lines":["1 Main St","Flat 2"],"city":"Springfield","postcode":"AB1 2CD","country":"GB"}},
         "lines":[{"sku":"ABC-1234","quantity":2,"price":{"amount":9.99,"currency":"EUR"},"tags":["a","b"]},
                  {"sku":"XYZ-0001","quantity":1,"price":{"amount":100,"currency":"EUR"}}],
         "total":{"amount":119.98,"currency":"EUR"},"ip":"10.0.0.1","host":"shop.example.com","notes":null,"discount":5,"channel":"web","x-trace":"t1"}
        """;

    /// <summary>One schema per keyword family (the keywords both validators implement).</summary>
    public static readonly string[] KeywordSchemas =
    [
        """{"type":"integer","minimum":-5,"maximum":10,"multipleOf":3}""",
        """{"type":"number","exclusiveMinimum":0.5,"exclusiveMaximum":99.5}""",
        """{"$schema":"http://json-schema.org/draft-04/schema#","type":"number","minimum":1,"exclusiveMinimum":true,"maximum":3,"exclusiveMaximum":true}""",
        """{"type":["string","integer"],"minLength":2,"maxLength":5,"maximum":50}""",
        """{"type":"string","pattern":"^a+b?$"}""",
        """{"type":"string","format":"date-time"}""",
        """{"type":"string","format":"date"}""",
        """{"type":"string","format":"time"}""",
        """{"type":"string","format":"email"}""",
        """{"type":"string","format":"hostname"}""",
        """{"type":"string","format":"ipv4"}""",
        """{"type":"string","format":"ipv6"}""",
        """{"type":"string","format":"uri"}""",
        """{"type":"string","format":"uuid"}""",
        """{"type":"string","format":"byte"}""",
        """{"enum":["red","green","blue"]}""",
        """{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3,"uniqueItems":true}""",
        """{"type":"array","uniqueItems":true}""",
        """{"type":"array","items":[{"type":"string"},{"type":"number"}],"additionalItems":false}""",
        """{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"boolean"}}""",
        """{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"required":["a"],"additionalProperties":false}""",
        """{"type":"object","patternProperties":{"^s_":{"type":"string"},"^n_":{"type":"number"}},"additionalProperties":{"type":"boolean"}}""",
        """{"type":"object","minProperties":1,"maxProperties":2}""",
        """{"anyOf":[{"type":"string","maxLength":3},{"type":"integer","minimum":10}]}""",
        """{"oneOf":[{"type":"integer"},{"type":"number","minimum":5}]}""",
        """{"allOf":[{"type":"object","properties":{"a":{"type":"integer"}}},{"required":["a"],"type":"object"}]}""",
        """{"not":{"type":"string"}}""",
        """{"definitions":{"node":{"type":"object","properties":{"value":{"type":"integer"},"next":{"$ref":"#/definitions/node"}},"required":["value"]}},"$ref":"#/definitions/node"}""",
        """{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"name":{"type":"string","minLength":1}},"type":"object","properties":{"first":{"$ref":"#/$defs/name"},"last":{"$ref":"#/$defs/name"}}}""",
        """{"type":"object","properties":{"tags":{"type":"array","items":{"enum":["a","b",1,null,{"k":1},[1,2]]}}}}""",
        """{"type":["object","null"],"properties":{"x":{"type":["number","null"]}}}""",
        """{"type":"object","properties":{"x":{"type":"object","properties":{"y":{"type":"array","items":{"type":"object","properties":{"z":{"type":"boolean"}},"required":["z"]}}}}}}""",
        """{"type":"object","properties":{"n\u00e4me":{"type":"string"},"a\"b":{"type":"integer"}},"required":["n\u00e4me"]}""",
    ];

    [Fact]
    public void The_compiled_validator_agrees_with_njsonschema_on_mutated_documents()
    {
        var schemas = new List<(string Name, string Schema)>
        {
            ("walkthrough User", JsonDeserializerDefectTests.UserSchema),
            ("document", DocumentSchema),
        };
        schemas.AddRange(KeywordSchemas.Select((s, i) => ($"keyword schema {i}", s)));

        var tally = Run(schemas, new Dictionary<string, string[]> { ["walkthrough User"] = [Alice], ["document"] = [DocumentSeed] });

        Assert.True(tally.Valid > 2000 && tally.Invalid > 2000, $"{tally.Valid} valid, {tally.Invalid} invalid");
    }

    [RequiresConformanceDataFact]
    public void The_compiled_validator_agrees_with_njsonschema_on_confluents_test_schemas()
    {
        var schemas = new List<(string Name, string Schema)>();
        foreach (var (file, index, testCase) in ConformanceData.JsonSchemaCases())
        {
            foreach (var key in new[] { "original_schema", "update_schema" })
            {
                if (testCase[key] is JsonObject schema)
                {
                    schemas.Add(($"{file}[{index}].{key}", schema.ToJsonString()));
                }
            }
        }

        var tally = Run(schemas, new Dictionary<string, string[]>());

        Assert.True(tally.Schemas > 150, $"only {tally.Schemas} schemas compared");
        Assert.True(tally.Valid > 10_000 && tally.Invalid > 10_000, $"{tally.Valid} valid, {tally.Invalid} invalid");
    }

    private const string Alice = """{"name":"alice","favorite_number":7,"favorite_color":"blue","twitter_handle":"@alice"}""";

    private (int Schemas, int Valid, int Invalid) Run(IEnumerable<(string Name, string Schema)> schemas, Dictionary<string, string[]> seeds)
    {
        var random = new Random(20_241_126);
        var differences = new Dictionary<string, int>();
        var unexplained = new List<string>();
        var fallbacks = new List<string>();
        int compared = 0, valid = 0, invalid = 0;
        foreach (var (name, text) in schemas)
        {
            CompiledJsonValidator compiled;
            try
            {
                compiled = new CompiledJsonValidator(text);
            }
            catch (SchemaNotCompilableException ex)
            {
                fallbacks.Add($"{name}: {ex.Message}");
                continue;
            }

            NJsonSchemaValidator reference;
            CompiledJsonValidator? withoutIgnored;
            try
            {
                reference = new NJsonSchemaValidator(NJsonSchema.JsonSchema.FromJsonAsync(text).GetAwaiter().GetResult());
                var stripped = WithoutKeywordsNJsonSchemaIgnores(JsonNode.Parse(text)!);
                withoutIgnored = new CompiledJsonValidator(stripped.ToJsonString());
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                fallbacks.Add($"{name}: NJsonSchema cannot load it: {ex.GetType().Name}");
                continue;
            }

            compared++;
            var schema = JsonNode.Parse(text)!;
            var documents = new List<string>(seeds.GetValueOrDefault(name) ?? []);
            while (documents.Count < DocumentsPerSchema)
            {
                var generated = DocumentGenerator.Generate(schema, schema, random, 0);
                documents.Add(DocumentGenerator.Serialize(generated));
                for (var m = 0; m < 3 && documents.Count < DocumentsPerSchema; m++)
                {
                    documents.Add(DocumentGenerator.Serialize(DocumentGenerator.Mutate(generated, random)));
                }
            }

            foreach (var document in documents)
            {
                var bytes = Encoding.UTF8.GetBytes(document);
                IReadOnlyList<string>? ours;
                try
                {
                    ours = compiled.Check(bytes);
                }
                catch (OverflowException)
                {
                    differences["beyond-double-range"] = differences.GetValueOrDefault("beyond-double-range") + 1;
                    continue;
                }

                IReadOnlyList<string>? theirs;
                try
                {
                    theirs = reference.Check(bytes);
                }
                catch (Exception)
                {
                    differences["njsonschema-threw"] = differences.GetValueOrDefault("njsonschema-threw") + 1;
                    continue;
                }

                if (ours is null)
                {
                    valid++;
                }
                else
                {
                    invalid++;
                }

                if ((ours is null) == (theirs is null))
                {
                    continue;
                }

                var kind = Explain(withoutIgnored, bytes, document, text, ours, theirs);
                if (kind is null)
                {
                    unexplained.Add($"{name}\n  schema:   {text}\n  document: {document}\n  compiled: {(ours is null ? "valid" : string.Join("; ", ours))}\n  NJsonSchema: {(theirs is null ? "valid" : string.Join("; ", theirs))}");
                }
                else
                {
                    differences[kind] = differences.GetValueOrDefault(kind) + 1;
                }
            }
        }

        output.WriteLine($"{compared} schemas compared, {valid} valid and {invalid} invalid documents.");
        output.WriteLine($"Known differences: {string.Join(", ", differences.Select(d => $"{d.Key} {d.Value}"))}");
        output.WriteLine($"Validated by NJsonSchema (not compilable) or skipped: {fallbacks.Count}");
        foreach (var fallback in fallbacks)
        {
            output.WriteLine("  " + fallback);
        }

        Assert.True(unexplained.Count == 0, $"{unexplained.Count} unexplained differences, the first:\n{string.Join("\n", unexplained.Take(8))}");
        Assert.All(differences.Keys, kind => Assert.Contains(kind, KnownDifferences));
        return (compared, valid, invalid);
    }

    /// <summary>Names the known difference a disagreement is, or null.</summary>
    private static string? Explain(CompiledJsonValidator withoutIgnored, byte[] bytes, string document, string schema, IReadOnlyList<string>? ours, IReadOnlyList<string>? theirs)
    {
        if ((withoutIgnored.Check(bytes) is null) == (theirs is null))
        {
            return "ignored-keyword";
        }

        if (Walk(JsonNode.Parse(document)).Any(n => n is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().EnumerateRunes().Any(r => r.Value > 0xFFFF)) && (schema.Contains("minLength", StringComparison.Ordinal) || schema.Contains("maxLength", StringComparison.Ordinal)))
        {
            return "code-point-length";
        }

        if (ours is null && theirs!.All(t => t.EndsWith(": PropertyRequired", StringComparison.Ordinal)) && !document.TrimStart().StartsWith('{'))
        {
            return "required-on-non-object";
        }

        if (ours is null && theirs!.All(t => t.EndsWith(": PropertyRequired", StringComparison.Ordinal) || t.EndsWith(": NotAnyOf", StringComparison.Ordinal) || t.EndsWith(": NotAllOf", StringComparison.Ordinal) || t.EndsWith(": NotOneOf", StringComparison.Ordinal) || t.EndsWith(": ExcludedSchemaValidates", StringComparison.Ordinal)) && RequiredOnNonObjectInside(document))
        {
            return "required-on-non-object";
        }

        if (theirs is null && document.Contains("null", StringComparison.Ordinal) && ours!.All(o => o.EndsWith(": NotInEnumeration", StringComparison.Ordinal) || o.EndsWith(": NotConst", StringComparison.Ordinal) || o.EndsWith(": NotOneOf", StringComparison.Ordinal) || o.EndsWith(": NotAnyOf", StringComparison.Ordinal)))
        {
            return "null-skips-validation";
        }

        if (schema.Contains("\"integer\"", StringComparison.Ordinal) && HasIntegralFraction(document))
        {
            return "integer-with-zero-fraction";
        }

        if (schema.Contains("\"enum\"", StringComparison.Ordinal) && ours is not null && theirs is null && ours.All(o => o.EndsWith(": NotInEnumeration", StringComparison.Ordinal)))
        {
            return "enum-by-text";
        }

        return null;
    }

    private static bool RequiredOnNonObjectInside(string document) =>
        JsonNode.Parse(document) is var node && Walk(node).Any(n => n is not JsonObject);

    private static IEnumerable<JsonNode?> Walk(JsonNode? node)
    {
        yield return node;
        var children = node switch
        {
            JsonObject o => o.Select(p => p.Value),
            JsonArray a => a,
            _ => [],
        };
        foreach (var child in children)
        {
            foreach (var inner in Walk(child))
            {
                yield return inner;
            }
        }
    }

    private static bool HasIntegralFraction(string document) =>
        Walk(JsonNode.Parse(document)).Any(n => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.ToJsonString() is var t
            && (t.Contains('.', StringComparison.Ordinal) || t.Contains('e', StringComparison.OrdinalIgnoreCase))
            && double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var d) && Math.Floor(d) == d);

    /// <summary>The schema without the keywords NJsonSchema does not implement (schema positions only).</summary>
    public static JsonNode WithoutKeywordsNJsonSchemaIgnores(JsonNode schema)
    {
        var draft = (schema as JsonObject)?["$schema"]?.GetValue<string>() ?? string.Empty;
        var refsAlone = draft.Contains("2019-09", StringComparison.Ordinal) || draft.Contains("2020-12", StringComparison.Ordinal);
        var copy = schema.DeepClone();
        Strip(copy, refsAlone);
        return copy;
    }

    private static void Strip(JsonNode? schema, bool refsAlone)
    {
        if (schema is not JsonObject o)
        {
            return;
        }

        foreach (var ignored in new[] { "const", "if", "then", "else", "dependencies", "dependentRequired", "dependentSchemas", "prefixItems", "contains", "minContains", "maxContains", "propertyNames" })
        {
            o.Remove(ignored);
        }

        foreach (var zeroIgnored in new[] { "maxItems", "maxProperties" })
        {
            if (o[zeroIgnored] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() == 0)
            {
                o.Remove(zeroIgnored);
            }
        }

        if (refsAlone && o.ContainsKey("$ref"))
        {
            foreach (var key in o.Select(p => p.Key).Where(k => k is not ("$ref" or "$defs" or "definitions" or "$schema")).ToList())
            {
                o.Remove(key);
            }
        }

        foreach (var (key, value) in o.ToList())
        {
            switch (key)
            {
                case "properties" or "patternProperties" or "definitions" or "$defs" when value is JsonObject map:
                    foreach (var (_, sub) in map.ToList())
                    {
                        Strip(sub, refsAlone);
                    }

                    break;
                case "items" or "allOf" or "anyOf" or "oneOf" when value is JsonArray list:
                    foreach (var sub in list)
                    {
                        Strip(sub, refsAlone);
                    }

                    break;
                case "items" or "additionalItems" or "additionalProperties" or "not":
                    Strip(value, refsAlone);
                    break;
            }
        }
    }
}

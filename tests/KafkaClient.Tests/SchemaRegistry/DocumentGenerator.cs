using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Makes JSON documents for a schema (mostly valid) and mutates them (often invalid), for differential tests.</summary>
internal static class DocumentGenerator
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly string[] Strings =
    [
        "", "a", "ab", "abc", "hello world", "x-trace", "EUR", "red", "😀", "é", "a😀b", "\"quoted\"", "line\nbreak", "tab\t",
        "2024-05-01T10:20:30Z", "2024-05-01", "10:20:30", "2024-13-45T99:99:99Z", "alice@example.com", "not an email", "a@b",
        "https://example.com/x", "relative/path", "10.0.0.1", "256.1.1.1", "::1", "fe80::1", "example.com", "-bad-.com",
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "not-a-uuid", "QUJD", "QUJ", "ABC-1234", "AB1 2CD", "GB", "gb", "s_x", "n_y", "I_123", "S_a",
    ];

    private static readonly Func<JsonNode?>[] Values =
    [
        () => null, () => true, () => false, () => 0, () => -1, () => 1, () => 2, () => 3, () => 7, () => 10, () => 100, () => 1000, () => -5.5,
        () => 2.5, () => JsonNode.Parse("1.0"), () => JsonNode.Parse("1e2"), () => 0.01, () => 99.5, () => 1e300, () => long.MaxValue,
        () => JsonNode.Parse("123456789012345678901234567890"), () => new JsonObject(), () => new JsonArray(), () => new JsonObject { ["a"] = 1 },
        () => new JsonArray(1, "a"), () => new JsonArray(1, 1), () => new JsonObject { ["k"] = 1 }, () => new JsonArray(1, 2),
    ];

    private static double Number(JsonNode? node) => double.Parse(node!.ToJsonString(), CultureInfo.InvariantCulture);

    public static string Serialize(JsonNode? node) => node?.ToJsonString(Relaxed) ?? "null";

    /// <summary>A random value, sometimes a string from <see cref="Strings"/>.</summary>
    public static JsonNode? RandomValue(Random random) =>
        random.Next(3) == 0 ? JsonValue.Create(Strings[random.Next(Strings.Length)]) : Values[random.Next(Values.Length)]();

    /// <summary>A value for a schema, valid more often than not.</summary>
    public static JsonNode? Generate(JsonNode? schema, JsonNode root, Random random, int depth)
    {
        if (schema is not JsonObject o || depth > 8)
        {
            return RandomValue(random);
        }

        if (o["$ref"]?.GetValue<string>() is { } reference && Resolve(root, reference) is { } target)
        {
            return Generate(target, root, random, depth + 1);
        }

        if (o["const"] is { } constant && random.Next(4) != 0)
        {
            return constant.DeepClone();
        }

        if (o["enum"] is JsonArray values && values.Count > 0 && random.Next(6) != 0)
        {
            return values[random.Next(values.Count)]?.DeepClone();
        }

        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
        {
            if (o[combinator] is JsonArray branches && branches.Count > 0 && random.Next(3) != 0)
            {
                return Generate(branches[random.Next(branches.Count)], root, random, depth + 1);
            }
        }

        var types = o["type"] switch
        {
            JsonValue single => [single.GetValue<string>()],
            JsonArray many => many.Select(t => t!.GetValue<string>()).ToArray(),
            _ => o.ContainsKey("properties") || o.ContainsKey("required") ? ["object"]
                : o.ContainsKey("items") || o.ContainsKey("prefixItems") ? ["array"]
                : o.ContainsKey("minLength") || o.ContainsKey("maxLength") || o.ContainsKey("pattern") || o.ContainsKey("format") ? ["string"]
                : o.ContainsKey("minimum") || o.ContainsKey("maximum") || o.ContainsKey("multipleOf") ? ["number"]
                : [],
        };
        var type = types.Length == 0 ? null : types[random.Next(types.Length)];
        switch (type)
        {
            case "object":
                {
                    var result = new JsonObject();
                    var required = (o["required"] as JsonArray)?.Select(r => r!.GetValue<string>()).ToHashSet() ?? [];
                    if (o["properties"] is JsonObject properties)
                    {
                        foreach (var (name, sub) in properties)
                        {
                            if (required.Contains(name) || random.Next(10) < 7)
                            {
                                result[name] = Generate(sub, root, random, depth + 1);
                            }
                        }
                    }

                    foreach (var name in required.Where(r => !result.ContainsKey(r)))
                    {
                        result[name] = RandomValue(random);
                    }

                    if (o["patternProperties"] is JsonObject patterns && patterns.Count > 0 && random.Next(2) == 0)
                    {
                        var (pattern, sub) = patterns.ElementAt(random.Next(patterns.Count));
                        result[pattern.TrimStart('^').TrimEnd('$') + "x"] = Generate(sub, root, random, depth + 1);
                    }

                    if (random.Next(5) == 0)
                    {
                        result["extra"] = o["additionalProperties"] is JsonObject additional ? Generate(additional, root, random, depth + 1) : RandomValue(random);
                    }

                    return result;
                }

            case "array":
                {
                    var result = new JsonArray();
                    var min = (int)Math.Min(o["minItems"] is { } minItems ? Number(minItems) : 0, 5);
                    var count = min + random.Next(4);
                    var tuple = o["prefixItems"] as JsonArray ?? o["items"] as JsonArray;
                    for (var i = 0; i < count; i++)
                    {
                        var sub = tuple is not null && i < tuple.Count ? tuple[i] : tuple is not null && o["prefixItems"] is null ? o["additionalItems"] : o["items"] as JsonObject;
                        result.Add(Generate(sub, root, random, depth + 1));
                    }

                    return result;
                }

            case "string":
                {
                    if (o["format"]?.GetValue<string>() is { } format && random.Next(4) != 0)
                    {
                        return format switch
                        {
                            "date-time" => "2024-05-01T10:20:30.5+02:00",
                            "date" => "2024-02-29",
                            "time" => "10:20:30",
                            "email" => "bob.smith@mail.example.org",
                            "uri" => "https://example.com/a?b=c",
                            "uuid" or "guid" => Guid.NewGuid().ToString(),
                            "ipv4" => "192.168.1.254",
                            "ipv6" => "2001:db8::1",
                            "hostname" => "a-b.example.com",
                            "byte" or "base64" => "QUJDRA==",
                            _ => Strings[random.Next(Strings.Length)],
                        };
                    }

                    var min = (int)Math.Min(o["minLength"] is { } minLength ? Number(minLength) : 0, 50);
                    var max = (int)Math.Min(o["maxLength"] is { } maxLength ? Number(maxLength) : min + 8, min + 8);
                    var length = min + random.Next(Math.Max(1, max - min + 1));
                    return random.Next(3) == 0 ? Strings[random.Next(Strings.Length)] : new string('a', length);
                }

            case "integer":
            case "number":
                {
                    var min = o["minimum"] is { } minimum ? Number(minimum) : o["exclusiveMinimum"] is JsonValue em && em.GetValueKind() == JsonValueKind.Number ? Number(em) + 1 : -10;
                    var max = o["maximum"] is { } maximum ? Number(maximum) : o["exclusiveMaximum"] is JsonValue eM && eM.GetValueKind() == JsonValueKind.Number ? Number(eM) - 1 : 100;
                    if (max < min)
                    {
                        max = min;
                    }

                    var step = o["multipleOf"] is { } multipleOf ? Number(multipleOf) : type == "integer" ? 1 : 0.25;
                    var n = Math.Ceiling(min / step) + random.Next(Math.Max(1, (int)Math.Min(20, (max - min) / step)));
                    var value = n * step;
                    return type == "integer" || step == 1 ? JsonValue.Create((long)Math.Round(value)) : JsonNode.Parse(Math.Round(value, 6).ToString("R", CultureInfo.InvariantCulture));
                }

            case "boolean":
                return random.Next(2) == 0;
            case "null":
                return null;
            default:
                return RandomValue(random);
        }
    }

    /// <summary>One to three random changes somewhere in a copy of the document.</summary>
    public static JsonNode? Mutate(JsonNode? document, Random random)
    {
        var copy = document?.DeepClone();
        for (var round = random.Next(1, 4); round > 0; round--)
        {
            var nodes = new List<JsonNode?>();
            Collect(copy, nodes);
            var target = nodes[random.Next(nodes.Count)];
            if (target is null || target.Parent is null)
            {
                if (random.Next(4) == 0)
                {
                    copy = RandomValue(random);
                }
                else if (target is JsonObject rootObject && rootObject.Count > 0)
                {
                    rootObject.Remove(rootObject.ElementAt(random.Next(rootObject.Count)).Key);
                }
                else if (target is JsonArray rootArray)
                {
                    rootArray.Add(RandomValue(random));
                }

                continue;
            }

            var replacement = random.Next(8) switch
            {
                0 or 1 => RandomValue(random),
                2 => Tweak(target, random),
                3 => Tweak(target, random),
                _ => null,
            };
            var parent = target.Parent;
            switch (parent)
            {
                case JsonObject o:
                    var name = target.GetPropertyName();
                    switch (random.Next(5))
                    {
                        case 0:
                            o.Remove(name);
                            break;
                        case 1:
                            o["added_" + random.Next(3)] = RandomValue(random);
                            break;
                        default:
                            o[name] = replacement ?? Tweak(target, random);
                            break;
                    }

                    break;
                case JsonArray a:
                    var index = target.GetElementIndex();
                    switch (random.Next(5))
                    {
                        case 0:
                            a.RemoveAt(index);
                            break;
                        case 1:
                            a.Add(target.DeepClone()); // a duplicate
                            break;
                        default:
                            a[index] = replacement ?? Tweak(target, random);
                            break;
                    }

                    break;
            }
        }

        return copy;
    }

    private static JsonNode? Tweak(JsonNode node, Random random)
    {
        if (node is JsonValue value)
        {
            switch (value.GetValueKind())
            {
                case JsonValueKind.String:
                    var s = value.GetValue<string>();
                    return random.Next(6) switch
                    {
                        0 => s + "x",
                        1 => s.Length > 0 ? s[..^1] : "y",
                        2 => s + "😀",
                        3 => s.ToUpperInvariant(),
                        4 => s + "\n",
                        _ => new string('z', random.Next(0, 120)),
                    };
                case JsonValueKind.Number:
                    var d = double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);
                    return random.Next(7) switch
                    {
                        0 => JsonValue.Create(d + 1),
                        1 => JsonValue.Create(d - 1),
                        2 => JsonValue.Create(-d),
                        3 => JsonValue.Create(d / 2),
                        4 => JsonValue.Create(d + 0.001),
                        5 => JsonNode.Parse(d.ToString("R", CultureInfo.InvariantCulture) + (d == Math.Floor(d) && Math.Abs(d) < 1e15 ? ".0" : string.Empty)),
                        _ => JsonValue.Create(0),
                    };
            }
        }

        return RandomValue(random);
    }

    private static void Collect(JsonNode? node, List<JsonNode?> nodes)
    {
        nodes.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Collect(child, nodes);
                    }
                }

                break;
        }
    }

    private static JsonNode? Resolve(JsonNode root, string reference)
    {
        if (!reference.StartsWith('#'))
        {
            return null;
        }

        var node = root;
        foreach (var segment in reference[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = Uri.UnescapeDataString(segment).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = node switch
            {
                JsonObject o => o[name],
                JsonArray a when int.TryParse(name, out var i) && i < a.Count => a[i],
                _ => null,
            };
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }
}

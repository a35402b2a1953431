using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

/// <summary>Loads JSON Schema text (drafts 4 to 2020-12) into <see cref="JsonSchemaNode"/> graphs, resolving local references.</summary>
/// <remarks>
/// Each reference target is loaded once and shared by every reference to it; a recursive reference points back to
/// the node of its target, so a recursive schema is a graph with cycles (the root is the target of <c>#</c>).
/// </remarks>
internal sealed class JsonSchemaLoader
{
    private static readonly string[] ObjectKeywords = ["properties", "required", "additionalProperties", "patternProperties", "dependencies", "dependentRequired", "dependentSchemas", "minProperties", "maxProperties", "propertyNames", "unevaluatedProperties"];
    private static readonly string[] ArrayKeywords = ["items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains", "unevaluatedItems"];
    private static readonly string[] StringKeywords = ["minLength", "maxLength", "pattern", "format"];
    private static readonly string[] NumberKeywords = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"];

    private readonly JsonNode _root;
    private readonly bool _draft2020;
    private readonly Dictionary<string, JsonSchemaNode> _references = new(StringComparer.Ordinal);

    // The targets being loaded, by pointer: each with its placeholder, and whether a recursive reference got it.
    private readonly Dictionary<string, (JsonSchemaNode Placeholder, bool Referenced)> _loading = new(StringComparer.Ordinal);

    private JsonSchemaLoader(JsonNode root)
    {
        _root = root;
        var schema = (root as JsonObject)?["$schema"]?.GetValue<string>() ?? string.Empty;
        _draft2020 = schema.Contains("2020-12", StringComparison.Ordinal) || schema.Contains("2019-09", StringComparison.Ordinal);
    }

    public static JsonSchemaNode Load(string schema)
    {
        var root = JsonNode.Parse(schema, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip })
            ?? throw new FormatException("The schema is JSON null.");
        return new JsonSchemaLoader(root).Resolve("#");
    }

    private JsonSchemaNode Load(JsonNode? node)
    {
        // Text nests at most 64 deep, but a chain of references to definitions can nest as deep as it is long.
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw new FormatException("The schema nests too deep: its references chain too many subschemas inside one another.");
        }

        switch (node)
        {
            case JsonValue value when value.TryGetValue<bool>(out var b):
                return new JsonSchemaNode { Kind = b ? SchemaKind.Empty : SchemaKind.False };
            case JsonObject obj:
                return LoadObject(obj);
            default:
                throw new FormatException($"A schema must be an object or a boolean, not {node?.ToJsonString() ?? "null"}.");
        }
    }

    private JsonSchemaNode LoadObject(JsonObject obj)
    {
        if (obj["$ref"] is JsonValue reference && reference.TryGetValue<string>(out var pointer))
        {
            return Resolve(pointer);
        }

        var parts = new List<JsonSchemaNode>();
        foreach (var criterion in new[] { "allOf", "anyOf", "oneOf" })
        {
            if (obj[criterion] is JsonArray subschemas)
            {
                var combined = new JsonSchemaNode { Kind = SchemaKind.Combined, Criterion = criterion };
                // Identical subschemas count once.
                combined.Subschemas.AddRange(subschemas.DistinctBy(schema => schema?.ToJsonString()).Select(Load));
                parts.Add(combined);
            }
        }

        var typed = LoadTyped(obj);
        if (typed is not null)
        {
            parts.Add(typed);
        }

        if (obj["not"] is { } not)
        {
            parts.Add(new JsonSchemaNode { Kind = SchemaKind.Not, NotSchema = Load(not) });
        }

        if (obj["enum"] is JsonArray values)
        {
            var node = new JsonSchemaNode { Kind = SchemaKind.Enum };
            node.EnumValues.AddRange(values.Select(v => v?.DeepClone()));
            parts.Add(node);
        }

        if (obj.ContainsKey("const"))
        {
            parts.Add(new JsonSchemaNode { Kind = SchemaKind.Const, ConstValue = obj["const"]?.DeepClone() });
        }

        JsonSchemaNode result;
        if (parts.Count == 0)
        {
            result = new JsonSchemaNode { Kind = SchemaKind.Empty };
        }
        else if (parts.Count == 1)
        {
            result = parts[0];
        }
        else
        {
            result = new JsonSchemaNode { Kind = SchemaKind.Combined, Criterion = "allOf" };
            result.Subschemas.AddRange(parts);
        }

        result.Id = Text(obj, "$id") ?? Text(obj, "id");
        result.Title = Text(obj, "title");
        result.Description = Text(obj, "description");
        if (obj.TryGetPropertyValue("default", out var defaultValue))
        {
            result.HasDefault = true;
            result.Default = defaultValue?.DeepClone();
        }

        return result;
    }

    private JsonSchemaNode? LoadTyped(JsonObject obj)
    {
        var types = obj["type"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var t) => [t],
            JsonArray a => a.Select(t => Name(t, "type")).ToList(),
            _ => null,
        };

        if (types is null)
        {
            // No type: each keyword family present makes a schema that applies only to that kind of value.
            var inferred = new List<JsonSchemaNode>();
            if (ObjectKeywords.Any(obj.ContainsKey))
            {
                inferred.Add(LoadKind(obj, "object"));
            }

            if (ArrayKeywords.Any(obj.ContainsKey))
            {
                inferred.Add(LoadKind(obj, "array"));
            }

            if (StringKeywords.Any(obj.ContainsKey))
            {
                inferred.Add(LoadKind(obj, "string"));
            }

            if (NumberKeywords.Any(obj.ContainsKey))
            {
                inferred.Add(LoadKind(obj, "number"));
            }

            return inferred.Count switch
            {
                0 => null,
                1 => inferred[0],
                _ => AnyOf(inferred),
            };
        }

        var schemas = types.Select(t => LoadKind(obj, t)).ToList();
        return schemas.Count == 1 ? schemas[0] : AnyOf(schemas);
    }

    private static JsonSchemaNode AnyOf(List<JsonSchemaNode> schemas)
    {
        var combined = new JsonSchemaNode { Kind = SchemaKind.Combined, Criterion = "anyOf" };
        combined.Subschemas.AddRange(schemas);
        return combined;
    }

    private JsonSchemaNode LoadKind(JsonObject obj, string type)
    {
        switch (type)
        {
            case "string":
                return new JsonSchemaNode
                {
                    Kind = SchemaKind.String,
                    MinLength = Integer(obj, "minLength"),
                    MaxLength = Integer(obj, "maxLength"),
                    Pattern = Text(obj, "pattern"),
                };
            case "number":
            case "integer":
                var (minimum, exclusiveMinimum) = Bound(obj, "minimum", "exclusiveMinimum");
                var (maximum, exclusiveMaximum) = Bound(obj, "maximum", "exclusiveMaximum");
                return new JsonSchemaNode
                {
                    Kind = SchemaKind.Number,
                    RequiresInteger = type == "integer",
                    Minimum = minimum,
                    Maximum = maximum,
                    ExclusiveMinimum = exclusiveMinimum,
                    ExclusiveMaximum = exclusiveMaximum,
                    MultipleOf = Number(obj, "multipleOf") is { } multipleOf && multipleOf <= 0
                        ? throw new FormatException($"\"multipleOf\" must be greater than 0, not {multipleOf}.")
                        : Number(obj, "multipleOf"),
                };
            case "boolean":
                return new JsonSchemaNode { Kind = SchemaKind.Boolean };
            case "null":
                return new JsonSchemaNode { Kind = SchemaKind.Null };
            case "object":
                return LoadObjectKind(obj);
            case "array":
                return LoadArrayKind(obj);
            default:
                throw new FormatException($"Unknown type \"{type}\".");
        }
    }

    private JsonSchemaNode LoadObjectKind(JsonObject obj)
    {
        var node = new JsonSchemaNode
        {
            Kind = SchemaKind.Object,
            MinProperties = Integer(obj, "minProperties"),
            MaxProperties = Integer(obj, "maxProperties"),
        };
        if (obj["properties"] is JsonObject properties)
        {
            foreach (var (name, schema) in properties)
            {
                node.Properties[name] = Load(schema);
            }
        }

        if (obj["required"] is JsonArray required)
        {
            foreach (var name in required)
            {
                node.Required.Add(Name(name, "required"));
            }
        }

        if (obj["patternProperties"] is JsonObject patterns)
        {
            foreach (var (pattern, schema) in patterns)
            {
                node.PatternProperties.Add((new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)), Load(schema)));
            }
        }

        (node.PermitsAdditionalProperties, node.AdditionalPropertiesSchema) = Additional(obj["additionalProperties"] ?? (_draft2020 ? obj["unevaluatedProperties"] : null));

        LoadDependencies(obj["dependencies"], node);
        LoadDependencies(obj["dependentRequired"], node);
        LoadDependencies(obj["dependentSchemas"], node);
        return node;
    }

    private void LoadDependencies(JsonNode? dependencies, JsonSchemaNode node)
    {
        if (dependencies is not JsonObject entries)
        {
            return;
        }

        foreach (var (name, value) in entries)
        {
            if (value is JsonArray names)
            {
                node.PropertyDependencies[name] = names.Select(n => Name(n, "dependencies")).ToHashSet(StringComparer.Ordinal);
            }
            else
            {
                node.SchemaDependencies[name] = Load(value);
            }
        }
    }

    private JsonSchemaNode LoadArrayKind(JsonObject obj)
    {
        var node = new JsonSchemaNode
        {
            Kind = SchemaKind.Array,
            MinItems = Integer(obj, "minItems"),
            MaxItems = Integer(obj, "maxItems"),
            UniqueItems = obj["uniqueItems"] is JsonValue u && u.TryGetValue<bool>(out var unique) && unique,
            MinContains = Integer(obj, "minContains"),
            MaxContains = Integer(obj, "maxContains"),
        };

        JsonNode? additional;
        if (obj["prefixItems"] is JsonArray prefix)
        {
            node.ItemList = prefix.Select(Load).ToList();
            additional = obj["items"] ?? obj["unevaluatedItems"];
        }
        else if (obj["items"] is JsonArray tuple)
        {
            node.ItemList = tuple.Select(Load).ToList();
            additional = obj["additionalItems"];
        }
        else
        {
            if (obj.ContainsKey("items"))
            {
                node.AllItems = Load(obj["items"]);
            }

            additional = obj["additionalItems"];
        }

        (node.PermitsAdditionalItems, node.AdditionalItemsSchema) = Additional(additional);

        return node;
    }

    /// <summary>Reads additionalProperties/additionalItems: absent or true permits anything, false nothing, a schema what it matches.</summary>
    private (bool Permits, JsonSchemaNode? Schema) Additional(JsonNode? additional) => additional switch
    {
        JsonValue v when v.TryGetValue<bool>(out var permits) => (permits, null),
        JsonObject schema => (true, Load(schema)),
        _ => (true, null),
    };

    private JsonSchemaNode Resolve(string pointer)
    {
        if (_references.TryGetValue(pointer, out var known))
        {
            return known;
        }

        if (_loading.TryGetValue(pointer, out var loading))
        {
            // A reference inside its own target: the placeholder becomes the target's node once it is loaded.
            _loading[pointer] = (loading.Placeholder, true);
            return loading.Placeholder;
        }

        if (!pointer.StartsWith('#'))
        {
            throw new FormatException($"Only local references are supported here, not \"{pointer}\".");
        }

        JsonNode? target = _root;
        foreach (var raw in pointer.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            target = target switch
            {
                JsonObject o => o[segment],
                JsonArray a when int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => null,
            } ?? throw new FormatException($"The reference \"{pointer}\" points nowhere.");
        }

        var placeholder = new JsonSchemaNode { Kind = SchemaKind.Empty };
        _loading[pointer] = (placeholder, false);
        var loaded = Load(target);
        var referenced = _loading[pointer].Referenced;
        _loading.Remove(pointer);
        if (referenced && loaded != placeholder)
        {
            // The recursive references hold the placeholder: it becomes the target's node, cycle and all. (A target
            // that is only a chain of references back to itself stays the placeholder, an empty schema.)
            placeholder.CopyFrom(loaded);
            loaded = placeholder;
        }

        _references[pointer] = loaded;
        return loaded;
    }

    /// <summary>Reads a bound and its exclusive form; draft 4 spells exclusiveness as a boolean beside the bound.</summary>
    private static (decimal? Inclusive, decimal? Exclusive) Bound(JsonObject obj, string inclusive, string exclusive)
    {
        var bound = Number(obj, inclusive);
        if (obj[exclusive] is JsonValue flag && flag.TryGetValue<bool>(out var isExclusive))
        {
            return isExclusive ? (null, bound) : (bound, null);
        }

        return (bound, Number(obj, exclusive));
    }

    private static string? Text(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static long? Integer(JsonObject obj, string name)
    {
        if (obj[name] is not JsonValue v || !v.TryGetValue<decimal>(out var d))
        {
            return null;
        }

        return decimal.Truncate(d) == d && d is >= 0 and <= long.MaxValue
            ? (long)d
            : throw new FormatException($"\"{name}\" must be a non-negative integer, not {v.ToJsonString()}.");
    }

    /// <summary>Reads a string where the schema requires one (a type, a required property, a dependency).</summary>
    private static string Name(JsonNode? node, string keyword) =>
        node is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new FormatException($"\"{keyword}\" must list strings, not {node?.ToJsonString() ?? "null"}.");

    private static decimal? Number(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue<decimal>(out var d) ? d : null;
}

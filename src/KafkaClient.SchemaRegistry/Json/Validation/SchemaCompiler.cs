using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace KafkaClient.SchemaRegistry.Json.Validation;

/// <summary>The compiled validator cannot take this schema; the caller falls back to NJsonSchema for it.</summary>
internal sealed class SchemaNotCompilableException : Exception
{
    public SchemaNotCompilableException(string message)
        : base(message)
    {
    }

    public SchemaNotCompilableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public SchemaNotCompilableException()
    {
    }
}

/// <summary>The schema refers to itself without ever descending into the instance (<c>{"$ref":"#"}</c>): no validator can use it.</summary>
internal sealed class SchemaCycleException : Exception
{
    public SchemaCycleException(string message)
        : base(message)
    {
    }

    public SchemaCycleException()
    {
    }

    public SchemaCycleException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Compiles JSON Schema text (drafts 4, 6, 7, 2019-09, 2020-12) into <see cref="SchemaNode"/>s, once per schema.</summary>
/// <remarks>
/// Every keyword that constrains an instance is either compiled or makes the whole schema not compilable
/// (<see cref="SchemaNotCompilableException"/>), so that nothing is skipped silently: <c>unevaluatedProperties</c>,
/// <c>unevaluatedItems</c>, <c>$dynamicRef</c>, <c>$recursiveRef</c>, draft 3 keywords, a <c>$ref</c> that is not a
/// JSON pointer into this document, a <c>$ref</c> under a nested <c>$id</c>, an unknown <c>$schema</c>, a
/// <c>pattern</c> .NET cannot parse, or a keyword of the wrong shape. Annotations and keywords JSON Schema does not
/// define are ignored, as the specification and NJsonSchema ignore them.
/// </remarks>
internal sealed class SchemaCompiler
{
    /// <summary>How long one <c>pattern</c> or <c>patternProperties</c> match may run.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The keywords that constrain instances and are compiled.</summary>
    public static readonly IReadOnlyList<string> SupportedKeywords =
    [
        "type", "enum", "const",
        "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
        "maxLength", "minLength", "pattern", "format",
        "items", "prefixItems", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains", "minContains", "maxContains",
        "properties", "required", "patternProperties", "additionalProperties", "propertyNames", "maxProperties", "minProperties",
        "dependencies", "dependentRequired", "dependentSchemas",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "$ref", "definitions", "$defs", "nullable", "x-nullable",
    ];

    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
        "extends", "disallow", "divisibleBy",
    };

    private readonly JsonElement _document;
    private readonly int _draft;
    private readonly string? _rootId;
    private readonly Dictionary<string, SchemaNode> _nodes = new(StringComparer.Ordinal);
    private readonly Queue<(SchemaNode Node, string Reference, string At)> _references = new();
    private bool _nestedId;

    private SchemaCompiler(JsonElement document, int draft)
    {
        _document = document;
        _draft = draft;
        if (document.ValueKind == JsonValueKind.Object
            && (document.TryGetProperty("$id", out var id) || (draft == 4 && document.TryGetProperty("id", out id)))
            && id.ValueKind == JsonValueKind.String)
        {
            _rootId = id.GetString()!.TrimEnd('#');
        }
    }

    /// <summary>Compiles a schema.</summary>
    /// <param name="schema">The JSON Schema text.</param>
    /// <returns>The root node.</returns>
    /// <exception cref="SchemaNotCompilableException">The compiled validator does not take this schema.</exception>
    /// <exception cref="SchemaCycleException">The schema refers to itself without descending into the instance.</exception>
    public static SchemaNode Compile(string schema)
    {
        JsonElement document;
        try
        {
            document = JsonElement.Parse(schema, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 512 });
        }
        catch (JsonException ex)
        {
            throw new SchemaNotCompilableException($"The schema is not JSON: {ex.Message}", ex);
        }

        var compiler = new SchemaCompiler(document, Draft(document));
        try
        {
            var root = compiler.Node(document, "#");
            compiler.ResolveReferences();
            foreach (var node in compiler._nodes.Values)
            {
                node.Seal();
            }

            CheckCycles(compiler._nodes.Values);
            return root;
        }
        catch (InsufficientExecutionStackException ex)
        {
            throw new SchemaNotCompilableException("The schema is nested too deeply.", ex);
        }
    }

    private static int Draft(JsonElement document)
    {
        if (document.ValueKind != JsonValueKind.Object || !document.TryGetProperty("$schema", out var uri))
        {
            return 7; // as Confluent's registry assumes
        }

        var text = uri.ValueKind == JsonValueKind.String ? uri.GetString()! : string.Empty;
        return text switch
        {
            _ when text.Contains("json-schema.org/draft-04/", StringComparison.Ordinal) => 4,
            _ when text.Contains("json-schema.org/draft-06/", StringComparison.Ordinal) => 6,
            _ when text.Contains("json-schema.org/draft-07/", StringComparison.Ordinal) => 7,
            _ when text.Contains("json-schema.org/draft/2019-09/", StringComparison.Ordinal) => 2019,
            _ when text.Contains("json-schema.org/draft/2020-12/", StringComparison.Ordinal) => 2020,
            _ => throw new SchemaNotCompilableException($"Unknown $schema \"{ErrorText.Safe(text, 128)}\"."),
        };
    }

    private SchemaNode Node(JsonElement element, string pointer)
    {
        if (_nodes.TryGetValue(pointer, out var existing))
        {
            return existing;
        }

        RuntimeHelpers.EnsureSufficientExecutionStack();
        var node = new SchemaNode { LexicalIntegers = _draft == 4 };
        _nodes[pointer] = node;
        switch (element.ValueKind)
        {
            case JsonValueKind.True:
                node.Constant = true;
                return node;
            case JsonValueKind.False:
                node.Constant = false;
                return node;
            case JsonValueKind.Object:
                break;
            default:
                throw Fail(pointer, "a schema must be an object or a boolean");
        }

        if (pointer != "#" && (element.TryGetProperty("$id", out var id) || (_draft == 4 && element.TryGetProperty("id", out id))) && id.ValueKind == JsonValueKind.String)
        {
            _nestedId = true;
        }

        if (element.TryGetProperty("$ref", out var reference))
        {
            if (reference.ValueKind != JsonValueKind.String)
            {
                throw Fail(pointer, "$ref must be a string");
            }

            _references.Enqueue((node, reference.GetString()!, pointer));
            if (_draft <= 7)
            {
                // Its siblings are ignored, but for NJsonSchema's nullable markers, which it honours beside $ref too.
                node.RefOnly = true;
                node.NullableExtension = (element.TryGetProperty("nullable", out var nullable) && nullable.ValueKind == JsonValueKind.True)
                    || (element.TryGetProperty("x-nullable", out var xNullable) && xNullable.ValueKind == JsonValueKind.True);
                return node;
            }
        }

        var tracked = new List<string>();
        int Track(string name)
        {
            var index = tracked.IndexOf(name);
            if (index < 0)
            {
                tracked.Add(name);
                index = tracked.Count - 1;
            }

            return index;
        }

        var properties = new List<(string Name, SchemaNode Schema)>();
        var required = new List<int>();
        var dependentRequired = new List<(int, int[])>();
        var dependentSchemas = new List<(int, SchemaNode)>();
        JsonElement? items = null, prefixItems = null, additionalItems = null;
        foreach (var keyword in element.EnumerateObject())
        {
            var value = keyword.Value;
            var at = pointer + "/" + Escape(keyword.Name);
            switch (keyword.Name)
            {
                case "$ref":
                    break;
                case "type":
                    node.Types = ParseTypes(value, at);
                    break;
                case "enum":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                    {
                        throw Fail(at, "enum must be a non-empty array");
                    }

                    node.Enum = [.. value.EnumerateArray()];
                    if (node.Enum.All(e => e.ValueKind == JsonValueKind.String))
                    {
                        node.EnumStrings = [.. node.Enum.Select(e => Encoding.UTF8.GetBytes(e.GetString()!))];
                    }

                    break;
                case "const":
                    node.Const = value;
                    break;
                case "multipleOf":
                    node.MultipleOf = ParseNumber(value, at);
                    if (node.MultipleOf.Value.Double <= 0)
                    {
                        throw Fail(at, "multipleOf must be positive");
                    }

                    break;
                case "maximum":
                    node.Maximum = ParseNumber(value, at);
                    break;
                case "minimum":
                    node.Minimum = ParseNumber(value, at);
                    break;
                case "exclusiveMaximum":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        node.ExclusiveMaximum = ParseNumber(value, at);
                    }

                    break;
                case "exclusiveMinimum":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        node.ExclusiveMinimum = ParseNumber(value, at);
                    }

                    break;
                case "maxLength":
                    node.MaxLength = ParseCount(value, at);
                    break;
                case "minLength":
                    node.MinLength = ParseCount(value, at);
                    break;
                case "pattern":
                    node.Pattern = ParseRegex(value, at);
                    break;
                case "format":
                    node.Format = value.ValueKind == JsonValueKind.String ? ParseFormat(value.GetString()!) : throw Fail(at, "format must be a string");
                    break;
                case "items":
                    items = value;
                    break;
                case "prefixItems":
                    prefixItems = value;
                    break;
                case "additionalItems":
                    additionalItems = value;
                    break;
                case "maxItems":
                    node.MaxItems = ParseCount(value, at);
                    break;
                case "minItems":
                    node.MinItems = ParseCount(value, at);
                    break;
                case "uniqueItems":
                    node.UniqueItems = value.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        _ => throw Fail(at, "uniqueItems must be a boolean"),
                    };
                    break;
                case "contains":
                    node.Contains = Node(value, at);
                    break;
                case "minContains":
                    node.MinContains = ParseCount(value, at);
                    break;
                case "maxContains":
                    node.MaxContains = ParseCount(value, at);
                    break;
                case "properties":
                    foreach (var property in AsObject(value, at).EnumerateObject())
                    {
                        properties.Add((property.Name, Node(property.Value, at + "/" + Escape(property.Name))));
                    }

                    break;
                case "required":
                    if (value.ValueKind != JsonValueKind.Array)
                    {
                        throw Fail(at, "required must be an array"); // a draft 3 boolean, say
                    }

                    required.AddRange(value.EnumerateArray().Select(n => Track(AsString(n, at))).Distinct());
                    break;
                case "patternProperties":
                    node.PatternProperties = [.. AsObject(value, at).EnumerateObject().Select(p => (ParseRegex(p.Name, at), Node(p.Value, at + "/" + Escape(p.Name))))];
                    break;
                case "additionalProperties":
                    node.AdditionalProperties = Node(value, at);
                    break;
                case "propertyNames":
                    node.PropertyNames = Node(value, at);
                    break;
                case "maxProperties":
                    node.MaxProperties = ParseCount(value, at);
                    break;
                case "minProperties":
                    node.MinProperties = ParseCount(value, at);
                    break;
                case "dependencies":
                    foreach (var dependency in AsObject(value, at).EnumerateObject())
                    {
                        if (dependency.Value.ValueKind == JsonValueKind.Array)
                        {
                            dependentRequired.Add((Track(dependency.Name), [.. dependency.Value.EnumerateArray().Select(n => Track(AsString(n, at)))]));
                        }
                        else
                        {
                            dependentSchemas.Add((Track(dependency.Name), Node(dependency.Value, at + "/" + Escape(dependency.Name))));
                        }
                    }

                    break;
                case "dependentRequired":
                    foreach (var dependency in AsObject(value, at).EnumerateObject())
                    {
                        if (dependency.Value.ValueKind != JsonValueKind.Array)
                        {
                            throw Fail(at, "dependentRequired values must be arrays");
                        }

                        dependentRequired.Add((Track(dependency.Name), [.. dependency.Value.EnumerateArray().Select(n => Track(AsString(n, at)))]));
                    }

                    break;
                case "dependentSchemas":
                    foreach (var dependency in AsObject(value, at).EnumerateObject())
                    {
                        dependentSchemas.Add((Track(dependency.Name), Node(dependency.Value, at + "/" + Escape(dependency.Name))));
                    }

                    break;
                case "allOf":
                    node.AllOf = Schemas(value, at);
                    break;
                case "anyOf":
                    node.AnyOf = Schemas(value, at);
                    break;
                case "oneOf":
                    node.OneOf = Schemas(value, at);
                    break;
                case "not":
                    node.Not = Node(value, at);
                    break;
                case "if":
                    node.If = Node(value, at);
                    break;
                case "then":
                    node.Then = Node(value, at);
                    break;
                case "else":
                    node.Else = Node(value, at);
                    break;
                case "nullable":
                case "x-nullable":
                    node.NullableExtension = value.ValueKind == JsonValueKind.True;
                    break;
                default:
                    if (Unsupported.Contains(keyword.Name))
                    {
                        throw Fail(at, $"the keyword {keyword.Name} is not supported");
                    }

                    break; // an annotation ($id, title, default, ...), definitions, or a keyword JSON Schema does not define
            }
        }

        if (node.If is null)
        {
            node.Then = node.Else = null; // then and else without if do nothing
        }

        // Arrays: a tuple (items as an array, or prefixItems), then the schema for the rest.
        if (prefixItems is { } prefix)
        {
            if (items is { ValueKind: JsonValueKind.Array } || additionalItems is not null)
            {
                throw Fail(pointer, "prefixItems beside an items array or additionalItems");
            }

            node.Prefix = Schemas(prefix, pointer + "/prefixItems");
            node.RestItems = items is { } rest ? Node(rest, pointer + "/items") : null;
        }
        else if (items is { ValueKind: JsonValueKind.Array } tuple)
        {
            node.Prefix = [.. tuple.EnumerateArray().Select((s, i) => Node(s, $"{pointer}/items/{i}"))];
            if (additionalItems is { } additional)
            {
                node.RestItems = Node(additional, pointer + "/additionalItems");
                node.RestIsAdditional = true;
            }
        }
        else if (items is { } all)
        {
            node.RestItems = Node(all, pointer + "/items");
        }

        // Objects: one table of the names the keywords know.
        node.Required = [.. required];
        node.DependentRequired = [.. dependentRequired];
        node.DependentSchemas = [.. dependentSchemas];
        node.TrackedNames = [.. tracked];
        if (properties.Count > 0 || tracked.Count > 0)
        {
            var entries = new List<(string, SchemaNode?, int)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, schema) in properties)
            {
                if (seen.Add(name))
                {
                    entries.Add((name, schema, tracked.IndexOf(name)));
                }
            }

            entries.AddRange(tracked.Where(seen.Add).Select(name => (name, (SchemaNode?)null, tracked.IndexOf(name))));
            node.Properties = new PropertyTable(entries);
        }

        // Draft 4's boolean exclusiveMinimum / exclusiveMaximum turn minimum / maximum exclusive.
        if (element.TryGetProperty("exclusiveMinimum", out var exclusiveMin) && exclusiveMin.ValueKind == JsonValueKind.True && node.Minimum is { } min)
        {
            node.ExclusiveMinimum = node.ExclusiveMinimum is { } other && Compare(other, min) > 0 ? other : min;
            node.Minimum = null;
        }

        if (element.TryGetProperty("exclusiveMaximum", out var exclusiveMax) && exclusiveMax.ValueKind == JsonValueKind.True && node.Maximum is { } max)
        {
            node.ExclusiveMaximum = node.ExclusiveMaximum is { } other && Compare(other, max) < 0 ? other : max;
            node.Maximum = null;
        }

        return node;
    }

    private void ResolveReferences()
    {
        while (_references.TryDequeue(out var pending))
        {
            var (node, reference, at) = pending;
            var fragment = reference;
            if (_rootId is { Length: > 0 } rootId && fragment.StartsWith(rootId, StringComparison.Ordinal))
            {
                fragment = fragment[rootId.Length..];
                fragment = fragment.Length == 0 ? "#" : fragment;
            }

            if (!fragment.StartsWith('#') || (fragment.Length > 1 && fragment[1] != '/'))
            {
                throw Fail(at, $"$ref \"{ErrorText.Safe(reference, 128)}\" is not a JSON pointer into this schema");
            }

            string[] segments;
            try
            {
                segments = [.. Uri.UnescapeDataString(fragment[1..]).Split('/').Skip(1).Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))];
            }
            catch (UriFormatException ex)
            {
                throw new SchemaNotCompilableException($"$ref \"{ErrorText.Safe(reference, 128)}\" at {at} is not a JSON pointer.", ex);
            }

            var target = _document;
            var canonical = new StringBuilder("#");
            foreach (var segment in segments)
            {
                if (target.ValueKind == JsonValueKind.Object && target.TryGetProperty(segment, out var child))
                {
                    target = child;
                }
                else if (target.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < target.GetArrayLength())
                {
                    target = target[index];
                }
                else
                {
                    throw Fail(at, $"$ref \"{ErrorText.Safe(reference, 128)}\" points at nothing");
                }

                canonical.Append('/').Append(Escape(segment));
            }

            node.Ref = Node(target, canonical.ToString());
        }

        if (_nestedId && _nodes.Values.Any(n => n.Ref is not null))
        {
            throw new SchemaNotCompilableException("A $ref beside a nested $id (its base URI changes) is not supported.");
        }
    }

    /// <summary>Refuses schemas whose references loop on the same instance (they would never finish).</summary>
    private static void CheckCycles(IEnumerable<SchemaNode> nodes)
    {
        var state = new Dictionary<SchemaNode, int>(ReferenceEqualityComparer.Instance);
        foreach (var start in nodes)
        {
            Visit(start);
        }

        void Visit(SchemaNode node)
        {
            switch (state.GetValueOrDefault(node))
            {
                case 1:
                    throw new SchemaCycleException("The schema's $ref chain loops without descending into the instance.");
                case 2:
                    return;
            }

            RuntimeHelpers.EnsureSufficientExecutionStack();
            state[node] = 1;
            foreach (var next in SameInstance(node))
            {
                Visit(next);
            }

            state[node] = 2;
        }
    }

    private static IEnumerable<SchemaNode> SameInstance(SchemaNode node)
    {
        if (node.Ref is { } reference)
        {
            yield return reference;
        }

        foreach (var group in new[] { node.AllOf, node.AnyOf, node.OneOf })
        {
            foreach (var schema in group ?? [])
            {
                yield return schema;
            }
        }

        foreach (var schema in new[] { node.Not, node.If, node.Then, node.Else })
        {
            if (schema is not null)
            {
                yield return schema;
            }
        }

        foreach (var (_, schema) in node.DependentSchemas)
        {
            yield return schema;
        }
    }

    private SchemaNode[] Schemas(JsonElement value, string at) =>
        value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0
            ? [.. value.EnumerateArray().Select((s, i) => Node(s, $"{at}/{i}"))]
            : throw Fail(at, "must be a non-empty array of schemas");

    private static JsonTypes ParseTypes(JsonElement value, string at)
    {
        JsonTypes One(JsonElement name) => name.ValueKind != JsonValueKind.String ? throw Fail(at, "type names must be strings") : name.GetString() switch
        {
            "null" => JsonTypes.Null,
            "boolean" => JsonTypes.Boolean,
            "object" => JsonTypes.Object,
            "array" => JsonTypes.Array,
            "number" => JsonTypes.Number,
            "integer" => JsonTypes.Integer,
            "string" => JsonTypes.String,
            var other => throw Fail(at, $"unknown type \"{ErrorText.Safe(other ?? string.Empty, 64)}\""),
        };

        if (value.ValueKind == JsonValueKind.Array)
        {
            var types = JsonTypes.None;
            foreach (var name in value.EnumerateArray())
            {
                types |= One(name);
            }

            return types == JsonTypes.None ? throw Fail(at, "type must name a type") : types;
        }

        return One(value);
    }

    private static NumberLimit ParseNumber(JsonElement value, string at)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw Fail(at, "must be a number");
        }

        var isDecimal = value.TryGetDecimal(out var d) && !(d == 0 && JsonValues.HasNonZeroDigit(Encoding.UTF8.GetBytes(value.GetRawText())));
        return new NumberLimit(isDecimal ? d : 0, isDecimal, value.GetDouble());
    }

    private static int Compare(NumberLimit a, NumberLimit b) => a.IsDecimal && b.IsDecimal ? a.Decimal.CompareTo(b.Decimal) : a.Double.CompareTo(b.Double);

    private static long ParseCount(JsonElement value, string at)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) && d >= 0 && d == decimal.Truncate(d))
        {
            return d > long.MaxValue ? long.MaxValue : (long)d;
        }

        throw Fail(at, "must be a non-negative integer");
    }

    private static JsonElement AsObject(JsonElement value, string at) =>
        value.ValueKind == JsonValueKind.Object ? value : throw Fail(at, "must be an object");

    private static string AsString(JsonElement value, string at) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw Fail(at, "must be a string");

    private static Regex ParseRegex(JsonElement value, string at) =>
        value.ValueKind == JsonValueKind.String ? ParseRegex(value.GetString()!, at) : throw Fail(at, "pattern must be a string");

    private static Regex ParseRegex(string pattern, string at)
    {
        try
        {
            // .NET's syntax, as NJsonSchema matches; compiled once per schema, bounded per match.
            return new System.Text.RegularExpressions.Regex(pattern, RegexOptions.Compiled, RegexTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new SchemaNotCompilableException($"The pattern at {at} is not a .NET regular expression: {ex.Message}", ex);
        }
    }

    private static StringFormat ParseFormat(string format) => format switch
    {
        "date-time" => StringFormat.DateTime,
        "date" => StringFormat.Date,
        "time" => StringFormat.Time,
        "time-span" => StringFormat.TimeSpan,
        "email" => StringFormat.Email,
        "hostname" => StringFormat.Hostname,
        "ipv4" => StringFormat.IpV4,
        "ipv6" => StringFormat.IpV6,
        "uri" => StringFormat.Uri,
        "uuid" or "guid" => StringFormat.Uuid,
        "byte" or "base64" => StringFormat.Base64,
        _ => StringFormat.None, // an annotation, as for NJsonSchema
    };

    private static string Escape(string segment) => segment.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static SchemaNotCompilableException Fail(string at, string problem) => new($"{ErrorText.Safe(at, 200)}: {problem}.");
}

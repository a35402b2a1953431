using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

internal enum SchemaKind
{
    Empty,
    False,
    Object,
    Array,
    String,
    Number,
    Boolean,
    Null,
    Enum,
    Const,
    Combined,
    Not,
}

/// <summary>A JSON Schema loaded into the shape Confluent's rules compare: one kind per node, keywords typed.</summary>
internal sealed class JsonSchemaNode
{
    public SchemaKind Kind { get; set; }

    public string? Id { get; set; }

    public string? Title { get; set; }

    public string? Description { get; set; }

    public JsonNode? Default { get; set; }

    public bool HasDefault { get; set; }

    // string
    public long? MinLength { get; set; }

    public long? MaxLength { get; set; }

    public string? Pattern { get; set; }

    // number
    public bool RequiresInteger { get; set; }

    public decimal? Minimum { get; set; }

    public decimal? Maximum { get; set; }

    public decimal? ExclusiveMinimum { get; set; }

    public decimal? ExclusiveMaximum { get; set; }

    public decimal? MultipleOf { get; set; }

    // object
    public Dictionary<string, JsonSchemaNode> Properties { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Required { get; } = new(StringComparer.Ordinal);

    public bool PermitsAdditionalProperties { get; set; } = true;

    public JsonSchemaNode? AdditionalPropertiesSchema { get; set; }

    public List<(Regex Pattern, JsonSchemaNode Schema)> PatternProperties { get; } = [];

    public Dictionary<string, HashSet<string>> PropertyDependencies { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, JsonSchemaNode> SchemaDependencies { get; } = new(StringComparer.Ordinal);

    public long? MinProperties { get; set; }

    public long? MaxProperties { get; set; }

    // array
    public JsonSchemaNode? AllItems { get; set; }

    public List<JsonSchemaNode>? ItemList { get; set; }

    public bool PermitsAdditionalItems { get; set; } = true;

    public JsonSchemaNode? AdditionalItemsSchema { get; set; }

    public long? MinItems { get; set; }

    public long? MaxItems { get; set; }

    public bool UniqueItems { get; set; }

    public long? MinContains { get; set; }

    public long? MaxContains { get; set; }

    // enum and const
    public List<JsonNode?> EnumValues { get; } = [];

    public JsonNode? ConstValue { get; set; }

    // combined and not
    public string Criterion { get; set; } = string.Empty;

    public List<JsonSchemaNode> Subschemas { get; } = [];

    public JsonSchemaNode? NotSchema { get; set; }

    public static JsonSchemaNode AllOf(JsonSchemaNode single)
    {
        var combined = new JsonSchemaNode { Kind = SchemaKind.Combined, Criterion = "allOf" };
        combined.Subschemas.Add(single);
        return combined;
    }
}

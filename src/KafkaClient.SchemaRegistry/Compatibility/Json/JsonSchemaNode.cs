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

    /// <summary>Makes this node (a placeholder handed out for a recursive reference) the same schema as another: every member is copied.</summary>
    /// <remarks>The subschemas are shared, not copied, so that a reference back to this node sees the whole schema.</remarks>
    public void CopyFrom(JsonSchemaNode other)
    {
        Kind = other.Kind;
        Id = other.Id;
        Title = other.Title;
        Description = other.Description;
        Default = other.Default;
        HasDefault = other.HasDefault;
        MinLength = other.MinLength;
        MaxLength = other.MaxLength;
        Pattern = other.Pattern;
        RequiresInteger = other.RequiresInteger;
        Minimum = other.Minimum;
        Maximum = other.Maximum;
        ExclusiveMinimum = other.ExclusiveMinimum;
        ExclusiveMaximum = other.ExclusiveMaximum;
        MultipleOf = other.MultipleOf;
        Replace(Properties, other.Properties);
        Required.Clear();
        Required.UnionWith(other.Required);
        PermitsAdditionalProperties = other.PermitsAdditionalProperties;
        AdditionalPropertiesSchema = other.AdditionalPropertiesSchema;
        PatternProperties.Clear();
        PatternProperties.AddRange(other.PatternProperties);
        Replace(PropertyDependencies, other.PropertyDependencies);
        Replace(SchemaDependencies, other.SchemaDependencies);
        MinProperties = other.MinProperties;
        MaxProperties = other.MaxProperties;
        AllItems = other.AllItems;
        ItemList = other.ItemList;
        PermitsAdditionalItems = other.PermitsAdditionalItems;
        AdditionalItemsSchema = other.AdditionalItemsSchema;
        MinItems = other.MinItems;
        MaxItems = other.MaxItems;
        UniqueItems = other.UniqueItems;
        MinContains = other.MinContains;
        MaxContains = other.MaxContains;
        EnumValues.Clear();
        EnumValues.AddRange(other.EnumValues);
        ConstValue = other.ConstValue;
        Criterion = other.Criterion;
        Subschemas.Clear();
        Subschemas.AddRange(other.Subschemas);
        NotSchema = other.NotSchema;
    }

    public static JsonSchemaNode AllOf(JsonSchemaNode single)
    {
        var combined = new JsonSchemaNode { Kind = SchemaKind.Combined, Criterion = "allOf" };
        combined.Subschemas.Add(single);
        return combined;
    }

    private static void Replace<TValue>(Dictionary<string, TValue> target, Dictionary<string, TValue> source)
    {
        target.Clear();
        foreach (var (name, value) in source)
        {
            target[name] = value;
        }
    }
}

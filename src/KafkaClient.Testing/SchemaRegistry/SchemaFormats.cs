using System.Text.Json;
using System.Text.Json.Nodes;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Json;

namespace KafkaClient.Testing.SchemaRegistry;

/// <summary>A schema the registry has parsed: its text as registered and the canonical form that identifies it.</summary>
/// <remarks>Formats derive from it to keep what their compatibility rules need (for Protobuf, the resolved imports).</remarks>
internal class ParsedSchema(string text, string canonical)
{
    /// <summary>Gets the schema text as it was registered.</summary>
    public string Text { get; } = text;

    /// <summary>Gets the form two registrations of the same schema share, whatever their spacing or encoding.</summary>
    public string Canonical { get; } = canonical;
}

/// <summary>A reference of a schema being parsed, resolved to the registered schema it names.</summary>
internal sealed record ResolvedReference(string Name, StoredSchema Schema);

/// <summary>One schema format of the registry: how its schemas are parsed, identified and checked for compatibility.</summary>
/// <remarks>Implementations are stateless and thread-safe; the store calls them outside its lock.</remarks>
internal interface ISchemaFormat
{
    /// <summary>Gets the registry's name of the format (<c>JSON</c>, <c>PROTOBUF</c>, <c>AVRO</c>).</summary>
    string SchemaType { get; }

    /// <summary>Parses and validates a schema, or throws <see cref="RegistryException"/> with 42201 and the reason.</summary>
    ParsedSchema Parse(string schema, IReadOnlyList<ResolvedReference> references);

    /// <summary>Lists the incompatibilities of <paramref name="candidate"/> with the earlier versions at a level, as Confluent's registry words them.</summary>
    /// <exception cref="SchemaTooComplexException">The comparison would exceed its work bound.</exception>
    IReadOnlyList<string> Check(CompatibilityLevel level, CompatibilityPolicy policy, ParsedSchema candidate, IReadOnlyList<ParsedSchema> previousNewestFirst);
}

/// <summary>The formats the embedded registry knows, by their registry name.</summary>
internal static class SchemaFormats
{
    private static readonly ISchemaFormat[] All = [new JsonSchemaFormat(), new TextOnlyFormat("PROTOBUF"), new TextOnlyFormat("AVRO")];

    /// <summary>Gets the registry names of the known formats, as <c>GET /schemas/types</c> lists them.</summary>
    public static IReadOnlyList<string> Types { get; } = All.Select(f => f.SchemaType).ToArray();

    /// <summary>Gets the format of a registry name, or throws 42201 as Confluent's registry does for an unknown type.</summary>
    public static ISchemaFormat Get(string schemaType) =>
        All.FirstOrDefault(f => f.SchemaType == schemaType)
        ?? throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Invalid schema type {schemaType}");
}

/// <summary>JSON Schema, checked with Confluent's rules (<see cref="JsonSchemaDiff"/>).</summary>
internal sealed class JsonSchemaFormat : ISchemaFormat
{
    public string SchemaType => "JSON";

    public ParsedSchema Parse(string schema, IReadOnlyList<ResolvedReference> references)
    {
        try
        {
            JsonSchemaDiff.Validate(schema);
            return new ParsedSchema(schema, JsonNode.Parse(schema)?.ToJsonString() ?? schema.Trim());
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Invalid schema {schema}, details: {ex.Message}");
        }
    }

    public IReadOnlyList<string> Check(CompatibilityLevel level, CompatibilityPolicy policy, ParsedSchema candidate, IReadOnlyList<ParsedSchema> previousNewestFirst) =>
        CompatibilityChecker.Check(new JsonSchemaDiff(policy), level, candidate.Text, previousNewestFirst.Select(s => s.Text).ToList());
}

/// <summary>A format the embedded registry stores as text and does not check for compatibility.</summary>
internal sealed class TextOnlyFormat(string schemaType) : ISchemaFormat
{
    public string SchemaType { get; } = schemaType;

    public ParsedSchema Parse(string schema, IReadOnlyList<ResolvedReference> references) => new(schema, schema.Trim());

    public IReadOnlyList<string> Check(CompatibilityLevel level, CompatibilityPolicy policy, ParsedSchema candidate, IReadOnlyList<ParsedSchema> previousNewestFirst) => [];
}

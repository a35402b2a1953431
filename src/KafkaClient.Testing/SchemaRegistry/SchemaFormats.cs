using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Json;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;

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
internal sealed record ResolvedReference(string Name, string Subject, int Version, StoredSchema Schema);

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

    /// <summary>Writes a schema as a GET answers it, in the <c>format</c> the request asks for (null: the format's default form).</summary>
    string Render(ParsedSchema schema, string? format);
}

/// <summary>The formats the embedded registry knows, by their registry name.</summary>
internal static class SchemaFormats
{
    private static readonly ISchemaFormat[] All = [new JsonSchemaFormat(), new ProtobufFormat(), new TextOnlyFormat("AVRO")];

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

    public string Render(ParsedSchema schema, string? format) => schema.Text;
}

/// <summary>A format the embedded registry stores as text and does not check for compatibility.</summary>
internal sealed class TextOnlyFormat(string schemaType) : ISchemaFormat
{
    public string SchemaType { get; } = schemaType;

    public ParsedSchema Parse(string schema, IReadOnlyList<ResolvedReference> references) => new(schema, schema.Trim());

    public IReadOnlyList<string> Check(CompatibilityLevel level, CompatibilityPolicy policy, ParsedSchema candidate, IReadOnlyList<ParsedSchema> previousNewestFirst) => [];

    public string Render(ParsedSchema schema, string? format) => schema.Text;
}

/// <summary>Protobuf, as .proto text or base64 of a serialized descriptor, with its imports resolved through the references.</summary>
/// <remarks>
/// The same schema gets the same id whichever form it came in (<see cref="ProtobufSchema.Canonical"/>). GET answers the
/// text as registered, a descriptor registered as base64 printed as .proto text, and with <c>format=serialized</c> the
/// base64 descriptor, as Confluent's registry does.
/// </remarks>
internal sealed class ProtobufFormat : ISchemaFormat
{
    public string SchemaType => "PROTOBUF";

    public ParsedSchema Parse(string schema, IReadOnlyList<ResolvedReference> references)
    {
        // The whole closure of imports: the direct references and, once each, what they import.
        var dependencies = new Dictionary<string, ProtobufDependency>(StringComparer.Ordinal);
        foreach (var reference in references)
        {
            dependencies.TryAdd(reference.Name, new ProtobufDependency(reference.Name, reference.Schema.Schema, reference.Subject, reference.Version));
            if (reference.Schema.Parsed is ParsedProtobuf imported)
            {
                foreach (var nested in imported.Schema.References)
                {
                    dependencies.TryAdd(nested.Name, nested);
                }
            }
        }

        try
        {
            var parsed = ProtobufSchema.Parse(schema, [.. dependencies.Values]);
            Build(parsed);
            var serialized = !schema.Contains('{', StringComparison.Ordinal) && !schema.Contains(';', StringComparison.Ordinal);

            // A descriptor is served as .proto text by default: printed once, here, so one that cannot be is refused now.
            return new ParsedProtobuf(schema, parsed, serialized ? parsed.ToProtoText() : null);
        }
        catch (FormatException ex)
        {
            throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Invalid schema {schema}, details: {ex.Message}");
        }
    }

    /// <summary>
    /// Builds the schema's descriptors with Google.Protobuf, each file after the files it imports, as Confluent's registry
    /// validates a Protobuf schema by building it (<c>Descriptors.FileDescriptor.buildFrom</c>): a serialized descriptor
    /// that cannot be built (a scalar field with a type name, a oneof index out of range, two types of one name...) is
    /// invalid, and no client could read its records.
    /// </summary>
    /// <exception cref="FormatException">The descriptors cannot be built.</exception>
    private static void Build(ProtobufSchema schema)
    {
        var files = schema.Dependencies;
        var ordered = new List<ByteString>();
        var placed = new HashSet<string>(StringComparer.Ordinal);

        void Place(string name, FileDescriptorProto file)
        {
            if (!placed.Add(name))
            {
                return;
            }

            foreach (var import in file.Dependency)
            {
                if (files.TryGetValue(import, out var imported))
                {
                    Place(import, imported); // the parser has bounded import chains
                }
            }

            file.Name = name;
            ordered.Add(file.ToByteString());
        }

        foreach (var (name, file) in files)
        {
            Place(name, file);
        }

        var root = schema.Descriptor;
        root.Name = Enumerable.Range(0, files.Count + 1).Select(i => $"schema{i}.proto").First(n => !files.ContainsKey(n));
        ordered.Add(root.ToByteString());
        try
        {
            _ = FileDescriptor.BuildFromByteStrings(ordered);
        }
        catch (Exception ex) when (ex is DescriptorValidationException or ArgumentException or InvalidProtocolBufferException)
        {
            throw new FormatException($"The descriptor cannot be built: {ex.Message}", ex);
        }
    }

    public IReadOnlyList<string> Check(CompatibilityLevel level, CompatibilityPolicy policy, ParsedSchema candidate, IReadOnlyList<ParsedSchema> previousNewestFirst) =>
        CompatibilityChecker.Check(new ProtobufSchemaDiff(), level, ((ParsedProtobuf)candidate).Schema, previousNewestFirst.Select(s => ((ParsedProtobuf)s).Schema).ToList());

    public string Render(ParsedSchema schema, string? format)
    {
        var protobuf = (ParsedProtobuf)schema;
        if (format == "serialized")
        {
            return protobuf.RegisteredSerialized ? protobuf.Text.Trim() : protobuf.Schema.ToBase64();
        }

        return protobuf.PrintedText ?? protobuf.Text;
    }

    /// <summary>A parsed Protobuf schema and, when it was registered as a serialized descriptor, that descriptor as .proto text.</summary>
    internal sealed class ParsedProtobuf(string text, ProtobufSchema schema, string? printedText) : ParsedSchema(text, schema.Canonical)
    {
        public ProtobufSchema Schema { get; } = schema;

        public string? PrintedText { get; } = printedText;

        public bool RegisteredSerialized => PrintedText is not null;
    }
}

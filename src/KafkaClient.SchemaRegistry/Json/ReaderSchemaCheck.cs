using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Checks that a reader type's JSON property names, as System.Text.Json names them, fit a writer schema's properties.</summary>
/// <remarks>
/// Catches a naming convention that does not match (camelCase members against snake_case properties), which would
/// otherwise give values with every field defaulted. Members the schema lacks (a newer reader) and properties the
/// type leaves out (a reader of a subset) are fine.
/// </remarks>
internal static class ReaderSchemaCheck
{
    private const int ListedNames = 10;

    /// <summary>Compares the members of <paramref name="type"/> with the top-level properties of an object schema.</summary>
    /// <param name="type">The reader type.</param>
    /// <param name="options">The options the type is read with.</param>
    /// <param name="schemaText">The writer schema.</param>
    /// <param name="schemaId">The writer schema's id, for the message.</param>
    /// <returns>Null when the type fits (or cannot be judged: not a POCO, not an object schema with properties); otherwise what does not match.</returns>
    public static string? Check(Type type, JsonSerializerOptions options, string schemaText, int schemaId)
    {
        if (typeof(JsonNode).IsAssignableFrom(type) || type == typeof(JsonElement) || type == typeof(JsonDocument))
        {
            return null;
        }

        JsonTypeInfo contract;
        try
        {
            var resolving = options.TypeInfoResolver is null ? new JsonSerializerOptions(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() } : options;
            contract = resolving.GetTypeInfo(type);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            return null; // System.Text.Json will say why when it reads the first value.
        }

        if (contract.Kind != JsonTypeInfoKind.Object)
        {
            return null;
        }

        var properties = SchemaProperties(schemaText);
        var members = contract.Properties.Where(p => !p.IsExtensionData).ToList();
        if (properties.Count == 0 || members.Count == 0)
        {
            return null;
        }

        var comparer = options.PropertyNameCaseInsensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var inSchema = new HashSet<string>(properties, comparer);
        var matched = new HashSet<string>(members.Select(m => m.Name).Where(inSchema.Contains), comparer);
        var mismatches = new List<string>();
        foreach (var member in members.Where(m => !inSchema.Contains(m.Name)))
        {
            var key = Normalize(member.Name);
            var other = properties.FirstOrDefault(p => !matched.Contains(p) && Normalize(p) == key);
            if (other is not null)
            {
                mismatches.Add($"{MemberName(contract, member)} is read from \"{Name(member.Name)}\" but the schema names it \"{Name(other)}\"");
            }
        }

        const string Advice = "Make the names match (JsonSerializerOptions.PropertyNamingPolicy, for example JsonNamingPolicy.SnakeCaseLower, or [JsonPropertyName]), or read the value as a JsonNode.";
        if (mismatches.Count > 0)
        {
            return $"{TypeName(type)} does not match the writer's schema {schemaId}: {string.Join("; ", mismatches.Take(ListedNames))}{More(mismatches.Count)}. {Advice}";
        }

        if (matched.Count == 0)
        {
            return $"No member of {TypeName(type)} maps to a property of the writer's schema {schemaId}: the type reads {List(members.Select(m => m.Name).ToList())}, the schema has {List(properties)}. {Advice}";
        }

        return null;
    }

    private static List<string> SchemaProperties(string schemaText)
    {
        try
        {
            using var document = JsonDocument.Parse(schemaText);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
            {
                return [];
            }

            if (root.TryGetProperty("type", out var kind) && !IsObjectType(kind))
            {
                return [];
            }

            return properties.EnumerateObject().Select(p => p.Name).Distinct(StringComparer.Ordinal).ToList();
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static bool IsObjectType(JsonElement kind) => kind.ValueKind switch
    {
        JsonValueKind.String => kind.ValueEquals("object"),
        JsonValueKind.Array => kind.EnumerateArray().Any(k => k.ValueKind == JsonValueKind.String && k.ValueEquals("object")),
        _ => false,
    };

    private static string Normalize(string name) =>
        string.Concat(name.Where(c => c is not ('_' or '-'))).ToLowerInvariant();

    private static string MemberName(JsonTypeInfo contract, JsonPropertyInfo member) =>
        member.AttributeProvider is MemberInfo info ? $"{TypeName(contract.Type)}.{info.Name}" : $"{TypeName(contract.Type)}'s \"{Name(member.Name)}\"";

    private static string TypeName(Type type) => type.Name;

    private static string Name(string name) => ErrorText.Safe(name, 64);

    private static string List(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(ListedNames).Select(n => $"\"{Name(n)}\"")) + More(names.Count);

    private static string More(int count) => count > ListedNames ? $" and {count - ListedNames} more" : string.Empty;
}

using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;

namespace KafkaClient.SchemaRegistry.Protobuf;

/// <summary>Parses a writer's Protobuf schema with the files it imports, fetching each referenced schema once.</summary>
internal static class WriterSchemaLoader
{
    /// <summary>Fetches the schema's references (depth first, each once) and parses it with them.</summary>
    /// <param name="registry">The registry client.</param>
    /// <param name="id">The schema id, for messages.</param>
    /// <param name="schema">The writer's schema as fetched by id.</param>
    /// <returns>The parsed schema.</returns>
    /// <exception cref="ProtobufSerdeException">A reference could not be fetched, or the schema does not parse.</exception>
    public static async Task<ProtobufSchema> LoadAsync(ISchemaRegistryClient registry, int id, Schema schema)
    {
        var dependencies = new Dictionary<string, ProtobufDependency>(StringComparer.Ordinal);
        await CollectAsync(registry, schema.References, dependencies, id, depth: 0).ConfigureAwait(false);
        try
        {
            return ProtobufSchema.Parse(schema.SchemaString, [.. dependencies.Values]);
        }
        catch (FormatException ex)
        {
            throw new ProtobufSerdeException(ProtobufSerdeFailure.UnsupportedSchema, $"Schema {id} could not be parsed: {ErrorText.Safe(ex.Message, 512)}", ex, id);
        }
    }

    private static async Task CollectAsync(ISchemaRegistryClient registry, IEnumerable<SchemaReference> references, Dictionary<string, ProtobufDependency> into, int id, int depth)
    {
        if (depth > MessageIndexes.MaxDepth)
        {
            throw new ProtobufSerdeException(ProtobufSerdeFailure.UnsupportedSchema, $"The references of schema {id} nest deeper than {MessageIndexes.MaxDepth} levels.", null, id);
        }

        foreach (var reference in references)
        {
            if (into.ContainsKey(reference.Name))
            {
                continue;
            }

            var registered = await ProtobufSerdeErrors.Instance.CallAsync(
                () => registry.GetRegisteredSchemaAsync(reference.Subject, reference.Version, ignoreDeletedSchemas: false),
                $"fetching {reference.Name} (subject \"{reference.Subject}\", version {reference.Version}), imported by schema {id}",
                subject: reference.Subject).ConfigureAwait(false);
            into[reference.Name] = new ProtobufDependency(reference.Name, registered.SchemaString, reference.Subject, reference.Version);
            await CollectAsync(registry, registered.References, into, id, depth + 1).ConfigureAwait(false);
        }
    }
}

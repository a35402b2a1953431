namespace KafkaClient.SchemaRegistry.Json;

/// <summary>A JSON document does not satisfy its JSON Schema.</summary>
/// <remarks>Thrown by the JSON serdes; the producer and consumer wrap it, so it arrives as the inner exception of a (de)serialization exception.</remarks>
public sealed class JsonSchemaValidationException : FormatException
{
    /// <summary>Initializes a new instance of the <see cref="JsonSchemaValidationException"/> class.</summary>
    /// <param name="schemaId">The registry id of the schema, or -1 before registration.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <param name="violations">Each violation as <c>path: problem</c>.</param>
    public JsonSchemaValidationException(int schemaId, string? subject, IReadOnlyList<string> violations)
        : base($"The JSON does not match schema {schemaId}{(subject is null ? string.Empty : $" of subject \"{subject}\"")}: {string.Join("; ", violations)}")
    {
        SchemaId = schemaId;
        Subject = subject;
        Violations = violations;
    }

    /// <summary>Gets the registry id of the schema.</summary>
    public int SchemaId { get; }

    /// <summary>Gets the subject, if known.</summary>
    public string? Subject { get; }

    /// <summary>Gets each violation as <c>path: problem</c>, for example <c>#/favorite_number: IntegerExpected</c>.</summary>
    public IReadOnlyList<string> Violations { get; }
}

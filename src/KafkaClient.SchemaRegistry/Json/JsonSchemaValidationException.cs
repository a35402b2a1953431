namespace KafkaClient.SchemaRegistry.Json;

/// <summary>A JSON document does not satisfy its JSON Schema.</summary>
/// <remarks>
/// Thrown by the JSON serdes; the producer and consumer wrap it, so it arrives as the inner exception of a (de)serialization exception.
/// The message lists the first violations and is bounded in length; <see cref="Violations"/> keeps them (each cut to a bounded length).
/// </remarks>
public sealed class JsonSchemaValidationException : JsonSerdeException
{
    private const int ListedInMessage = 20;
    private const int MaxViolationLength = 256;
    private const int MaxViolations = 1000;

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaValidationException"/> class.</summary>
    /// <param name="schemaId">The registry id of the schema, or -1 before registration.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <param name="violations">Each violation as <c>path: problem</c>.</param>
    public JsonSchemaValidationException(int schemaId, string? subject, IReadOnlyList<string> violations)
        : this(schemaId, subject, violations, topic: null)
    {
    }

    internal JsonSchemaValidationException(int schemaId, string? subject, IReadOnlyList<string> violations, string? topic)
        : this(schemaId, subject, Bound(violations), topic, bounded: true)
    {
    }

    private JsonSchemaValidationException(int schemaId, string? subject, IReadOnlyList<string> violations, string? topic, bool bounded)
        : base(JsonSerdeFailure.SchemaViolation, Describe(schemaId, subject, violations), null, schemaId, subject, topic)
    {
        System.Diagnostics.Debug.Assert(bounded, "Violations are bounded first.");
        Violations = violations;
    }

    /// <summary>Gets each violation as <c>path: problem</c>, for example <c>#/favorite_number: IntegerExpected</c>.</summary>
    public IReadOnlyList<string> Violations { get; }

    private static string Describe(int schemaId, string? subject, IReadOnlyList<string> violations)
    {
        var listed = string.Join("; ", violations.Take(ListedInMessage));
        var more = violations.Count > ListedInMessage ? $"; and {violations.Count - ListedInMessage} more" : string.Empty;
        return $"The JSON does not match schema {schemaId}{(subject is null ? string.Empty : $" of subject \"{ErrorText.Safe(subject, 256)}\"")}: {listed}{more}";
    }

    private static IReadOnlyList<string> Bound(IReadOnlyList<string> violations)
    {
        ArgumentNullException.ThrowIfNull(violations);
        return violations.Count <= MaxViolations && violations.All(v => v is not null && v.Length <= MaxViolationLength)
            ? violations
            : violations.Take(MaxViolations).Select(v => ErrorText.Safe(v, MaxViolationLength)).ToList();
    }
}

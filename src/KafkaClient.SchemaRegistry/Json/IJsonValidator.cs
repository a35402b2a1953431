namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Checks UTF-8 JSON against one JSON Schema: the JSON serdes' single seam to a validator.</summary>
/// <remarks>
/// Made once per schema by <see cref="JsonValidation.CreateAsync"/>, which picks the implementation (today the compiled
/// validator, or NJsonSchema for a schema it does not take). Implementations are immutable and thread-safe.
/// </remarks>
internal interface IJsonValidator
{
    /// <summary>Gets the name of the implementation, for diagnostics and tests.</summary>
    string Engine { get; }

    /// <summary>Checks a document.</summary>
    /// <param name="utf8Json">One well-formed JSON value, UTF-8.</param>
    /// <returns>Null when the document is valid; otherwise each violation as <c>path: problem</c> (<c>#/favorite_number: NumberExpected</c>).</returns>
    /// <exception cref="Exception">The validator could not check the document (too deep, a pattern that timed out, a number NJsonSchema cannot convert).</exception>
    IReadOnlyList<string>? Check(ReadOnlySpan<byte> utf8Json);

    /// <summary>Validates a document, throwing the serdes' exceptions.</summary>
    /// <param name="utf8Json">One well-formed JSON value, UTF-8.</param>
    /// <param name="schemaId">The schema's id, or -1 before registration.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <param name="topic">The topic, if known.</param>
    /// <exception cref="JsonSchemaValidationException">The JSON violates the schema; the violations name each path.</exception>
    /// <exception cref="JsonSerdeException">The validator could not check the JSON (<see cref="JsonSerdeFailure.SchemaViolation"/>).</exception>
    void Validate(ReadOnlySpan<byte> utf8Json, int schemaId, string? subject, string? topic)
    {
        IReadOnlyList<string>? violations;
        try
        {
            violations = Check(utf8Json);
        }
        catch (Exception ex)
        {
            // The validator gave up on well-formed JSON (for example too deep, or a number beyond its range).
            throw new JsonSerdeException(
                JsonSerdeFailure.SchemaViolation,
                $"The JSON could not be checked against schema {schemaId}: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                ex,
                schemaId,
                subject,
                topic);
        }

        if (violations is not null)
        {
            throw new JsonSchemaValidationException(schemaId, subject, violations, topic);
        }
    }
}

/// <summary>A validator that is also given the value the JSON was written from, so that it can skip what the value's type already guarantees.</summary>
/// <typeparam name="T">The type of the values.</typeparam>
/// <remarks>Made by <see cref="JsonValidation.ForValues{T}"/>; its verdicts and messages are those of the JSON validator it wraps.</remarks>
internal interface IJsonValueValidator<in T> : IJsonValidator
{
    /// <summary>Validates the JSON written for a value, throwing the serdes' exceptions.</summary>
    /// <param name="value">The value the JSON was written from, unchanged since.</param>
    /// <param name="utf8Json">The JSON System.Text.Json wrote for it, UTF-8.</param>
    /// <param name="schemaId">The schema's id, or -1 before registration.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <param name="topic">The topic, if known.</param>
    /// <exception cref="JsonSchemaValidationException">The JSON violates the schema; the violations name each path.</exception>
    /// <exception cref="JsonSerdeException">The validator could not check the JSON (<see cref="JsonSerdeFailure.SchemaViolation"/>).</exception>
    void Validate(T value, ReadOnlySpan<byte> utf8Json, int schemaId, string? subject, string? topic);
}

using System.Text;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Validates JSON against a JSON Schema for both serdes, with the same errors.</summary>
internal static class JsonValidation
{
    /// <summary>Validates UTF-8 JSON.</summary>
    /// <param name="validator">The schema.</param>
    /// <param name="json">The JSON, well-formed UTF-8.</param>
    /// <param name="schemaId">The schema's id, or -1 before registration.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <param name="topic">The topic, if known.</param>
    /// <exception cref="JsonSchemaValidationException">The JSON violates the schema.</exception>
    /// <exception cref="JsonSerdeException">The validator could not check the JSON (<see cref="JsonSerdeFailure.SchemaViolation"/>, for example a number beyond its range).</exception>
    public static void Validate(NJsonSchema.JsonSchema validator, ReadOnlySpan<byte> json, int schemaId, string? subject, string? topic)
    {
        ICollection<NJsonSchema.Validation.ValidationError> errors;
        try
        {
            errors = validator.Validate(Encoding.UTF8.GetString(json));
        }
        catch (Exception ex)
        {
            // The validator gave up on well-formed JSON (for example a number beyond its range).
            throw new JsonSerdeException(
                JsonSerdeFailure.SchemaViolation,
                $"The JSON could not be checked against schema {schemaId}: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                ex,
                schemaId,
                subject,
                topic);
        }

        if (errors.Count > 0)
        {
            throw new JsonSchemaValidationException(schemaId, subject, errors.Select(e => $"{e.Path}: {e.Kind}").ToList(), topic);
        }
    }
}

using System.Text;
using KafkaClient.SchemaRegistry.Json.Validation;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Makes the validator of a JSON Schema, once per schema, for both serdes.</summary>
/// <remarks>
/// The compiled validator (<see cref="CompiledJsonValidator"/>: one pass of a <see cref="System.Text.Json.Utf8JsonReader"/>,
/// no allocation when the JSON is valid) takes every schema it fully understands. A schema with a keyword or
/// reference it does not handle (<c>unevaluatedProperties</c>, a remote <c>$ref</c>, ...) is validated by NJsonSchema,
/// as before, so that no constraint is skipped. The choice is made here, once.
/// </remarks>
internal static class JsonValidation
{
    /// <summary>Makes the validator of a schema.</summary>
    /// <param name="schema">The JSON Schema text.</param>
    /// <returns>The validator.</returns>
    /// <exception cref="Exception">The schema cannot be loaded (NJsonSchema's exception), or refers to itself without end (<see cref="SchemaCycleException"/>).</exception>
    public static async Task<IJsonValidator> CreateAsync(string schema)
    {
        try
        {
            return new CompiledJsonValidator(schema);
        }
        catch (SchemaNotCompilableException ex)
        {
            return new NJsonSchemaValidator(await NJsonSchema.JsonSchema.FromJsonAsync(schema).ConfigureAwait(false), ex.Message);
        }
    }
}

/// <summary>Validates with NJsonSchema, on a Newtonsoft tree: the fallback for schemas the compiled validator does not take.</summary>
/// <param name="schema">The loaded schema.</param>
/// <param name="reason">Why the compiled validator did not take it.</param>
internal sealed class NJsonSchemaValidator(NJsonSchema.JsonSchema schema, string? reason = null) : IJsonValidator
{
    /// <inheritdoc/>
    public string Engine => "NJsonSchema";

    /// <summary>Gets why the compiled validator did not take the schema, if it was asked.</summary>
    public string? Reason { get; } = reason;

    /// <inheritdoc/>
    public IReadOnlyList<string>? Check(ReadOnlySpan<byte> utf8Json)
    {
        var errors = schema.Validate(Encoding.UTF8.GetString(utf8Json));
        return errors.Count == 0 ? null : errors.Select(e => $"{e.Path}: {e.Kind}").ToList();
    }
}

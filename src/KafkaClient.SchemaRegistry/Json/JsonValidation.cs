using System.Text;
using System.Text.Json;
using KafkaClient.SchemaRegistry.Json.Validation;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Makes the validator of a JSON Schema, once per schema, for both serdes.</summary>
/// <remarks>
/// The compiled validator (<see cref="CompiledJsonValidator"/>: one pass of a <see cref="System.Text.Json.Utf8JsonReader"/>,
/// no allocation when the JSON is valid) takes every schema it fully understands. A schema with a keyword or
/// reference it does not handle (<c>unevaluatedProperties</c>, a remote <c>$ref</c>, ...) is validated by NJsonSchema,
/// as before, so that no constraint is skipped. For the serializer, which also has the value, <see cref="ForValues{T}"/>
/// wraps the compiled validator so that what the value's type guarantees is not checked again on its JSON. The choice is made here, once.
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

    /// <summary>Makes the validator of values of one type from the validator of their JSON, when the type's metadata and the schema allow it.</summary>
    /// <typeparam name="T">The type of the values.</typeparam>
    /// <param name="validator">The validator of the JSON, from <see cref="CreateAsync"/>.</param>
    /// <param name="options">The System.Text.Json options the values are written with.</param>
    /// <param name="reason">Why the JSON alone is validated, when it is.</param>
    /// <returns>A <see cref="TypedJsonValidator{T}"/>, or <paramref name="validator"/> itself when nothing can be proven from the values.</returns>
    public static IJsonValidator ForValues<T>(IJsonValidator validator, JsonSerializerOptions options, out string? reason)
    {
        if (validator is not CompiledJsonValidator compiled)
        {
            reason = $"the schema is validated by {validator.Engine}";
            return validator;
        }

        try
        {
            var check = TypedPlan.Create<T>(compiled.Root, options, out var proven, out var perMessage);
            reason = null;
            return new TypedJsonValidator<T>(compiled, check, proven, perMessage);
        }
        catch (NotProvableException ex)
        {
            reason = ex.Message;
            return validator;
        }
        catch (Exception ex)
        {
            // Metadata that could not be read, a getter that could not be bound: whatever it is, the JSON is validated instead.
            reason = $"{ex.GetType().Name}: {ErrorText.Safe(ex.Message, 256)}";
            return validator;
        }
    }
}

/// <summary>Validates the JSON of values of one type: checks on the value what the type does not guarantee, and the JSON only when that is not enough.</summary>
/// <typeparam name="T">The type of the values.</typeparam>
/// <remarks>
/// When the value passes its checks (<see cref="TypedPlan"/>), its JSON certainly satisfies the schema and is not read again; otherwise
/// (a violation, or a value the checks do not judge) the JSON is validated in full, so that verdicts and messages are the JSON
/// validator's own.
/// </remarks>
internal sealed class TypedJsonValidator<T> : IJsonValueValidator<T>
{
    private readonly IJsonValidator _json;
    private readonly ValueCheck<object?> _check;
    private long _jsonValidations;

    /// <summary>Initializes a new instance of the <see cref="TypedJsonValidator{T}"/> class.</summary>
    /// <param name="json">The validator of the JSON.</param>
    /// <param name="check">The check of a value.</param>
    /// <param name="proven">What the type guarantees, one line per property.</param>
    /// <param name="perMessage">What is checked on each value, one line per property.</param>
    public TypedJsonValidator(IJsonValidator json, ValueCheck<object?> check, IReadOnlyList<string> proven, IReadOnlyList<string> perMessage)
    {
        _json = json;
        _check = check;
        Proven = proven;
        PerMessage = perMessage;
    }

    /// <inheritdoc/>
    public string Engine => _json.Engine + ", typed";

    /// <summary>Gets the paths whose constraints the type guarantees.</summary>
    public IReadOnlyList<string> Proven { get; }

    /// <summary>Gets what is checked on each value, one line per path.</summary>
    public IReadOnlyList<string> PerMessage { get; }

    /// <summary>Gets how many values needed their JSON validated (a violation, or a value the checks do not judge).</summary>
    public long JsonValidations => Interlocked.Read(ref _jsonValidations);

    /// <inheritdoc/>
    public IReadOnlyList<string>? Check(ReadOnlySpan<byte> utf8Json) => _json.Check(utf8Json);

    /// <summary>Whether the JSON of a value certainly satisfies the schema, judged on the value alone.</summary>
    /// <param name="value">The value.</param>
    public bool Accepts(T value)
    {
        try
        {
            return _check.Accepts(value, 0);
        }
        catch (Exception)
        {
            return false; // a pattern that timed out, say: the JSON validator meets the same problem and reports it
        }
    }

    /// <inheritdoc/>
    public void Validate(T value, ReadOnlySpan<byte> utf8Json, int schemaId, string? subject, string? topic)
    {
        if (Accepts(value))
        {
            return;
        }

        Interlocked.Increment(ref _jsonValidations);
        _json.Validate(utf8Json, schemaId, subject, topic);
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

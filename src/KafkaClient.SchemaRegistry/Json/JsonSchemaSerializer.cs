using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Compatibility.Json;
using KafkaClient.SchemaRegistry.Serdes;
using NJsonSchema.Generation;
using RegistrySchema = Confluent.SchemaRegistry.Schema;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Serializes values as JSON in Confluent's wire format (magic byte 0, 4-byte schema id, UTF-8 JSON), registering or looking up the schema in Schema Registry.</summary>
/// <typeparam name="T">The value type; System.Text.Json maps it unless a conversion hook is given.</typeparam>
/// <remarks>
/// <para>
/// The schema is either given as text (as confluent-kafka-python's <c>JSONSerializer(schema_str, client, to_dict)</c>)
/// or generated from <typeparamref name="T"/> with System.Text.Json naming, as an open content model (extra properties allowed).
/// The first value for a subject registers (or looks up) the schema; later values use the cached id and complete
/// synchronously, without a registry call. Values are validated against the schema before they are framed unless
/// <c>validate.on.serialize=false</c>; a violation throws <see cref="JsonSchemaValidationException"/> naming each path.
/// What <typeparamref name="T"/> itself guarantees (a string property against <c>"type": "string"</c>, say) is proven once per
/// schema, and each value is checked only for the rest; the value must not change while it is serialized.
/// Every failure is a <see cref="JsonSerdeException"/> with the cause as its inner exception and a bounded message
/// without URL credentials; only a registry that cannot be reached or fails on its side, or a registry client that itself fails, is retriable.
/// </para>
/// <para>Thread-safe; share one instance per registry and value type.</para>
/// </remarks>
public sealed class JsonSchemaSerializer<T> : IFastPathSerializer<T>
{
    private readonly JsonSchemaSerdeConfig _config;
    private readonly JsonSerializerOptions _json;
    private readonly Func<T, SerializationContext, JsonNode?>? _toJson;
    private readonly string _schema;
    private readonly JsonWriterOptions _writerOptions;
    private readonly Lazy<Task<IJsonValidator>> _validator;
    private readonly Lazy<Task<IJsonValidator>> _valueValidator;
    private readonly WriterSchemas<Target> _targets;
    private readonly string _recordName;

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaSerializer{T}"/> class.</summary>
    /// <param name="registry">The registry client, for example Confluent's <see cref="CachedSchemaRegistryClient"/>.</param>
    /// <param name="schema">The JSON Schema text, or null to generate one from <typeparamref name="T"/>.</param>
    /// <param name="config">Serde settings; null for the defaults.</param>
    /// <param name="jsonOptions">System.Text.Json options for mapping (and for generating the schema); null for the web defaults (camelCase).</param>
    /// <param name="toJson">Converts a value to JSON (like Python's <c>to_dict</c>); null to map with System.Text.Json.</param>
    /// <exception cref="ArgumentException">The schema text is not valid JSON Schema, or the registry client is configured with <c>schema.registry.max.retries</c> below 1, with which Confluent's client fails every call.</exception>
    public JsonSchemaSerializer(
        ISchemaRegistryClient registry,
        string? schema = null,
        JsonSchemaSerdeConfig? config = null,
        JsonSerializerOptions? jsonOptions = null,
        Func<T, SerializationContext, JsonNode?>? toJson = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _config = config ?? JsonSchemaSerdeConfig.Default;
        _json = jsonOptions ?? JsonSerializerOptions.Web;
        _toJson = toJson;
        _schema = schema ?? GenerateSchema(_json);
        try
        {
            JsonSchemaDiff.Validate(_schema);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"The JSON Schema is not valid: {ex.Message}", nameof(schema), ex);
        }

        var recordName = JsonNode.Parse(_schema)?["title"]?.GetValue<string>() ?? typeof(T).FullName!;
        _recordName = recordName;
        _writerOptions = WriterOptions(_json);
        _validator = new Lazy<Task<IJsonValidator>>(() => JsonValidation.CreateAsync(_schema));
        _valueValidator = new Lazy<Task<IJsonValidator>>(async () => ForValues(await _validator.Value.ConfigureAwait(false)));
        _targets = new WriterSchemas<Target>(
            registry,
            _config,
            JsonSerdeErrors.Instance,
            () => Task.FromResult(new RegistrySchema(_schema, [], SchemaType.Json)),
            recordName,
            latest => Task.FromResult(new JsonSchemaDiff().Compare(_schema, latest.SchemaString).IsCompatible),
            PrepareAsync);
    }

    /// <summary>Gets the JSON Schema text this serializer writes with (given or generated).</summary>
    public string Schema => _schema;

    /// <summary>Serializes <paramref name="data"/>; completes synchronously once the subject's schema id is known.</summary>
    /// <param name="data">The value; null gives a null payload (a tombstone).</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The framed bytes.</returns>
    /// <exception cref="JsonSchemaValidationException">The value violates the schema.</exception>
    /// <exception cref="JsonSerdeException">
    /// The registry refused the schema (<see cref="JsonSerdeFailure.RegistryRefused"/>, for example HTTP 409: incompatible; the registry's
    /// exception is the inner exception), could not be reached (<see cref="JsonSerdeFailure.RegistryUnavailable"/>, retriable), or the
    /// value could not be written as JSON (<see cref="JsonSerdeFailure.ConversionFailed"/>).
    /// </exception>
    public Task<byte[]> SerializeAsync(T data, SerializationContext context)
    {
        if (data is null)
        {
            return Task.FromResult<byte[]>(null!);
        }

        // Keyed by topic and component, so the hot path computes no subject string.
        var target = _targets.GetAsync(context);
        return target.IsCompletedSuccessfully
            ? Task.FromResult(Encode(data, context, target.GetAwaiter().GetResult())) // completed: does not block
            : SerializeSlowAsync(data, context, target);
    }

    /// <inheritdoc/>
    /// <remarks>False only until the subject's schema id is known.</remarks>
    public bool TrySerialize(T data, SerializationContext context, out byte[]? serialized)
    {
        if (data is null)
        {
            serialized = null;
            return true;
        }

        if (_targets.TryGet(context, out var target))
        {
            serialized = Encode(data, context, target);
            return true;
        }

        serialized = null;
        return false;
    }

    /// <summary>Resolves (registers or looks up) the schema of a topic's subject and prepares its validator, as the first value would, so that later values need no registry call.</summary>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>A task that completes when values for that topic serialize without waiting.</returns>
    internal Task WarmUpAsync(SerializationContext context) => _targets.GetAsync(context);

    /// <summary>Names the subject of a topic's keys or values as <c>subject.name.strategy</c> says.</summary>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The subject.</returns>
    internal string SubjectFor(SerializationContext context) => _config.Subject(context, _recordName);

    /// <summary>Gets a value indicating whether the serializer adds headers: false, the schema id is in the payload.</summary>
    bool IFastPathSerializer<T>.MayWriteHeaders => false;

    private async Task<byte[]> SerializeSlowAsync(T data, SerializationContext context, Task<Target> pending) =>
        Encode(data, context, await pending.ConfigureAwait(false));

    private byte[] Encode(T data, SerializationContext context, Target target)
    {
        // Header and JSON into one pooled buffer, validated there, copied out once at their exact size.
        var frame = FramedJsonWriter.Rent();
        try
        {
            try
            {
                if (_toJson is null)
                {
                    var writer = frame.Start(target.Id, _writerOptions);
                    JsonSerializer.Serialize(writer, data, _json);
                    writer.Flush();
                }
                else
                {
                    var node = _toJson(data, context);
                    var writer = frame.Start(target.Id, default); // as JsonNode.ToJsonString() writes
                    if (node is null)
                    {
                        writer.WriteNullValue();
                    }
                    else
                    {
                        node.WriteTo(writer);
                    }

                    writer.Flush();
                }
            }
            catch (Exception ex)
            {
                throw new JsonSerdeException(
                    JsonSerdeFailure.ConversionFailed,
                    $"The {typeof(T).Name} could not be written as JSON: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                    ex,
                    target.Id,
                    target.Subject,
                    context.Topic);
            }

            if (target.ValueValidator is { } valueValidator)
            {
                valueValidator.Validate(data, frame.Json, target.Id, target.Subject, context.Topic);
            }
            else
            {
                target.Validator?.Validate(frame.Json, target.Id, target.Subject, context.Topic);
            }

            return frame.Frame.ToArray();
        }
        finally
        {
            FramedJsonWriter.Return(frame);
        }
    }

    private async Task<Target> PrepareAsync(WriterSchema resolved)
    {
        IJsonValidator? validator = null;
        if (_config.ValidateOnSerialize)
        {
            try
            {
                validator = resolved.LatestSchema is not { } latest || latest == _schema
                    ? await _valueValidator.Value.ConfigureAwait(false)
                    : ForValues(await JsonValidation.CreateAsync(latest).ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                throw new JsonSerdeException(
                    JsonSerdeFailure.UnsupportedSchema,
                    $"Schema {resolved.Id} of subject \"{resolved.Subject}\" could not be loaded for validation: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                    ex,
                    resolved.Id,
                    resolved.Subject);
            }
        }

        return new Target(resolved.Id, resolved.Subject, validator, validator as IJsonValueValidator<T>);
    }

    /// <summary>Lets the validator check on each value what its type does not guarantee (not with a conversion hook, whose JSON is not the value's).</summary>
    private IJsonValidator ForValues(IJsonValidator validator) =>
        _toJson is null ? JsonValidation.ForValues<T>(validator, _json, out _) : validator;

    private static string GenerateSchema(JsonSerializerOptions options)
    {
        var settings = new SystemTextJsonSchemaGeneratorSettings
        {
            SerializerOptions = options,
            AlwaysAllowAdditionalObjectProperties = true,
            SchemaType = NJsonSchema.SchemaType.JsonSchema,
        };
        return NJsonSchema.JsonSchema.FromType<T>(settings).ToJson();
    }

    /// <summary>The writer options <see cref="JsonSerializer.SerializeToUtf8Bytes{TValue}(TValue, JsonSerializerOptions?)"/> writes with.</summary>
    private static JsonWriterOptions WriterOptions(JsonSerializerOptions options) => new()
    {
        Encoder = options.Encoder,
        Indented = options.WriteIndented,
        IndentCharacter = options.IndentCharacter,
        IndentSize = options.IndentSize,
        NewLine = options.NewLine,
        MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth,
        SkipValidation = true, // as the serializer's own writers: its converters are checked as they write
    };

    private sealed record Target(int Id, string Subject, IJsonValidator? Validator, IJsonValueValidator<T>? ValueValidator);
}

using System.Collections.Concurrent;
using System.Text;
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
/// Every failure is a <see cref="JsonSerdeException"/> with the cause as its inner exception and a bounded message
/// without URL credentials; only a registry that cannot be reached or fails on its side is retriable.
/// </para>
/// <para>Thread-safe; share one instance per registry and value type.</para>
/// </remarks>
public sealed class JsonSchemaSerializer<T> : IAsyncSerializer<T>
{
    private readonly ISchemaRegistryClient _registry;
    private readonly JsonSchemaSerdeConfig _config;
    private readonly JsonSerializerOptions _json;
    private readonly Func<T, SerializationContext, JsonNode?>? _toJson;
    private readonly string _schema;
    private readonly string _recordName;
    private readonly Lazy<Task<NJsonSchema.JsonSchema>> _validator;
    private readonly ConcurrentDictionary<(string Topic, MessageComponentType Component), Task<Target>> _targets = new();

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaSerializer{T}"/> class.</summary>
    /// <param name="registry">The registry client, for example Confluent's <see cref="CachedSchemaRegistryClient"/>.</param>
    /// <param name="schema">The JSON Schema text, or null to generate one from <typeparamref name="T"/>.</param>
    /// <param name="config">Serde settings; null for the defaults.</param>
    /// <param name="jsonOptions">System.Text.Json options for mapping (and for generating the schema); null for the web defaults (camelCase).</param>
    /// <param name="toJson">Converts a value to JSON (like Python's <c>to_dict</c>); null to map with System.Text.Json.</param>
    /// <exception cref="ArgumentException">The schema text is not valid JSON Schema.</exception>
    public JsonSchemaSerializer(
        ISchemaRegistryClient registry,
        string? schema = null,
        JsonSchemaSerdeConfig? config = null,
        JsonSerializerOptions? jsonOptions = null,
        Func<T, SerializationContext, JsonNode?>? toJson = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
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

        _recordName = JsonNode.Parse(_schema)?["title"]?.GetValue<string>() ?? typeof(T).FullName!;
        _validator = new Lazy<Task<NJsonSchema.JsonSchema>>(() => NJsonSchema.JsonSchema.FromJsonAsync(_schema));
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
        var key = (context.Topic, context.Component);
        var target = _targets.GetOrAdd(key, static (k, self) => self.ResolveAsync(self._config.Subject(new SerializationContext(k.Component, k.Topic), self._recordName)), this);
        if (target.IsCompletedSuccessfully)
        {
            return Task.FromResult(Encode(data, context, target.GetAwaiter().GetResult())); // completed: does not block
        }

        return SerializeSlowAsync(data, context, key, target);
    }

    private async Task<byte[]> SerializeSlowAsync(T data, SerializationContext context, (string, MessageComponentType) key, Task<Target> pending)
    {
        Target target;
        try
        {
            target = await pending.ConfigureAwait(false);
        }
        catch
        {
            // Forget the failure so the next value asks the registry again.
            _targets.TryRemove(new KeyValuePair<(string, MessageComponentType), Task<Target>>(key, pending));
            throw;
        }

        return Encode(data, context, target);
    }

    private byte[] Encode(T data, SerializationContext context, Target target)
    {
        byte[] json;
        try
        {
            json = _toJson is null
                ? JsonSerializer.SerializeToUtf8Bytes(data, _json)
                : Encoding.UTF8.GetBytes(_toJson(data, context)?.ToJsonString() ?? "null");
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

        if (target.Validator is { } validator)
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
                    $"The JSON could not be checked against schema {target.Id}: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                    ex,
                    target.Id,
                    target.Subject,
                    context.Topic);
            }

            if (errors.Count > 0)
            {
                throw new JsonSchemaValidationException(target.Id, target.Subject, errors.Select(e => $"{e.Path}: {e.Kind}").ToList(), context.Topic);
            }
        }

        return ConfluentWireFormat.Frame(target.Id, json);
    }

    private async Task<Target> ResolveAsync(string subject)
    {
        try
        {
            return await ResolveCoreAsync(subject).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or OperationCanceledException)
        {
            // Unreachable, timed out or 5xx: retriable; refusals (409 incompatible, 401, 422) are not.
            throw JsonSerdeException.FromRegistry($"resolving the schema of subject \"{ErrorText.Safe(subject, 256)}\"", ex, _config.UseSchemaId, subject);
        }
        catch (Exception ex) when (ex is not JsonSerdeException)
        {
            // For example a latest schema whose text cannot be compared.
            throw new JsonSerdeException(
                JsonSerdeFailure.UnsupportedSchema,
                $"The schema of subject \"{ErrorText.Safe(subject, 256)}\" could not be resolved: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                ex,
                _config.UseSchemaId,
                subject);
        }
    }

    private async Task<Target> ResolveCoreAsync(string subject)
    {
        var own = new RegistrySchema(_schema, [], SchemaType.Json);
        int id;
        var validationSchema = _schema;
        if (_config.UseSchemaId is { } fixedId)
        {
            id = fixedId;
        }
        else if (_config.UseLatestVersion)
        {
            var latest = await _registry.GetLatestSchemaAsync(subject).ConfigureAwait(false);
            if (_config.LatestCompatibilityStrict && !new JsonSchemaDiff().Compare(_schema, latest.SchemaString).IsCompatible)
            {
                throw new JsonSerdeException(
                    JsonSerdeFailure.UnsupportedSchema,
                    $"The serializer's schema is not compatible with the latest schema (version {latest.Version}, id {latest.Id}) of subject \"{subject}\".",
                    null,
                    latest.Id,
                    subject);
            }

            id = latest.Id;
            validationSchema = latest.SchemaString;
        }
        else if (_config.AutoRegisterSchemas)
        {
            id = await _registry.RegisterSchemaAsync(subject, own, _config.NormalizeSchemas).ConfigureAwait(false);
        }
        else
        {
            id = await _registry.GetSchemaIdAsync(subject, own, _config.NormalizeSchemas).ConfigureAwait(false);
        }

        NJsonSchema.JsonSchema? validator = null;
        if (_config.ValidateOnSerialize)
        {
            try
            {
                validator = validationSchema == _schema
                    ? await _validator.Value.ConfigureAwait(false)
                    : await NJsonSchema.JsonSchema.FromJsonAsync(validationSchema).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw new JsonSerdeException(
                    JsonSerdeFailure.UnsupportedSchema,
                    $"Schema {id} of subject \"{subject}\" could not be loaded for validation: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                    ex,
                    id,
                    subject);
            }
        }

        return new Target(id, subject, validator);
    }

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

    private sealed record Target(int Id, string Subject, NJsonSchema.JsonSchema? Validator);
}

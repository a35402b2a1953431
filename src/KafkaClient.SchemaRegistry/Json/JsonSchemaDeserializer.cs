using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Deserializes JSON written in Confluent's wire format, by this library or by Confluent's Java, Python or .NET serializers.</summary>
/// <typeparam name="T">The value type; use <see cref="JsonNode"/> to get the document untyped.</typeparam>
/// <remarks>
/// <para>
/// Reads the schema id, fetches the writer's schema once per id (unknown ids fail) and maps the JSON with
/// System.Text.Json or the <c>fromJson</c> hook. With <c>validate.on.deserialize=true</c> the received bytes,
/// not a re-serialized object, are validated against the writer's schema. A bad frame throws
/// <see cref="InvalidDataException"/>; the consumer turns every failure into a <see cref="DeserializationException"/>
/// carrying the raw bytes, and goes on.
/// </para>
/// <para>Thread-safe.</para>
/// </remarks>
public sealed class JsonSchemaDeserializer<T> : IAsyncDeserializer<T>
{
    private readonly ISchemaRegistryClient _registry;
    private readonly JsonSchemaSerdeConfig _config;
    private readonly JsonSerializerOptions _json;
    private readonly Func<JsonNode?, SerializationContext, T>? _fromJson;
    private readonly ConcurrentDictionary<int, Task<NJsonSchema.JsonSchema?>> _writers = new();

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaDeserializer{T}"/> class.</summary>
    /// <param name="registry">The registry client.</param>
    /// <param name="config">Serde settings; null for the defaults.</param>
    /// <param name="jsonOptions">System.Text.Json options; null for the web defaults (camelCase).</param>
    /// <param name="fromJson">Converts the JSON to a value (like Python's <c>from_dict</c>); null to map with System.Text.Json.</param>
    public JsonSchemaDeserializer(
        ISchemaRegistryClient registry,
        JsonSchemaSerdeConfig? config = null,
        JsonSerializerOptions? jsonOptions = null,
        Func<JsonNode?, SerializationContext, T>? fromJson = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        _config = config ?? JsonSchemaSerdeConfig.Default;
        _json = jsonOptions ?? JsonSerializerOptions.Web;
        _fromJson = fromJson;
    }

    /// <summary>Deserializes one framed payload.</summary>
    /// <param name="data">The bytes as read from Kafka.</param>
    /// <param name="isNull">True for a null payload (a tombstone), which gives null.</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidDataException">The bytes are not Confluent-framed.</exception>
    /// <exception cref="SchemaRegistryException">The schema id is unknown to the registry (40403).</exception>
    /// <exception cref="JsonSchemaValidationException">With validation on: the JSON violates the writer's schema.</exception>
    public Task<T> DeserializeAsync(ReadOnlyMemory<byte> data, bool isNull, SerializationContext context)
    {
        if (isNull)
        {
            return Task.FromResult<T>(default!);
        }

        var id = ConfluentWireFormat.ReadSchemaId(data.Span);
        var writer = _writers.GetOrAdd(id, FetchAsync);
        return writer.IsCompletedSuccessfully
            ? Task.FromResult(Decode(data[ConfluentWireFormat.HeaderLength..], context, id, writer.GetAwaiter().GetResult())) // completed: does not block
            : DeserializeSlowAsync(data, context, id, writer);
    }

    private async Task<T> DeserializeSlowAsync(ReadOnlyMemory<byte> data, SerializationContext context, int id, Task<NJsonSchema.JsonSchema?> pending)
    {
        NJsonSchema.JsonSchema? writer;
        try
        {
            writer = await pending.ConfigureAwait(false);
        }
        catch
        {
            _writers.TryRemove(new KeyValuePair<int, Task<NJsonSchema.JsonSchema?>>(id, pending));
            throw;
        }

        return Decode(data[ConfluentWireFormat.HeaderLength..], context, id, writer);
    }

    private T Decode(ReadOnlyMemory<byte> json, SerializationContext context, int id, NJsonSchema.JsonSchema? writer)
    {
        if (writer is not null)
        {
            var errors = writer.Validate(Encoding.UTF8.GetString(json.Span));
            if (errors.Count > 0)
            {
                throw new JsonSchemaValidationException(id, null, errors.Select(e => $"{e.Path}: {e.Kind}").ToList());
            }
        }

        if (_fromJson is not null)
        {
            return _fromJson(JsonNode.Parse(json.Span), context);
        }

        return typeof(T) == typeof(JsonNode)
            ? (T)(object)JsonNode.Parse(json.Span)!
            : JsonSerializer.Deserialize<T>(json.Span, _json)!;
    }

    private async Task<NJsonSchema.JsonSchema?> FetchAsync(int id)
    {
        Schema schema;
        try
        {
            schema = await _registry.GetSchemaAsync(id, null).ConfigureAwait(false);
        }
        catch (SchemaRegistryException ex) when ((int)ex.Status >= 500)
        {
            // A registry-side failure is transient: say so with the HTTP exception type callers retry on.
            throw new HttpRequestException($"Schema Registry failed to return schema {id}: {ex.Message}", ex, ex.Status);
        }

        if (schema.SchemaType != SchemaType.Json)
        {
            throw new InvalidDataException($"Schema {id} is a {schema.SchemaType} schema, not JSON.");
        }

        return _config.ValidateOnDeserialize ? await NJsonSchema.JsonSchema.FromJsonAsync(schema.SchemaString).ConfigureAwait(false) : null;
    }
}

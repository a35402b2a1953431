using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Deserializes JSON written in Confluent's wire format, by this library or by Confluent's Java, Python or .NET serializers.</summary>
/// <typeparam name="T">The value type; use <see cref="JsonNode"/> to get the document untyped.</typeparam>
/// <remarks>
/// <para>
/// Reads the schema id, fetches the writer's schema once per id (an unknown id fails, and is remembered as unknown for
/// <c>schema.id.negative.cache.ms</c>, so a run of records with it costs one registry request) and maps the JSON with
/// System.Text.Json or the <c>fromJson</c> hook. As Confluent's .NET and Python deserializers do, the received
/// bytes, not a re-serialized object, are validated against the writer's schema unless
/// <c>validate.on.deserialize=false</c>.
/// </para>
/// <para>
/// Once per writer schema id, a <typeparamref name="T"/> that System.Text.Json maps as an object is checked against the
/// schema's properties: if a member matches a property only under another naming convention (<c>favoriteNumber</c>
/// against <c>favorite_number</c>) or no member matches any property, every value of that schema fails with
/// <see cref="JsonSerdeFailure.ReaderMismatch"/> instead of arriving with its fields defaulted.
/// </para>
/// <para>
/// Every failure is a <see cref="JsonSerdeException"/> (a <see cref="JsonSchemaValidationException"/> for a schema
/// violation) with the cause as its inner exception and a bounded message without URL credentials; only a registry
/// that cannot be reached or fails on its side, or a registry client that itself fails, is retriable. The consumer
/// turns it into a <see cref="DeserializationException"/> carrying the raw bytes, and goes on.
/// </para>
/// <para>Thread-safe.</para>
/// </remarks>
public sealed class JsonSchemaDeserializer<T> : IFastPathDeserializer<T>
{
    private static readonly bool IsNodeTarget = typeof(JsonNode).IsAssignableFrom(typeof(T));

    private readonly JsonSchemaSerdeConfig _config;
    private readonly JsonSerializerOptions _json;
    private readonly Func<JsonNode?, SerializationContext, T>? _fromJson;
    private readonly JsonReaderOptions _readerOptions;
    private readonly JsonDocumentOptions _documentOptions;
    private readonly ReaderSchemas<Writer> _writers;

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaDeserializer{T}"/> class.</summary>
    /// <param name="registry">The registry client.</param>
    /// <param name="config">Serde settings; null for the defaults.</param>
    /// <param name="jsonOptions">System.Text.Json options; null for the web defaults (camelCase).</param>
    /// <param name="fromJson">Converts the JSON to a value (like Python's <c>from_dict</c>); null to map with System.Text.Json.</param>
    /// <exception cref="ArgumentException">The registry client is configured with <c>schema.registry.max.retries</c> below 1, with which Confluent's client fails every call.</exception>
    public JsonSchemaDeserializer(
        ISchemaRegistryClient registry,
        JsonSchemaSerdeConfig? config = null,
        JsonSerializerOptions? jsonOptions = null,
        Func<JsonNode?, SerializationContext, T>? fromJson = null)
        : this(registry, config, jsonOptions, fromJson, time: null)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaDeserializer{T}"/> class with a clock for the cache of failed schema ids.</summary>
    /// <param name="registry">The registry client.</param>
    /// <param name="config">Serde settings; null for the defaults.</param>
    /// <param name="jsonOptions">System.Text.Json options; null for the web defaults (camelCase).</param>
    /// <param name="fromJson">Converts the JSON to a value; null to map with System.Text.Json.</param>
    /// <param name="time">The clock; null for the system's.</param>
    /// <exception cref="ArgumentException">The registry client is configured with <c>schema.registry.max.retries</c> below 1, with which Confluent's client fails every call.</exception>
    internal JsonSchemaDeserializer(
        ISchemaRegistryClient registry,
        JsonSchemaSerdeConfig? config,
        JsonSerializerOptions? jsonOptions,
        Func<JsonNode?, SerializationContext, T>? fromJson,
        TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _config = config ?? JsonSchemaSerdeConfig.Default;
        _json = jsonOptions ?? JsonSerializerOptions.Web;
        _fromJson = fromJson;
        _readerOptions = new JsonReaderOptions { CommentHandling = _json.ReadCommentHandling, AllowTrailingCommas = _json.AllowTrailingCommas, MaxDepth = _json.MaxDepth };

        // A JsonNode with a duplicate property would fail only when the application reads it: refuse it here.
        _documentOptions = new JsonDocumentOptions { CommentHandling = _json.ReadCommentHandling, AllowTrailingCommas = _json.AllowTrailingCommas, MaxDepth = _json.MaxDepth, AllowDuplicateProperties = false };
        _writers = new ReaderSchemas<Writer>(registry, _config, JsonSerdeErrors.Instance, PrepareAsync, time);
    }

    /// <summary>Deserializes one framed payload.</summary>
    /// <param name="data">The bytes as read from Kafka.</param>
    /// <param name="isNull">True for a null payload (a tombstone), which gives null.</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The value.</returns>
    /// <exception cref="JsonSerdeException">
    /// The bytes are not Confluent-framed (<see cref="JsonSerdeFailure.InvalidFrame"/>), the schema id is unknown
    /// (<see cref="JsonSerdeFailure.UnknownSchema"/>), the registry cannot be reached (<see cref="JsonSerdeFailure.RegistryUnavailable"/>, retriable),
    /// the payload is not UTF-8 JSON (<see cref="JsonSerdeFailure.MalformedPayload"/>), <typeparamref name="T"/> does not fit the
    /// writer's schema (<see cref="JsonSerdeFailure.ReaderMismatch"/>) or the JSON cannot be mapped (<see cref="JsonSerdeFailure.ConversionFailed"/>).
    /// </exception>
    /// <exception cref="JsonSchemaValidationException">With validation on (the default): the JSON violates the writer's schema.</exception>
    public Task<T> DeserializeAsync(ReadOnlyMemory<byte> data, bool isNull, SerializationContext context)
    {
        if (isNull)
        {
            return Task.FromResult<T>(default!);
        }

        var id = ReadSchemaId(data.Span, context);

        var writer = _writers.GetAsync(id);
        return writer.IsCompletedSuccessfully
            ? Task.FromResult(Decode(data[ConfluentWireFormat.HeaderLength..], context, writer.GetAwaiter().GetResult())) // completed: does not block
            : DeserializeSlowAsync(data, context, writer);
    }

    /// <inheritdoc/>
    /// <remarks>False only until the writer's schema is known; a frame that is not Confluent's fails as <see cref="DeserializeAsync"/> does.</remarks>
    public bool TryDeserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context, out T result)
    {
        if (isNull)
        {
            result = default!;
            return true;
        }

        var id = ReadSchemaId(data, context);

        if (_writers.TryGet(id, out var writer))
        {
            result = Decode(data[ConfluentWireFormat.HeaderLength..], context, writer);
            return true;
        }

        result = default!;
        return false;
    }

    /// <summary>Fetches and prepares the latest schema of <paramref name="subject"/>, so that records written with it deserialize without waiting for the registry.</summary>
    /// <param name="subject">The subject, for example <c>orders-value</c>.</param>
    /// <returns>The latest schema's id, or null when the subject has no schema yet.</returns>
    internal Task<int?> WarmUpAsync(string subject) => _writers.PrepareLatestAsync(subject);

    private static int ReadSchemaId(ReadOnlySpan<byte> framed, SerializationContext context)
    {
        try
        {
            return ConfluentWireFormat.ReadSchemaId(framed);
        }
        catch (InvalidDataException ex)
        {
            throw new JsonSerdeException(JsonSerdeFailure.InvalidFrame, ex.Message, ex, topic: context.Topic);
        }
    }

    private async Task<T> DeserializeSlowAsync(ReadOnlyMemory<byte> data, SerializationContext context, Task<Writer> pending) =>
        Decode(data[ConfluentWireFormat.HeaderLength..], context, await pending.ConfigureAwait(false));

    private T Decode(ReadOnlyMemory<byte> json, SerializationContext context, Writer writer) => Decode(json.Span, context, writer);

    private T Decode(ReadOnlySpan<byte> span, SerializationContext context, Writer writer)
    {
        if (writer.Mismatch is { } mismatch)
        {
            throw new JsonSerdeException(JsonSerdeFailure.ReaderMismatch, mismatch, null, writer.Id, topic: context.Topic);
        }

        // Read up front when a JSON tree would otherwise see it first, so no value carries bytes that fail only when
        // the application reads them. The validator and the mapping to a type each read every token, and once the
        // bytes are valid UTF-8 only a \u escape (a lone surrogate) can still fail later, in a member decoded lazily
        // (a JsonElement): without one, the document is checked only if validating or mapping fails, to tell
        // malformed bytes (which take precedence) from a value that breaks the schema or does not fit.
        var checkFirst = _fromJson is not null || IsNodeTarget || span.IndexOf("\\u"u8) >= 0;
        if (checkFirst)
        {
            CheckWellFormed(span, writer.Id, context);
        }
        else
        {
            CheckUtf8(span, writer.Id, context);
        }

        if (writer.Validator is { } validator)
        {
            try
            {
                validator.Validate(span, writer.Id, subject: null, context.Topic);
            }
            catch (JsonSerdeException) when (!checkFirst)
            {
                CheckWellFormed(span, writer.Id, context); // throws MalformedPayload when the bytes are why validation failed
                throw;
            }
        }

        try
        {
            if (_fromJson is not null)
            {
                return _fromJson(JsonNode.Parse(span, documentOptions: _documentOptions), context);
            }

            return IsNodeTarget
                ? (T)(object?)JsonNode.Parse(span, documentOptions: _documentOptions)!
                : JsonSerializer.Deserialize<T>(span, _json)!;
        }
        catch (Exception ex) when (ex is not JsonSerdeException)
        {
            if (!checkFirst)
            {
                CheckWellFormed(span, writer.Id, context); // throws MalformedPayload when that is why mapping failed
            }

            throw new JsonSerdeException(
                JsonSerdeFailure.ConversionFailed,
                $"The JSON written with schema {writer.Id} could not be read as {typeof(T).Name}: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                ex,
                writer.Id,
                topic: context.Topic);
        }
    }

    private static void CheckUtf8(ReadOnlySpan<byte> json, int id, SerializationContext context)
    {
        if (!Utf8.IsValid(json))
        {
            throw new JsonSerdeException(
                JsonSerdeFailure.MalformedPayload,
                $"The payload written with schema {id} is not valid UTF-8 (first invalid byte at offset {FirstInvalidUtf8(json)} of {json.Length}).",
                null,
                id,
                topic: context.Topic);
        }
    }

    private void CheckWellFormed(ReadOnlySpan<byte> json, int id, SerializationContext context)
    {
        CheckUtf8(json, id, context);

        try
        {
            var reader = new Utf8JsonReader(json, _readerOptions);
            while (reader.Read())
            {
                if (reader.ValueIsEscaped && reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                {
                    _ = reader.GetString(); // an escaped lone surrogate (\ud800) fails here, not when the value is read
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new JsonSerdeException(JsonSerdeFailure.MalformedPayload, $"The payload written with schema {id} is not well-formed JSON: {ErrorText.Safe(ex.Message, 512)}", ex, id, topic: context.Topic);
        }
    }

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> json)
    {
        var offset = 0;
        while (offset < json.Length && System.Text.Rune.DecodeFromUtf8(json[offset..], out _, out var consumed) == System.Buffers.OperationStatus.Done)
        {
            offset += consumed;
        }

        return offset;
    }

    private async Task<Writer> PrepareAsync(int id, Schema schema)
    {
        if (schema.SchemaType != SchemaType.Json)
        {
            throw new JsonSerdeException(JsonSerdeFailure.UnsupportedSchema, $"Schema {id} is a {schema.SchemaType} schema, not JSON.", null, id);
        }

        IJsonValidator? validator = null;
        if (_config.ValidateOnDeserialize)
        {
            try
            {
                validator = await JsonValidation.CreateAsync(schema.SchemaString).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                throw new JsonSerdeException(
                    JsonSerdeFailure.UnsupportedSchema,
                    $"Schema {id} could not be loaded for validation (set validate.on.deserialize=false to read without): {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}",
                    ex,
                    id);
            }
        }

        var mismatch = _fromJson is null ? ReaderSchemaCheck.Check(typeof(T), _json, schema.SchemaString, id) : null;
        return new Writer(id, validator, mismatch);
    }

    /// <summary>What is known about one writer schema: its validator (with validation on) and whether <typeparamref name="T"/> fits it.</summary>
    private sealed record Writer(int Id, IJsonValidator? Validator, string? Mismatch);
}

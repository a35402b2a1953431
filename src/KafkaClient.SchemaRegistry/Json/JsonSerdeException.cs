using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>What went wrong in a registry-aware JSON serializer or deserializer.</summary>
public enum JsonSerdeFailure
{
    /// <summary>The bytes are not Confluent-framed: too short, or a magic byte other than 0.</summary>
    InvalidFrame,

    /// <summary>The registry does not know the schema id (HTTP 404, error code 40403).</summary>
    UnknownSchema,

    /// <summary>The schema is not usable: not a JSON schema, text the validator cannot load, or (with <c>use.latest.version</c>) a latest schema the serializer's own is not compatible with.</summary>
    UnsupportedSchema,

    /// <summary>The registry could not be reached or failed on its side (connection failure, timeout, HTTP 408, 429 or 5xx), or the registry client failed unexpectedly without an answer from the registry (for example a <see cref="NullReferenceException"/> inside it); retriable.</summary>
    RegistryUnavailable,

    /// <summary>The registry refused the request (for example HTTP 401, 409 incompatible, 422 invalid schema).</summary>
    RegistryRefused,

    /// <summary>The payload is not well-formed JSON in UTF-8.</summary>
    MalformedPayload,

    /// <summary>The JSON does not satisfy its schema (a <see cref="JsonSchemaValidationException"/> lists the violations), or the validator could not check it (for example a number beyond its range).</summary>
    SchemaViolation,

    /// <summary>The reader type's JSON property names do not match the writer schema's (for example camelCase against snake_case).</summary>
    ReaderMismatch,

    /// <summary>Well-formed JSON could not be mapped to or from the value type (or the conversion hook failed).</summary>
    ConversionFailed,
}

/// <summary>A registry-aware JSON serializer or deserializer failed.</summary>
/// <remarks>
/// <para>
/// The serdes raise only this family, so the producer's <see cref="SerializationException"/> and the consumer's
/// <see cref="DeserializationException"/> always carry one as their inner exception, with the original cause
/// (Schema Registry client, HTTP, System.Text.Json or validator exception) as its own inner exception.
/// </para>
/// <para>
/// Messages are bounded in length and never repeat credentials written into a registry URL; the inner
/// exception is kept unchanged and may still contain them (Confluent's client puts the URL in its messages).
/// </para>
/// </remarks>
public class JsonSerdeException : KafkaClientException
{
    private readonly bool _retriable;

    /// <summary>Initializes a new instance of the <see cref="JsonSerdeException"/> class.</summary>
    /// <param name="failure">What went wrong.</param>
    /// <param name="message">What failed; credentials in URLs are removed and the length bounded.</param>
    /// <param name="innerException">The cause, if any.</param>
    /// <param name="schemaId">The schema id, if known.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <param name="topic">The topic, if known.</param>
    /// <param name="isRetriable">Whether the same call may succeed later.</param>
    public JsonSerdeException(JsonSerdeFailure failure, string message, Exception? innerException = null, int? schemaId = null, string? subject = null, string? topic = null, bool isRetriable = false)
        : base(ErrorText.Safe(message), innerException, topic, null, null)
    {
        Failure = failure;
        SchemaId = schemaId;
        Subject = subject;
        _retriable = isRetriable;
    }

    /// <summary>Gets what went wrong.</summary>
    public JsonSerdeFailure Failure { get; }

    /// <summary>Gets the registry id of the schema involved, if known.</summary>
    public int? SchemaId { get; }

    /// <summary>Gets the subject involved, if known.</summary>
    public string? Subject { get; }

    /// <summary>Gets a value indicating whether the same call may succeed later: true only when the registry could not be reached or failed on its side, or the registry client itself failed.</summary>
    public override bool IsRetriable => _retriable;
}

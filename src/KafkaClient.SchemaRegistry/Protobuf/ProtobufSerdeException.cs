using Confluent.Kafka;

namespace KafkaClient.SchemaRegistry.Protobuf;

/// <summary>What went wrong in a registry-aware Protobuf serializer or deserializer.</summary>
public enum ProtobufSerdeFailure
{
    /// <summary>The bytes are not Confluent's Protobuf framing: too short, a magic byte other than 0, or a message-index path that is truncated or out of range.</summary>
    InvalidFrame,

    /// <summary>The registry does not know the schema id (HTTP 404, error code 40403).</summary>
    UnknownSchema,

    /// <summary>The schema is not usable: not a Protobuf schema, a descriptor that does not parse or cannot be built, or (serializer) a latest schema that does not fit. A record whose index path the writer's schema does not have is <see cref="InvalidFrame"/>.</summary>
    UnsupportedSchema,

    /// <summary>The registry could not be reached or failed on its side (connection failure, timeout, HTTP 408, 429 or 5xx), or the registry client failed unexpectedly without an answer from the registry (for example a <see cref="NullReferenceException"/> inside it); retriable.</summary>
    RegistryUnavailable,

    /// <summary>The registry refused the request (for example HTTP 401, 409 incompatible, 422 invalid schema).</summary>
    RegistryRefused,

    /// <summary>The message bytes after the index path are not a valid encoding of the message.</summary>
    MalformedPayload,

    /// <summary>The record was written as a different message type than the one the deserializer reads (for example another message of the same file).</summary>
    ReaderMismatch,
}

/// <summary>A registry-aware Protobuf serializer or deserializer failed.</summary>
/// <remarks>
/// <para>
/// The serdes raise only this family, so the producer's <see cref="SerializationException"/> and the consumer's
/// <see cref="DeserializationException"/> always carry one as their inner exception, with the original cause
/// (Schema Registry client, HTTP or Google.Protobuf exception) as its own inner exception.
/// </para>
/// <para>
/// Messages are bounded in length and never repeat credentials written into a registry URL; the inner
/// exception is kept unchanged and may still contain them.
/// </para>
/// </remarks>
public sealed class ProtobufSerdeException : KafkaClientException
{
    private readonly bool _retriable;

    /// <summary>Initializes a new instance of the <see cref="ProtobufSerdeException"/> class.</summary>
    /// <param name="failure">What went wrong.</param>
    /// <param name="message">What failed; credentials in URLs are removed and the length bounded.</param>
    /// <param name="innerException">The cause, if any.</param>
    /// <param name="schemaId">The schema id, if known.</param>
    /// <param name="subject">The subject, if known.</param>
    /// <param name="topic">The topic, if known.</param>
    /// <param name="isRetriable">Whether the same call may succeed later.</param>
    public ProtobufSerdeException(ProtobufSerdeFailure failure, string message, Exception? innerException = null, int? schemaId = null, string? subject = null, string? topic = null, bool isRetriable = false)
        : base(ErrorText.Safe(message), innerException, topic, null, null)
    {
        Failure = failure;
        SchemaId = schemaId;
        Subject = subject;
        _retriable = isRetriable;
    }

    /// <summary>Gets what went wrong.</summary>
    public ProtobufSerdeFailure Failure { get; }

    /// <summary>Gets the registry id of the schema involved, if known.</summary>
    public int? SchemaId { get; }

    /// <summary>Gets the subject involved, if known.</summary>
    public string? Subject { get; }

    /// <summary>Gets a value indicating whether the same call may succeed later: true only when the registry could not be reached or failed on its side, or the registry client itself failed.</summary>
    public override bool IsRetriable => _retriable;
}

/// <summary>The Protobuf serdes' exceptions for the failures the serde core detects.</summary>
internal sealed class ProtobufSerdeErrors : Serdes.SerdeErrors
{
    public static ProtobufSerdeErrors Instance { get; } = new();

    public override bool IsOwn(Exception exception) => exception is ProtobufSerdeException;

    public override Exception Registry(Serdes.RegistryFailure failure, string message, Exception original, int? schemaId, string? subject)
    {
        var kind = failure.Kind switch
        {
            Serdes.RegistryFailureKind.UnknownSchema => ProtobufSerdeFailure.UnknownSchema,
            Serdes.RegistryFailureKind.Unavailable or Serdes.RegistryFailureKind.ClientFailed => ProtobufSerdeFailure.RegistryUnavailable,
            _ => ProtobufSerdeFailure.RegistryRefused,
        };
        return new ProtobufSerdeException(kind, message, original, schemaId, subject, isRetriable: failure.IsRetriable);
    }

    public override Exception UnsupportedSchema(string message, Exception? innerException, int? schemaId, string? subject) =>
        new ProtobufSerdeException(ProtobufSerdeFailure.UnsupportedSchema, message, innerException, schemaId, subject);
}

using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>The JSON serdes' exceptions for the failures the serde core detects.</summary>
internal sealed class JsonSerdeErrors : SerdeErrors
{
    public static JsonSerdeErrors Instance { get; } = new();

    public override bool IsOwn(Exception exception) => exception is JsonSerdeException;

    public override Exception Registry(RegistryFailure failure, string message, Exception original, int? schemaId, string? subject)
    {
        var kind = failure.Kind switch
        {
            RegistryFailureKind.UnknownSchema => JsonSerdeFailure.UnknownSchema,
            RegistryFailureKind.Unavailable or RegistryFailureKind.ClientFailed => JsonSerdeFailure.RegistryUnavailable,
            _ => JsonSerdeFailure.RegistryRefused,
        };
        return new JsonSerdeException(kind, message, original, schemaId, subject, isRetriable: failure.IsRetriable);
    }

    public override Exception UnsupportedSchema(string message, Exception? innerException, int? schemaId, string? subject) =>
        new JsonSerdeException(JsonSerdeFailure.UnsupportedSchema, message, innerException, schemaId, subject);
}

using System.Net;
using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>How a registry call failed, as every serde reports it.</summary>
internal enum RegistryFailureKind
{
    /// <summary>The registry does not know the schema id (error code 40403, or HTTP 404 to a lookup by id); not retriable.</summary>
    UnknownSchema,

    /// <summary>The registry could not be reached or failed on its side: connection failure, timeout, HTTP 408, 429 or 5xx; retriable.</summary>
    Unavailable,

    /// <summary>The registry answered and refused (for example HTTP 401, 404 subject not found, 409 incompatible, 422 invalid schema); not retriable.</summary>
    Refused,

    /// <summary>
    /// The registry client itself failed, with neither an answer from the registry nor a network failure (for example a
    /// <see cref="NullReferenceException"/> or <see cref="InvalidOperationException"/> from inside the client); retriable,
    /// because it says nothing about the record, and a consumer that kept on would skip or dead-letter good records.
    /// </summary>
    ClientFailed,
}

/// <summary>One failed registry call, classified once.</summary>
/// <param name="Kind">How it failed.</param>
/// <param name="Cause">The registry client's exception, unwrapped from a single-exception <see cref="AggregateException"/>.</param>
/// <param name="Status">The HTTP status, if the registry answered.</param>
/// <param name="ErrorCode">Confluent's error code (for example 40403), if the registry gave one.</param>
internal sealed record RegistryFailure(RegistryFailureKind Kind, Exception Cause, int? Status, int? ErrorCode)
{
    /// <summary>Gets a value indicating whether the same call may succeed later: when the registry could not be reached or failed on its side, or the registry client itself failed.</summary>
    public bool IsRetriable => Kind is RegistryFailureKind.Unavailable or RegistryFailureKind.ClientFailed;

    /// <summary>Describes the failure for a message, without credentials and bounded in length.</summary>
    /// <param name="what">What was asked of the registry, for example <c>fetching schema 5</c>.</param>
    /// <param name="schemaId">The schema id asked for, if any.</param>
    /// <returns>The message.</returns>
    public string Describe(string what, int? schemaId)
    {
        var detail = Status is null ? string.Empty : $" (HTTP {Status}{(ErrorCode is null or -1 ? string.Empty : $", error code {ErrorCode}")})";
        var reason = ErrorText.Safe(Cause.Message, 768);
        return Kind switch
        {
            RegistryFailureKind.UnknownSchema => $"Schema Registry does not know schema id {schemaId}{detail}: {reason}",
            RegistryFailureKind.Unavailable => $"Schema Registry could not be reached or failed while {what}{detail}: {reason}",
            RegistryFailureKind.ClientFailed => $"The Schema Registry client failed unexpectedly while {what}, without an answer from the registry: {Cause.GetType().Name}: {reason}",
            _ => $"Schema Registry refused {what}{detail}: {reason}",
        };
    }
}

/// <summary>
/// The one place that decides what a failed registry call means: connection failures, timeouts and HTTP 5xx (with 408
/// and 429) are retriable, and so is any other failure of the registry client itself; only the registry's own answer
/// (an unknown schema id, a refusal) is not.
/// </summary>
/// <remarks>
/// Confluent's <see cref="SchemaRegistryException"/> derives from <see cref="HttpRequestException"/> without setting its
/// <see cref="HttpRequestException.StatusCode"/>, so "any HTTP exception is a network failure" would call an unknown schema
/// id (40403) retriable, and a caller that retries retriable errors would stall on that record for ever. Its status is read
/// from the registry's answer instead.
/// <para>
/// An exception that is neither the registry's answer nor a network failure (for example the
/// <see cref="NullReferenceException"/> Confluent's client throws on every call with <c>schema.registry.max.retries=0</c>)
/// is a fault of the client, not of the record: it is <see cref="RegistryFailureKind.ClientFailed"/>, retriable, so that a
/// consumer stays on the record, reporting each failure, instead of skipping or dead-lettering every good record.
/// </para>
/// </remarks>
internal static class RegistryErrors
{
    /// <summary>Confluent's error code for a schema id the registry does not know.</summary>
    public const int SchemaNotFound = 40403;

    /// <summary>Confluent's error code for a subject that has no schema.</summary>
    public const int SubjectNotFound = 40401;

    /// <summary>Classifies an exception thrown by a registry client call.</summary>
    /// <param name="exception">The exception.</param>
    /// <param name="lookupById">True when the call looked a schema up by id, so that a bare HTTP 404 means an unknown id.</param>
    /// <returns>The classification.</returns>
    public static RegistryFailure Classify(Exception exception, bool lookupById = false)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var cause = exception is AggregateException { InnerExceptions.Count: 1 } one ? one.InnerExceptions[0] : exception;
        var status = cause switch
        {
            SchemaRegistryException registry => (int)registry.Status,
            HttpRequestException { StatusCode: { } code } => (int)code,
            _ => (int?)null,
        };
        var errorCode = (cause as SchemaRegistryException)?.ErrorCode;

        var kind = errorCode == SchemaNotFound || (lookupById && status == (int)HttpStatusCode.NotFound)
            ? RegistryFailureKind.UnknownSchema
            : KindOf(cause, status);
        return new RegistryFailure(kind, cause, status, errorCode);
    }

    private static RegistryFailureKind KindOf(Exception cause, int? status) => cause switch
    {
        _ when status is not null => status is (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests or >= 500
            ? RegistryFailureKind.Unavailable
            : RegistryFailureKind.Refused,

        // A SchemaRegistryException always carries the registry's answer; without a status it is not a network failure.
        SchemaRegistryException => RegistryFailureKind.Refused,

        // Confluent's client reports a 401 without a JSON body as a bare "Unauthorized": a refusal, not an outage.
        HttpRequestException http => string.Equals(http.Message, "Unauthorized", StringComparison.Ordinal) ? RegistryFailureKind.Refused : RegistryFailureKind.Unavailable,
        IOException or TimeoutException or OperationCanceledException => RegistryFailureKind.Unavailable,

        // Neither an answer nor a network failure: the client itself is broken, which says nothing about the record.
        _ => RegistryFailureKind.ClientFailed,
    };
}

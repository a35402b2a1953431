namespace KafkaClient.Testing.SchemaRegistry;

/// <summary>The error codes Confluent's registry answers with, by name; the HTTP status derives from the code.</summary>
/// <remarks>
/// A five-digit code's HTTP status is its first three digits (40401 is a 404, 42201 a 422, 50001 a 500), as in
/// Confluent's registry; a three-digit code is the HTTP status itself (400, 401, 404, 405, 409, 415).
/// </remarks>
internal enum RegistryErrorCode
{
    /// <summary>The request body is not JSON, or JSON of the wrong shape.</summary>
    BadRequest = 400,

    /// <summary>Credentials are missing or wrong.</summary>
    Unauthorized = 401,

    /// <summary>No such route.</summary>
    NotFound = 404,

    /// <summary>The route exists, but not with the request's method.</summary>
    MethodNotAllowed = 405,

    /// <summary>The schema is incompatible with an earlier one under the subject's compatibility level.</summary>
    IncompatibleSchema = 409,

    /// <summary>A request body over the server's limit (30,000,000 bytes, Kestrel's default).</summary>
    PayloadTooLarge = 413,

    /// <summary>A POST or PUT whose content type the registry does not consume.</summary>
    UnsupportedMediaType = 415,

    /// <summary>The subject does not exist (or has only deleted versions).</summary>
    SubjectNotFound = 40401,

    /// <summary>The subject has no such version.</summary>
    VersionNotFound = 40402,

    /// <summary>No schema has that id, or the schema is not registered under the subject.</summary>
    SchemaNotFound = 40403,

    /// <summary>The subject was soft-deleted; a second soft delete needs <c>permanent=true</c>.</summary>
    SubjectSoftDeleted = 40404,

    /// <summary>A permanent delete of a subject that was not soft-deleted first.</summary>
    SubjectNotSoftDeleted = 40405,

    /// <summary>The version was soft-deleted; a second soft delete needs <c>permanent=true</c>.</summary>
    SchemaVersionSoftDeleted = 40406,

    /// <summary>A permanent delete of a version that was not soft-deleted first.</summary>
    SchemaVersionNotSoftDeleted = 40407,

    /// <summary>The subject has no compatibility level of its own.</summary>
    SubjectLevelCompatibilityNotConfigured = 40408,

    /// <summary>The subject has no mode of its own.</summary>
    SubjectLevelModeNotConfigured = 40409,

    /// <summary>The schema (or its type, or a reference) is invalid.</summary>
    InvalidSchema = 42201,

    /// <summary>The version is neither a positive integer nor <c>latest</c>.</summary>
    InvalidVersion = 42202,

    /// <summary>Not a compatibility level (or policy) the registry knows.</summary>
    InvalidCompatibilityLevel = 42203,

    /// <summary>Not a mode the registry knows.</summary>
    InvalidMode = 42204,

    /// <summary>The operation is not permitted in the subject's mode (e.g. a write to a read-only subject).</summary>
    OperationNotPermitted = 42205,

    /// <summary>The schema is still referenced by another and cannot be deleted.</summary>
    ReferenceExists = 42206,

    /// <summary>The subject name is not valid.</summary>
    InvalidSubject = 42208,

    /// <summary>An error inside the registry itself.</summary>
    Internal = 50001,
}

/// <summary>Helpers on <see cref="RegistryErrorCode"/>.</summary>
internal static class RegistryErrorCodes
{
    /// <summary>The HTTP status Confluent's registry answers with for <paramref name="code"/>.</summary>
    public static int HttpStatus(this RegistryErrorCode code) => (int)code >= 10_000 ? (int)code / 100 : (int)code;
}

using System.Text.Json.Nodes;
using KafkaClient.SchemaRegistry.Compatibility;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace KafkaClient.Testing.SchemaRegistry;

/// <summary>The REST endpoints of Confluent's registry that the embedded registry serves, over a <see cref="SchemaStore"/>.</summary>
/// <remarks>
/// Handlers answer 200 with JSON (or a raw schema); every error is a <see cref="RegistryException"/> thrown to
/// <see cref="EmbeddedSchemaRegistry"/>, which answers it with Confluent's error body. As in Confluent's registry the
/// resource is matched first: a path that is not mapped is a 404 (as in a registry without the endpoint: exporters,
/// ...), a method that the path does not have a 405, and only then are the content type (415) and the body (400) read.
/// </remarks>
internal sealed class RegistryEndpoints(SchemaStore store)
{
    /// <summary>The registry's media type, of its answers and of the requests it reads.</summary>
    public const string ContentType = "application/vnd.schemaregistry.v1+json";

    /// <summary>The request media types Confluent's registry consumes; any other answers 415.</summary>
    public static readonly string[] AcceptedContentTypes =
        [ContentType, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"];

    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">Where to map them.</param>
    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", Json(_ => new JsonObject()));
        app.MapGet("/contexts", Json(_ => new JsonArray(".")));

        var schemas = app.MapGroup("/schemas");
        schemas.MapGet("/types", Json(_ => Strings(SchemaFormats.Types)));
        schemas.MapGet("/ids/{id}", Json(r => SchemaBody(store.ById(r.Id), r.Query("format"))));
        schemas.MapGet("/ids/{id}/schema", Text(r => store.ById(r.Id).Render(r.Query("format"))));
        schemas.MapGet("/ids/{id}/subjects", Json(r => Strings(store.UsesOf(r.Id, r.Flag("deleted")).Select(u => u.Subject).Distinct())));
        schemas.MapGet("/ids/{id}/versions", Json(r => Array(store.UsesOf(r.Id, r.Flag("deleted")).Select(u => new JsonObject { ["subject"] = u.Subject, ["version"] = u.Version }))));

        var subjects = app.MapGroup("/subjects");
        subjects.MapGet("", Json(r => Strings(store.Subjects(r.Flag("deleted"), r.Query("subjectPrefix")))));
        subjects.MapPost("/{subject}", Json(LookUp));
        subjects.MapDelete("/{subject}", Json(r => Numbers(store.DeleteSubject(r.Subject, r.Flag("permanent")))));
        subjects.MapGet("/{subject}/versions", Json(r => Numbers(store.Versions(r.Subject, r.Flag("deleted")))));
        subjects.MapPost("/{subject}/versions", Json(r => new JsonObject { ["id"] = store.Register(r.Subject, r.SchemaType(), r.SchemaText(), r.References()).Schema.Id }));
        subjects.MapGet("/{subject}/versions/{version}", Json(GetVersion));
        subjects.MapDelete("/{subject}/versions/{version}", Json(r => store.DeleteVersion(r.Subject, r.Version!, r.Flag("permanent"))));
        subjects.MapGet("/{subject}/versions/{version}/schema", Text(r => store.Version(r.Subject, r.Version!, r.Flag("deleted")).Schema.Render(r.Query("format"))));
        subjects.MapGet("/{subject}/versions/{version}/referencedby", Json(r => Numbers(store.ReferencedBy(r.Subject, r.Version!))));

        // This registry makes no associations: every lookup answers what Confluent's registry (8.x) answers for a topic or
        // subject without any, an empty list. The Associated subject name strategy, the default of Confluent's current
        // serializers (.NET, JavaScript, Go...), then falls back to its fallback, the topic name (a registry older than
        // associations answers 404, which the strategy takes the same way).
        var associations = app.MapGroup("/associations");
        associations.MapGet("/subjects/{subject}", Json(_ => new JsonArray()));
        associations.MapGet("/resources/{resourceId}", Json(_ => new JsonArray()));
        associations.MapGet("/resources/{resourceNamespace}/{resourceName}", Json(_ => new JsonArray()));

        var compatibility = app.MapGroup("/compatibility/subjects/{subject}/versions");
        compatibility.MapPost("", Json(TestCompatibility));
        compatibility.MapPost("/{version}", Json(TestCompatibility));

        var config = app.MapGroup("/config");
        config.MapGet("", Json(_ => ConfigBody(store.Config(null, true)!.Value, "compatibilityLevel")));
        config.MapPut("", Json(r => SetConfig(null, r.Body)));
        config.MapGet("/{subject}", Json(r => ConfigBody(store.Config(r.Subject, r.Flag("defaultToGlobal")) ?? throw NoSubjectConfig(r.Subject), "compatibilityLevel")));
        config.MapPut("/{subject}", Json(r => SetConfig(r.Subject, r.Body)));
        config.MapDelete("/{subject}", Json(r => new JsonObject { ["compatibilityLevel"] = (store.DeleteConfig(r.Subject) ?? throw NoSubjectConfig(r.Subject)).ToWireName() }));

        var mode = app.MapGroup("/mode");
        mode.MapGet("", Json(_ => new JsonObject { ["mode"] = store.Mode(null, true) }));
        mode.MapPut("", Json(r => SetMode(null, r.Body)));
        mode.MapGet("/{subject}", Json(r => new JsonObject { ["mode"] = store.Mode(r.Subject, r.Flag("defaultToGlobal")) ?? throw NoSubjectMode(r.Subject) }));
        mode.MapPut("/{subject}", Json(r => SetMode(r.Subject, r.Body)));
        mode.MapDelete("/{subject}", Json(r => new JsonObject { ["mode"] = store.DeleteMode(r.Subject) ?? throw NoSubjectMode(r.Subject) }));
    }

    /// <summary>Writes <paramref name="answer"/> as the registry does: the status, its media type and the JSON text.</summary>
    /// <param name="http">The request.</param>
    /// <param name="status">The HTTP status.</param>
    /// <param name="answer">The JSON answer.</param>
    /// <returns>A task that completes when the answer is written.</returns>
    public static Task WriteAsync(HttpContext http, int status, JsonNode? answer) => WriteTextAsync(http, status, answer?.ToJsonString() ?? "null");

    /// <summary>An endpoint that answers 200 with the JSON <paramref name="handler"/> makes of the request.</summary>
    private static RequestDelegate Json(Func<RegistryRequest, JsonNode?> handler) =>
        async http => await WriteAsync(http, 200, handler(await RegistryRequest.ReadAsync(http).ConfigureAwait(false))).ConfigureAwait(false);

    /// <summary>An endpoint that answers 200 with the text <paramref name="handler"/> makes of the request (a raw schema).</summary>
    private static RequestDelegate Text(Func<RegistryRequest, string> handler) =>
        async http => await WriteTextAsync(http, 200, handler(await RegistryRequest.ReadAsync(http).ConfigureAwait(false))).ConfigureAwait(false);

    private static Task WriteTextAsync(HttpContext http, int status, string text)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = ContentType;
        return http.Response.WriteAsync(text);
    }

    private static RegistryException NoSubjectConfig(string subject) =>
        new(RegistryErrorCode.SubjectLevelCompatibilityNotConfigured, $"Subject '{subject}' does not have subject-level compatibility configured");

    private static RegistryException NoSubjectMode(string subject) =>
        new(RegistryErrorCode.SubjectLevelModeNotConfigured, $"Subject '{subject}' does not have subject-level mode configured");

    private static JsonObject ConfigBody((CompatibilityLevel Level, CompatibilityPolicy Policy) config, string name)
    {
        var body = new JsonObject { [name] = config.Level.ToWireName() };
        if (config.Policy == CompatibilityPolicy.Lenient)
        {
            body["compatibilityPolicy"] = "LENIENT";
        }

        return body;
    }

    private static JsonObject SchemaBody(StoredSchema schema, string? format)
    {
        var body = new JsonObject { ["schema"] = schema.Render(format) };
        AddTypeAndReferences(body, schema);
        return body;
    }

    private static JsonObject VersionBody(string subject, int version, StoredSchema schema, string? format)
    {
        var body = new JsonObject
        {
            ["subject"] = subject,
            ["version"] = version,
            ["id"] = schema.Id,
            ["schema"] = schema.Render(format),
        };
        AddTypeAndReferences(body, schema);
        return body;
    }

    private static void AddTypeAndReferences(JsonObject body, StoredSchema schema)
    {
        if (schema.SchemaType != "AVRO")
        {
            body["schemaType"] = schema.SchemaType;
        }

        if (schema.References.Count > 0)
        {
            body["references"] = Array(schema.References.Select(r => new JsonObject { ["name"] = r.Name, ["subject"] = r.Subject, ["version"] = r.Version }));
        }
    }

    private static JsonArray Array(IEnumerable<JsonNode> values) => new([.. values]);

    private static JsonArray Strings(IEnumerable<string> values) => Array(values.Select(v => (JsonNode)v));

    private static JsonArray Numbers(IEnumerable<int> values) => Array(values.Select(v => (JsonNode)v));

    private JsonObject LookUp(RegistryRequest r)
    {
        var (schema, version) = store.Lookup(r.Subject, r.SchemaType(), r.SchemaText(), r.References(), r.Flag("deleted"));
        return VersionBody(r.Subject, version, schema, r.Query("format"));
    }

    private JsonObject GetVersion(RegistryRequest r)
    {
        var found = store.Version(r.Subject, r.Version!, r.Flag("deleted"));
        return VersionBody(r.Subject, found.Version, found.Schema, r.Query("format"));
    }

    private JsonObject TestCompatibility(RegistryRequest r)
    {
        var messages = store.TestCompatibility(r.Subject, r.Version, r.SchemaType(), r.SchemaText(), r.References());
        var result = new JsonObject { ["is_compatible"] = messages.Count == 0 };
        if (r.Flag("verbose"))
        {
            result["messages"] = Strings(messages);
        }

        return result;
    }

    private JsonObject SetConfig(string? subject, JsonObject body)
    {
        CompatibilityLevel? level = null;
        CompatibilityPolicy? policy = null;
        if (body["compatibility"] is not null)
        {
            level = CompatibilityLevels.TryParse(RegistryRequest.Text(body, "compatibility")!, out var parsed)
                ? parsed
                : throw new RegistryException(RegistryErrorCode.InvalidCompatibilityLevel, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive");
        }

        if (body["compatibilityPolicy"] is not null)
        {
            policy = RegistryRequest.Text(body, "compatibilityPolicy")!.ToUpperInvariant() switch
            {
                "STRICT" => CompatibilityPolicy.Strict,
                "LENIENT" => CompatibilityPolicy.Lenient,
                _ => throw new RegistryException(RegistryErrorCode.InvalidCompatibilityLevel, "Invalid compatibility policy. Valid values are STRICT and LENIENT"),
            };
        }

        if (level is null && policy is null)
        {
            throw new RegistryException(RegistryErrorCode.InvalidCompatibilityLevel, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive");
        }

        store.SetConfig(subject, level, policy);
        return ConfigBody(store.Config(subject, true)!.Value, "compatibility");
    }

    private JsonObject SetMode(string? subject, JsonObject body)
    {
        var mode = RegistryRequest.Text(body, "mode")?.ToUpperInvariant();
        if (mode is not ("READWRITE" or "READONLY" or "IMPORT"))
        {
            throw new RegistryException(RegistryErrorCode.InvalidMode, "Invalid mode. Valid values are READWRITE, READONLY and IMPORT");
        }

        store.SetMode(subject, mode);
        return new JsonObject { ["mode"] = mode };
    }
}

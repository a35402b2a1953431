using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.Testing.SchemaRegistry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Testing;

/// <summary>Options of an <see cref="EmbeddedSchemaRegistry"/>, validated when it starts.</summary>
public sealed class EmbeddedSchemaRegistryOptions
{
    /// <summary>Gets the loopback port to listen on; 0 (the default) picks a free one, 8081 is the registry's usual port.</summary>
    public int Port { get; init; }

    /// <summary>Gets the <c>user:password</c> that basic authentication requires, or null (the default) for no authentication.</summary>
    public string? BasicAuthUserInfo { get; init; }

    /// <summary>Gets the global compatibility level the registry starts with (default BACKWARD, as Confluent's).</summary>
    public CompatibilityLevel DefaultCompatibility { get; init; } = CompatibilityLevel.Backward;
}

/// <summary>An in-process HTTP server on loopback that speaks Confluent Schema Registry's REST API, for tests and local runs.</summary>
/// <remarks>
/// <para>
/// Confluent's .NET <c>CachedSchemaRegistryClient</c>, confluent-kafka-python and any other registry client work
/// against <see cref="Url"/> unchanged: same paths, JSON bodies, content type and error codes (40401, 40402,
/// 40403, 40408, 409, 42201, 42202, 42203...). Schemas live in memory; ids are global and stable and identical
/// schemas share one. JSON Schema compatibility is enforced with Confluent's rules (see
/// <see cref="KafkaClient.SchemaRegistry.Compatibility.Json.JsonSchemaDiff"/>); PROTOBUF and AVRO schemas are
/// stored as text and not checked for compatibility yet.
/// </para>
/// <para>Thread-safe. Dispose to stop the server; clients then see connection errors, as with a registry that went down.</para>
/// </remarks>
public sealed class EmbeddedSchemaRegistry : IAsyncDisposable
{
    private const string ContentType = "application/vnd.schemaregistry.v1+json";

    /// <summary>The request media types Confluent's registry consumes; any other answers 415.</summary>
    private static readonly string[] AcceptedContentTypes =
        [ContentType, "application/vnd.schemaregistry+json", "application/json", "application/octet-stream"];

    private readonly WebApplication _app;
    private readonly SchemaStore _store;
    private readonly string? _userInfo;
    private long _requests;

    private EmbeddedSchemaRegistry(WebApplication app, SchemaStore store, string? userInfo)
    {
        _app = app;
        _store = store;
        _userInfo = userInfo;
    }

    /// <summary>Gets the registry's base URL, for example <c>http://127.0.0.1:8081</c>.</summary>
    public string Url { get; private set; } = string.Empty;

    /// <summary>Gets the registry's state (tests reach it through InternalsVisibleTo).</summary>
    internal SchemaStore Store => _store;

    /// <summary>Gets the number of HTTP requests served so far (to check that clients cache).</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>Starts a registry.</summary>
    /// <param name="options">Port, authentication and default compatibility; null for the defaults.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running registry.</returns>
    public static async Task<EmbeddedSchemaRegistry> StartAsync(EmbeddedSchemaRegistryOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EmbeddedSchemaRegistryOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Port, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, 65535);
        if (options.BasicAuthUserInfo is { } userInfo && !userInfo.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException("BasicAuthUserInfo must be 'user:password'.", nameof(options));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, options.Port));
        var app = builder.Build();
        var registry = new EmbeddedSchemaRegistry(
            app,
            new SchemaStore(options.DefaultCompatibility),
            options.BasicAuthUserInfo);
        app.Run(registry.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        registry.Url = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return registry;
    }

    /// <summary>Stops the server.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext http)
    {
        Interlocked.Increment(ref _requests);
        JsonNode? answer;
        var status = 200;
        try
        {
            if (_userInfo is not null && !Authorized(http.Request.Headers.Authorization.ToString(), _userInfo))
            {
                http.Response.Headers.WWWAuthenticate = "Basic realm=\"SchemaRegistry\"";
                throw new RegistryException(RegistryErrorCode.Unauthorized, "Unauthorized");
            }

            if ((HttpMethods.IsPost(http.Request.Method) || HttpMethods.IsPut(http.Request.Method)) && !AcceptedContentType(http.Request.ContentType))
            {
                throw new RegistryException(RegistryErrorCode.UnsupportedMediaType, "HTTP 415 Unsupported Media Type");
            }

            var segments = PathSegments(http);
            var body = HttpMethods.IsPost(http.Request.Method) || HttpMethods.IsPut(http.Request.Method)
                ? await ReadBodyAsync(http.Request).ConfigureAwait(false)
                : null;
            answer = Route(http.Request.Method, segments, http.Request.Query, body, out var rawText);
            if (rawText is not null)
            {
                http.Response.ContentType = ContentType;
                await http.Response.WriteAsync(rawText).ConfigureAwait(false);
                return;
            }
        }
        catch (RegistryException ex)
        {
            (status, answer) = ErrorAnswer(ex.ErrorCode, ex.Message);
        }
        catch (JsonException ex)
        {
            // What Confluent's registry answers when the body is not JSON.
            (status, answer) = ErrorAnswer(RegistryErrorCode.BadRequest, $"Unrecognized request body: {ex.Message}");
        }
#pragma warning disable CA1031 // A bug must still answer with Confluent's error body, never an empty 500 or a dropped connection.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            (status, answer) = ErrorAnswer(RegistryErrorCode.Internal, $"Error in the embedded registry: {ex.GetType().Name}: {ex.Message}");
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = ContentType;
        await http.Response.WriteAsync(answer?.ToJsonString() ?? "null").ConfigureAwait(false);
    }

    /// <summary>Confluent's error answer: the HTTP status derived from the code, and a body with the code and message.</summary>
    private static (int Status, JsonNode Answer) ErrorAnswer(RegistryErrorCode code, string message) =>
        (code.HttpStatus(), new JsonObject { ["error_code"] = (int)code, ["message"] = message });

    /// <summary>Checks basic credentials as Confluent's registry does: the scheme in any case, the user and password exactly.</summary>
    private static bool Authorized(string header, string userInfo)
    {
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0 || !header[..space].Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(header[(space + 1)..].Trim())) == userInfo;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>No Content-Type is taken as a byte stream, which the registry accepts; parameters (charset) do not matter.</summary>
    private static bool AcceptedContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return true;
        }

        var mediaType = contentType.Split(';')[0].Trim();
        return AcceptedContentTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Splits the request target as sent on '/' and percent-decodes each segment exactly once, as Confluent's registry
    /// does: <c>a%252Fb</c> is the subject <c>a%2Fb</c> and <c>a%2Fb</c> the subject <c>a/b</c>. (The server's decoded
    /// path cannot be used: it has decoded once already, and it removes dot segments.)
    /// </summary>
    private static string[] PathSegments(HttpContext http)
    {
        var target = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(target))
        {
            target = http.Request.PathBase.Add(http.Request.Path).ToUriComponent();
        }

        var query = target.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            target = target[..query];
        }

        if (!target.StartsWith('/') && Uri.TryCreate(target, UriKind.Absolute, out var absolute))
        {
            target = absolute.AbsolutePath; // absolute-form, as sent to a proxy
        }

        return target.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
    }

    /// <summary>Reads the body as Confluent's registry does: not JSON, or JSON of the wrong shape, is a 400; JSON null or nothing is an empty request.</summary>
    private static async Task<JsonObject> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        JsonNode? body;
        try
        {
            body = JsonNode.Parse(text);
            Materialize(body); // duplicate property names surface here, not later
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            throw new RegistryException(RegistryErrorCode.BadRequest, $"Unexpected character or malformed JSON in the request body: {ex.Message}");
        }

        return body switch
        {
            null => [],
            JsonObject o => o,
            _ => throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize the request from a JSON {body.GetValueKind()}"),
        };
    }

    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, value) in o)
                {
                    Materialize(value);
                }

                break;
            case JsonArray a:
                foreach (var value in a)
                {
                    Materialize(value);
                }

                break;
        }
    }

    /// <summary>Reads a string field as Confluent's registry does: numbers and booleans are taken as their text, objects and arrays are a 400.</summary>
    private static string? Text(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
        var other => throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `java.lang.String` from {other.GetValueKind()} value (field \"{name}\")"),
    };

    /// <summary>Reads an integer field as Confluent's registry does: integral numbers and numeric strings, else a 400.</summary>
    private static int? Integer(JsonObject body, string name)
    {
        switch (body[name])
        {
            case null:
                return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<decimal>(out var number) && decimal.Truncate(number) is var whole && whole is >= int.MinValue and <= int.MaxValue:
                return (int)whole;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && int.TryParse(v.GetValue<string>(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var parsed):
                return parsed;
            case var other:
                throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `java.lang.Integer` from {other.ToJsonString()} (field \"{name}\")");
        }
    }

    private JsonNode? Route(string method, string[] path, IQueryCollection query, JsonObject? body, out string? rawText)
    {
        rawText = null;
        bool Flag(string name) => string.Equals(query[name].ToString(), "true", StringComparison.OrdinalIgnoreCase);
        var get = HttpMethods.IsGet(method);
        var post = HttpMethods.IsPost(method);
        var put = HttpMethods.IsPut(method);
        var delete = HttpMethods.IsDelete(method);

        switch (path)
        {
            case [] when get:
                return new JsonObject();
            case ["schemas", "types"] when get:
                return new JsonArray(SchemaFormats.Types.Select(t => (JsonNode)t).ToArray());
            case ["contexts"] when get:
                return new JsonArray(".");
            case ["schemas", "ids", var id] when get:
                return SchemaBody(_store.ById(Id(id)));
            case ["schemas", "ids", var id, "schema"] when get:
                rawText = _store.ById(Id(id)).Schema;
                return null;
            case ["schemas", "ids", var id, "subjects"] when get:
                return new JsonArray(_store.UsesOf(Id(id), Flag("deleted")).Select(u => (JsonNode)u.Subject).Distinct().ToArray());
            case ["schemas", "ids", var id, "versions"] when get:
                return new JsonArray(_store.UsesOf(Id(id), Flag("deleted")).Select(u => (JsonNode)new JsonObject { ["subject"] = u.Subject, ["version"] = u.Version }).ToArray());
            case ["subjects"] when get:
                return Strings(_store.Subjects(Flag("deleted"), query["subjectPrefix"].FirstOrDefault()));
            case ["subjects", var subject] when post:
            {
                var (schema, version) = _store.Lookup(subject, SchemaType(body!), SchemaText(body!), References(body!), Flag("deleted"));
                return VersionBody(subject, version, schema);
            }

            case ["subjects", var subject] when delete:
                return Numbers(_store.DeleteSubject(subject, Flag("permanent")));
            case ["subjects", var subject, "versions"] when get:
                return Numbers(_store.Versions(subject, Flag("deleted")));
            case ["subjects", var subject, "versions"] when post:
            {
                var (schema, _) = _store.Register(subject, SchemaType(body!), SchemaText(body!), References(body!));
                return new JsonObject { ["id"] = schema.Id };
            }

            case ["subjects", var subject, "versions", var version] when get:
            {
                var found = _store.Version(subject, version, Flag("deleted"));
                return VersionBody(subject, found.Version, found.Schema);
            }

            case ["subjects", var subject, "versions", var version, "schema"] when get:
                rawText = _store.Version(subject, version, Flag("deleted")).Schema.Schema;
                return null;
            case ["subjects", var subject, "versions", var version, "referencedby"] when get:
                return Numbers(_store.ReferencedBy(subject, version));
            case ["subjects", var subject, "versions", var version] when delete:
                return _store.DeleteVersion(subject, version, Flag("permanent"));
            case ["compatibility", "subjects", var subject, "versions", .. var rest] when post && rest.Length <= 1:
            {
                var messages = _store.TestCompatibility(subject, rest.Length == 1 ? rest[0] : null, SchemaType(body!), SchemaText(body!), References(body!));
                var result = new JsonObject { ["is_compatible"] = messages.Count == 0 };
                if (Flag("verbose"))
                {
                    result["messages"] = Strings(messages);
                }

                return result;
            }

            case ["config"] when get:
                return ConfigBody(_store.Config(null, true)!.Value, "compatibilityLevel");
            case ["config"] when put:
                return SetConfig(null, body!);
            case ["config", var subject] when get:
                return ConfigBody(
                    _store.Config(subject, Flag("defaultToGlobal"))
                        ?? throw new RegistryException(RegistryErrorCode.SubjectLevelCompatibilityNotConfigured, $"Subject '{subject}' does not have subject-level compatibility configured"),
                    "compatibilityLevel");
            case ["config", var subject] when put:
                return SetConfig(subject, body!);
            case ["config", var subject] when delete:
                var previous = _store.DeleteConfig(subject) ?? throw new RegistryException(RegistryErrorCode.SubjectLevelCompatibilityNotConfigured, $"Subject '{subject}' does not have subject-level compatibility configured");
                return new JsonObject { ["compatibilityLevel"] = previous.ToWireName() };
            case ["mode"] when get:
                return new JsonObject { ["mode"] = _store.Mode(null, true) };
            case ["mode"] when put:
                return SetMode(null, body!);
            case ["mode", var subject] when get:
                return new JsonObject
                {
                    ["mode"] = _store.Mode(subject, Flag("defaultToGlobal"))
                        ?? throw new RegistryException(RegistryErrorCode.SubjectLevelModeNotConfigured, $"Subject '{subject}' does not have subject-level mode configured"),
                };
            case ["mode", var subject] when put:
                return SetMode(subject, body!);
            case ["mode", var subject] when delete:
                return new JsonObject
                {
                    ["mode"] = _store.DeleteMode(subject) ?? throw new RegistryException(RegistryErrorCode.SubjectLevelModeNotConfigured, $"Subject '{subject}' does not have subject-level mode configured"),
                };
            default:
                // What a registry without the endpoint (associations, exporters, ...) answers.
                throw new RegistryException(RegistryErrorCode.NotFound, "HTTP 404 Not Found");
        }
    }

    private JsonObject SetConfig(string? subject, JsonObject body)
    {
        CompatibilityLevel? level = null;
        CompatibilityPolicy? policy = null;
        if (body["compatibility"] is not null)
        {
            level = CompatibilityLevels.TryParse(Text(body, "compatibility")!, out var parsed)
                ? parsed
                : throw new RegistryException(RegistryErrorCode.InvalidCompatibilityLevel, "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive");
        }

        if (body["compatibilityPolicy"] is not null)
        {
            policy = Text(body, "compatibilityPolicy")!.ToUpperInvariant() switch
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

        _store.SetConfig(subject, level, policy);
        return ConfigBody(_store.Config(subject, true)!.Value, "compatibility");
    }

    private JsonObject SetMode(string? subject, JsonObject body)
    {
        var mode = Text(body, "mode")?.ToUpperInvariant();
        if (mode is not ("READWRITE" or "READONLY" or "IMPORT"))
        {
            throw new RegistryException(RegistryErrorCode.InvalidMode, "Invalid mode. Valid values are READWRITE, READONLY and IMPORT");
        }

        _store.SetMode(subject, mode);
        return new JsonObject { ["mode"] = mode };
    }

    private static JsonObject ConfigBody((CompatibilityLevel Level, CompatibilityPolicy Policy) config, string name)
    {
        var body = new JsonObject { [name] = config.Level.ToWireName() };
        if (config.Policy == CompatibilityPolicy.Lenient)
        {
            body["compatibilityPolicy"] = "LENIENT";
        }

        return body;
    }

    private static JsonObject SchemaBody(StoredSchema schema)
    {
        var body = new JsonObject { ["schema"] = schema.Schema };
        AddTypeAndReferences(body, schema);
        return body;
    }

    private static JsonObject VersionBody(string subject, int version, StoredSchema schema)
    {
        var body = new JsonObject
        {
            ["subject"] = subject,
            ["version"] = version,
            ["id"] = schema.Id,
            ["schema"] = schema.Schema,
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
            body["references"] = new JsonArray(schema.References
                .Select(r => (JsonNode)new JsonObject { ["name"] = r.Name, ["subject"] = r.Subject, ["version"] = r.Version })
                .ToArray());
        }
    }

    private static string SchemaType(JsonObject body) => Text(body, "schemaType")?.ToUpperInvariant() ?? "AVRO";

    private static string SchemaText(JsonObject body) =>
        Text(body, "schema") ?? throw new RegistryException(RegistryErrorCode.InvalidSchema, "Empty schema");

    private static List<SchemaReference> References(JsonObject body) => body["references"] switch
    {
        null => [],
        JsonArray references => references.Select(Reference).ToList(),
        var other => throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `java.util.ArrayList<SchemaReference>` from {other.GetValueKind()} value (field \"references\")"),
    };

    private static SchemaReference Reference(JsonNode? reference) => reference switch
    {
        JsonObject r when Text(r, "name") is { } name && Text(r, "subject") is { } subject && Integer(r, "version") is { } version => new SchemaReference(name, subject, version),
        null or JsonObject => throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Invalid schema reference {reference?.ToJsonString() ?? "null"}: name, subject and version are required"),
        _ => throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `SchemaReference` from {reference.GetValueKind()} value (field \"references\")"),
    };

    private static int Id(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new RegistryException(RegistryErrorCode.SchemaNotFound, $"Schema {text} not found");

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode)v).ToArray());

    private static JsonArray Numbers(IEnumerable<int> values) => new(values.Select(v => (JsonNode)v).ToArray());
}

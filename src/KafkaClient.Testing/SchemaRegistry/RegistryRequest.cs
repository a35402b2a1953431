using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace KafkaClient.Testing.SchemaRegistry;

/// <summary>What an endpoint reads of a request, each part as Confluent's registry reads it: path parameters, query flags and the JSON body.</summary>
internal sealed class RegistryRequest
{
    private readonly HttpContext _http;
    private readonly JsonObject? _body;

    private RegistryRequest(HttpContext http, JsonObject? body)
    {
        _http = http;
        _body = body;
    }

    /// <summary>Gets the <c>{subject}</c> of the route, percent-decoded once (see <see cref="RoutablePath"/>).</summary>
    public string Subject => Parameter("subject")!;

    /// <summary>Gets the <c>{version}</c> of the route (a number, <c>latest</c> or -1, checked by the store), or null where the route has none.</summary>
    public string? Version => Parameter("version");

    /// <summary>Gets the <c>{id}</c> of the route; an id that is not a number is a schema that does not exist (40403).</summary>
    public int Id =>
        int.TryParse(Parameter("id"), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new RegistryException(RegistryErrorCode.SchemaNotFound, $"Schema {Parameter("id")} not found");

    /// <summary>Gets the JSON body of a POST or PUT (an empty object for an empty body).</summary>
    public JsonObject Body => _body ?? throw new InvalidOperationException("Only a POST or PUT has a body.");

    /// <summary>Reads a request that an endpoint matched: for a POST or PUT, its content type (else 415), then its JSON body (else 400).</summary>
    /// <param name="http">The request.</param>
    /// <returns>The request's view.</returns>
    public static async Task<RegistryRequest> ReadAsync(HttpContext http)
    {
        var method = http.Request.Method;
        if (!HttpMethods.IsPost(method) && !HttpMethods.IsPut(method))
        {
            return new RegistryRequest(http, null);
        }

        if (!AcceptedContentType(http.Request.ContentType))
        {
            throw new RegistryException(RegistryErrorCode.UnsupportedMediaType, "HTTP 415 Unsupported Media Type");
        }

        return new RegistryRequest(http, await ReadBodyAsync(http.Request).ConfigureAwait(false));
    }

    /// <summary>
    /// The path that routing matches: the request target as sent, split on '/', each segment percent-decoded exactly once
    /// as Confluent's registry does (<c>a%252Fb</c> is the subject <c>a%2Fb</c>, <c>a%2Fb</c> the subject <c>a/b</c>), and
    /// escaped again so that a route value unescapes to exactly that segment. The server's decoded path cannot be used: it
    /// has decoded once already (all but %2F), and it removes dot segments. Upper-case letters are escaped too: routing
    /// matches literals ignoring case, Confluent's registry does not (<c>/Subjects</c> is a 404).
    /// </summary>
    /// <param name="http">The request.</param>
    /// <returns>The path to route on.</returns>
    public static PathString RoutablePath(HttpContext http)
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

        var path = new StringBuilder();
        foreach (var segment in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var escaped = Uri.EscapeDataString(Uri.UnescapeDataString(segment));
            path.Append('/');
            for (var i = 0; i < escaped.Length; i++)
            {
                if (escaped[i] == '%')
                {
                    path.Append(escaped, i, 3);
                    i += 2;
                }
                else if (char.IsAsciiLetterUpper(escaped[i]))
                {
                    path.Append('%').Append(((int)escaped[i]).ToString("X2", CultureInfo.InvariantCulture));
                }
                else
                {
                    path.Append(escaped[i]);
                }
            }
        }

        return new PathString(path.Length == 0 ? "/" : path.ToString());
    }

    /// <summary>Reads a query flag as Confluent's registry does: <c>true</c> in any case is set, anything else (or nothing) is not.</summary>
    /// <param name="name">The query parameter.</param>
    /// <returns>Whether the flag is set.</returns>
    public bool Flag(string name) => string.Equals(_http.Request.Query[name].ToString(), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads a query parameter's first value.</summary>
    /// <param name="name">The query parameter.</param>
    /// <returns>The value, or null.</returns>
    public string? Query(string name) => _http.Request.Query[name].FirstOrDefault();

    /// <summary>Reads the body's <c>schemaType</c> as it is spelled (Confluent's registry knows <c>PROTOBUF</c>, not <c>protobuf</c>); AVRO when absent.</summary>
    /// <returns>The schema type.</returns>
    public string SchemaType() => Text(Body, "schemaType") ?? "AVRO";

    /// <summary>Reads the body's <c>schema</c>; an absent one is an invalid schema (42201).</summary>
    /// <returns>The schema text.</returns>
    public string SchemaText() => Text(Body, "schema") ?? throw new RegistryException(RegistryErrorCode.InvalidSchema, "Empty schema");

    /// <summary>Reads the body's <c>references</c>; none when absent.</summary>
    /// <returns>The references.</returns>
    public List<SchemaReference> References() => Body["references"] switch
    {
        null => [],
        JsonArray references => references.Select(Reference).ToList(),
        var other => throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `java.util.ArrayList<SchemaReference>` from {other.GetValueKind()} value (field \"references\")"),
    };

    /// <summary>Reads a string field as Confluent's registry does: numbers and booleans are taken as their text, objects and arrays are a 400.</summary>
    /// <param name="body">The object to read.</param>
    /// <param name="name">The field.</param>
    /// <returns>The text, or null when the field is absent or null.</returns>
    public static string? Text(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
        var other => throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `java.lang.String` from {other.GetValueKind()} value (field \"{name}\")"),
    };

    /// <summary>A route parameter, percent-decoded once: route values are segments of <see cref="RoutablePath"/>, which escaped them.</summary>
    private string? Parameter(string name) => _http.Request.RouteValues[name] is string value ? Uri.UnescapeDataString(value) : null;

    /// <summary>No Content-Type is taken as a byte stream, which the registry accepts; parameters (charset) do not matter.</summary>
    private static bool AcceptedContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return true;
        }

        var mediaType = contentType.Split(';')[0].Trim();
        return RegistryEndpoints.AcceptedContentTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase);
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

    /// <summary>Reads an integer field as Confluent's registry does: integral numbers and numeric strings, else a 400.</summary>
    private static int? Integer(JsonObject body, string name)
    {
        switch (body[name])
        {
            case null:
                return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<decimal>(out var number) && decimal.Truncate(number) is var whole && whole is >= int.MinValue and <= int.MaxValue:
                return (int)whole;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && int.TryParse(v.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed):
                return parsed;
            case var other:
                throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `java.lang.Integer` from {other.ToJsonString()} (field \"{name}\")");
        }
    }

    private static SchemaReference Reference(JsonNode? reference) => reference switch
    {
        JsonObject r when Text(r, "name") is { } name && Text(r, "subject") is { } subject && Integer(r, "version") is { } version => new SchemaReference(name, subject, version),
        null or JsonObject => throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Invalid schema reference {reference?.ToJsonString() ?? "null"}: name, subject and version are required"),
        _ => throw new RegistryException(RegistryErrorCode.BadRequest, $"Cannot deserialize value of type `SchemaReference` from {reference.GetValueKind()} value (field \"references\")"),
    };
}

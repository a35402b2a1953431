using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Compatibility;

namespace KafkaClient.SchemaRegistry.Admin;

/// <summary>Administers subjects, versions and compatibility in a Confluent Schema Registry (or the embedded one).</summary>
/// <remarks>
/// Covers what Confluent's <see cref="ISchemaRegistryClient"/> lacks: soft and permanent deletes, global and subject
/// compatibility with <see cref="CompatibilityLevel"/>, and compatibility tests that return the registry's reasons.
/// Registry errors arrive as Confluent's <see cref="SchemaRegistryException"/> with the HTTP status and error code.
/// Thread-safe.
/// </remarks>
public sealed class SchemaRegistryAdmin : IDisposable
{
    private const string ContentType = "application/vnd.schemaregistry.v1+json";
    private readonly HttpClient _http;

    /// <summary>Initializes a new instance of the <see cref="SchemaRegistryAdmin"/> class.</summary>
    /// <param name="url">The registry's base URL.</param>
    /// <param name="basicAuthUserInfo"><c>user:password</c> for basic authentication, or null.</param>
    /// <param name="timeout">The timeout of each request (default 30 seconds).</param>
    public SchemaRegistryAdmin(string url, string? basicAuthUserInfo = null, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        _http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue(ContentType));
        if (basicAuthUserInfo is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basicAuthUserInfo)));
        }
    }

    /// <summary>Gets the compatibility level of a subject (falling back to the global level) or the global level.</summary>
    /// <param name="subject">The subject, or null for the global level.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The level in force.</returns>
    public async Task<CompatibilityLevel> GetCompatibilityAsync(string? subject = null, CancellationToken cancellationToken = default)
    {
        var body = await SendAsync(HttpMethod.Get, subject is null ? "config" : $"config/{Escape(subject)}?defaultToGlobal=true", null, cancellationToken).ConfigureAwait(false);
        return Level(body!["compatibilityLevel"]!.GetValue<string>());
    }

    /// <summary>Sets the compatibility level of a subject or the global level.</summary>
    /// <param name="level">The level.</param>
    /// <param name="subject">The subject, or null for the global level.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the registry has stored it.</returns>
    public Task SetCompatibilityAsync(CompatibilityLevel level, string? subject = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Put, subject is null ? "config" : $"config/{Escape(subject)}", new JsonObject { ["compatibility"] = level.ToWireName() }, cancellationToken);

    /// <summary>Tests a schema against a subject's versions without registering it.</summary>
    /// <param name="subject">The subject.</param>
    /// <param name="schema">The schema text.</param>
    /// <param name="schemaType">JSON, PROTOBUF or AVRO.</param>
    /// <param name="version">A version number or <c>latest</c>; null to test against all versions the level requires.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>Whether it is compatible and, if not, the registry's reasons.</returns>
    public async Task<(bool IsCompatible, IReadOnlyList<string> Messages)> TestCompatibilityAsync(string subject, string schema, string schemaType = "JSON", string? version = "latest", CancellationToken cancellationToken = default)
    {
        var path = $"compatibility/subjects/{Escape(subject)}/versions{(version is null ? string.Empty : "/" + Escape(version))}?verbose=true";
        var body = await SendAsync(HttpMethod.Post, path, new JsonObject { ["schema"] = schema, ["schemaType"] = schemaType }, cancellationToken).ConfigureAwait(false);
        var messages = body!["messages"] is JsonArray list ? list.Select(m => m!.ToString()).ToList() : [];
        return (body["is_compatible"]!.GetValue<bool>(), messages);
    }

    /// <summary>Lists the subjects.</summary>
    /// <param name="includeDeleted">True to include soft-deleted subjects.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The subject names.</returns>
    public async Task<IReadOnlyList<string>> ListSubjectsAsync(bool includeDeleted = false, CancellationToken cancellationToken = default) =>
        Strings(await SendAsync(HttpMethod.Get, $"subjects?deleted={Flag(includeDeleted)}", null, cancellationToken).ConfigureAwait(false));

    /// <summary>Lists the versions of a subject.</summary>
    /// <param name="subject">The subject.</param>
    /// <param name="includeDeleted">True to include soft-deleted versions.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The version numbers, ascending.</returns>
    public async Task<IReadOnlyList<int>> ListVersionsAsync(string subject, bool includeDeleted = false, CancellationToken cancellationToken = default) =>
        Numbers(await SendAsync(HttpMethod.Get, $"subjects/{Escape(subject)}/versions?deleted={Flag(includeDeleted)}", null, cancellationToken).ConfigureAwait(false));

    /// <summary>Deletes a subject: soft (its versions can still be read by id) or permanent (soft first if needed, then gone).</summary>
    /// <param name="subject">The subject.</param>
    /// <param name="permanent">True to delete permanently.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The versions deleted.</returns>
    public async Task<IReadOnlyList<int>> DeleteSubjectAsync(string subject, bool permanent = false, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<int> deleted = [];
        try
        {
            deleted = Numbers(await SendAsync(HttpMethod.Delete, $"subjects/{Escape(subject)}", null, cancellationToken).ConfigureAwait(false));
        }
        catch (SchemaRegistryException ex) when (permanent && ex.ErrorCode == 40404)
        {
            // Already soft-deleted: go on to the permanent delete.
        }

        return permanent
            ? Numbers(await SendAsync(HttpMethod.Delete, $"subjects/{Escape(subject)}?permanent=true", null, cancellationToken).ConfigureAwait(false))
            : deleted;
    }

    /// <summary>Deletes one version of a subject, soft or permanent (soft first if needed).</summary>
    /// <param name="subject">The subject.</param>
    /// <param name="version">The version number.</param>
    /// <param name="permanent">True to delete permanently.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the version is deleted.</returns>
    public async Task DeleteVersionAsync(string subject, int version, bool permanent = false, CancellationToken cancellationToken = default)
    {
        var path = $"subjects/{Escape(subject)}/versions/{version.ToString(CultureInfo.InvariantCulture)}";
        try
        {
            await SendAsync(HttpMethod.Delete, path, null, cancellationToken).ConfigureAwait(false);
        }
        catch (SchemaRegistryException ex) when (permanent && ex.ErrorCode == 40406)
        {
            // Already soft-deleted: go on to the permanent delete.
        }

        if (permanent)
        {
            await SendAsync(HttpMethod.Delete, path + "?permanent=true", null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Releases the HTTP client.</summary>
    public void Dispose() => _http.Dispose();

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, ContentType);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        JsonNode? json = null;
        try
        {
            json = string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException) when (!response.IsSuccessStatusCode)
        {
            // A proxy's HTML error page: reported below with the status.
        }

        if (!response.IsSuccessStatusCode)
        {
            var code = json?["error_code"]?.GetValue<int>() ?? (int)response.StatusCode;
            var message = json?["message"]?.GetValue<string>() ?? response.ReasonPhrase ?? "error";
            throw new SchemaRegistryException($"{message} (HTTP status code {(int)response.StatusCode}, SR code {code})", response.StatusCode, code);
        }

        return json;
    }

    private static CompatibilityLevel Level(string name) =>
        CompatibilityLevels.TryParse(name, out var level) ? level : throw new InvalidDataException($"Unknown compatibility level \"{name}\".");

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private static string Flag(bool value) => value ? "true" : "false";

    private static List<string> Strings(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<string>()).ToList();

    private static List<int> Numbers(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<int>()).ToList();
}

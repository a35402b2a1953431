using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>A thin HTTP client for a registry's REST API: raw status, error code and body, no retries.</summary>
internal sealed class RegistryHttp(string baseUrl, TimeSpan? timeout = null) : IDisposable
{
    public const string RegistryContentType = "application/vnd.schemaregistry.v1+json";

    private readonly HttpClient _http = new() { BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    public static string JsonSchemaBody(string schema) => new JsonObject { ["schemaType"] = "JSON", ["schema"] = schema }.ToJsonString();

    public async Task<Answer> SendAsync(string method, string path, string? body = null, string? contentType = RegistryContentType, string? authorization = null, CancellationToken cancellationToken = default)
    {
        // The path is sent exactly as given (percent-encodings included).
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(_http.BaseAddress!, new Uri(path.TrimStart('/'), UriKind.Relative)));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (contentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            }
        }

        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        int? errorCode = null;
        try
        {
            if (JsonNode.Parse(text) is JsonObject o && o["error_code"] is JsonValue code && code.TryGetValue<int>(out var c))
            {
                errorCode = c;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not JSON (a raw schema, or an empty body).
        }

        return new Answer((int)response.StatusCode, errorCode, text);
    }

    public Task<Answer> GetAsync(string path, CancellationToken cancellationToken = default) => SendAsync("GET", path, cancellationToken: cancellationToken);

    public Task<Answer> PostAsync(string path, string body, CancellationToken cancellationToken = default) => SendAsync("POST", path, body, cancellationToken: cancellationToken);

    public void Dispose() => _http.Dispose();

    internal sealed record Answer(int Status, int? ErrorCode, string Body)
    {
        public override string ToString() => $"{Status} {ErrorCode} {Body}";
    }
}

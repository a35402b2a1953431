using System.Net.Sockets;
using System.Text;
using KafkaClient.Testing;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>
/// How the embedded registry maps a request target, as sent, to a route and its subject: each segment is
/// percent-decoded once before routing, so encoded literals, empty segments, dot segments, absolute-form targets and
/// upper-case subjects route as the segments read. Sent over a raw socket: HttpClient would normalise the targets.
/// </summary>
public sealed class EmbeddedRegistryRoutingTests : IAsyncLifetime
{
    private const string Schema = "{\"schemaType\":\"JSON\",\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}";

    private EmbeddedSchemaRegistry? _registry;

    public async Task InitializeAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync();
        foreach (var subject in new[] { "Mixed.Case", "%2E%2E", "a%2Fb" })
        {
            Assert.StartsWith("200 ", await SendAsync("POST", $"/subjects/{subject}/versions", Schema), StringComparison.Ordinal);
        }
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/subjects/Mixed.Case/versions", "200 [1]")]
    [InlineData("/subjects/MIXED.CASE/versions", "404 {\"error_code\":40401,")]
    [InlineData("/%73ubjects/Mixed%2ECase/versions", "200 [1]")]
    [InlineData("//subjects//Mixed.Case//versions/", "200 [1]")]
    [InlineData("/subjects/../versions", "200 [1]")]
    [InlineData("/subjects/%2E%2E/versions/latest", "200 {\"subject\":\"..\",")]
    [InlineData("/subjects/a%2Fb/versions/latest", "200 {\"subject\":\"a/b\",")]
    [InlineData("/subjects/a/b/versions", "404 {\"error_code\":404,")]
    [InlineData("/subjects/a%252Fb/versions", "404 {\"error_code\":40401,")]
    [InlineData("http://127.0.0.1/subjects/Mixed.Case/versions?deleted=true", "200 [1]")]
    [InlineData("/Subjects/Mixed.Case/versions", "404 {\"error_code\":404,")]
    public async Task Target_routes_as_its_segments_decoded_once(string target, string expected)
    {
        Assert.StartsWith(expected, await SendAsync("GET", target), StringComparison.Ordinal);
    }

    /// <summary>Sends an HTTP/1.0 request with the target as given; returns the status and the body.</summary>
    private async Task<string> SendAsync(string method, string target, string? body = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", new Uri(_registry!.Url).Port);
        var stream = client.GetStream();
        var content = Encoding.UTF8.GetBytes(body ?? string.Empty);
        var head = $"{method} {target} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {content.Length}\r\n"
            + (body is null ? string.Empty : $"Content-Type: {RegistryHttp.RegistryContentType}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(content);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync();
        return response.Split(' ')[1] + " " + response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    }
}

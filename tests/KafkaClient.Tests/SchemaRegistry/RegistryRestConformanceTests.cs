using KafkaClient.Testing;
using Xunit.Abstractions;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>One request to a registry; <c>{s}</c> in the path is the case's own subject, <c>{id}</c> the last id a setup step answered.</summary>
internal sealed record RestStep(string Method, string Path, string? Body = null, string? ContentType = RegistryHttp.RegistryContentType, string? Authorization = null);

/// <summary>A REST conformance case: setup steps that must succeed, then a probe with Confluent's status and error code.</summary>
internal sealed record RestCase(string Name, RestStep[] Setup, RestStep Probe, int Status, int? ErrorCode, string? BodyContains = null);

/// <summary>
/// What Confluent Schema Registry answers to bad or unusual requests (input → status, error code), run against the
/// embedded registry always and against a real registry when <c>SCHEMA_REGISTRY_URL</c> points at one.
/// </summary>
public sealed class RegistryRestConformanceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string RealRegistryVariable = "SCHEMA_REGISTRY_URL";
    private const string Json = "{\"type\":\"string\"}";

    // A schema of the case's own (its id is no other case's), and a subject-level compatibility.
    private const string OwnBody = "{\"schemaType\":\"JSON\",\"schema\":\"{\\\"type\\\":\\\"string\\\",\\\"description\\\":\\\"{s}\\\"}\"}";
    private static readonly RestStep Own = new("POST", "subjects/{s}/versions", OwnBody);
    private static readonly RestStep Config = new("PUT", "config/{s}", "{\"compatibility\":\"FULL\"}");

    private static readonly RestCase[] Cases =
    [
        // Malformed requests: Confluent answers 400 to a body that is not JSON or not of the request's shape
        // (Jackson's parse and mapping errors), 422 with a registry error code otherwise. Never a 500.
        new("unparsable body", [], Register("{\"schemaType\":\"JSON\",\"schema\":"), 400, 400),
        new("unparsable config body", [], new("PUT", "config/{s}", "{compatibility: FULL"), 400, 400),
        new("unparsable compatibility body", [RegisterJson(Json)], new("POST", "compatibility/subjects/{s}/versions/latest", "not json"), 400, 400),
        new("body is a JSON array", [], Register("[1]"), 400, 400),
        new("schema as a number", [], Register("{\"schemaType\":\"JSON\",\"schema\":5}"), 422, 42201),
        new("schema as an object", [], Register("{\"schemaType\":\"JSON\",\"schema\":{\"type\":\"string\"}}"), 400, 400),
        new("schemaType as a number", [], Register("{\"schemaType\":5,\"schema\":\"{}\"}"), 422, 42201),
        new("references not an array", [], Register(WithReferences("5")), 400, 400),
        new("reference not an object", [], Register(WithReferences("[5]")), 400, 400),
        new("reference without name, subject or version", [], Register(WithReferences("[{}]")), 422, 42201),
        new("reference version not a number", [], Register(WithReferences("[{\"name\":\"n\",\"subject\":\"x\",\"version\":\"one\"}]")), 400, 400),
        new("compatibility as a number", [], new("PUT", "config/{s}", "{\"compatibility\":5}"), 422, 42203),
        new("mode as an array", [], new("PUT", "mode/{s}", "{\"mode\":[1]}"), 400, 400),
        new("object schema in a compatibility request", [RegisterJson(Json)], new("POST", "compatibility/subjects/{s}/versions/latest", "{\"schemaType\":\"JSON\",\"schema\":{\"type\":\"string\"}}"), 400, 400),
        new("minLength 1e20", [], RegisterJson("{\"type\":\"string\",\"minLength\":1e20}"), 422, 42201),
        new("required [null]", [], RegisterJson("{\"type\":\"object\",\"required\":[null]}"), 422, 42201),
        new("type [null]", [], RegisterJson("{\"type\":[null]}"), 422, 42201),
        new("dependencies {a: [null]}", [], RegisterJson("{\"type\":\"object\",\"dependencies\":{\"a\":[null]}}"), 422, 42201),
        new("multipleOf 0", [], RegisterJson("{\"type\":\"number\",\"multipleOf\":0}"), 422, 42201),

        // Subjects in paths are percent-decoded exactly once; control characters are refused.
        new("subject %252F decoded once", [new("POST", "subjects/{s}%252Fb/versions", RegistryHttp.JsonSchemaBody(Json))], new("GET", "subjects/{s}%252Fb/versions/latest"), 200, null, "\"subject\":\"{s}%2Fb\""),
        new("subject %252F is not the subject with a slash", [new("POST", "subjects/{s}%252Fb/versions", RegistryHttp.JsonSchemaBody(Json))], new("GET", "subjects/{s}%2Fb/versions"), 404, 40401),
        new("subject %252E%252E decoded once", [new("POST", "subjects/{s}%252E%252E/versions", RegistryHttp.JsonSchemaBody(Json))], new("GET", "subjects/{s}%252E%252E/versions/latest"), 200, null, "\"subject\":\"{s}%2E%2E\""),
        new("subject with a control character", [], new("POST", "subjects/{s}%01x/versions", RegistryHttp.JsonSchemaBody(Json)), 422, 42208),
        new("subject with a line feed", [], new("POST", "subjects/{s}%0Ax/versions", RegistryHttp.JsonSchemaBody(Json)), 422, 42208),

        // A schema that made the diff exponential: the second version is checked at once (the HTTP timeout is 30 s).
        new("second version of 14 layers of shared $ref", [RegisterJson(EmbeddedRegistryDenialOfServiceTests.LayeredSchema(14))], RegisterJson(EmbeddedRegistryDenialOfServiceTests.LayeredSchema(14, rootDescription: "second")), 200, null),

        // Paths: an unknown path is a 404 whatever its content type or body (the resource is matched first), a known
        // path without the method a 405, and paths are case-sensitive.
        new("unknown path", [], new("GET", "subjects/{s}/versions/1/nope"), 404, 404),
        new("unknown path with a body that is not JSON", [], new("POST", "subjects/{s}/versions/1/nope", "not json"), 404, 404),
        new("unknown path with a text/plain body", [], new("POST", "subjects/{s}/versions/1/nope", "{}", "text/plain"), 404, 404),
        new("upper-case path", [RegisterJson(Json)], new("GET", "Subjects/{s}/versions"), 404, 404),
        new("method not allowed", [], new("PUT", "subjects", "{}"), 405, 405),
        new("method not allowed on a subject", [RegisterJson(Json)], new("GET", "subjects/{s}"), 405, 405),
        new("method not allowed before the content type", [], new("PUT", "subjects/{s}/versions", "{}", "text/plain"), 405, 405),

        // A hard delete removes the schema id unless another version (soft-deleted ones included) still has it.
        new("hard-deleted version's id is gone", [Own, new("DELETE", "subjects/{s}/versions/1"), new("DELETE", "subjects/{s}/versions/1?permanent=true")], new("GET", "schemas/ids/{id}"), 404, 40403),
        new("hard-deleted subject's id is gone", [Own, new("DELETE", "subjects/{s}"), new("DELETE", "subjects/{s}?permanent=true")], new("GET", "schemas/ids/{id}"), 404, 40403),
        new("id still used by another subject stays", [Own, new("POST", "subjects/{s}-other/versions", OwnBody), new("DELETE", "subjects/{s}"), new("DELETE", "subjects/{s}?permanent=true")], new("GET", "schemas/ids/{id}"), 200, null),
        new("subjects of an id are listed once", [Own, new("DELETE", "subjects/{s}/versions/1"), Own], new("GET", "schemas/ids/{id}/subjects?deleted=true"), 200, null, "[\"{s}\"]"),
        new("soft-deleted version's id stays", [Own, new("DELETE", "subjects/{s}/versions/1")], new("GET", "schemas/ids/{id}"), 200, null),

        // Media types: Confluent's JSON types and a byte stream are accepted, others are 415.
        new("text/plain body", [], Register(RegistryHttp.JsonSchemaBody(Json)) with { ContentType = "text/plain" }, 415, 415),
        new("application/xml body", [], Register(RegistryHttp.JsonSchemaBody(Json)) with { ContentType = "application/xml" }, 415, 415),
        new("text/plain config", [], new("PUT", "config/{s}", "{\"compatibility\":\"FULL\"}", "text/plain"), 415, 415),
        new("application/json body", [], Register(RegistryHttp.JsonSchemaBody(Json)) with { ContentType = "application/json; charset=utf-8" }, 200, null),
        new("application/octet-stream body", [], Register(RegistryHttp.JsonSchemaBody(Json)) with { ContentType = "application/octet-stream" }, 200, null),
        new("no Content-Type", [], Register(RegistryHttp.JsonSchemaBody(Json)) with { ContentType = null }, 200, null),

        // Versions are checked before subjects.
        new("invalid version of a missing subject", [], new("GET", "subjects/{s}/versions/abc"), 422, 42202),
        new("version 0 of a missing subject", [], new("GET", "subjects/{s}/versions/0"), 422, 42202),
        new("deleting an invalid version of a missing subject", [], new("DELETE", "subjects/{s}/versions/abc"), 422, 42202),
        new("compatibility with an invalid version of a missing subject", [], new("POST", "compatibility/subjects/{s}/versions/abc", RegistryHttp.JsonSchemaBody(Json)), 422, 42202),
        new("valid version of a missing subject", [], new("GET", "subjects/{s}/versions/7"), 404, 40401),
        new("missing version of a subject", [RegisterJson(Json)], new("GET", "subjects/{s}/versions/7"), 404, 40402),

        // A subject without live versions keeps no compatibility level of its own.
        new("permanent subject delete forgets its compatibility", [Config, RegisterJson(Json), new("DELETE", "subjects/{s}"), new("DELETE", "subjects/{s}?permanent=true")], new("GET", "config/{s}"), 404, 40408),
        new("soft subject delete forgets its compatibility", [Config, RegisterJson(Json), new("DELETE", "subjects/{s}")], new("GET", "config/{s}"), 404, 40408),
        new("permanent delete of the last version forgets its compatibility", [Config, RegisterJson(Json), new("DELETE", "subjects/{s}/versions/1"), new("DELETE", "subjects/{s}/versions/1?permanent=true")], new("GET", "config/{s}"), 404, 40408),
        new("compatibility of a subject with versions stays", [Config, RegisterJson(Json)], new("GET", "config/{s}"), 200, null, "FULL"),
    ];

    private EmbeddedSchemaRegistry? _embedded;

    public static TheoryData<string> CaseNames => [.. Cases.Select(c => c.Name)];

    public async Task InitializeAsync() => _embedded = await EmbeddedSchemaRegistry.StartAsync();

    public async Task DisposeAsync()
    {
        if (_embedded is not null)
        {
            await _embedded.DisposeAsync();
        }
    }

    /// <summary>Each row runs against the embedded registry, and also against a real one when <c>SCHEMA_REGISTRY_URL</c> names it.</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Registry_answers_as_confluent(string name)
    {
        var row = Cases.Single(c => c.Name == name);
        await RunAsync(_embedded!.Url, row);
        if (Environment.GetEnvironmentVariable(RealRegistryVariable) is { Length: > 0 } real)
        {
            await RunAsync(real, row);
        }
    }

    [Fact]
    public async Task Basic_scheme_is_case_insensitive_and_credentials_are_not()
    {
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { BasicAuthUserInfo = "user:secret" });
        using var http = new RegistryHttp(registry.Url);
        static string Credentials(string userInfo) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(userInfo));
        foreach (var scheme in new[] { "Basic", "basic", "BASIC", "bAsIc" })
        {
            Assert.Equal(200, (await http.SendAsync("GET", "subjects", authorization: $"{scheme} {Credentials("user:secret")}")).Status);
        }

        foreach (var wrong in new[] { $"Basic {Credentials("user:Secret")}", $"Basic {Credentials("User:secret")}", $"Bearer {Credentials("user:secret")}", "Basic !!", "Basic" })
        {
            var answer = await http.SendAsync("GET", "subjects", authorization: wrong);
            Assert.Equal((401, 401), (answer.Status, answer.ErrorCode));
        }

        Assert.Equal(401, (await http.SendAsync("GET", "subjects")).Status);
    }

    /// <summary>
    /// The embedded registry has no associations and answers every lookup as Confluent's registry (8.x) does for a topic or
    /// subject without any: 200 and an empty list, which sends the serializers' default Associated subject name strategy to
    /// its fallback (the topic name). Embedded only: a registry older than associations answers 404, which those
    /// strategies take the same way.
    /// </summary>
    [Fact]
    public async Task Associations_are_an_empty_list()
    {
        using var http = new RegistryHttp(_embedded!.Url);
        foreach (var path in new[]
        {
            "associations/resources/-/orders?resourceType=topic&associationType=value", // Confluent's JavaScript serializer
            "associations/resources/lkc-1/orders%2Feu?resourceType=topic&associationType=key&associationType=value&lifecycle=STRONG&offset=1&limit=10",
            "associations/resources/some-resource-id?resourceType=topic",
            "associations/subjects/orders-value",
        })
        {
            var answer = await http.GetAsync(path);
            Assert.Equal((200, "[]"), (answer.Status, answer.Body));
        }

        using var client = new Confluent.SchemaRegistry.CachedSchemaRegistryClient(new Confluent.SchemaRegistry.SchemaRegistryConfig { Url = _embedded.Url });
        Assert.Empty(await client.GetAssociationsByResourceNameAsync("orders", "-", "topic", ["value"], null, 0, -1));
    }

    internal static RestStep Register(string body) => new("POST", "subjects/{s}/versions", body);

    internal static RestStep RegisterJson(string schema) => Register(RegistryHttp.JsonSchemaBody(schema));

    private static string WithReferences(string references) => $"{{\"schemaType\":\"JSON\",\"schema\":\"{{}}\",\"references\":{references}}}";

    private async Task RunAsync(string url, RestCase test)
    {
        using var http = new RegistryHttp(url);
        var subject = $"conformance-{Guid.NewGuid():N}";
        string? id = null;
        string Fill(string path) => path.Replace("{s}", subject, StringComparison.Ordinal).Replace("{id}", id, StringComparison.Ordinal);
        foreach (var step in test.Setup)
        {
            var setup = await http.SendAsync(step.Method, Fill(step.Path), step.Body is null ? null : Fill(step.Body), step.ContentType, step.Authorization);
            Assert.True(setup.Status < 300, $"setup {step.Method} {step.Path} of '{test.Name}': {setup}");
            if (System.Text.Json.Nodes.JsonNode.Parse(setup.Body) is System.Text.Json.Nodes.JsonObject o && o["id"] is { } answered)
            {
                id = answered.ToJsonString();
            }
        }

        var probe = test.Probe;
        var answer = await http.SendAsync(probe.Method, Fill(probe.Path), probe.Body is null ? null : Fill(probe.Body), probe.ContentType, probe.Authorization);
        output.WriteLine($"{test.Name}: {probe.Method} {Fill(probe.Path)} {probe.Body} -> {answer}");
        Assert.Equal((test.Status, test.ErrorCode), (answer.Status, answer.ErrorCode));
        if (test.BodyContains is { } expected)
        {
            Assert.Contains(Fill(expected), answer.Body, StringComparison.Ordinal);
        }

        Assert.False(string.IsNullOrWhiteSpace(answer.Body), "an error answer has a body with a message");
    }
}

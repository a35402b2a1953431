using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.SchemaRegistry;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.Testing;
using KafkaClient.Tests.Protos.Attack;
using FieldType = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Type;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>
/// Malformed Protobuf registrations, compatibility checks and lookups on the embedded registry: every answer must be
/// the one Confluent's registry gives (a 4xx with its error code), never a 500 and never a hang; and Confluent's own
/// .NET registry client must get from it what it gets from Confluent's.
/// </summary>
public sealed class EmbeddedRegistryProtobufAttackTests : IAsyncLifetime
{
    private const string A = "syntax = \"proto3\";\npackage p;\nmessage A { string s = 1; }\n";
    private const string ImportsA = "syntax = \"proto3\";\npackage q;\nimport \"a.proto\";\nmessage B { p.A a = 1; }\n";

    private EmbeddedSchemaRegistry _registry = null!;
    private RegistryHttp _http = null!;

    public async Task InitializeAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync();
        _http = new RegistryHttp(_registry.Url, TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _registry.DisposeAsync();
    }

    private static string Body(string schema, string? schemaType = "PROTOBUF", params (string Name, string Subject, int Version)[] references)
    {
        var body = new JsonObject
        {
            ["schema"] = schema,
            ["references"] = new JsonArray([.. references.Select(r => (JsonNode)new JsonObject { ["name"] = r.Name, ["subject"] = r.Subject, ["version"] = r.Version })]),
        };
        if (schemaType is not null)
        {
            body["schemaType"] = schemaType;
        }

        return body.ToJsonString();
    }

    private static string Base64(FileDescriptorProto file) => file.ToByteString().ToBase64();

    private async Task<RegistryHttp.Answer> PostAsync(string path, string body)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await _http.SendAsync("POST", path, body, cancellationToken: bound.Token);
    }

    private async Task<int> RegisterAsync(string subject, string schema, params (string, string, int)[] references)
    {
        var answer = await PostAsync($"/subjects/{Uri.EscapeDataString(subject)}/versions", Body(schema, "PROTOBUF", references));
        Assert.True(answer.Status == 200, answer.ToString());
        return JsonNode.Parse(answer.Body)!["id"]!.GetValue<int>();
    }

    // ---- Defects ----

    [Fact]
    public async Task A_body_beyond_the_servers_request_limit_is_a_4xx_not_a_500()
    {
        // Kestrel refuses a body over 30,000,000 bytes with BadHttpRequestException (413); the registry answers it as a
        // bug of its own: 500 with error code 50001. A client that checks Content-Length first gets it at once.
        var url = new Uri(_registry.Url);
        using var tcp = new TcpClient();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await tcp.ConnectAsync(url.Host, url.Port, bound.Token);
        var stream = tcp.GetStream();
        var head = $"POST /subjects/huge/versions HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: 40000000\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), bound.Token);
        await stream.WriteAsync(Encoding.ASCII.GetBytes("{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax = \\\"proto3\\\"; message A {} //"), bound.Token);
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer, bound.Token);
        var answer = Encoding.ASCII.GetString(buffer, 0, read);
        var status = int.Parse(answer.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(status is >= 400 and < 500, answer);
    }

    [Theory]
    [InlineData("protobuf")]
    [InlineData("Protobuf")]
    [InlineData("json")]
    public async Task Schema_types_are_case_sensitive_as_in_confluents_registry(string schemaType)
    {
        // Confluent's registry looks the provider up by the exact name (AVRO, JSON, PROTOBUF): another spelling is
        // "Invalid schema type protobuf", 422 / 42201. The embedded registry upper-cases it, so a client that sends the
        // wrong spelling works in tests and fails in production.
        var schema = schemaType.Equals("json", StringComparison.OrdinalIgnoreCase) ? "{\"type\":\"object\"}" : A;
        var answer = await PostAsync("/subjects/casing/versions", Body(schema, schemaType));
        Assert.True((answer.Status, answer.ErrorCode) == (422, 42201), answer.ToString());
        Assert.Contains($"Invalid schema type {schemaType}", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reference_to_version_minus_one_is_the_subjects_latest_version()
    {
        // Confluent's registry resolves a reference's version -1 to the subject's latest version and stores that number
        // (AbstractSchemaProvider.resolveReferences); the embedded one finds no version -1 and answers 42201.
        _ = await RegisterAsync("a.proto", A);
        _ = await RegisterAsync("a.proto", A.Replace("string s = 1;", "string s = 1; int32 t = 2;", StringComparison.Ordinal));
        var answer = await PostAsync("/subjects/b/versions", Body(ImportsA, "PROTOBUF", ("a.proto", "a.proto", -1)));
        Assert.True(answer.Status == 200, answer.ToString());
        var stored = JsonNode.Parse((await _http.GetAsync("/subjects/b/versions/1")).Body)!;
        Assert.Equal(2, stored["references"]![0]!["version"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_reference_name_must_match_its_import_exactly()
    {
        // protoc (and Confluent's registry) resolve imports by exact path; the embedded registry compares them ignoring
        // case, and then serves a schema whose reference name no Confluent client can match to the import.
        _ = await RegisterAsync("a.proto", A);
        var answer = await PostAsync("/subjects/b/versions", Body(ImportsA, "PROTOBUF", ("A.proto", "a.proto", 1)));
        Assert.True((answer.Status, answer.ErrorCode) == (422, 42201), answer.ToString());
    }

    public static TheoryData<string, string> DescriptorsProtobufCannotBuild()
    {
        static FieldDescriptorProto Field(string name, int number, FieldType type) => new() { Name = name, Number = number, Type = type };
        var data = new TheoryData<string, string>();
        void Add(string what, FileDescriptorProto file) => data.Add(what, Base64(file));
        Add("a scalar field with a type name", new() { Syntax = "proto3", MessageType = { new DescriptorProto { Name = "M", Field = { new FieldDescriptorProto { Name = "f", Number = 1, Type = FieldType.Int32, TypeName = ".M" } } } } });
        Add("a oneof index out of range", new() { Syntax = "proto3", MessageType = { new DescriptorProto { Name = "M", Field = { new FieldDescriptorProto { Name = "f", Number = 1, Type = FieldType.Int32, OneofIndex = 5 } } } } });
        Add("a negative oneof index", new() { Syntax = "proto3", MessageType = { new DescriptorProto { Name = "M", Field = { new FieldDescriptorProto { Name = "f", Number = 1, Type = FieldType.Int32, OneofIndex = -3 } } } } });
        Add("an enum without values", new() { Syntax = "proto3", EnumType = { new EnumDescriptorProto { Name = "E" } } });
        Add("two messages of one name", new() { Syntax = "proto3", MessageType = { new DescriptorProto { Name = "M" }, new DescriptorProto { Name = "M" } } });
        Add("two enum values of one name", new() { Syntax = "proto3", EnumType = { new EnumDescriptorProto { Name = "E", Value = { new EnumValueDescriptorProto { Name = "A", Number = 0 }, new EnumValueDescriptorProto { Name = "A", Number = 1 } } } } });
        Add("a field and a nested message of one name", new() { Syntax = "proto3", MessageType = { new DescriptorProto { Name = "M", NestedType = { new DescriptorProto { Name = "f" } }, Field = { Field("f", 1, FieldType.Int32) } } } });
        return data;
    }

    [Theory]
    [MemberData(nameof(DescriptorsProtobufCannotBuild))]
    public async Task A_descriptor_that_protobuf_cannot_build_is_refused_with_42201(string what, string base64)
    {
        // Confluent's registry validates a Protobuf schema by building its descriptor (Descriptors.FileDescriptor.buildFrom):
        // these are 42201 there. The embedded registry stores them, and the untyped decoder then cannot read their records.
        var answer = await PostAsync("/subjects/broken/versions", Body(base64));
        Assert.True((answer.Status, answer.ErrorCode) == (422, 42201), $"{what}: {answer}");
    }

    // ---- What held up ----

    [Fact]
    public async Task References_that_do_not_resolve_are_42201()
    {
        _ = await RegisterAsync("a.proto", A);
        _ = await RegisterAsync("c.proto", "syntax = \"proto3\"; package c; message C {}");
        Assert.Equal(200, (await _http.SendAsync("DELETE", "/subjects/c.proto/versions/1")).Status);
        var selfImport = new FileDescriptorProto { Name = "self.proto", Syntax = "proto3", Dependency = { "self.proto" }, MessageType = { new DescriptorProto { Name = "S" } } };
        foreach (var (what, body) in new (string, string)[]
        {
            ("a missing subject", Body(ImportsA, "PROTOBUF", ("a.proto", "nope", 1))),
            ("a missing version", Body(ImportsA, "PROTOBUF", ("a.proto", "a.proto", 7))),
            ("version 0", Body(ImportsA, "PROTOBUF", ("a.proto", "a.proto", 0))),
            ("a name that no import has", Body(ImportsA, "PROTOBUF", ("other.proto", "a.proto", 1))),
            ("no reference at all", Body(ImportsA)),
            ("a soft-deleted version", Body("syntax = \"proto3\"; import \"c.proto\"; message D { c.C c = 1; }", "PROTOBUF", ("c.proto", "c.proto", 1))),
            ("a descriptor importing itself", Body(Base64(selfImport))),
            ("a JSON schema as the import", Body("syntax = \"proto3\"; import \"j.proto\"; message B {}", "PROTOBUF", ("j.proto", "j", 1))),
        })
        {
            if (what.StartsWith("a JSON", StringComparison.Ordinal))
            {
                Assert.Equal(200, (await PostAsync("/subjects/j/versions", Body("{\"type\":\"object\"}", "JSON"))).Status);
            }

            var register = await PostAsync("/subjects/b/versions", body);
            Assert.True((register.Status, register.ErrorCode) == (422, 42201), $"{what}: {register}");
            var compatibility = await PostAsync("/compatibility/subjects/a.proto/versions/latest", body);
            Assert.True(compatibility.Status == 422, $"{what}: {compatibility}");
            var lookup = await PostAsync("/subjects/a.proto", body);
            Assert.True(lookup.Status is 404 or 422, $"{what}: {lookup}");
        }
    }

    [Fact]
    public async Task Duplicate_references_and_a_schema_importing_its_own_subject_are_answered_without_a_5xx()
    {
        _ = await RegisterAsync("a.proto", A);
        var duplicate = await PostAsync("/subjects/dup/versions", Body(ImportsA, "PROTOBUF", ("a.proto", "a.proto", 1), ("a.proto", "a.proto", 1)));
        Assert.True(duplicate.Status is 200 or 422, duplicate.ToString());

        // a.proto v2 imports b.proto, which imports a.proto v1: resolved by version, not a cycle.
        _ = await RegisterAsync("b.proto", ImportsA, ("a.proto", "a.proto", 1));
        var loop = await PostAsync("/subjects/a.proto/versions", Body("syntax = \"proto3\";\npackage p;\nimport \"b.proto\";\nmessage A { string s = 1; q.B b = 2; }\n", "PROTOBUF", ("b.proto", "b.proto", 1)));
        Assert.True(loop.Status is 200 or 409 or 422, loop.ToString());
    }

    [Fact]
    public async Task Large_schemas_are_answered_in_bounded_time()
    {
        var chain = new StringBuilder("syntax = \"proto3\";");
        for (var i = 1; i <= 10_000; i++)
        {
            chain.Append(System.Globalization.CultureInfo.InvariantCulture, $" message M{i} {{ M{Math.Max(1, i - 1)} prev = 1; }}");
        }

        var fields = new StringBuilder("syntax = \"proto3\"; message Big {");
        for (var i = 1; i <= 15_000; i++)
        {
            fields.Append(System.Globalization.CultureInfo.InvariantCulture, $" int32 f{i} = {i};");
        }

        fields.Append('}');
        Assert.Equal(200, (await PostAsync("/subjects/chain/versions", Body(chain.ToString()))).Status);
        Assert.Equal(200, (await PostAsync("/subjects/chain/versions", Body(chain + " message Extra {}"))).Status);
        Assert.Equal(200, (await PostAsync("/subjects/big/versions", Body(fields.ToString()))).Status);
        var changed = await PostAsync("/subjects/big/versions", Body(fields.ToString().Replace("int32 f1 = 1;", "string f1 = 1;", StringComparison.Ordinal)));
        Assert.True((changed.Status, changed.ErrorCode) == (409, 409), changed.ToString());
    }

    [Fact]
    public async Task Confluents_client_looks_up_and_fetches_both_forms_as_from_confluents_registry()
    {
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url, MaxRetries = 1 });
        var descriptor = Animal.Descriptor.File.SerializedData.ToBase64();
        var id = await client.RegisterSchemaAsync("zoo-value", new Schema(descriptor, SchemaType.Protobuf));

        // Fetched by id: .proto text by default, the registered descriptor with format=serialized, on any client.
        using var fresh = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = _registry.Url, MaxRetries = 1 });
        Assert.Equal(descriptor, (await fresh.GetSchemaAsync(id, "serialized")).SchemaString);
        Assert.Equal(descriptor, (await fresh.GetSchemaBySubjectAndIdAsync("zoo-value", id, "serialized")).SchemaString);
        var text = (await fresh.GetSchemaAsync(id)).SchemaString;
        Assert.Contains("message Animal {", text, StringComparison.Ordinal);

        // Looked up in either form: the same version.
        var byDescriptor = await fresh.LookupSchemaAsync("zoo-value", new Schema(descriptor, SchemaType.Protobuf), ignoreDeletedSchemas: true);
        var byText = await fresh.LookupSchemaAsync("zoo-value", new Schema(text, SchemaType.Protobuf), ignoreDeletedSchemas: true);
        Assert.Equal((id, 1), (byDescriptor.Id, byDescriptor.Version));
        Assert.Equal((id, 1), (byText.Id, byText.Version));
        Assert.Equal(ProtobufSchema.Parse(descriptor).Canonical, ProtobufSchema.Parse(text).Canonical);

        // Another schema is not found (40403), typed as Confluent's client reports it.
        var other = await Assert.ThrowsAsync<SchemaRegistryException>(() => fresh.LookupSchemaAsync("zoo-value", new Schema(A, SchemaType.Protobuf), ignoreDeletedSchemas: true));
        Assert.Equal(40403, other.ErrorCode);
    }
}

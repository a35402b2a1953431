using System.Text.Json.Nodes;
using Google.Protobuf;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.Testing;
using KafkaClient.Tests.Protos;
using KafkaClient.Tests.Protos.Orders;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Protobuf in the embedded registry over its REST API: both schema forms, references, GET formats, and bad input answered with 4xx.</summary>
public sealed class EmbeddedRegistryProtobufTests : IAsyncLifetime
{
    private const string UserText = """
        syntax = "proto3";
        package kafkaclient.tests;
        option csharp_namespace = "KafkaClient.Tests.Protos";
        message User {
          string name = 1;
          int64 favorite_number = 2;
          string favorite_color = 3;
          string twitter_handle = 4;
        }
        """;

    private EmbeddedSchemaRegistry _registry = null!;
    private RegistryHttp _http = null!;

    public async Task InitializeAsync()
    {
        _registry = await EmbeddedSchemaRegistry.StartAsync();
        _http = new RegistryHttp(_registry.Url);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _registry.DisposeAsync();
    }

    private static string Body(string schema, params (string Name, string Subject, int Version)[] references) => new JsonObject
    {
        ["schemaType"] = "PROTOBUF",
        ["schema"] = schema,
        ["references"] = new JsonArray([.. references.Select(r => (JsonNode)new JsonObject { ["name"] = r.Name, ["subject"] = r.Subject, ["version"] = r.Version })]),
    }.ToJsonString();

    private async Task<int> RegisterAsync(string subject, string schema, params (string, string, int)[] references)
    {
        var answer = await _http.SendAsync("POST", $"/subjects/{Uri.EscapeDataString(subject)}/versions", Body(schema, references));
        Assert.True(answer.Status == 200, answer.Body);
        return JsonNode.Parse(answer.Body)!["id"]!.GetValue<int>();
    }

    [Fact]
    public async Task Text_and_serialized_descriptor_of_one_file_get_one_id()
    {
        var fromText = await RegisterAsync("users-text", UserText);
        var fromDescriptor = await RegisterAsync("users-descriptor", User.Descriptor.File.SerializedData.ToBase64());
        Assert.Equal(fromText, fromDescriptor);

        // Text with other spacing and comments is the same schema too.
        Assert.Equal(fromText, await RegisterAsync("users-spaced", "// a comment\n" + UserText.Replace("  ", "      ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Get_answers_text_as_registered_and_a_descriptor_with_format_serialized()
    {
        var id = await RegisterAsync("users", UserText);
        var text = JsonNode.Parse((await _http.SendAsync("GET", $"/schemas/ids/{id}")).Body)!;
        Assert.Equal(UserText, text["schema"]!.GetValue<string>());
        Assert.Equal("PROTOBUF", text["schemaType"]!.GetValue<string>());

        var serialized = JsonNode.Parse((await _http.SendAsync("GET", $"/schemas/ids/{id}?format=serialized")).Body)!["schema"]!.GetValue<string>();
        Assert.Equal(ProtobufSchema.Parse(UserText).Canonical, ProtobufSchema.Parse(serialized).Canonical);
        var version = JsonNode.Parse((await _http.SendAsync("GET", "/subjects/users/versions/1?format=serialized")).Body)!;
        Assert.Equal(serialized, version["schema"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_registered_descriptor_is_served_as_proto_text_by_default_and_as_itself_serialized()
    {
        var money = ProtobufSchemaTests.ProtoSource("common/money.proto");
        _ = await RegisterAsync("common/money.proto", money);
        var descriptor = Order.Descriptor.File.SerializedData.ToBase64();
        var id = await RegisterAsync("orders-text", descriptor, ("common/money.proto", "common/money.proto", 1));

        var text = JsonNode.Parse((await _http.SendAsync("GET", $"/schemas/ids/{id}")).Body)!["schema"]!.GetValue<string>();
        Assert.Contains("message Order {", text, StringComparison.Ordinal);
        Assert.Contains("import \"google/protobuf/timestamp.proto\";", text, StringComparison.Ordinal);
        ProtobufDependency[] dependencies = [new("common/money.proto", money)];
        Assert.Equal(ProtobufSchema.Parse(descriptor, dependencies).Canonical, ProtobufSchema.Parse(text, dependencies).Canonical);
        Assert.Equal(text, (await _http.SendAsync("GET", $"/schemas/ids/{id}/schema")).Body);

        var serialized = JsonNode.Parse((await _http.SendAsync("GET", $"/schemas/ids/{id}?format=serialized")).Body)!["schema"]!.GetValue<string>();
        Assert.Equal(descriptor, serialized);
    }

    [Fact]
    public async Task References_resolve_imports_and_a_missing_one_is_refused()
    {
        var money = ProtobufSchemaTests.ProtoSource("common/money.proto");
        _ = await RegisterAsync("common/money.proto", money);
        var order = ProtobufSchemaTests.ProtoSource("orders/order.proto");
        var id = await RegisterAsync("orders-value", order, ("common/money.proto", "common/money.proto", 1));

        // The generated class's descriptor with the same reference is the same schema.
        Assert.Equal(id, await RegisterAsync("orders-descriptor", Order.Descriptor.File.SerializedData.ToBase64(), ("common/money.proto", "common/money.proto", 1)));

        var missing = await _http.SendAsync("POST", "/subjects/orphans/versions", Body(order));
        Assert.Equal((422, 42201), (missing.Status, missing.ErrorCode));
        Assert.Contains("common/money.proto", missing.Body, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadSchemas() => new()
    {
        { "garbage", "this is not protobuf" },
        { "unknown type", "syntax = \"proto3\"; message A { B b = 1; }" },
        { "duplicate field number", "syntax = \"proto3\"; message A { int32 a = 1; int32 b = 1; }" },
        { "field number out of range", "syntax = \"proto3\"; message A { int32 a = 536870912; }" },
        { "self import", "syntax = \"proto3\"; import \"self.proto\"; message A {}" },
        { "unterminated", "syntax = \"proto3\"; message A { int32 a = 1;" },
        { "base64 of garbage", Convert.ToBase64String("\u0001\u0002\u0003not a descriptor"u8.ToArray()) },
        { "deeply nested", "syntax = \"proto3\"; " + string.Concat(Enumerable.Repeat("message M { ", 10_000)) + string.Concat(Enumerable.Repeat("} ", 10_000)) },
        { "huge number", "syntax = \"proto3\"; message A { int32 a = 99999999999999999999999; }" },
    };

    [Theory]
    [MemberData(nameof(BadSchemas))]
    public async Task Bad_protobuf_is_422_with_42201_never_a_5xx(string what, string schema)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = await _http.SendAsync("POST", "/subjects/bad/versions", Body(schema), cancellationToken: timeout.Token);
        Assert.True((answer.Status, answer.ErrorCode) == (422, 42201), $"{what}: {answer.Status} {answer.Body}");
        var compatibility = await _http.SendAsync("POST", "/compatibility/subjects/bad/versions", Body(schema), cancellationToken: timeout.Token);
        Assert.True(compatibility.Status is 422 or 404, $"{what}: {compatibility.Status} {compatibility.Body}");
    }

    [Fact]
    public async Task Backward_compatibility_follows_confluents_protobuf_rules()
    {
        _ = await RegisterAsync("evolving", UserText);

        // Adding a field is compatible; changing a field's scalar kind is not.
        var added = UserText.Replace("string twitter_handle = 4;", "string twitter_handle = 4;\n  string email = 5;", StringComparison.Ordinal);
        _ = await RegisterAsync("evolving", added);
        var changed = added.Replace("int64 favorite_number = 2;", "string favorite_number = 2;", StringComparison.Ordinal);
        var refused = await _http.SendAsync("POST", "/subjects/evolving/versions", Body(changed));
        Assert.Equal((409, 409), (refused.Status, refused.ErrorCode));
        Assert.Contains("FIELD_SCALAR_KIND_CHANGED", refused.Body, StringComparison.Ordinal);
        Assert.Contains("#/User/2", refused.Body, StringComparison.Ordinal);
        Assert.Contains("compatibility: 'BACKWARD'", JsonNode.Parse(refused.Body)!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        var test = JsonNode.Parse((await _http.SendAsync("POST", "/compatibility/subjects/evolving/versions/latest?verbose=true", Body(changed))).Body)!;
        Assert.False(test["is_compatible"]!.GetValue<bool>());
        Assert.Contains("FIELD_SCALAR_KIND_CHANGED", test["messages"]!.ToJsonString(), StringComparison.Ordinal);

        // The descriptor of the generated class is the first version again, compatible with the second.
        Assert.Equal(200, (await _http.SendAsync("POST", "/compatibility/subjects/evolving/versions/latest", Body(User.Descriptor.File.SerializedData.ToBase64()))).Status);
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The registry-aware JSON deserializer's failures: reader naming (#9), validation by default (#10), typed bounded errors (#11), credentials (#12).</summary>
public class JsonDeserializerDefectTests
{
    public const string UserSchema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "User",
          "type": "object",
          "properties": {
            "name": { "type": "string" },
            "favorite_number": { "type": "number", "exclusiveMinimum": 0 },
            "favorite_color": { "type": "string" },
            "twitter_handle": { "type": ["string", "null"] }
          },
          "required": ["name", "favorite_number", "favorite_color"]
        }
        """;

    public const string CamelUserSchema = """
        {
          "type": "object",
          "properties": {
            "name": { "type": "string" },
            "favoriteNumber": { "type": "number" },
            "favoriteColor": { "type": "string" }
          }
        }
        """;

    public static readonly JsonSerializerOptions Snake = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private const string Alice = """{"name":"alice","favorite_number":7,"favorite_color":"blue","twitter_handle":"@alice"}""";

    private static readonly SerializationContext Value = new(MessageComponentType.Value, "users");

    private static readonly JsonSchemaSerdeConfig NoValidation = new(new Dictionary<string, string> { ["validate.on.deserialize"] = "false" });

    public static byte[] Frame(int id, string json) => ConfluentWireFormat.Frame(id, Encoding.UTF8.GetBytes(json));

    private static InProcessSchemaRegistry Registry()
    {
        var registry = new InProcessSchemaRegistry();
        registry.Add(1, UserSchema);
        registry.Add(2, CamelUserSchema);
        return registry;
    }

    // ---- #9: the reader's naming must fit the writer's schema ----

    [Fact]
    public async Task Defect9_a_camel_case_reader_of_a_snake_case_schema_fails_naming_the_mismatch()
    {
        var deserializer = new JsonSchemaDeserializer<User>(Registry()); // web defaults: camelCase

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(Frame(1, Alice), false, Value));

        Assert.Equal(JsonSerdeFailure.ReaderMismatch, ex.Failure);
        Assert.False(ex.IsRetriable);
        Assert.Equal(1, ex.SchemaId);
        Assert.Contains("User.FavoriteNumber", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"favoriteNumber\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"favorite_number\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PropertyNamingPolicy", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Defect9_a_reader_none_of_whose_members_map_to_the_schema_fails()
    {
        var deserializer = new JsonSchemaDeserializer<Payment>(Registry());

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(Frame(1, Alice), false, Value));

        Assert.Equal(JsonSerdeFailure.ReaderMismatch, ex.Failure);
        Assert.Contains("No member of Payment", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"amount\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"favorite_number\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Defect9_a_newer_reader_and_a_reader_of_a_subset_are_allowed()
    {
        var registry = Registry();

        var newer = await new JsonSchemaDeserializer<NewerUser>(registry, jsonOptions: Snake).DeserializeAsync(Frame(1, Alice), false, Value);
        var subset = await new JsonSchemaDeserializer<NameAndNumber>(registry, jsonOptions: Snake).DeserializeAsync(Frame(1, Alice), false, Value);

        Assert.Equal(new NewerUser("alice", 7, "blue", "@alice", null), newer);
        Assert.Equal(new NameAndNumber("alice", 7), subset);
    }

    [Fact]
    public async Task Defect9_json_property_name_attributes_and_case_insensitivity_are_honoured()
    {
        var registry = Registry();
        registry.Add(3, """{"type":"object","properties":{"name":{"type":"string"},"color":{"type":"string"}}}""");

        var attributed = await new JsonSchemaDeserializer<AttributedUser>(registry).DeserializeAsync(Frame(1, Alice), false, Value);
        Assert.Equal(new AttributedUser("alice", 7), attributed);

        var insensitive = new JsonSerializerOptions { PropertyNameCaseInsensitive = true };
        var pascal = await new JsonSchemaDeserializer<Pascal>(registry, jsonOptions: insensitive).DeserializeAsync(Frame(3, """{"name":"n","color":"c"}"""), false, Value);
        Assert.Equal(new Pascal("n", "c"), pascal);

        // Case-sensitive, "Name" would not be read from "name": a mismatch.
        var sensitive = new JsonSchemaDeserializer<Pascal>(registry, jsonOptions: new JsonSerializerOptions());
        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => sensitive.DeserializeAsync(Frame(3, """{"name":"n","color":"c"}"""), false, Value));
        Assert.Equal(JsonSerdeFailure.ReaderMismatch, ex.Failure);
        Assert.Contains("Pascal.Name", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Defect9_the_verdict_is_kept_per_writer_schema_id()
    {
        var registry = Registry();
        var deserializer = new JsonSchemaDeserializer<User>(registry); // camelCase
        const string Camel = """{"name":"bob","favoriteNumber":3,"favoriteColor":"red"}""";

        Assert.Equal(new User("bob", 3, "red"), await deserializer.DeserializeAsync(Frame(2, Camel), false, Value));
        for (var i = 0; i < 3; i++)
        {
            var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(Frame(1, Alice), false, Value));
            Assert.Equal(JsonSerdeFailure.ReaderMismatch, ex.Failure);
        }

        Assert.Equal(new User("bob", 3, "red"), await deserializer.DeserializeAsync(Frame(2, Camel), false, Value));
        Assert.Equal(2, registry.Lookups); // once per schema id
    }

    [Fact]
    public async Task Defect9_untyped_targets_dictionaries_and_conversion_hooks_are_not_checked()
    {
        var registry = Registry();

        Assert.Equal("alice", (await new JsonSchemaDeserializer<JsonNode>(registry).DeserializeAsync(Frame(1, Alice), false, Value))["name"]!.GetValue<string>());
        Assert.Equal("blue", (await new JsonSchemaDeserializer<JsonElement>(registry).DeserializeAsync(Frame(1, Alice), false, Value)).GetProperty("favorite_color").GetString());
        Assert.Equal(4, (await new JsonSchemaDeserializer<Dictionary<string, JsonElement>>(registry).DeserializeAsync(Frame(1, Alice), false, Value)).Count);
        var hooked = new JsonSchemaDeserializer<User>(registry, fromJson: (node, _) => new User(node!["name"]!.GetValue<string>(), node["favorite_number"]!.GetValue<long>(), node["favorite_color"]!.GetValue<string>()));
        Assert.Equal(new User("alice", 7, "blue"), await hooked.DeserializeAsync(Frame(1, Alice), false, Value));
    }

    // ---- #10: validation on read by default ----

    [Fact]
    public async Task Defect10_json_that_violates_the_writer_schema_is_refused_by_default()
    {
        var deserializer = new JsonSchemaDeserializer<JsonNode>(Registry());

        var ex = await Assert.ThrowsAsync<JsonSchemaValidationException>(() => deserializer.DeserializeAsync(Frame(1, """{"name":"x","favorite_number":"seven","favorite_color":"red"}"""), false, Value));

        Assert.Equal(JsonSerdeFailure.SchemaViolation, ex.Failure);
        Assert.Contains(ex.Violations, v => v.Contains("favorite_number", StringComparison.Ordinal));
        Assert.Equal("users", ex.Topic);
    }

    [Fact]
    public async Task Defect10_validate_on_deserialize_false_opts_out()
    {
        var deserializer = new JsonSchemaDeserializer<JsonNode>(Registry(), NoValidation);

        var node = await deserializer.DeserializeAsync(Frame(1, """{"name":"x","favorite_number":"seven","favorite_color":"red"}"""), false, Value);

        Assert.Equal("seven", node["favorite_number"]!.GetValue<string>());
        Assert.False(NoValidation.ValidateOnDeserialize);
        Assert.True(JsonSchemaSerdeConfig.Default.ValidateOnDeserialize);
    }

    // ---- #11: only the library's exceptions, with the cause, at deserialization time, bounded ----

    [Theory]
    [InlineData("{\"name\": ", true)]
    [InlineData("{'name':'x','favorite_number':1,'favorite_color':'b'}", true)]
    [InlineData("{\"name\":\"x\",\"favorite_number\":NaN,\"favorite_color\":\"b\"}", true)]
    [InlineData("", true)]
    [InlineData("[1,2", false)]
    [InlineData("{\"name\":\"x\"} {}", false)]
    public async Task Defect11_malformed_json_is_a_typed_error_with_the_cause_attached(string json, bool validate)
    {
        var deserializer = new JsonSchemaDeserializer<User>(Registry(), validate ? null : NoValidation, Snake);

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(Frame(1, json), false, Value));

        Assert.Equal(JsonSerdeFailure.MalformedPayload, ex.Failure);
        Assert.IsType<JsonException>(ex.InnerException, exactMatch: false);
        Assert.False(ex.IsRetriable);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Defect11_an_integer_beyond_int64_is_a_typed_error(bool validate)
    {
        var deserializer = new JsonSchemaDeserializer<User>(Registry(), validate ? null : NoValidation, Snake);

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(Frame(1, """{"name":"x","favorite_number":123456789012345678901234567890,"favorite_color":"b"}"""), false, Value));

        Assert.NotNull(ex.InnerException);
        Assert.IsNotType<JsonSerdeException>(ex.InnerException, exactMatch: false);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Defect11_invalid_utf8_fails_at_deserialization_for_untyped_targets(bool validate)
    {
        var registry = Registry();
        var config = validate ? null : NoValidation;
        byte[] json = [.. "{\"name\":\""u8, 0xC3, 0x28, .. "\",\"favorite_number\":1,\"favorite_color\":\"b\"}"u8];
        var framed = ConfluentWireFormat.Frame(1, json);

        var node = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<JsonNode>(registry, config).DeserializeAsync(framed, false, Value));
        var element = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<JsonElement>(registry, config).DeserializeAsync(framed, false, Value));
        var typed = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<User>(registry, config, Snake).DeserializeAsync(framed, false, Value));

        Assert.All([node, element, typed], ex => Assert.Equal(JsonSerdeFailure.MalformedPayload, ex.Failure));
        Assert.Contains("offset 9", node.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Defect11_a_duplicate_property_fails_at_deserialization_for_json_node()
    {
        var deserializer = new JsonSchemaDeserializer<JsonNode>(Registry(), NoValidation);

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(Frame(1, """{"name":"a","name":"b"}"""), false, Value));

        Assert.Equal(JsonSerdeFailure.ConversionFailed, ex.Failure);
        Assert.IsType<JsonException>(ex.InnerException, exactMatch: false);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Defect11_a_megabyte_integer_gives_a_bounded_message(bool validate)
    {
        var json = "{\"name\":\"x\",\"favorite_number\":" + new string('9', 1 << 20) + ",\"favorite_color\":\"b\"}";

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<User>(Registry(), validate ? null : NoValidation, Snake).DeserializeAsync(Frame(1, json), false, Value));

        Assert.InRange(ex.Message.Length, 1, 1200);
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public async Task Defect11_a_failing_conversion_hook_is_wrapped()
    {
        var deserializer = new JsonSchemaDeserializer<User>(Registry(), fromJson: (_, _) => throw new InvalidCastException("no"));

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(Frame(1, Alice), false, Value));

        Assert.Equal(JsonSerdeFailure.ConversionFailed, ex.Failure);
        Assert.IsType<InvalidCastException>(ex.InnerException);
    }

    [Theory]
    [InlineData(new byte[] { 7, 0, 0, 0, 1, (byte)'{', (byte)'}' })]
    [InlineData(new byte[] { 0, 0, 1 })]
    public async Task Defect11_bad_frames_are_typed_errors(byte[] framed)
    {
        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<JsonNode>(Registry()).DeserializeAsync(framed, false, Value));

        Assert.Equal(JsonSerdeFailure.InvalidFrame, ex.Failure);
        Assert.IsType<InvalidDataException>(ex.InnerException);
    }

    [Fact]
    public async Task Defect11_a_non_json_writer_schema_is_a_typed_error()
    {
        var registry = Registry();
        registry.Add(9, """{"type":"record","name":"U","fields":[]}""", SchemaType.Avro);

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<JsonNode>(registry).DeserializeAsync(Frame(9, "{}"), false, Value));

        Assert.Equal(JsonSerdeFailure.UnsupportedSchema, ex.Failure);
    }

    // ---- #11 and #12: registry failures are classified, and never show URL credentials ----

    public static TheoryData<string, JsonSerdeFailure, bool> RegistryFailures => new()
    {
        { "unknown id 40403", JsonSerdeFailure.UnknownSchema, false },
        { "http 500", JsonSerdeFailure.RegistryUnavailable, true },
        { "http 503", JsonSerdeFailure.RegistryUnavailable, true },
        { "http 401", JsonSerdeFailure.RegistryRefused, false },
        { "bare unauthorized", JsonSerdeFailure.RegistryRefused, false },
        { "connection refused", JsonSerdeFailure.RegistryUnavailable, true },
        { "timeout", JsonSerdeFailure.RegistryUnavailable, true },
        { "socket", JsonSerdeFailure.RegistryUnavailable, true },
    };

    public static Exception RegistryFailure(string name) => name switch
    {
        "unknown id 40403" => new SchemaRegistryException("Schema 5 not found; error code: 40403", HttpStatusCode.NotFound, 40403),
        "http 500" => new SchemaRegistryException("Internal Server Error at http://user:secret@127.0.0.1:9/; error code: 50001", HttpStatusCode.InternalServerError, 50001),
        "http 503" => new HttpRequestException("[http://user:secret@127.0.0.1:9/] ServiceUnavailable -1 ", null, HttpStatusCode.ServiceUnavailable),
        "http 401" => new SchemaRegistryException("Unauthorized; error code: 401", HttpStatusCode.Unauthorized, 401),
        "bare unauthorized" => new HttpRequestException("Unauthorized"),
        "connection refused" => new HttpRequestException("[http://user:secret@127.0.0.1:9/] HttpRequestException: Connection refused (127.0.0.1:9)"),
        "timeout" => new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 2 seconds elapsing (http://user:secret@127.0.0.1:9/schemas/ids/5).", new TimeoutException()),
        "socket" => new IOException("Unable to read data from http://user:secret@127.0.0.1:9/"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(RegistryFailures))]
    public async Task Defect11_registry_failures_are_classified_for_retry_and_keep_the_cause(string failure, JsonSerdeFailure expected, bool retriable)
    {
        var cause = RegistryFailure(failure);
        var registry = new InProcessSchemaRegistry { Failure = () => cause };

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<JsonNode>(registry).DeserializeAsync(Frame(5, "{}"), false, Value));

        Assert.Equal(expected, ex.Failure);
        Assert.Equal(retriable, ex.IsRetriable);
        Assert.Same(cause, ex.InnerException);
        Assert.Equal(5, ex.SchemaId);
    }

    [Theory]
    [MemberData(nameof(RegistryFailures))]
    public async Task Defect12_registry_url_credentials_are_redacted_from_deserializer_and_serializer_messages(string failure, JsonSerdeFailure expected, bool retriable)
    {
        _ = expected;
        var registry = new InProcessSchemaRegistry { Failure = () => RegistryFailure(failure) };

        var read = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<JsonNode>(registry).DeserializeAsync(Frame(5, "{}"), false, Value));
        var written = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaSerializer<User>(registry, UserSchema, jsonOptions: Snake).SerializeAsync(new User("a", 1, "b"), Value));

        Assert.DoesNotContain("secret", read.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", written.Message, StringComparison.Ordinal);
        Assert.Equal(retriable, written.IsRetriable);
        if (failure is "connection refused")
        {
            Assert.Contains("http://***@127.0.0.1:9/", read.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Defect11_the_serializer_reports_a_refusal_as_not_retriable_with_the_registry_exception_inside()
    {
        var refusal = new SchemaRegistryException("Schema being registered is incompatible with an earlier schema; error code: 409", HttpStatusCode.Conflict, 409);
        var registry = new InProcessSchemaRegistry { Failure = () => refusal };

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaSerializer<User>(registry, UserSchema, jsonOptions: Snake).SerializeAsync(new User("a", 1, "b"), Value));

        Assert.Equal(JsonSerdeFailure.RegistryRefused, ex.Failure);
        Assert.False(ex.IsRetriable);
        Assert.Same(refusal, ex.InnerException);
        Assert.Contains("HTTP 409", ex.Message, StringComparison.Ordinal);
        Assert.Equal("users-value", ex.Subject);
    }

    [Fact]
    public async Task Defect11_the_serializer_round_trips_through_the_in_process_registry()
    {
        var registry = new InProcessSchemaRegistry();
        var framed = await new JsonSchemaSerializer<User>(registry, UserSchema, jsonOptions: Snake).SerializeAsync(new User("alice", 7, "blue", "@alice"), Value);

        Assert.Equal(new User("alice", 7, "blue", "@alice"), await new JsonSchemaDeserializer<User>(registry, jsonOptions: Snake).DeserializeAsync(framed, false, Value));

        var violation = await Assert.ThrowsAsync<JsonSchemaValidationException>(() => new JsonSchemaSerializer<User>(registry, UserSchema, jsonOptions: Snake).SerializeAsync(new User("bob", -1, "red"), Value));
        Assert.Equal("users", violation.Topic);
        Assert.False(violation.IsRetriable);
    }

    [Fact]
    public void Defect11_validation_messages_are_bounded_however_many_and_long_the_violations()
    {
        var violations = Enumerable.Range(0, 5000).Select(i => $"#/{new string('p', 10_000)}{i}: StringExpected").ToList();

        var ex = new JsonSchemaValidationException(3, new string('s', 5000), violations);

        Assert.InRange(ex.Message.Length, 1, 1200);
        Assert.All(ex.Violations, v => Assert.InRange(v.Length, 1, 300));
        Assert.True(ex.Violations.Count <= 1000);
    }

    public sealed record User(string Name, long FavoriteNumber, string FavoriteColor, string? TwitterHandle = null);

    public sealed record NewerUser(string Name, long FavoriteNumber, string FavoriteColor, string? TwitterHandle, string? Email);

    public sealed record NameAndNumber(string Name, long FavoriteNumber);

    public sealed record Payment(decimal Amount, string Currency);

    public sealed record Pascal(string Name, string Color);

    public sealed record AttributedUser(string Name, [property: JsonPropertyName("favorite_number")] long Number);
}

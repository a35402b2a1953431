using System.Net;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Serdes;
using Microsoft.Extensions.Time.Testing;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The format-neutral serde core: one registry error classifier, caches with in-flight de-duplication and a negative cache, common config keys.</summary>
public class SerdeCoreTests
{
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "users");

    // ---- registry failures are classified once: only unreachable, timeouts, 408, 429 and 5xx are retriable ----

    public static TheoryData<string, bool> Failures => new()
    {
        { "40403", false },
        { "40401", false },
        { "bare 404", false },
        { "409", false },
        { "42201", false },
        { "401", false },
        { "bare unauthorized", false },
        { "408", true },
        { "429", true },
        { "50001", true },
        { "503 status", true },
        { "connection refused", true },
        { "timeout", true },
        { "cancelled", true },
        { "io", true },
    };

    public static Exception Failure(string name) => name switch
    {
        "40403" => new SchemaRegistryException("Schema 5 not found; error code: 40403", HttpStatusCode.NotFound, 40403),
        "40401" => new SchemaRegistryException("Subject 'x' not found.; error code: 40401", HttpStatusCode.NotFound, 40401),
        "bare 404" => new HttpRequestException("Not Found", null, HttpStatusCode.NotFound),
        "409" => new SchemaRegistryException("Schema being registered is incompatible; error code: 409", HttpStatusCode.Conflict, 409),
        "42201" => new SchemaRegistryException("Invalid schema; error code: 42201", HttpStatusCode.UnprocessableEntity, 42201),
        "401" => new SchemaRegistryException("Unauthorized; error code: 401", HttpStatusCode.Unauthorized, 401),
        "bare unauthorized" => new HttpRequestException("Unauthorized"),
        "408" => new SchemaRegistryException("Request Timeout; error code: 408", HttpStatusCode.RequestTimeout, 408),
        "429" => new SchemaRegistryException("Too Many Requests; error code: 429", HttpStatusCode.TooManyRequests, 429),
        "50001" => new SchemaRegistryException("Error in the backend data store; error code: 50001", HttpStatusCode.InternalServerError, 50001),
        "503 status" => new HttpRequestException("Service Unavailable", null, HttpStatusCode.ServiceUnavailable),
        "connection refused" => new HttpRequestException("Connection refused (127.0.0.1:9)"),
        "timeout" => new TimeoutException("The operation has timed out."),
        "cancelled" => new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 2 seconds elapsing."),
        "io" => new IOException("Unable to read data from the transport connection."),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Registry_failures_are_classified_in_one_place(string failure, bool retriable)
    {
        var classified = RegistryErrors.Classify(Failure(failure));

        Assert.Equal(retriable, classified.IsRetriable);
        Assert.Equal(retriable, classified.Kind == RegistryFailureKind.Unavailable);
    }

    [Fact]
    public void An_unknown_schema_id_40403_is_not_retriable_although_the_registry_exception_is_an_http_request_exception()
    {
        var unknown = new SchemaRegistryException("Schema 5 not found; error code: 40403", HttpStatusCode.NotFound, 40403);
        Assert.IsAssignableFrom<HttpRequestException>(unknown); // what made it look like a network failure
        Assert.Null(unknown.StatusCode);

        var classified = RegistryErrors.Classify(unknown);
        var wrapped = RegistryErrors.Classify(new AggregateException(unknown));

        Assert.Equal(RegistryFailureKind.UnknownSchema, classified.Kind);
        Assert.False(classified.IsRetriable);
        Assert.Equal(RegistryFailureKind.UnknownSchema, wrapped.Kind);
        Assert.Equal(404, classified.Status);
        Assert.Equal(40403, classified.ErrorCode);
        Assert.Contains("HTTP 404, error code 40403", classified.Describe("fetching schema 5", 5), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_schema_id_reaches_the_consumer_as_a_permanent_failure()
    {
        var registry = new InProcessSchemaRegistry();

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => new JsonSchemaDeserializer<JsonNode>(registry).DeserializeAsync(JsonDeserializerDefectTests.Frame(9, "{}"), false, Value));
        var consumed = new ValueDeserializationException(new ConsumeResult<byte[]?, byte[]?> { Topic = "users", Message = new Message<byte[]?, byte[]?>() }, ex);

        Assert.Equal(JsonSerdeFailure.UnknownSchema, ex.Failure);
        Assert.False(ex.IsRetriable);
        Assert.False(consumed.IsRetriable);
    }

    // ---- unknown schema ids are remembered for a short time ----

    [Fact]
    public async Task Records_with_one_unknown_schema_id_make_a_handful_of_registry_requests_not_one_each()
    {
        var registry = new InProcessSchemaRegistry();
        registry.Add(1, JsonDeserializerDefectTests.UserSchema);
        var deserializer = new JsonSchemaDeserializer<JsonNode>(registry);
        var unknown = JsonDeserializerDefectTests.Frame(9, "{}");
        var known = JsonDeserializerDefectTests.Frame(1, """{"name":"a","favorite_number":1,"favorite_color":"b"}""");

        var failures = 0;
        for (var i = 0; i < 1667; i++)
        {
            try
            {
                await deserializer.DeserializeAsync(i % 2 == 0 ? unknown : known, false, Value);
            }
            catch (JsonSerdeException ex) when (ex.Failure == JsonSerdeFailure.UnknownSchema && !ex.IsRetriable)
            {
                failures++;
            }
        }

        Assert.Equal(834, failures);
        Assert.InRange(registry.Lookups, 2, 5); // one per id, not 1,672
    }

    [Fact]
    public async Task Concurrent_records_with_an_unknown_schema_id_share_one_registry_request()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registry = new InProcessSchemaRegistry { Gate = open.Task };
        var deserializer = new JsonSchemaDeserializer<JsonNode>(registry);
        var frame = JsonDeserializerDefectTests.Frame(9, "{}");

        var pending = Enumerable.Range(0, 1667).Select(_ => deserializer.DeserializeAsync(frame, false, Value)).ToList();
        open.SetResult();

        foreach (var record in pending)
        {
            Assert.Equal(JsonSerdeFailure.UnknownSchema, (await Assert.ThrowsAsync<JsonSerdeException>(() => record)).Failure);
        }

        Assert.Equal(1, registry.Lookups);
    }

    [Fact]
    public async Task An_unknown_schema_id_is_asked_again_once_the_negative_cache_time_has_passed()
    {
        var time = new FakeTimeProvider();
        var registry = new InProcessSchemaRegistry();
        var config = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["schema.id.negative.cache.ms"] = "2000" });
        var deserializer = new JsonSchemaDeserializer<JsonNode>(registry, config, null, null, time);
        var frame = JsonDeserializerDefectTests.Frame(9, """{"name":"late"}""");

        await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(frame, false, Value));
        time.Advance(TimeSpan.FromMilliseconds(1999));
        await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(frame, false, Value));
        Assert.Equal(1, registry.Lookups);

        registry.Add(9, """{"type":"object"}"""); // for example a registry follower that caught up
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("late", (string?)(await deserializer.DeserializeAsync(frame, false, Value))!["name"]);
        Assert.Equal(2, registry.Lookups);
    }

    [Fact]
    public async Task A_zero_negative_cache_time_asks_the_registry_for_every_record()
    {
        var registry = new InProcessSchemaRegistry();
        var config = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["schema.id.negative.cache.ms"] = "0" });
        var deserializer = new JsonSchemaDeserializer<JsonNode>(registry, config);

        for (var i = 0; i < 3; i++)
        {
            await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(JsonDeserializerDefectTests.Frame(9, "{}"), false, Value));
        }

        Assert.Equal(3, registry.Lookups);
    }

    [Fact]
    public async Task A_retriable_registry_failure_is_not_remembered()
    {
        var registry = new InProcessSchemaRegistry { Failure = () => Failure("50001") };
        registry.Add(1, """{"type":"object"}""");
        var deserializer = new JsonSchemaDeserializer<JsonNode>(registry);
        var frame = JsonDeserializerDefectTests.Frame(1, "{}");

        Assert.True((await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(frame, false, Value))).IsRetriable);
        Assert.True((await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(frame, false, Value))).IsRetriable);
        registry.Failure = null;

        Assert.NotNull(await deserializer.DeserializeAsync(frame, false, Value));
        Assert.Equal(3, registry.Lookups);
    }

    [Fact]
    public async Task Remembered_failures_are_bounded()
    {
        var time = new FakeTimeProvider();
        var loads = 0;
        var cache = new RegistryCache<int, int>(_ => { loads++; return Task.FromException<int>(new InvalidOperationException("unknown")); }, TimeSpan.FromSeconds(30), time);

        for (var id = 0; id < RegistryCache<int, int>.MaxFailures + 10; id++)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync(id));
        }

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync(0)); // remembered
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync(RegistryCache<int, int>.MaxFailures + 5)); // beyond the bound: not remembered
        Assert.Equal(RegistryCache<int, int>.MaxFailures + 11, loads);

        time.Advance(TimeSpan.FromSeconds(30)); // all expired: swept to make room
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync(-1));
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetAsync(-1));
        Assert.Equal(RegistryCache<int, int>.MaxFailures + 12, loads);
    }

    // ---- the serializer resolves once per topic and component, and forgets failures ----

    [Fact]
    public async Task The_serializer_registers_once_however_many_values_wait_and_forgets_a_refusal()
    {
        var registry = new InProcessSchemaRegistry { Failure = () => Failure("409") };
        var serializer = new JsonSchemaSerializer<JsonDeserializerDefectTests.User>(registry, JsonDeserializerDefectTests.UserSchema, jsonOptions: JsonDeserializerDefectTests.Snake);
        var user = new JsonDeserializerDefectTests.User("a", 1, "b");

        Assert.False((await Assert.ThrowsAsync<JsonSerdeException>(() => serializer.SerializeAsync(user, Value))).IsRetriable);
        registry.Failure = null;

        var framed = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => serializer.SerializeAsync(user, Value)));
        Assert.Single(framed.Select(f => ConfluentWireFormat.ReadSchemaId(f)).Distinct());
        Assert.True(serializer.SerializeAsync(user, Value).IsCompletedSuccessfully);
    }

    // ---- Confluent's common keys live in one base; formats add theirs ----

    [Fact]
    public void The_negative_cache_time_defaults_to_five_seconds_and_is_configurable()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), JsonSchemaSerdeConfig.Default.SchemaIdNegativeCacheTime);
        Assert.Equal(TimeSpan.FromMilliseconds(250), new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["schema.id.negative.cache.ms"] = "250" }).SchemaIdNegativeCacheTime);
        Assert.Equal(TimeSpan.Zero, new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["schema.id.negative.cache.ms"] = "0" }).SchemaIdNegativeCacheTime);
        Assert.IsAssignableFrom<SchemaRegistrySerdeConfig>(JsonSchemaSerdeConfig.Default);
    }

    [Theory]
    [InlineData("schema.id.negative.cache.ms", "-1", "schema.id.negative.cache.ms")]
    [InlineData("schema.id.negative.cache.ms", "5s", "schema.id.negative.cache.ms")]
    [InlineData("use.latest.versions", "true", "use.latest.versions")]
    [InlineData("normalize.schemas", "1", "normalize.schemas")]
    public void Bad_common_entries_fail_naming_the_key(string key, string value, string named)
    {
        var ex = Assert.Throws<ArgumentException>(() => new JsonSchemaSerdeConfig(new Dictionary<string, string> { [key] = value }));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_key_lists_the_common_and_the_format_keys()
    {
        var ex = Assert.Throws<ArgumentException>(() => new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["schema.type"] = "json" }));
        Assert.Contains("'schema.type'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("subject.name.strategy", ex.Message, StringComparison.Ordinal);
        Assert.Contains("validate.on.deserialize", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("topic_record", MessageComponentType.Key, "orders-com.example.Order")]
    [InlineData("TopicName", MessageComponentType.Key, "orders-key")]
    [InlineData("io.confluent.kafka.serializers.subject.RecordNameStrategy", MessageComponentType.Key, "com.example.Order")]
    public void Subject_naming_is_shared_by_every_format(string strategy, MessageComponentType component, string subject)
    {
        var parsed = SubjectNaming.Parse("subject.name.strategy", strategy);
        Assert.Equal(subject, SubjectNaming.Name(parsed, new SerializationContext(component, "orders"), "com.example.Order"));
    }

    [Fact]
    public void A_format_may_put_its_own_bytes_between_header_and_payload()
    {
        var framed = ConfluentWireFormat.Frame(7, [0x02, 0x04], "{}"u8);

        Assert.Equal(new byte[] { 0, 0, 0, 0, 7, 2, 4, (byte)'{', (byte)'}' }, framed);
        Assert.Equal(7, ConfluentWireFormat.ReadSchemaId(framed));
    }
}

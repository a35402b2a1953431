using System.Net;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Google.Protobuf;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.SchemaRegistry.Serdes;
using KafkaClient.Testing;
using JsonUser = KafkaClient.Tests.SchemaRegistry.JsonDeserializerDefectTests.User;
using ProtoUser = KafkaClient.Tests.Protos.User;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>
/// A registry client that fails on its own (Confluent's client with <c>schema.registry.max.retries=0</c> throws
/// NullReferenceException on every call, registry up or not): refused when a serde is built, and retriable if it
/// happens anyway, so that a consumer skipping or dead-lettering poison records never drops good ones.
/// </summary>
public class RegistryClientFailureTests
{
    private const string MaxRetries = "schema.registry.max.retries";
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "users");

    public static TheoryData<string> Serdes => new() { "json serializer", "json deserializer", "protobuf serializer", "protobuf deserializer", "protobuf json deserializer" };

    /// <summary>Builds one of the five serdes on <paramref name="registry"/>.</summary>
    private static object Build(string serde, ISchemaRegistryClient registry) => serde switch
    {
        "json serializer" => new JsonSchemaSerializer<JsonUser>(registry, JsonDeserializerDefectTests.UserSchema, jsonOptions: JsonDeserializerDefectTests.Snake),
        "json deserializer" => new JsonSchemaDeserializer<JsonNode>(registry),
        "protobuf serializer" => new ProtobufSerializer<ProtoUser>(registry),
        "protobuf deserializer" => new ProtobufDeserializer<ProtoUser>(registry),
        "protobuf json deserializer" => new ProtobufJsonDeserializer(registry),
        _ => throw new ArgumentOutOfRangeException(nameof(serde)),
    };

    /// <summary>Writes or reads one record with a serde built by <see cref="Build"/>, so that it asks the registry.</summary>
    private static Task Use(object serde) => serde switch
    {
        JsonSchemaSerializer<JsonUser> s => s.SerializeAsync(new JsonUser("alice", 7, "blue"), Value),
        JsonSchemaDeserializer<JsonNode> d => d.DeserializeAsync(JsonDeserializerDefectTests.Frame(1, "{}"), false, Value),
        ProtobufSerializer<ProtoUser> s => s.SerializeAsync(new ProtoUser { Name = "alice" }, Value),
        ProtobufDeserializer<ProtoUser> d => d.DeserializeAsync(ProtobufFrame(1), false, Value),
        ProtobufJsonDeserializer d => d.DeserializeAsync(ProtobufFrame(1), false, Value),
        _ => throw new ArgumentOutOfRangeException(nameof(serde)),
    };

    private static byte[] ProtobufFrame(int id) => ConfluentWireFormat.Frame(id, [0, .. new ProtoUser { Name = "alice" }.ToByteArray()]);

    private static InProcessSchemaRegistry Configured(string key, string value) => new() { Config = [new("schema.registry.url", "http://127.0.0.1:9"), new(key, value)] };

    // ---- construction: a client that would fail every call is refused, naming the key ----

    [Theory]
    [MemberData(nameof(Serdes))]
    public void Every_serde_refuses_a_registry_client_with_max_retries_0(string serde)
    {
        var ex = Assert.Throws<ArgumentException>(() => Build(serde, Configured(MaxRetries, "0")));

        Assert.Equal("registry", ex.ParamName);
        Assert.Contains(MaxRetries + "=0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1 or more", ex.Message, StringComparison.Ordinal);
        Assert.Contains("NullReferenceException", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MaxRetries, "-1")]
    [InlineData(MaxRetries, " 0 ")]
    [InlineData("Schema.Registry.Max.Retries", "0")] // Confluent's client matches the key ignoring case
    public void Max_retries_is_read_as_confluents_client_reads_it(string key, string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => new JsonSchemaDeserializer<JsonNode>(Configured(key, value)));

        Assert.Contains(MaxRetries, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MaxRetries, "1")]
    [InlineData(MaxRetries, "3")]
    [InlineData("schema.registry.request.timeout.ms", "0")]
    public void A_client_that_makes_at_least_one_attempt_is_accepted(string key, string value)
    {
        foreach (var serde in Serdes)
        {
            Assert.NotNull(Build(serde, Configured(key, value)));
        }
    }

    [Fact]
    public void A_client_that_does_not_expose_its_settings_is_accepted()
    {
        Assert.NotNull(new JsonSchemaDeserializer<JsonNode>(new InProcessSchemaRegistry { Config = null! }));
        Assert.NotNull(new JsonSchemaDeserializer<JsonNode>(ConfigHidingClient.Wrap(new InProcessSchemaRegistry(), () => throw new NotImplementedException())));
        Assert.NotNull(new ProtobufSerializer<ProtoUser>(ConfigHidingClient.Wrap(new InProcessSchemaRegistry(), () => throw new NotSupportedException())));
    }

    // ---- a client that fails on its own is not the record's fault: retriable ----

    public static TheoryData<string, string> BrokenClients
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var serde in Serdes)
            {
                data.Add(serde, nameof(NullReferenceException));
                data.Add(serde, nameof(InvalidOperationException));
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(BrokenClients))]
    public async Task A_registry_client_failing_on_its_own_gives_a_retriable_registry_unavailable(string serde, string failure)
    {
        Exception Failure() => failure == nameof(NullReferenceException)
            ? new NullReferenceException("Object reference not set to an instance of an object.")
            : new InvalidOperationException("The client is in an invalid state.");
        var registry = new InProcessSchemaRegistry { Failure = Failure };
        registry.Add(1, JsonDeserializerDefectTests.UserSchema);

        var ex = await Assert.ThrowsAnyAsync<KafkaClientException>(() => Use(Build(serde, registry)));

        Assert.True(ex.IsRetriable);
        Assert.Equal(failure, ex.InnerException?.GetType().Name);
        Assert.Contains("failed unexpectedly", ex.Message, StringComparison.Ordinal);
        Assert.Contains(failure, ex.Message, StringComparison.Ordinal);
        switch (ex)
        {
            case JsonSerdeException json:
                Assert.Equal(JsonSerdeFailure.RegistryUnavailable, json.Failure);
                break;
            case ProtobufSerdeException protobuf:
                Assert.Equal(ProtobufSerdeFailure.RegistryUnavailable, protobuf.Failure);
                break;
            default:
                Assert.Fail($"Unexpected exception {ex.GetType().Name}");
                break;
        }
    }

    [Fact]
    public async Task The_consumer_stays_on_a_record_the_broken_client_could_not_read_and_reads_it_once_the_client_works()
    {
        var broken = true;
        var registry = new InProcessSchemaRegistry { Failure = () => broken ? new NullReferenceException() : null! };
        registry.Add(1, JsonDeserializerDefectTests.UserSchema);
        var deserializer = new JsonSchemaDeserializer<JsonNode>(registry);
        var frame = JsonDeserializerDefectTests.Frame(1, """{"name":"a","favorite_number":1,"favorite_color":"b"}""");

        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => deserializer.DeserializeAsync(frame, false, Value));
        var consumed = new ValueDeserializationException(new ConsumeResult<byte[]?, byte[]?> { Topic = "users", Message = new Message<byte[]?, byte[]?>() }, ex);
        Assert.True(consumed.IsRetriable); // not poison: neither skipped nor dead-lettered

        // Not remembered as a bad schema id: the same record reads as soon as the client works.
        broken = false;
        var read = await deserializer.DeserializeAsync(frame, false, Value);
        Assert.Equal("a", read?["name"]?.GetValue<string>());
    }

    public static TheoryData<string> UnexpectedExceptions => new() { "null reference", "invalid operation", "object disposed", "argument", "aggregate of two" };

    [Theory]
    [MemberData(nameof(UnexpectedExceptions))]
    public void Anything_but_an_answer_or_a_network_failure_is_classified_as_the_client_failing(string name)
    {
        Exception exception = name switch
        {
            "null reference" => new NullReferenceException(),
            "invalid operation" => new InvalidOperationException("x"),
            "object disposed" => new ObjectDisposedException("HttpClient"),
            "argument" => new ArgumentException("x"),
            "aggregate of two" => new AggregateException(new NullReferenceException(), new InvalidOperationException()),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        var classified = RegistryErrors.Classify(exception, lookupById: true);
        var wrapped = RegistryErrors.Classify(new AggregateException(exception));

        Assert.Equal(RegistryFailureKind.ClientFailed, classified.Kind);
        Assert.True(classified.IsRetriable);
        Assert.Null(classified.Status);
        Assert.Equal(RegistryFailureKind.ClientFailed, wrapped.Kind);
        Assert.Contains(exception.GetType().Name, classified.Describe("fetching schema 5", 5), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_failure_kind_reaches_both_formats_with_the_same_retriability_and_only_a_refusal_is_registry_refused()
    {
        foreach (var kind in Enum.GetValues<RegistryFailureKind>())
        {
            var failure = new RegistryFailure(kind, new InvalidOperationException("x"), null, null);

            var json = Assert.IsType<JsonSerdeException>(JsonSerdeErrors.Instance.Registry(failure, "m", failure.Cause, 5, null));
            var protobuf = Assert.IsType<ProtobufSerdeException>(ProtobufSerdeErrors.Instance.Registry(failure, "m", failure.Cause, 5, null));

            Assert.Equal(failure.IsRetriable, json.IsRetriable);
            Assert.Equal(failure.IsRetriable, protobuf.IsRetriable);
            Assert.Equal(kind == RegistryFailureKind.Refused, json.Failure == JsonSerdeFailure.RegistryRefused);
            Assert.Equal(kind == RegistryFailureKind.Refused, protobuf.Failure == ProtobufSerdeFailure.RegistryRefused);
            Assert.Equal(failure.IsRetriable, json.Failure == JsonSerdeFailure.RegistryUnavailable);
            Assert.Equal(failure.IsRetriable, protobuf.Failure == ProtobufSerdeFailure.RegistryUnavailable);
        }
    }

    // ---- Confluent's client against the embedded registry ----

    [Fact]
    public async Task Confluents_client_with_max_retries_0_is_refused_and_when_hidden_fails_retriably_while_the_registry_is_up()
    {
        await using var embedded = await EmbeddedSchemaRegistry.StartAsync();
        using var working = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embedded.Url, MaxRetries = 1 });
        using var broken = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embedded.Url, MaxRetries = 0 });

        // With one attempt per request, a value goes through.
        var framed = await new JsonSchemaSerializer<JsonUser>(working, JsonDeserializerDefectTests.UserSchema, jsonOptions: JsonDeserializerDefectTests.Snake).SerializeAsync(new JsonUser("alice", 7, "blue"), Value);
        var id = ConfluentWireFormat.ReadSchemaId(framed);
        Assert.Equal("alice", (await new JsonSchemaDeserializer<JsonNode>(working).DeserializeAsync(framed, false, Value))?["name"]?.GetValue<string>());

        // With none, every serde refuses the client.
        foreach (var serde in Serdes)
        {
            Assert.Contains(MaxRetries, Assert.Throws<ArgumentException>(() => Build(serde, broken)).Message, StringComparison.Ordinal);
        }

        // Confluent.SchemaRegistry 2.16 fails every call with that setting, although the registry is up. Behind a
        // wrapper that hides the setting, the failure is retriable. (If Confluent fixes its client this read succeeds,
        // and the construction check above can be relaxed.)
        var direct = await Assert.ThrowsAnyAsync<Exception>(() => broken.GetSchemaAsync(id));
        Assert.IsType<NullReferenceException>(direct);
        var hidden = new JsonSchemaDeserializer<JsonNode>(ConfigHidingClient.Wrap(broken, () => []));
        var ex = await Assert.ThrowsAsync<JsonSerdeException>(() => hidden.DeserializeAsync(framed, false, Value));
        Assert.Equal(JsonSerdeFailure.RegistryUnavailable, ex.Failure);
        Assert.True(ex.IsRetriable);
        Assert.IsType<NullReferenceException>(ex.InnerException);
    }

    /// <summary>A registry client that forwards every call to another but reports other settings (a decorator that keeps none of its own).</summary>
    public class ConfigHidingClient : DispatchProxy
    {
        private ISchemaRegistryClient _inner = null!;
        private Func<IEnumerable<KeyValuePair<string, string>>> _config = null!;

        /// <summary>Wraps <paramref name="inner"/>, reporting <paramref name="config"/> as its settings.</summary>
        public static ISchemaRegistryClient Wrap(ISchemaRegistryClient inner, Func<IEnumerable<KeyValuePair<string, string>>> config)
        {
            var proxy = Create<ISchemaRegistryClient, ConfigHidingClient>();
            var self = (ConfigHidingClient)(object)proxy;
            self._inner = inner;
            self._config = config;
            return proxy;
        }

        /// <inheritdoc/>
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == "get_" + nameof(ISchemaRegistryClient.Config))
            {
                return _config();
            }

            try
            {
                return targetMethod.Invoke(_inner, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Throw(ex.InnerException);
                throw;
            }
        }
    }
}

using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Confluent.SchemaRegistry.Serdes;
using KafkaClient.Benchmarks.Documents;
using KafkaClient.Benchmarks.Support;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Json.Validation;

namespace KafkaClient.Benchmarks.Serdes;

/// <summary>
/// JSON Schema serialize and deserialize of one document, side by side: ours (validation on and off), Confluent's
/// JsonSerializer/JsonDeserializer 2.16 (validation on and off), and the floor: System.Text.Json source-generated plus
/// the 5-byte header (the baseline of each category).
/// </summary>
/// <remarks>
/// The registry is <see cref="InMemorySchemaRegistry"/>; every serde is called once in setup, so the first-use
/// registration and schema fetch are done and the measured calls are the steady state (no registry call; the setup
/// checks it and prints the count). All serdes write the same bytes, which the setup checks too.
/// </remarks>
/// <typeparam name="TDocument">The document as System.Text.Json (ours and the baseline) maps it.</typeparam>
/// <typeparam name="TConfluent">The document as Newtonsoft.Json (Confluent's serdes) maps it.</typeparam>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public abstract class JsonSerdeBenchmarks<TDocument, TConfluent>
    where TDocument : class
    where TConfluent : class
{
    private const string Topic = "bench-json";
    private static readonly SerializationContext Context = new(MessageComponentType.Value, Topic);

    private readonly InMemorySchemaRegistry _registry = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(16 * 1024);
    private Utf8JsonWriter _writer = null!;
    private JsonSchemaSerializer<TDocument> _oursValidating = null!;
    private JsonSchemaSerializer<TDocument> _ours = null!;
    private JsonSchemaDeserializer<TDocument> _oursValidatingReader = null!;
    private JsonSchemaDeserializer<TDocument> _oursReader = null!;
    private CompiledJsonValidator _jsonValidator = null!;
    private JsonSerializer<TConfluent> _confluentValidating = null!;
    private JsonSerializer<TConfluent> _confluent = null!;
    private JsonDeserializer<TConfluent> _confluentValidatingReader = null!;
    private JsonDeserializer<TConfluent> _confluentReader = null!;
    private TDocument _document = null!;
    private TConfluent _confluentDocument = null!;
    private byte[] _framed = [];
    private int _schemaId;
    private IReadOnlyDictionary<string, long> _callsAfterWarmUp = new Dictionary<string, long>();

    /// <summary>Gets the JSON Schema text.</summary>
    protected abstract string Schema { get; }

    /// <summary>Gets System.Text.Json's generated metadata of <typeparamref name="TDocument"/>.</summary>
    protected abstract JsonTypeInfo<TDocument> TypeInfo { get; }

    /// <summary>Makes the document to write.</summary>
    protected abstract TDocument CreateDocument();

    /// <summary>Makes the same document for Confluent's serdes.</summary>
    protected abstract TConfluent CreateConfluentDocument();

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _document = CreateDocument();
        _confluentDocument = CreateConfluentDocument();
        _writer = new Utf8JsonWriter(_buffer);

        var options = BenchJsonContext.Default.Options;
        _oursValidating = new JsonSchemaSerializer<TDocument>(_registry, Schema, Ours(validate: true), options);
        _ours = new JsonSchemaSerializer<TDocument>(_registry, Schema, Ours(validate: false), options);
        _oursValidatingReader = new JsonSchemaDeserializer<TDocument>(_registry, Ours(validate: true), options);
        _oursReader = new JsonSchemaDeserializer<TDocument>(_registry, Ours(validate: false), options);
        _jsonValidator = new CompiledJsonValidator(Schema);
        var typed = JsonValidation.ForValues<TDocument>(_jsonValidator, options, out var reason) as TypedJsonValidator<TDocument>;
        Console.WriteLine(typed is null
            ? $"// {typeof(TDocument).Name}: validation on serialize reads the JSON: {reason}"
            : $"// {typeof(TDocument).Name}: validation on serialize: {typed.Proven.Count} properties proven by the type, {typed.PerMessage.Count} checked on each value, the JSON not read again");

        var schema = new Schema(Schema, SchemaType.Json);
        _confluentValidating = new JsonSerializer<TConfluent>(_registry, schema, new JsonSerializerConfig { Validate = true });
        _confluent = new JsonSerializer<TConfluent>(_registry, schema, new JsonSerializerConfig { Validate = false });
        _confluentValidatingReader = new JsonDeserializer<TConfluent>(_registry, new JsonDeserializerConfig { Validate = true });
        _confluentReader = new JsonDeserializer<TConfluent>(_registry, new JsonDeserializerConfig { Validate = false });

        // First use registers the schema (one id for all: same subject, same text); later calls use the cached id.
        var framed = await _oursValidating.SerializeAsync(_document, Context);
        _schemaId = Framing.SchemaId(framed);
        _framed = framed;
        Same("ours, validation off", await _ours.SerializeAsync(_document, Context));
        Same("Confluent's, validation on", await _confluentValidating.SerializeAsync(_confluentDocument, Context));
        Same("Confluent's, validation off", await _confluent.SerializeAsync(_confluentDocument, Context));
        Same("the raw baseline", Serialize_Raw());

        // First use fetches the writer's schema; every reader must give the document back.
        var json = Encoding.UTF8.GetString(Framing.Payload(_framed));
        foreach (var reader in new[] { _oursValidatingReader, _oursReader })
        {
            SameJson("ours", JsonSerializer.Serialize(await reader.DeserializeAsync(_framed, isNull: false, Context), TypeInfo), json);
        }

        foreach (var reader in new[] { _confluentValidatingReader, _confluentReader })
        {
            SameJson("Confluent's", Newtonsoft.Json.JsonConvert.SerializeObject(await reader.DeserializeAsync(_framed, isNull: false, Context)), json);
        }

        SameJson("the raw baseline", JsonSerializer.Serialize(Deserialize_Raw(), TypeInfo), json);
        _callsAfterWarmUp = _registry.CallsByMethod;
        Console.WriteLine($"// {typeof(TDocument).Name}: {_framed.Length} framed bytes, schema id {_schemaId}, {_registry.Calls} registry calls during warm-up");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // Confluent's deserializer asks its registry client for the writer's schema on every record (its caching client answers from memory).
        Console.WriteLine($"// {typeof(TDocument).Name}: registry calls after warm-up: {RegistryCalls.Since(_registry, _callsAfterWarmUp)}");
        _writer.Dispose();
        _registry.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Serialize")]
    public byte[] Serialize_Raw()
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        JsonSerializer.Serialize(_writer, _document, TypeInfo);
        return Framing.Frame(_schemaId, _buffer.WrittenSpan);
    }

    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public byte[]? Serialize_Ours_Validated() => _oursValidating.TrySerialize(_document, Context, out var bytes) ? bytes : throw Framing.NotWarm();

    /// <summary>Validation on as it was before the type's guarantees were proven: the same serialization, then the whole JSON validated.</summary>
    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public byte[]? Serialize_Ours_Validated_JsonOnly() =>
        _ours.TrySerialize(_document, Context, out var bytes)
            ? _jsonValidator.Check(bytes.AsSpan(Framing.HeaderLength)) is null ? bytes : throw new InvalidOperationException("The document is not valid.")
            : throw Framing.NotWarm();

    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public byte[]? Serialize_Ours_NotValidated() => _ours.TrySerialize(_document, Context, out var bytes) ? bytes : throw Framing.NotWarm();

    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public Task<byte[]> Serialize_Ours_NotValidated_TaskApi() => _ours.SerializeAsync(_document, Context);

    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public Task<byte[]> Serialize_Confluent_Validated() => _confluentValidating.SerializeAsync(_confluentDocument, Context);

    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public Task<byte[]> Serialize_Confluent_NotValidated() => _confluent.SerializeAsync(_confluentDocument, Context);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Deserialize")]
    public TDocument Deserialize_Raw() => JsonSerializer.Deserialize(Framing.Payload(_framed), TypeInfo)!;

    [Benchmark]
    [BenchmarkCategory("Deserialize")]
    public TDocument Deserialize_Ours_Validated() => _oursValidatingReader.TryDeserialize(_framed, isNull: false, Context, out var document) ? document : throw Framing.NotWarm();

    [Benchmark]
    [BenchmarkCategory("Deserialize")]
    public TDocument Deserialize_Ours_NotValidated() => _oursReader.TryDeserialize(_framed, isNull: false, Context, out var document) ? document : throw Framing.NotWarm();

    [Benchmark]
    [BenchmarkCategory("Deserialize")]
    public Task<TDocument> Deserialize_Ours_NotValidated_TaskApi() => _oursReader.DeserializeAsync(_framed, isNull: false, Context);

    [Benchmark]
    [BenchmarkCategory("Deserialize")]
    public Task<TConfluent> Deserialize_Confluent_Validated() => _confluentValidatingReader.DeserializeAsync(_framed, isNull: false, Context);

    [Benchmark]
    [BenchmarkCategory("Deserialize")]
    public Task<TConfluent> Deserialize_Confluent_NotValidated() => _confluentReader.DeserializeAsync(_framed, isNull: false, Context);

    private static JsonSchemaSerdeConfig Ours(bool validate) => new(new Dictionary<string, string>
    {
        ["validate.on.serialize"] = validate ? "true" : "false",
        ["validate.on.deserialize"] = validate ? "true" : "false",
    });

    private static void SameJson(string who, string actual, string expected)
    {
        if (actual != expected)
        {
            throw new InvalidOperationException($"{who} read back a different {typeof(TDocument).Name}:\n{actual}\ninstead of\n{expected}");
        }
    }

    private void Same(string who, byte[] framed)
    {
        if (!framed.AsSpan().SequenceEqual(_framed))
        {
            throw new InvalidOperationException(
                $"{who} wrote other bytes than ours ({framed.Length} vs {_framed.Length}):\n{Encoding.UTF8.GetString(framed.AsSpan(Framing.HeaderLength))}\n{Encoding.UTF8.GetString(_framed.AsSpan(Framing.HeaderLength))}");
        }
    }
}

/// <summary>The walkthrough's <see cref="User"/>: 108 framed bytes.</summary>
public class JsonUserBenchmarks : JsonSerdeBenchmarks<User, ConfluentUser>
{
    protected override string Schema => User.Schema;

    protected override JsonTypeInfo<User> TypeInfo => BenchJsonContext.Default.User;

    protected override User CreateDocument() => User.Sample;

    protected override ConfluentUser CreateConfluentDocument() => User.ConfluentSample;
}

/// <summary>A larger <see cref="Order"/> (about 2 KB) whose schema has formats, patterns, enums, bounds and nested objects.</summary>
public class JsonOrderBenchmarks : JsonSerdeBenchmarks<Order, Order>
{
    protected override string Schema => Order.Schema;

    protected override JsonTypeInfo<Order> TypeInfo => BenchJsonContext.Default.Order;

    protected override Order CreateDocument() => Order.Sample;

    protected override Order CreateConfluentDocument() => Order.Sample;
}

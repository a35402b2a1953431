using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using KafkaClient.Benchmarks.Documents;
using KafkaClient.SchemaRegistry.Json;
using JsonSchemaNet = Json.Schema;

namespace KafkaClient.Benchmarks.Serdes;

/// <summary>
/// JSON Schema validation alone, of one valid document already in UTF-8, by the three validators issue 9 weighed: ours
/// (the compiled validator <c>JsonValidation.CreateAsync</c> picks, the baseline of each category), NJsonSchema 11.6.2 (the
/// validator of Confluent's JSON serdes 2.16, on a string as they call it), and JsonSchema.Net 8.0.5 (System.Text.Json native). The measurement behind our
/// choice of validator; no serde, registry, framing or mapping is in it.
/// </summary>
/// <remarks>
/// <para>
/// Each validator is made once per schema in setup, as a serde would keep it; what a call measures is what a serde
/// pays per message to validate bytes it holds:
/// </para>
/// <list type="bullet">
/// <item><description>ours: <c>IJsonValidator.Check</c> on the bytes (one <see cref="Utf8JsonReader"/> pass);</description></item>
/// <item><description>NJsonSchema: the bytes decoded to a string, then <c>JsonSchema.Validate(string)</c>, which parses the
/// string into a Newtonsoft <c>JToken</c> tree and walks it with a new <c>JsonSchemaValidator</c> holding the default format
/// validators (our NJsonSchema fallback validates so too). Confluent's serdes decode and parse the same way but keep one
/// <c>new JsonSchemaValidator()</c>, and in NJsonSchema 11.6.2 that constructor registers no format validator: they skip
/// <c>format</c>. It is checked here, so that the three validators do the same work;</description></item>
/// <item><description>JsonSchema.Net: the bytes parsed into a pooled <see cref="JsonDocument"/>, then
/// <c>JsonSchema.Evaluate(JsonElement, EvaluationOptions)</c> with flag output (valid or not, no error list) and
/// <c>RequireFormatValidation</c> on: draft-07 makes <c>format</c> an annotation only, while ours and NJsonSchema check it,
/// so without it JsonSchema.Net would skip the uuid, date-time, email and uri checks of the <see cref="Order"/>.</description></item>
/// </list>
/// <para>
/// The setup checks that every validator accepts each document and rejects an invalid variant of it (a number given as a
/// string; for the <see cref="Order"/> also an <c>order_id</c> that is not a uuid, so format checking is on in all
/// three), and that ours is the compiled engine, not the NJsonSchema fallback. A validator that accepted everything
/// could not pass.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class JsonValidatorBenchmarks
{
    private static readonly JsonSchemaNet.EvaluationOptions EvaluationOptions = new()
    {
        OutputFormat = JsonSchemaNet.OutputFormat.Flag,
        RequireFormatValidation = true,
    };

    private Validators _user = null!;
    private Validators _order = null!;
    private byte[] _userJson = [];
    private byte[] _orderJson = [];

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _userJson = JsonSerializer.SerializeToUtf8Bytes(User.Sample, BenchJsonContext.Default.User);
        _orderJson = JsonSerializer.SerializeToUtf8Bytes(Order.Sample, BenchJsonContext.Default.Order);
        _user = await Validators.CreateAsync(User.Schema);
        _order = await Validators.CreateAsync(Order.Schema);

        _user.Check(nameof(User), "the document", _userJson, valid: true);
        _user.Check(nameof(User), "favorite_number as a string", Replace(_userJson, "\"favorite_number\":1865", "\"favorite_number\":\"1865\""), valid: false);
        _order.Check(nameof(Order), "the document", _orderJson, valid: true);
        _order.Check(nameof(Order), "loyalty_points as a string", Replace(_orderJson, "\"loyalty_points\":18650", "\"loyalty_points\":\"18650\""), valid: false);
        _order.Check(nameof(Order), "an order_id that is not a uuid", Replace(_orderJson, "\"order_id\":\"3f2c8b8e-", "\"order_id\":\"3f2c8b8x-"), valid: false);
        Console.WriteLine($"// {nameof(User)}: {_userJson.Length} bytes of JSON, {nameof(Order)}: {_orderJson.Length} bytes of JSON; ours is the {_user.Ours.Engine} engine; every validator accepts both and rejects the invalid variants");
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(nameof(User))]
    public bool User_Ours() => _user.Ours.Check(_userJson) is null;

    [Benchmark]
    [BenchmarkCategory(nameof(User))]
    public bool User_NJsonSchema() => _user.NJsonSchemaValid(_userJson);

    [Benchmark]
    [BenchmarkCategory(nameof(User))]
    public bool User_JsonSchemaNet() => _user.JsonSchemaNetValid(_userJson);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory(nameof(Order))]
    public bool Order_Ours() => _order.Ours.Check(_orderJson) is null;

    [Benchmark]
    [BenchmarkCategory(nameof(Order))]
    public bool Order_NJsonSchema() => _order.NJsonSchemaValid(_orderJson);

    [Benchmark]
    [BenchmarkCategory(nameof(Order))]
    public bool Order_JsonSchemaNet() => _order.JsonSchemaNetValid(_orderJson);

    private static byte[] Replace(byte[] json, string from, string to)
    {
        var text = Encoding.UTF8.GetString(json);
        if (!text.Contains(from, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The document has no {from} to make invalid:\n{text}");
        }

        return Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal));
    }

    /// <summary>The three validators of one schema, each made once.</summary>
    private sealed class Validators
    {
        private readonly NJsonSchema.JsonSchema _nJsonSchema;
        private readonly JsonSchemaNet.JsonSchema _jsonSchemaNet;

        private Validators(IJsonValidator ours, NJsonSchema.JsonSchema nJsonSchema, JsonSchemaNet.JsonSchema jsonSchemaNet)
        {
            Ours = ours;
            _nJsonSchema = nJsonSchema;
            _jsonSchemaNet = jsonSchemaNet;
        }

        /// <summary>Gets ours, as the serdes get it.</summary>
        public IJsonValidator Ours { get; }

        public static async Task<Validators> CreateAsync(string schema)
        {
            var ours = await JsonValidation.CreateAsync(schema);
            if (ours.Engine != "compiled")
            {
                throw new InvalidOperationException($"JsonValidation.CreateAsync picked the {ours.Engine} engine, not the compiled validator, for:\n{schema}");
            }

            return new Validators(
                ours,
                await NJsonSchema.JsonSchema.FromJsonAsync(schema),
                JsonSchemaNet.JsonSchema.FromText(schema));
        }

        /// <summary>Validates with NJsonSchema: decode the bytes to a string, as Confluent's serdes do, then <c>JsonSchema.Validate(string)</c>.</summary>
        public bool NJsonSchemaValid(byte[] utf8Json) => _nJsonSchema.Validate(Encoding.UTF8.GetString(utf8Json)).Count == 0;

        /// <summary>Validates with JsonSchema.Net: parse the bytes, evaluate the root with flag output.</summary>
        public bool JsonSchemaNetValid(byte[] utf8Json)
        {
            using var document = JsonDocument.Parse(utf8Json);
            return _jsonSchemaNet.Evaluate(document.RootElement, EvaluationOptions).IsValid;
        }

        /// <summary>Throws unless every validator gives the expected answer for a document.</summary>
        public void Check(string name, string what, byte[] utf8Json, bool valid)
        {
            Expect("ours", Ours.Check(utf8Json) is null);
            Expect("NJsonSchema", NJsonSchemaValid(utf8Json));
            Expect("JsonSchema.Net", JsonSchemaNetValid(utf8Json));

            void Expect(string who, bool actual)
            {
                if (actual != valid)
                {
                    throw new InvalidOperationException(
                        $"{who} says {name} ({what}) is {(actual ? "valid" : "invalid")}, expected {(valid ? "valid" : "invalid")}:\n{Encoding.UTF8.GetString(utf8Json)}");
                }
            }
        }
    }
}

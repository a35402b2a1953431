using System.Text;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Json.Validation;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The compiled JSON Schema validator: keywords, error paths, the fallback to NJsonSchema, no allocation, and each known difference from NJsonSchema.</summary>
public class JsonValidatorTests
{
    private static IReadOnlyList<string>? Check(string schema, string json) => new CompiledJsonValidator(schema).Check(Encoding.UTF8.GetBytes(json));

    private static bool Valid(string schema, string json) => Check(schema, json) is null;

    private static bool NJsonSchemaValid(string schema, string json) =>
        new NJsonSchemaValidator(NJsonSchema.JsonSchema.FromJsonAsync(schema).GetAwaiter().GetResult()).Check(Encoding.UTF8.GetBytes(json)) is null;

    [Theory]
    [InlineData("""{"type":"integer"}""", "3", true)]
    [InlineData("""{"type":"integer"}""", "3.5", false)]
    [InlineData("""{"type":"integer"}""", "-0", true)]
    [InlineData("""{"type":"number"}""", "\"3\"", false)]
    [InlineData("""{"type":["string","null"]}""", "null", true)]
    [InlineData("""{"type":["string","null"]}""", "1", false)]
    [InlineData("""{"const":{"a":[1,2.0]}}""", """{"a":[1.0,2]}""", true)]
    [InlineData("""{"const":{"a":[1,2]}}""", """{"a":[2,1]}""", false)]
    [InlineData("""{"enum":[{"a":1,"b":2}]}""", """{"b":2,"a":1}""", true)]
    [InlineData("""{"enum":[{"a":1,"b":2}]}""", """{"b":2,"a":1,"c":3}""", false)]
    [InlineData("""{"enum":["a\"b"]}""", "\"a\\u0022b\"", true)]
    [InlineData("""{"multipleOf":0.01}""", "19.99", true)]
    [InlineData("""{"multipleOf":0.01}""", "19.999", false)]
    [InlineData("""{"exclusiveMinimum":0}""", "1e-400", true)]
    [InlineData("""{"uniqueItems":true}""", """[1,"1",{"a":1},{"a":2}]""", true)]
    [InlineData("""{"uniqueItems":true}""", """[{"a":1,"b":[1,2]},{"b":[1,2.0],"a":1}]""", false)]
    [InlineData("""{"uniqueItems":true}""", """["a\u0041","aA"]""", false)]
    [InlineData("""{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}""", """["a",1,2]""", true)]
    [InlineData("""{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}""", """["a",1,"b"]""", false)]
    [InlineData("""{"contains":{"type":"string"},"minContains":2}""", """[1,"a","b"]""", true)]
    [InlineData("""{"contains":{"type":"string"},"maxContains":1}""", """[1,"a","b"]""", false)]
    [InlineData("""{"propertyNames":{"pattern":"^[a-z]+$","maxLength":3}}""", """{"abc":1,"d\u0065":2}""", true)]
    [InlineData("""{"propertyNames":{"pattern":"^[a-z]+$"}}""", """{"aB":1}""", false)]
    [InlineData("""{"dependentRequired":{"a":["b"]}}""", """{"a":1}""", false)]
    [InlineData("""{"dependencies":{"a":["b"]}}""", """{"a":1,"b":2}""", true)]
    [InlineData("""{"dependencies":{"a":{"required":["c"]}}}""", """{"a":1}""", false)]
    [InlineData("""{"dependentSchemas":{"a":{"properties":{"b":{"type":"string"}}}}}""", """{"a":1,"b":"x"}""", true)]
    [InlineData("""{"if":{"properties":{"k":{"const":"n"}}},"then":{"required":["n"]},"else":{"required":["s"]}}""", """{"k":"n","n":1}""", true)]
    [InlineData("""{"if":{"properties":{"k":{"const":"n"}}},"then":{"required":["n"]},"else":{"required":["s"]}}""", """{"k":"x","n":1}""", false)]
    [InlineData("""{"patternProperties":{"^a":{"type":"string"},"b$":{"minLength":2}}}""", """{"ab":"x"}""", false)]
    [InlineData("""{"properties":{"a":{"type":"string"}},"patternProperties":{"^a":{"maxLength":1}}}""", """{"a":"xy"}""", false)]
    [InlineData("""{"additionalProperties":false,"properties":{"a\u00e9":{}}}""", """{"a\u00e9":1,"a\u00e9":2}""", true)]
    [InlineData("""{"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"#/$defs/s","$defs":{"s":{"type":"string"}},"minLength":3}""", "\"ab\"", false)]
    [InlineData("""{"$ref":"#/definitions/s","definitions":{"s":{"type":"string"}},"minLength":3}""", "\"ab\"", true)]
    [InlineData("""{"properties":{"a~b/c":{"type":"integer"}},"additionalProperties":{"$ref":"#/properties/a~0b~1c"}}""", """{"x":"no"}""", false)]
    [InlineData("""{"type":"string","nullable":true,"minLength":2}""", "null", true)]
    [InlineData("""{"properties":{"a":{"$ref":"#/definitions/s","x-nullable":true}},"definitions":{"s":{"type":"string"}}}""", """{"a":null}""", true)]
    [InlineData("""{"properties":{"a":{"$ref":"#/definitions/s"}},"definitions":{"s":{"type":"string"}}}""", """{"a":null}""", false)]
    [InlineData("""{"type":"string","format":"date-time"}""", "\"2024-05-01 10:20:30\"", true)]
    [InlineData("""{"type":"string","format":"date-time"}""", "\"yesterday\"", false)]
    [InlineData("""{"type":"string","format":"email"}""", "\"a.b@c.io\"", true)]
    [InlineData("""{"type":"string","format":"email"}""", "\"a..b@c.io\"", false)]
    [InlineData("""{"type":"string","format":"ipv6"}""", "\"2001:db8::1\"", true)]
    [InlineData("""{"type":"string","format":"ipv4"}""", "\"1.2.3.256\"", false)]
    [InlineData("""{"type":"string","format":"uri"}""", "\"https://example.com\"", true)]
    [InlineData("""{"type":"string","format":"unknown-format"}""", "\"anything\"", true)]
    [InlineData("""{"not":{}}""", "1", false)]
    [InlineData("""{"items":false}""", "[]", true)]
    [InlineData("""{"items":false}""", "[1]", false)]
    public void Keywords_are_checked_as_json_schema_defines_them(string schema, string json, bool valid) =>
        Assert.Equal(valid, Valid(schema, json));

    [Fact]
    public void Dates_are_what_datetime_parse_exact_takes()
    {
        var random = new Random(7);
        var samples = new List<string> { "2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1-01", "2024-01-01\n" };
        for (var i = 0; i < 20_000; i++)
        {
            samples.Add($"{random.Next(0, 10_000):D4}-{random.Next(0, 14):D2}-{random.Next(0, 33):D2}");
        }

        foreach (var date in samples)
        {
            var expected = DateTime.TryParseExact(date, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _);
            Assert.True(expected == JsonFormats.IsValid(StringFormat.Date, date), date);
        }
    }

    [Fact]
    public void Violations_name_the_path_and_the_problem_in_njsonschemas_shape()
    {
        var violations = Check(JsonValidatorDifferentialTests.DocumentSchema, """
            {"id":"nope","created":"2024-05-01T10:20:30Z","status":"lost","customer":{"name":"","email":"x@y.io","address":{"lines":[],"city":"c","country":"GB"}},
             "lines":[{"sku":"ABC-1234","quantity":0,"price":{"amount":1,"currency":"EUR","extra":1}}],"total":{"amount":1,"currency":"EUR"},"weird key":1}
            """)!;

        Assert.Contains("#/id: UuidExpected", violations);
        Assert.Contains("#/status: NotInEnumeration", violations);
        Assert.Contains("#/customer.name: StringTooShort", violations);
        Assert.Contains("#/customer.address.lines: TooFewItems", violations);
        Assert.Contains("#/lines[0].quantity: NumberTooSmall", violations);
        Assert.Contains("#/lines[0].price.extra: NoAdditionalPropertiesAllowed", violations);
        Assert.Equal(6, violations.Count);

        Assert.Equal(["#/favorite_number: NumberExpected", "#/favorite_color: PropertyRequired"], Check(JsonDeserializerDefectTests.UserSchema, """{"name":"x","favorite_number":"7"}"""));
        Assert.Equal(["#/: ObjectExpected"], Check(JsonDeserializerDefectTests.UserSchema, "[]"));
        Assert.Equal(["#/['a b']: StringExpected"], Check("""{"additionalProperties":{"type":"string"}}""", """{"a b":1}"""));
    }

    [Fact]
    public async Task Validate_throws_the_serdes_exceptions()
    {
        var validator = await JsonValidation.CreateAsync(JsonDeserializerDefectTests.UserSchema);
        Assert.Equal("compiled", validator.Engine);

        var violation = Assert.Throws<JsonSchemaValidationException>(() => validator.Validate("""{"name":"x","favorite_number":-1,"favorite_color":"b"}"""u8, 4, "users-value", "users"));
        Assert.Equal(["#/favorite_number: NumberTooSmall"], violation.Violations);
        Assert.Equal(4, violation.SchemaId);
        Assert.Equal("users", violation.Topic);

        var deep = new string('[', 300) + new string(']', 300);
        var gaveUp = Assert.Throws<JsonSerdeException>(() => validator.Validate(Encoding.UTF8.GetBytes(deep), 4, null, null));
        Assert.Equal(JsonSerdeFailure.SchemaViolation, gaveUp.Failure);
        Assert.IsNotType<JsonSerdeException>(gaveUp.InnerException);
    }

    [Theory]
    [InlineData("1e999")]
    [InlineData("-1e400")]
    public void A_number_beyond_a_doubles_range_cannot_be_checked_against_bounds(string number)
    {
        Assert.Throws<OverflowException>(() => Check("""{"maximum":3}""", number));
        Assert.True(Valid("""{"type":"number"}""", number)); // no bound to judge
    }

    [Theory]
    [InlineData("""{"type":"object","unevaluatedProperties":false}""")]
    [InlineData("""{"$schema":"https://json-schema.org/draft/2020-12/schema","$dynamicRef":"#meta"}""")]
    [InlineData("""{"properties":{"a":{"$ref":"other.json#/definitions/a"}}}""")]
    [InlineData("""{"properties":{"a":{"$ref":"#anchor"}}}""")]
    [InlineData("""{"definitions":{"a":{"$id":"http://x/a.json","$ref":"#/definitions/b"}},"properties":{"a":{"$ref":"#/definitions/a"}}}""")]
    [InlineData("""{"$schema":"http://json-schema.org/draft-03/schema#","type":"string"}""")]
    [InlineData("""{"type":"string","pattern":"(?<"}""")]
    [InlineData("""{"type":"any"}""")]
    [InlineData("""{"minLength":"3"}""")]
    public void Schemas_the_compiled_validator_does_not_take_are_refused_at_construction(string schema) =>
        Assert.Throws<SchemaNotCompilableException>(() => new CompiledJsonValidator(schema));

    [Fact]
    public async Task A_schema_the_compiled_validator_does_not_take_is_validated_by_njsonschema()
    {
        const string Schema = """{"type":"object","properties":{"a":{"type":"string"}},"unevaluatedProperties":false}""";

        var validator = await JsonValidation.CreateAsync(Schema);

        var fallback = Assert.IsType<NJsonSchemaValidator>(validator);
        Assert.Contains("unevaluatedProperties", fallback.Reason, StringComparison.Ordinal);
        Assert.Null(validator.Check("""{"a":"x"}"""u8));
        Assert.NotNull(validator.Check("""{"a":1}"""u8));
    }

    [Theory]
    [InlineData("""{"$ref":"#"}""")]
    [InlineData("""{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"allOf":[{"$ref":"#/definitions/a"}]}},"$ref":"#/definitions/a"}""")]
    [InlineData("""{"$schema":"https://json-schema.org/draft/2020-12/schema","dependentSchemas":{"a":{"$ref":"#"}}}""")]
    public async Task A_schema_that_loops_on_itself_is_refused(string schema)
    {
        Assert.Throws<SchemaCycleException>(() => new CompiledJsonValidator(schema));
        await Assert.ThrowsAsync<SchemaCycleException>(() => JsonValidation.CreateAsync(schema));
    }

    [Fact]
    public void Recursion_through_the_instance_is_fine()
    {
        const string Tree = """{"type":"object","properties":{"children":{"type":"array","items":{"$ref":"#"}}},"additionalProperties":false}""";

        Assert.True(Valid(Tree, """{"children":[{"children":[]},{"children":[{"children":[]}]}]}"""));
        Assert.Equal(["#/children[1].children[0].x: NoAdditionalPropertiesAllowed"], Check(Tree, """{"children":[{},{"children":[{"x":1}]}]}"""));
    }

    [Fact]
    public void Validating_a_valid_document_allocates_nothing()
    {
        var user = new CompiledJsonValidator(JsonDeserializerDefectTests.UserSchema);
        var document = new CompiledJsonValidator(JsonValidatorDifferentialTests.DocumentSchema);
        var alice = """{"name":"alice","favorite_number":7,"favorite_color":"blue","twitter_handle":"@alice"}"""u8.ToArray();
        var order = Encoding.UTF8.GetBytes(JsonValidatorDifferentialTests.DocumentSeed.Replace("\"website\":\"https://example.com/a\",", string.Empty, StringComparison.Ordinal));
        Assert.Null(user.Check(alice));
        Assert.Null(document.Check(order)); // warm: the regexes' runners are cached

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            _ = user.Check(alice);
            _ = document.Check(order);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Schemas_generated_from_types_compile_and_agree_with_njsonschema()
    {
        var registry = new InProcessSchemaRegistry();
        var schema = new JsonSchemaSerializer<Rich>(registry).Schema;
        var value = new Rich(Guid.NewGuid(), DateTimeOffset.UnixEpoch, 12.5m, Shade.Dark, null, [new Part("p", 1)], new Dictionary<string, int> { ["a"] = 1 }, new Part("q", null));
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, System.Text.Json.JsonSerializerOptions.Web);

        var validator = await JsonValidation.CreateAsync(schema);

        Assert.Equal("compiled", validator.Engine);
        Assert.Null(validator.Check(json));
        foreach (var bad in new[] { """{"id":1}""", """{"parts":[{"count":"x"}]}""", """{"when":5,"amount":"x"}""", "[]" })
        {
            Assert.Equal(NJsonSchemaValid(schema, bad), Valid(schema, bad));
        }
    }

    public enum Shade
    {
        Light,
        Dark,
    }

    public sealed record Part(string Name, int? Count);

    public sealed record Rich(Guid Id, DateTimeOffset When, decimal Amount, Shade Shade, string? Note, List<Part> Parts, Dictionary<string, int> Counts, Part Main);

    // ---- Each known difference from NJsonSchema (JsonValidatorDifferentialTests.KnownDifferences), where JSON Schema is followed ----

    [Theory]
    [InlineData("""{"const":1}""", "2")]
    [InlineData("""{"if":{"type":"string"},"then":{"minLength":3}}""", "\"a\"")]
    [InlineData("""{"dependencies":{"a":["b"]}}""", """{"a":1}""")]
    [InlineData("""{"type":"array","maxItems":0}""", "[1]")]
    [InlineData("""{"propertyNames":{"maxLength":1}}""", """{"ab":1}""")]
    public void Difference_keywords_njsonschema_ignores_are_enforced(string schema, string json)
    {
        Assert.True(NJsonSchemaValid(schema, json));
        Assert.False(Valid(schema, json));
    }

    [Fact]
    public void Difference_string_length_counts_code_points()
    {
        const string Schema = """{"type":"string","maxLength":1}""";
        Assert.False(NJsonSchemaValid(Schema, "\"😀\"")); // two UTF-16 units
        Assert.True(Valid(Schema, "\"😀\"")); // one code point
    }

    [Fact]
    public void Difference_required_applies_to_objects_only()
    {
        const string Schema = """{"properties":{"a":{}},"required":["a"]}""";
        Assert.False(NJsonSchemaValid(Schema, "5"));
        Assert.True(Valid(Schema, "5"));
    }

    [Fact]
    public void Difference_null_is_checked_against_every_keyword()
    {
        const string Schema = """{"properties":{"c":{"type":["string","null"],"enum":["red","blue"]}}}""";
        Assert.True(NJsonSchemaValid(Schema, """{"c":null}"""));
        Assert.False(Valid(Schema, """{"c":null}"""));
    }

    [Fact]
    public void Difference_an_integer_may_have_a_zero_fraction_from_draft_6()
    {
        Assert.False(NJsonSchemaValid("""{"type":"integer"}""", "1.0"));
        Assert.True(Valid("""{"type":"integer"}""", "1.0"));
        Assert.False(Valid("""{"$schema":"http://json-schema.org/draft-04/schema#","type":"integer"}""", "1.0"));
    }

    [Fact]
    public void Difference_enum_values_are_compared_as_json()
    {
        Assert.True(NJsonSchemaValid("""{"enum":[1]}""", "\"1\""));
        Assert.False(Valid("""{"enum":[1]}""", "\"1\""));
    }
}

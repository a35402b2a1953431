using System.Collections.ObjectModel;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Json.Validation;
using Xunit.Abstractions;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>
/// Validation on serialize with what the value's type guarantees proven once per (type, schema) pair: the proven parts are
/// skipped, value constraints are still refused with their path, and every case the plan cannot account for validates the
/// JSON in full, with the same verdicts and messages as the JSON validator alone.
/// </summary>
public class JsonTypedValidationTests(ITestOutputHelper output)
{
    private static readonly SerializationContext Value = new(MessageComponentType.Value, "typed");

    private static JsonSerializerOptions Snake => TypedValidationOptions.SnakeGenerated;

    private static TypedJsonValidator<T> Typed<T>(string schema, JsonSerializerOptions options)
    {
        var validator = JsonValidation.ForValues<T>(new CompiledJsonValidator(schema), options, out var reason);
        return validator as TypedJsonValidator<T> ?? throw new Xunit.Sdk.XunitException($"no typed plan: {reason}");
    }

    private static string? Reason<T>(string schema, JsonSerializerOptions options)
    {
        var validator = JsonValidation.ForValues<T>(JsonValidation.CreateAsync(schema).GetAwaiter().GetResult(), options, out var reason);
        Assert.Equal(reason is null, validator is TypedJsonValidator<T>);
        return reason;
    }

    [Theory]
    [InlineData("generated")]
    [InlineData("reflection")]
    public void The_walkthrough_user_needs_three_checks_and_its_json_is_not_read(string mapping)
    {
        var options = mapping == "generated" ? Snake : TypedValidationOptions.SnakeReflection;
        var typed = Typed<TypedUser>(TypedUser.Schema, options);

        Assert.Equal(["#/twitter_handle"], typed.Proven);
        Assert.Equal(["#/name: not null", "#/favorite_number: exclusiveMinimum", "#/favorite_color: not null"], typed.PerMessage);

        // A value that passes its checks: the JSON is not even looked at (these bytes are not JSON).
        typed.Validate(new TypedUser("alice", 7, "blue", null), "not json"u8, 1, "s", "t");
        typed.Validate(new TypedUser(string.Empty, long.MaxValue, "\ud83c\udf89", "@a"), "not json"u8, 1, "s", "t");
        Assert.Equal(0, typed.JsonValidations);
    }

    [Fact]
    public void The_order_proves_its_uuids_and_timestamps_and_checks_the_rest()
    {
        var typed = Typed<TypedOrder>(TypedOrder.Schema, Snake);
        output.WriteLine("proven: " + string.Join(" | ", typed.Proven));
        output.WriteLine("per message: " + string.Join(" | ", typed.PerMessage));

        Assert.Equal(["#/order_id", "#/created_at", "#/customer.customer_id", "#/payment.authorized_at"], typed.Proven);
        Assert.Contains("#/items[].sku: not null, pattern", typed.PerMessage);
        Assert.Contains("#/items[].quantity: minimum, maximum", typed.PerMessage); // "type": "integer" is proven by int
        Assert.Contains("#/customer.tier: not null, enum", typed.PerMessage);
        Assert.Contains("#/items[].tags: not null, maxItems, uniqueItems, items", typed.PerMessage);
        Assert.True(typed.Accepts(TypedOrder.Sample()));
        typed.Validate(TypedOrder.Sample(), "{}"u8, 1, null, null); // checked on the value, not on these bytes
        Assert.Equal(0, typed.JsonValidations);
    }

    public static TheoryData<string, string> UserViolations => new()
    {
        { "number", "#/favorite_number: NumberTooSmall" },
        { "name", "#/name: StringExpected" },
        { "color", "#/favorite_color: StringExpected" },
    };

    [Theory]
    [MemberData(nameof(UserViolations))]
    public async Task A_user_value_violation_is_refused_naming_its_path(string broken, string violation)
    {
        var user = broken switch
        {
            "number" => new TypedUser("alice", 0, "blue", null),
            "name" => new TypedUser(null!, 7, "blue", null),
            _ => new TypedUser("alice", 7, null!, "@alice"),
        };

        var ex = await Refused(TypedUser.Schema, user);

        Assert.Contains(violation, ex.Violations);
    }

    public static TheoryData<string, string> OrderViolations => new()
    {
        { "quantity 0", "#/items[0].quantity: NumberTooSmall" },
        { "quantity 1001", "#/items[2].quantity: NumberTooBig" },
        { "sku pattern", "#/items[1].sku: PatternMismatch" },
        { "name too long", "#/customer.name: StringTooLong" },
        { "name empty", "#/customer.name: StringTooShort" },
        { "status", "#/status: NotInEnumeration" },
        { "customer null", "#/customer: ObjectExpected" },
        { "street null", "#/shipping_address.street: StringExpected" },
        { "tags duplicated", "#/items[0].tags: ItemsNotUnique" },
        { "tag too long", "#/items[3].tags[0]: StringTooLong" },
        { "discount", "#/items[4].discount: NumberTooBig" },
        { "price", "#/items[0].unit_price: NumberTooBig" },
        { "email", "#/customer.email: EmailExpected" },
        { "uri", "#/tracking_url: UriExpected" },
        { "no items", "#/items: TooFewItems" },
        { "loyalty", "#/customer.loyalty_points: NumberTooSmall" },
        { "card", "#/payment.card_suffix: PatternMismatch" },
    };

    [Theory]
    [MemberData(nameof(OrderViolations))]
    public async Task An_order_value_violation_is_refused_naming_its_path(string broken, string violation)
    {
        var order = TypedOrder.Sample();
        switch (broken)
        {
            case "quantity 0": order.Items[0].Quantity = 0; break;
            case "quantity 1001": order.Items[2].Quantity = 1001; break;
            case "sku pattern": order.Items[1].Sku = "sku-1"; break;
            case "name too long": order.Customer.Name = new string('n', 101); break;
            case "name empty": order.Customer.Name = string.Empty; break;
            case "status": order.Status = "lost"; break;
            case "customer null": order.Customer = null!; break;
            case "street null": order.ShippingAddress.Street = null!; break;
            case "tags duplicated": order.Items[0].Tags = ["books", "books"]; break;
            case "tag too long": order.Items[3].Tags = [new string('t', 31)]; break;
            case "discount": order.Items[4].Discount = 1.0000000000000002; break;
            case "price": order.Items[0].UnitPrice = 100_000m; break;
            case "email": order.Customer.Email = "alice@localhost"; break;
            case "uri": order.TrackingUrl = "tracking/parcels/1"; break;
            case "no items": order.Items = []; break;
            case "loyalty": order.Customer.LoyaltyPoints = -1; break;
            default: order.Payment.CardSuffix = "42"; break;
        }

        var ex = await Refused(TypedOrder.Schema, order);

        Assert.Contains(violation, ex.Violations);
        Assert.False(Typed<TypedOrder>(TypedOrder.Schema, Snake).Accepts(order));
    }

    /// <summary>Serializes with validation; the refusal must carry exactly the JSON validator's violations.</summary>
    private static async Task<JsonSchemaValidationException> Refused<T>(string schema, T value)
    {
        var serializer = new JsonSchemaSerializer<T>(new InProcessSchemaRegistry(), schema, JsonSchemaSerdeConfig.Default, Snake);
        var ex = await Assert.ThrowsAsync<JsonSchemaValidationException>(() => serializer.SerializeAsync(value, Value));
        Assert.Equal(new CompiledJsonValidator(schema).Check(JsonSerializer.SerializeToUtf8Bytes(value, Snake)), ex.Violations);
        return ex;
    }

    [Fact]
    public void A_null_in_a_nullable_value_type_against_a_non_null_type_is_checked_per_value()
    {
        const string Schema = """{"type":"object","properties":{"count":{"type":"integer","maximum":3},"label":{"type":"string"}}}""";
        var typed = Typed<Nullables>(Schema, TypedValidationOptions.SnakeReflection);

        Assert.Equal(["#/count: maximum", "#/label: not null"], typed.PerMessage);
        Assert.True(typed.Accepts(new Nullables { Count = 3, Label = "x" }));
        Assert.False(typed.Accepts(new Nullables { Count = null, Label = "x" }));
        Assert.False(typed.Accepts(new Nullables { Count = 4, Label = "x" }));
        Assert.False(typed.Accepts(new Nullables { Count = 1, Label = null }));

        // Not written when null: absent is fine, unless required.
        var lenient = Typed<Nullables>(Schema, TypedValidationOptions.SnakeWhenWritingNull);
        Assert.True(lenient.Accepts(new Nullables { Count = null, Label = null }));
        var strict = Typed<Nullables>(Schema.Replace("}}}", "}},\"required\":[\"count\"]}", StringComparison.Ordinal), TypedValidationOptions.SnakeWhenWritingNull);
        Assert.False(strict.Accepts(new Nullables { Count = null, Label = null }));
        Assert.True(strict.Accepts(new Nullables { Count = 0, Label = null }));
    }

    [Fact]
    public void Enums_and_booleans_get_each_values_verdict_from_the_json_validator()
    {
        const string Schema = """{"type":"object","properties":{"shade":{"enum":[0,7]},"named_shade":{"enum":["Red","DarkBlue"]},"maybe_shade":{"type":"integer","minimum":1},"flag":{"anyOf":[{"const":true}]}}}""";
        var typed = Typed<Widget>(Schema, Snake);

        Assert.True(typed.Accepts(new Widget { Shade = Shade.Green, NamedShade = Shade.DarkBlue, MaybeShade = Shade.DarkBlue, Flag = true }));
        Assert.False(typed.Accepts(new Widget { Shade = Shade.DarkBlue, NamedShade = Shade.DarkBlue, MaybeShade = null, Flag = true }));
        Assert.False(typed.Accepts(new Widget { Shade = Shade.Red, NamedShade = Shade.Green, MaybeShade = null, Flag = true }));
        Assert.False(typed.Accepts(new Widget { Shade = Shade.Red, NamedShade = Shade.Red, MaybeShade = Shade.Red, Flag = true }));
        Assert.False(typed.Accepts(new Widget { Shade = Shade.Red, NamedShade = Shade.Red, MaybeShade = null, Flag = false }));
        Assert.False(typed.Accepts(new Widget { Shade = (Shade)2, NamedShade = Shade.Red, MaybeShade = null, Flag = true })); // undefined: the JSON decides
        Assert.Null(new CompiledJsonValidator(Schema).Check(JsonSerializer.SerializeToUtf8Bytes(new Widget { Shade = Shade.Red, MaybeShade = Shade.DarkBlue, Flag = true }, Snake)));
    }

    public static TheoryData<string, string, string> Fallbacks => new()
    {
        { "custom converter", nameof(Shouting), """{"properties":{"a":{"type":"string","maxLength":3}}}""" },
        { "polymorphic", nameof(Zoo), """{"properties":{"star":{"type":"object","required":["name"]}}}""" },
        { "not known in advance", nameof(Loose), """{"properties":{"payload":{"type":"object"}}}""" },
        { "not known in advance", nameof(Loose), """{"properties":{"element":{"type":"object"}}}""" },
        { "content of a Dictionary", nameof(Loose), """{"properties":{"counts":{"additionalProperties":{"type":"integer","maximum":3}}}}""" },
        { "extension data", nameof(Extensible), """{"additionalProperties":false,"properties":{"a":{"type":"string"}}}""" },
        { "refers back to itself", nameof(TreeNode), """{"$ref":"#/definitions/node","definitions":{"node":{"type":"object","properties":{"name":{"type":"string","minLength":1},"children":{"type":"array","items":{"$ref":"#/definitions/node"}}},"required":["name"]}}}""" },
        { "allOf", nameof(Pair), """{"allOf":[{"properties":{"a":{"type":"string"}}},{"properties":{"b":{"maximum":3}}}]}""" },
        { "allOf", nameof(Pair), """{"properties":{"a":{"oneOf":[{"type":"string","maxLength":2},{"type":"null"}]}}}""" },
        { "allOf", nameof(Pair), """{"properties":{"a":{"anyOf":[{"type":"string","maxLength":2},{"type":"null"}]}}}""" },
        { "allOf", nameof(Pair), """{"properties":{"b":{"not":{"minimum":3}}}}""" },
        { "allOf", nameof(Pair), """{"if":{"properties":{"b":{"minimum":3}}},"then":{"properties":{"a":{"type":"string"}}},"else":{"required":["c"]}}""" },
        { "allOf", nameof(Pair), """{"dependentSchemas":{"a":{"properties":{"b":{"maximum":3}}}}}""" },
        { "dependencies", nameof(Pair), """{"dependentRequired":{"a":["b"]},"properties":{"b":{"maximum":3}}}""" },
        { "patternProperties", nameof(Pair), """{"patternProperties":{"^a":{"type":"string"}}}""" },
        { "patternProperties", nameof(Pair), """{"propertyNames":{"maxLength":1},"properties":{"b":{"maximum":3}}}""" },
        { "patternProperties", nameof(Pair), """{"minProperties":2,"properties":{"b":{"maximum":3}}}""" },
        { "NJsonSchema", nameof(Pair), """{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"a":{"type":"string"},"b":{}},"unevaluatedProperties":false}""" },
        { "allOf", nameof(Pair), """{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/s","maxLength":2}}}""" },
        { "not an auto-property", nameof(Computed), """{"properties":{"twice":{"maximum":10}}}""" },
        { "not an auto-property", nameof(Computed), """{"properties":{"label":{"maxLength":3}}}""" },
        { "tuples", nameof(Listed), """{"properties":{"values":{"items":[{"type":"integer"}],"additionalItems":false}}}""" },
        { "tuples", nameof(Listed), """{"properties":{"values":{"contains":{"const":1}}}}""" },
        { "uniqueItems of Double", nameof(Listed), """{"properties":{"ratios":{"uniqueItems":true}}}""" },
        { "enum or const on a Guid", nameof(Dated), """{"properties":{"id":{"enum":["3f2504e0-4f89-11d3-9a0c-0305e82c3301"]}}}""" },
        { "is not proven", nameof(Dated), """{"properties":{"at":{"pattern":"^2"}}}""" },
        { "is not proven", nameof(Dated), """{"properties":{"day":{"pattern":"^0"}}}""" },
    };

    [Theory]
    [MemberData(nameof(Fallbacks))]
    public async Task What_the_plan_cannot_account_for_validates_the_json_in_full(string reason, string type, string schema)
    {
        var random = new Random(schema.Length);
        var options = TypedValidationOptions.SnakeReflection;
        var said = type switch
        {
            nameof(Shouting) => await Agrees(schema, options, Many(random, r => new Shouting { A = Text(r), B = r.Next(-5, 6) }), reason),
            nameof(Zoo) => await Agrees(schema, options, Many(random, r => new Zoo { Star = r.Next(3) switch { 0 => null, 1 => new Animal { Name = Text(r) }, _ => new Dog { Name = Text(r), Barks = r.Next(2) == 0 } } }), reason),
            nameof(Loose) => await Agrees(schema, options, Many(random, LooseValue), reason),
            nameof(Extensible) => await Agrees(schema, options, Many(random, r => new Extensible { A = Text(r), Extra = r.Next(2) == 0 ? null : new() { ["x"] = JsonElement.Parse("1") } }), reason),
            nameof(TreeNode) => await Agrees(schema, options, Many(random, r => Tree(r, 0)), reason),
            nameof(Computed) => await Agrees(schema, options, Many(random, r => new Computed { B = r.Next(0, 8), Label = Text(r) }), reason),
            nameof(Listed) => await Agrees(schema, options, Many(random, r => new Listed { Values = r.Next(3) == 0 ? null : [.. Enumerable.Range(0, r.Next(3)).Select(_ => r.Next(3))], Ratios = [0.5, r.Next(2) * 0.5] }), reason),
            nameof(Dated) => await Agrees(schema, options, Many(random, r => new Dated { Id = r.Next(2) == 0 ? Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301") : Guid.NewGuid(), At = DateTimeOffset.UnixEpoch.AddDays(r.Next(20_000)), Day = DateOnly.FromDayNumber(r.Next(800_000)) }), reason),
            _ => await Agrees(schema, options, Many(random, r => new Pair { A = Text(r), B = r.Next(-5, 6) }), reason),
        };

        Assert.True(said.Valid > 0 && said.Invalid > 0, $"{said.Valid} valid, {said.Invalid} invalid");
    }

    public static TheoryData<string> OptionFallbacks => ["reference handler", "number handling", "read-only", "resolver"];

    [Theory]
    [MemberData(nameof(OptionFallbacks))]
    public async Task Options_that_change_what_is_written_validate_the_json_in_full(string reason)
    {
        var options = reason switch
        {
            "reference handler" => new JsonSerializerOptions(TypedValidationOptions.SnakeReflection) { ReferenceHandler = ReferenceHandler.Preserve },
            "number handling" => new JsonSerializerOptions(TypedValidationOptions.SnakeReflection) { NumberHandling = JsonNumberHandling.WriteAsString },
            "read-only" => new JsonSerializerOptions(TypedValidationOptions.SnakeReflection) { IgnoreReadOnlyProperties = true },
            _ => new JsonSerializerOptions(TypedValidationOptions.SnakeReflection) { TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RenameLabel } } },
        };
        const string Schema = """{"type":"object","properties":{"a":{"type":"string","maxLength":2},"label":{"maxLength":2},"b":{"maximum":3},"twice":{"maximum":6}},"required":["b"]}""";

        var said = await Agrees(Schema, options, Many(new Random(5), r => new Computed { B = r.Next(0, 6), Label = Text(r) }), reason);

        Assert.True(said.Valid > 0 && said.Invalid > 0, $"{said.Valid} valid, {said.Invalid} invalid");

        static void RenameLabel(JsonTypeInfo info)
        {
            foreach (var property in info.Properties.Where(p => p.Name == "label"))
            {
                property.Name = "a"; // then "a", with its maxLength, is the label
            }
        }
    }

    [Fact]
    public async Task Random_orders_are_judged_as_the_json_validator_judges_them()
    {
        var random = new Random(99);
        string?[] texts = [null, string.Empty, "EUR", "lost", "paid", "gold", "SKU-12345", "SKU-1234", "NW1 6XE", "gb", "GB", "a@b.io", "a@b", "https://e.com/x", "e.com", "1234", "0044 1632 960961", new string('x', 101), "\ud800"];
        var orders = new List<TypedOrder>();
        for (var i = 0; i < 600; i++)
        {
            var order = TypedOrder.Sample();
            for (var m = random.Next(3); m > 0; m--)
            {
                var text = texts[random.Next(texts.Length)];
                var item = order.Items.Count == 0 ? new TypedLineItem() : order.Items[random.Next(order.Items.Count)];
                switch (random.Next(16))
                {
                    case 0: order.Status = text!; break;
                    case 1: order.Customer.Name = text!; break;
                    case 2: order.Customer.Email = text!; break;
                    case 3: order.Customer.Phone = text; break;
                    case 4: order.Customer.LoyaltyPoints = random.Next(-2, 3) * 500_000; break;
                    case 5: order.ShippingAddress.PostalCode = text!; break;
                    case 6: order.BillingAddress.Country = text!; break;
                    case 7: item.Sku = text!; break;
                    case 8: item.Quantity = random.Next(-1, 3) * 500; break;
                    case 9: item.UnitPrice = random.Next(-1, 3) * 50_000m; break;
                    case 10: item.Discount = (random.Next(-1, 3) * 0.5) + (random.Next(2) * double.Epsilon); break;
                    case 11: item.Tags = random.Next(3) == 0 ? [.. item.Tags, .. item.Tags] : new Collection<string>([.. item.Tags]); break;
                    case 12: item.Currency = text!; break;
                    case 13: order.TrackingUrl = text; break;
                    case 14: order.Items = random.Next(2) == 0 ? [] : new Collection<TypedLineItem>([.. order.Items]); break;
                    default: order.Payment.Amount = random.Next(-1, 2) * 0.01m; break;
                }
            }

            orders.Add(order);
        }

        var said = await Agrees(TypedOrder.Schema, Snake, orders, expectedReason: null);

        output.WriteLine($"{said.Valid} valid, {said.Invalid} invalid, {said.Proven} proven on the value");
        Assert.True(said.Valid > 100 && said.Invalid > 100 && said.Proven > 100, $"{said.Valid} valid, {said.Invalid} invalid, {said.Proven} proven");
    }

    /// <summary>Random schemas over <see cref="Widget"/>'s properties, random widgets: what the checks accept, the JSON validator accepts.</summary>
    [Fact]
    public async Task Random_widgets_against_random_schemas_are_never_accepted_wrongly()
    {
        var random = new Random(20_261_126);
        JsonSerializerOptions[] optionSets = [Snake, TypedValidationOptions.SnakeReflection, TypedValidationOptions.SnakeWhenWritingNull, TypedValidationOptions.SnakeWhenWritingDefault];
        int plans = 0, fallbacks = 0, accepted = 0, valid = 0, invalid = 0, imprecise = 0;
        var reasons = new Dictionary<string, int>();
        for (var run = 0; run < 480; run++)
        {
            var schema = WidgetSchema(random);
            var options = optionSets[run % optionSets.Length];
            var compiled = new CompiledJsonValidator(schema);
            var typed = JsonValidation.ForValues<Widget>(compiled, options, out var reason) as TypedJsonValidator<Widget>;
            if (typed is null)
            {
                fallbacks++;
                var key = reason ?? "(none)";
                key = key[(key.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                reasons[key] = reasons.GetValueOrDefault(key) + 1;
            }
            else
            {
                plans++;
            }

            var widgets = Many(random, RandomWidget, 40);
            foreach (var widget in widgets)
            {
                var json = JsonSerializer.SerializeToUtf8Bytes(widget, options);
                IReadOnlyList<string>? errors;
                try
                {
                    errors = compiled.Check(json);
                }
                catch (OverflowException)
                {
                    errors = ["threw"];
                }

                if (errors is null)
                {
                    valid++;
                }
                else
                {
                    invalid++;
                }

                if (typed is null)
                {
                    continue;
                }

                if (typed.Accepts(widget))
                {
                    accepted++;
                    Assert.True(errors is null, $"accepted on the value, refused on the JSON ({string.Join("; ", errors ?? [])}):\n{schema}\n{Encoding.UTF8.GetString(json)}");
                }
                else if (errors is null)
                {
                    imprecise++;
                }
            }

            if (run % 8 == 0)
            {
                await Agrees(schema, options, widgets, expectedReason: typed is null ? string.Empty : null);
            }
        }

        output.WriteLine($"{plans} plans, {fallbacks} fallbacks, {valid} valid, {invalid} invalid, {accepted} accepted on the value, {imprecise} valid but left to the JSON validator");
        foreach (var (reason, count) in reasons.OrderByDescending(r => r.Value))
        {
            output.WriteLine($"  {count} x {reason}");
        }

        Assert.True(plans > 200 && accepted > 1000 && valid > 1200 && invalid > 1500, $"{plans} plans, {accepted} accepted, {valid} valid, {invalid} invalid");
    }

    [Fact]
    public void Numbers_read_as_the_json_validator_reads_their_literals()
    {
        var random = new Random(3);
        for (var i = 0; i < 50_000; i++)
        {
            var integer = (i % 4) switch
            {
                0 => random.NextInt64(),
                1 => -random.NextInt64(),
                2 => random.NextInt64(-1_000, 1_000),
                _ => (long)Math.Pow(10, random.Next(19)) * (random.Next(2) == 0 ? 1 : -1) - random.Next(-1, 2),
            };
            Same(NumberRules.Integer(integer), Read(JsonSerializer.SerializeToUtf8Bytes(integer)), integer);
            var unsigned = (ulong)random.NextInt64() * 2 + (ulong)random.Next(2);
            Same(NumberRules.Integer(unsigned), Read(JsonSerializer.SerializeToUtf8Bytes(unsigned)), unsigned);

            var scale = (byte)random.Next(29);
            var dec = new decimal(random.Next(), random.Next(), i % 3 == 0 ? 0 : random.Next(), random.Next(2) == 0, scale);
            Same(NumberRules.Decimal(dec), Read(JsonSerializer.SerializeToUtf8Bytes(dec)), dec);
            var small = Math.Round((decimal)random.NextDouble() * 1000, random.Next(4));
            Same(NumberRules.Decimal(small), Read(JsonSerializer.SerializeToUtf8Bytes(small)), small);
        }

        static JsonNumber Read(byte[] literal)
        {
            var reader = new Utf8JsonReader(literal);
            reader.Read();
            return JsonValues.Number(ref reader);
        }

        static void Same(JsonNumber ours, JsonNumber theirs, object value)
        {
            Assert.True(
                ours.IsDecimal == theirs.IsDecimal && ours.Decimal == theirs.Decimal && BitConverter.DoubleToInt64Bits(ours.Double) == BitConverter.DoubleToInt64Bits(theirs.Double),
                $"{value}: {ours} vs {theirs}");
        }
    }

    [Fact]
    public void Number_checks_give_the_json_validators_verdict()
    {
        var random = new Random(11);
        string[] schemas =
        [
            """{"type":"integer"}""", """{"$schema":"http://json-schema.org/draft-04/schema#","type":"integer"}""", """{"minimum":0.1,"maximum":0.30000000000000004}""",
            """{"exclusiveMinimum":-1e-7,"exclusiveMaximum":1e21}""", """{"multipleOf":0.1}""", """{"multipleOf":0.5,"minimum":-1e30}""", """{"enum":[0.5,1,"1",1e16]}""",
            """{"const":0.1}""", """{"type":"number","maximum":1.0000000000000002}""", """{"maximum":1e-400}""", """{"minimum":79228162514264337593543950336}""",
        ];
        var checks = schemas.Select(s => (Schema: s, Compiled: new CompiledJsonValidator(s), Rules: new NumberRules(new CompiledJsonValidator(s).Root))).ToArray();
        double[] special = [0, -0.0, 0.1, 0.3, 0.30000000000000004, 1, 1e15, 1e16, 1e21, 1e-7, -1e-7, 1e-30, 1e300, double.Epsilon, 0.5, 1.0000000000000002, 123456789.125, 79228162514264337593543950336.0];
        int agreed = 0;
        for (var i = 0; i < 4_000; i++)
        {
            var value = i < special.Length ? special[i] : (i % 3) switch
            {
                0 => BitConverter.Int64BitsToDouble(random.NextInt64()),
                1 => Math.Round(random.NextDouble() * Math.Pow(10, random.Next(-3, 20)), random.Next(0, 4)) * (random.Next(2) == 0 ? 1 : -1),
                _ => random.NextDouble() * Math.Pow(10, random.Next(-40, 40)),
            };
            if (!double.IsFinite(value))
            {
                continue;
            }

            foreach (var (schema, compiled, rules) in checks)
            {
                Assert.Equal(Verdict(compiled, JsonSerializer.SerializeToUtf8Bytes(value)), new DoubleCheck(rules).Accepts(value, 0));
                var single = (float)value;
                if (float.IsFinite(single))
                {
                    Assert.Equal(Verdict(compiled, JsonSerializer.SerializeToUtf8Bytes(single)), new SingleCheck(rules).Accepts(single, 0));
                }

                var dec = (decimal)Math.Round(random.NextDouble() * 100, random.Next(5));
                Assert.Equal(Verdict(compiled, JsonSerializer.SerializeToUtf8Bytes(dec)), new DecimalCheck(rules).Accepts(dec, 0));
                var integer = random.NextInt64(-20, 20) * (long)Math.Pow(10, random.Next(18));
                Assert.Equal(Verdict(compiled, JsonSerializer.SerializeToUtf8Bytes(integer)), new IntegerCheck<long>(rules).Accepts(integer, 0));
                agreed++;
            }
        }

        Assert.True(agreed > 30_000);

        // The validator gives up on a number beyond a double's range: the check never accepts what it cannot judge.
        static bool Verdict(CompiledJsonValidator compiled, byte[] json)
        {
            try
            {
                return compiled.Check(json) is null;
            }
            catch (OverflowException)
            {
                return false;
            }
        }
    }

    [Fact]
    public void The_formats_proven_for_dates_times_and_guids_hold_for_what_system_text_json_writes()
    {
        var random = new Random(17);
        for (var i = 0; i < 20_000; i++)
        {
            var ticks = i switch { 0 => DateTime.MinValue.Ticks, 1 => DateTime.MaxValue.Ticks, _ => random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks) };
            var offset = TimeSpan.FromMinutes(random.Next(-14 * 60, (14 * 60) + 1));
            var dateTime = new DateTime(ticks, (DateTimeKind)(i % 3));
            var text = (i % 5) switch
            {
                0 => JsonSerializer.Serialize(dateTime),
                1 => JsonSerializer.Serialize(new DateTimeOffset(Math.Clamp(ticks, DateTime.MinValue.Ticks + (15 * TimeSpan.TicksPerHour), DateTime.MaxValue.Ticks - (15 * TimeSpan.TicksPerHour)), offset)),
                2 => JsonSerializer.Serialize(new DateTime(ticks - (ticks % TimeSpan.TicksPerSecond), (DateTimeKind)(i % 3))),
                3 => JsonSerializer.Serialize(DateOnly.FromDateTime(dateTime)),
                _ => JsonSerializer.Serialize(TimeOnly.FromDateTime(dateTime)),
            };
            var value = JsonSerializer.Deserialize<string>(text)!;
            var formats = (i % 5) switch { 3 => new[] { StringFormat.Date, StringFormat.DateTime }, 4 => [StringFormat.Time], _ => [StringFormat.DateTime] };
            foreach (var format in formats)
            {
                Assert.True(JsonFormats.IsValid(format, value), $"{format}: {value}");
            }

            var guid = new Guid(Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray());
            Assert.Equal($"\"{guid:D}\"", JsonSerializer.Serialize(guid));
            Assert.True(JsonFormats.IsValid(StringFormat.Uuid, guid.ToString("D")));
        }
    }

    [Fact]
    public void Checking_a_value_allocates_nothing()
    {
        var user = Typed<TypedUser>(TypedUser.Schema, Snake);
        var order = Typed<TypedOrder>(TypedOrder.Schema, Snake);
        var alice = new TypedUser("alice", 7, "blue", "@alice");
        var sample = TypedOrder.Sample();
        sample.TrackingUrl = null; // format "uri" needs a Uri, as the JSON validator does
        Assert.True(user.Accepts(alice));
        Assert.True(order.Accepts(sample)); // warm: the regexes' runners are cached

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            _ = user.Accepts(alice);
            _ = order.Accepts(sample);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task The_latest_schema_of_the_subject_gets_its_own_plan()
    {
        var registry = new InProcessSchemaRegistry();
        const string Latest = """{"type":"object","properties":{"name":{"type":"string","maxLength":3},"favorite_number":{"type":"number"},"favorite_color":{"type":"string"}}}""";
        await registry.RegisterSchemaAsync("typed-value", new Confluent.SchemaRegistry.Schema(Latest, Confluent.SchemaRegistry.SchemaType.Json));
        var config = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["use.latest.version"] = "true", ["auto.register.schemas"] = "false", ["latest.compatibility.strict"] = "false" });
        var serializer = new JsonSchemaSerializer<TypedUser>(registry, TypedUser.Schema, config, Snake);

        _ = await serializer.SerializeAsync(new TypedUser("bob", 0, "red", null), Value); // exclusiveMinimum is not in the latest schema
        var ex = await Assert.ThrowsAsync<JsonSchemaValidationException>(() => serializer.SerializeAsync(new TypedUser("alice", 7, "blue", null), Value));

        Assert.Equal(["#/name: StringTooLong"], ex.Violations);
    }

    /// <summary>Serializes every value with validation and checks the outcome against the JSON validator alone: same verdict, same violations.</summary>
    private static async Task<(int Valid, int Invalid, int Proven)> Agrees<T>(string schema, JsonSerializerOptions options, IEnumerable<T> values, string? expectedReason)
    {
        var reason = Reason<T>(schema, options);
        if (expectedReason is null)
        {
            Assert.Null(reason);
        }
        else
        {
            Assert.NotNull(reason);
            Assert.Contains(expectedReason, reason, StringComparison.Ordinal);
        }

        var json = await JsonValidation.CreateAsync(schema);
        var typed = JsonValidation.ForValues<T>(json, options, out _) as TypedJsonValidator<T>;
        var serializer = new JsonSchemaSerializer<T>(new InProcessSchemaRegistry(), schema, JsonSchemaSerdeConfig.Default, options);
        int valid = 0, invalid = 0, proven = 0;
        foreach (var value in values)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(value, options);
            IReadOnlyList<string>? expected;
            try
            {
                expected = json.Check(bytes);
            }
            catch (Exception ex) when (ex is OverflowException or InvalidCastException)
            {
                var failure = await Assert.ThrowsAnyAsync<JsonSerdeException>(() => serializer.SerializeAsync(value, Value));
                Assert.Equal(JsonSerdeFailure.SchemaViolation, failure.Failure);
                continue;
            }

            if (typed?.Accepts(value) == true)
            {
                proven++;
                Assert.Null(expected);
            }

            if (expected is null)
            {
                valid++;
                var framed = await serializer.SerializeAsync(value, Value);
                Assert.Equal(bytes, framed.AsSpan(5).ToArray());
            }
            else
            {
                invalid++;
                var refused = await Assert.ThrowsAsync<JsonSchemaValidationException>(() => serializer.SerializeAsync(value, Value));
                Assert.Equal(expected, refused.Violations);
            }
        }

        return (valid, invalid, proven);
    }

    private static List<T> Many<T>(Random random, Func<Random, T> make, int count = 200) => [.. Enumerable.Range(0, count).Select(_ => make(random))];

    private static readonly string?[] Texts =
    [
        null, string.Empty, "a", "bb", "abc", "abcd", "abcde", "Red", "DarkBlue", "x@y.io", "x@y", "https://e.com/p?q=1", "not a uri", "2024-01-01T10:00:00Z",
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301", "a\ud800", "\ud83c\udf89", "\u00e9\u00e9", "a\ud83c\udf89", "<&>", "\"q\"", "a\u0000b", new string('a', 300),
    ];

    private static string? Text(Random random) => Texts[random.Next(Texts.Length)];

    private static Loose LooseValue(Random random) => new()
    {
        Payload = random.Next(3) switch { 0 => null, 1 => "text", _ => new Dictionary<string, int> { ["k"] = 1 } },
        Element = JsonElement.Parse(random.Next(2) == 0 ? "{}" : "[1]"),
        Counts = random.Next(3) == 0 ? null : new Dictionary<string, int> { ["a"] = random.Next(6) },
    };

    private static TreeNode Tree(Random random, int depth) => new()
    {
        Name = random.Next(5) == 0 ? string.Empty : "n",
        Children = depth > 2 || random.Next(2) == 0 ? null : [.. Enumerable.Range(0, random.Next(3)).Select(_ => Tree(random, depth + 1))],
    };

    private static readonly Dictionary<string, string[]> Pools = new()
    {
        ["string"] =
        [
            """{"type":"string"}""", """{"type":["string","null"]}""", """{"type":"string","minLength":2,"maxLength":4}""", """{"type":["string","null"],"pattern":"^[a-c]+$"}""",
            """{"format":"email"}""", """{"type":"string","format":"uri"}""", """{"format":"date-time"}""", """{"format":"uuid"}""", """{"enum":["a","bb",null,1]}""",
            """{"const":"bb"}""", """{"type":"integer"}""", """{"type":"string","nullable":true,"minLength":1}""", """{"$ref":"#/definitions/short"}""",
            """{"$ref":"#/definitions/short","x-nullable":true}""", "true", "false", """{"maxLength":0}""",
        ],
        ["number"] =
        [
            """{"type":"integer"}""", """{"type":"number"}""", """{"type":"string"}""", """{"type":["integer","null"]}""", """{"type":"integer","minimum":-5,"maximum":5}""",
            """{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1.5}""", """{"multipleOf":0.5}""", """{"multipleOf":3}""", """{"enum":[0,1,2.5,"x",null]}""",
            """{"const":1}""", """{"minimum":0.1}""", """{"maximum":1e20}""", """{"minimum":-1e30}""", """{"exclusiveMaximum":0.30000000000000004}""", """{"maximum":0.1}""",
            """{"$ref":"#/definitions/small"}""", "false", """{"type":["number","null"],"minimum":0}""",
        ],
        ["bool"] = ["""{"type":"boolean"}""", """{"const":true}""", """{"enum":[false]}""", """{"type":"string"}""", """{"anyOf":[{"const":true},{"type":"null"}]}"""],
        ["enum"] =
        [
            """{"type":"integer"}""", """{"type":"string"}""", """{"enum":[0,1]}""", """{"enum":["Red","darkBlue","DarkBlue",7]}""", """{"type":"string","pattern":"^[A-Z]"}""",
            """{"type":["integer","null"],"minimum":1}""", """{"not":{"const":"Green"}}""", """{"enum":["Soft",null,1]}""", """{"type":["string","null"],"maxLength":4}""",
        ],
        ["tones"] = ["""{"items":{"enum":["Soft","loud"]}}""", """{"type":"array","items":{"type":"string","pattern":"^S"}}""", """{"items":{"type":"integer"}}""", """{"uniqueItems":true}"""],
        ["guid"] = ["""{"type":"string","format":"uuid"}""", """{"pattern":"^[0-7]"}""", """{"maxLength":35}""", """{"format":"email"}""", """{"type":"integer"}""", """{"minLength":36}"""],
        ["date"] = ["""{"type":"string"}""", """{"type":"string","format":"date-time"}""", """{"type":"integer"}""", """{"type":["string","null"]}"""],
        ["ints"] =
        [
            """{"type":"array"}""", """{"type":["array","null"],"items":{"type":"integer","maximum":5},"uniqueItems":true}""", """{"minItems":1,"maxItems":3}""",
            """{"type":"object"}""", """{"items":{"enum":[1,2,3]}}""", """{"items":{"multipleOf":2}}""",
        ],
        ["words"] =
        [
            """{"type":"array","items":{"type":"string","maxLength":3}}""", """{"uniqueItems":true}""", """{"items":{"type":["string","null"]}}""",
            """{"type":"array","maxItems":2,"items":{"pattern":"^a"}}""", """{"items":{"type":"string"},"uniqueItems":true,"minItems":1}""",
        ],
        ["amounts"] = ["""{"uniqueItems":true,"items":{"multipleOf":0.25}}""", """{"items":{"type":"integer"}}""", """{"type":["array","null"],"maxItems":1}"""],
        ["map"] = ["""{"type":"object"}""", """{"type":["object","null"]}""", """{"type":"array"}"""],
        ["bytes"] = ["""{"type":"string"}""", """{"type":["string","null"]}""", """{"type":"integer"}"""],
        ["part"] =
        [
            """{"type":"object","properties":{"label":{"type":"string","maxLength":3},"size":{"minimum":0}},"required":["label"]}""",
            """{"type":["object","null"],"additionalProperties":false,"properties":{"label":{}}}""", """{"type":"object","required":["nope"]}""",
            """{"$ref":"#/definitions/part"}""", """{"type":["object","null"],"additionalProperties":{"type":"integer"}}""",
        ],
        ["parts"] = ["""{"type":"array","items":{"$ref":"#/definitions/part"}}""", """{"items":{"type":["object","null"],"properties":{"size":{"maximum":3}}}}""", """{"minItems":2}"""],
        ["fallback"] =
        [
            """{"anyOf":[{"type":"string"},{"type":"null"}]}""", """{"allOf":[{"minimum":0}]}""", """{"contains":{"const":1}}""", """{"enum":["x"]}""",
            """{"additionalProperties":{"type":"integer"}}""", """{"minProperties":1}""",
        ],
    };

    private static readonly (string Name, string Pool)[] WidgetProperties =
    [
        ("text", "string"), ("int", "number"), ("long", "number"), ("u_long", "number"), ("short", "number"), ("double", "number"), ("float", "number"),
        ("decimal", "number"), ("maybe_int", "number"), ("maybe_double", "number"), ("flag", "bool"), ("shade", "enum"), ("named_shade", "enum"),
        ("maybe_shade", "enum"), ("maybe_named_shade", "enum"), ("tone", "enum"), ("maybe_tone", "enum"), ("tones", "tones"), ("id", "guid"), ("at", "date"), ("when", "date"), ("day", "date"), ("time", "date"), ("ints", "ints"), ("words", "words"),
        ("maybe_words", "words"), ("amounts", "amounts"), ("map", "map"), ("bytes", "bytes"), ("part", "part"), ("parts", "parts"),
    ];

    private static string WidgetSchema(Random random)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var (name, pool) in WidgetProperties)
        {
            if (random.Next(10) < 8)
            {
                var constrained = random.Next(100) < 15;
                var choices = Pools[random.Next(100) < 2 ? "fallback" : pool];
                properties[name] = JsonNode.Parse(constrained ? choices[random.Next(choices.Length)] : "{}");
            }

            if (random.Next(100) < 12)
            {
                required.Add(name);
            }
        }

        if (random.Next(100) < 3)
        {
            required.Add("missing");
        }

        var schema = new JsonObject
        {
            ["$schema"] = random.Next(5) == 0 ? "http://json-schema.org/draft-04/schema#" : "http://json-schema.org/draft-07/schema#",
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = required,
            ["definitions"] = JsonNode.Parse("""
                {"short":{"type":"string","maxLength":3},"small":{"type":"integer","maximum":10},
                 "part":{"type":"object","properties":{"label":{"type":["string","null"],"minLength":1},"size":{"type":"integer","exclusiveMinimum":0}},"required":["size"],"additionalProperties":false}}
                """),
        };
        switch (random.Next(10))
        {
            case 0: schema["additionalProperties"] = false; break;
            case 1: schema["additionalProperties"] = JsonNode.Parse("""{"type":"string"}"""); break;
        }

        return schema.ToJsonString();
    }

    private static T Pick<T>(Random random, params T[] values) => values[random.Next(values.Length)];

    private static Widget RandomWidget(Random random)
    {
        double[] doubles = [0, -0.0, 0.1, 0.5, 1, 1.5, 2.5, 3, 0.30000000000000004, 0.3, 1e20, 1e21, 1e-7, 1e-30, -1e30, -1e31, 5.000000000000001, 4.999999999999999, 1e15, 1e16 + 2, -6, 10];
        decimal[] decimals = [0m, 0.0m, 1.50m, 2.5m, 0.1m, -5m, 5.00m, decimal.MaxValue, 0.0000000000000000000000000001m, 0.25m, 3m, 1.0m, 11m];
        long[] longs = [0, 1, -1, 5, 6, -5, -6, 3, 10, 11, long.MaxValue, long.MinValue, 999_999_999_999_999_999, 1_000_000_000_000_000_000, -99_999_999_999_999_999, -100_000_000_000_000_000];
        int Small() => Pick(random, 0, 1, 2, 3, -1, 5, 6, 10, 11, int.MaxValue);
        List<T>? ListOf<T>(Func<T> item) => random.Next(4) == 0 ? null : [.. Enumerable.Range(0, random.Next(5)).Select(_ => item())];
        return new Widget
        {
            Text = Text(random),
            Int = Small(),
            Long = Pick(random, longs),
            ULong = Pick(random, 0UL, 1UL, 5UL, ulong.MaxValue, 10_000_000_000_000_000_000UL),
            Short = (short)Pick(random, 0, 3, -6, short.MaxValue),
            Double = Pick(random, doubles),
            Float = (float)Pick(random, doubles),
            Decimal = Pick(random, decimals),
            MaybeInt = random.Next(3) == 0 ? null : Small(),
            MaybeDouble = random.Next(3) == 0 ? null : Pick(random, doubles),
            Flag = random.Next(2) == 0,
            Shade = Pick(random, Shade.Red, Shade.DarkBlue, Shade.Green, (Shade)3),
            NamedShade = Pick(random, Shade.Red, Shade.DarkBlue, Shade.Green, (Shade)(-1)),
            MaybeShade = random.Next(3) == 0 ? null : Pick(random, Shade.Red, Shade.DarkBlue, Shade.Green),
            MaybeNamedShade = random.Next(3) == 0 ? null : Pick(random, Shade.Red, Shade.DarkBlue, Shade.Green),
            Tone = Pick(random, Tone.Soft, Tone.Loud, (Tone)5),
            MaybeTone = random.Next(3) == 0 ? null : Pick(random, Tone.Soft, Tone.Loud),
            Tones = ListOf(() => Pick(random, Tone.Soft, Tone.Loud)),
            Id = random.Next(2) == 0 ? Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301") : new Guid(Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray()),
            At = new DateTimeOffset(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks - TimeSpan.TicksPerDay) + TimeSpan.TicksPerHour, TimeSpan.FromHours(random.Next(-1, 2))),
            When = new DateTime(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), (DateTimeKind)random.Next(3)),
            Day = DateOnly.FromDayNumber(random.Next(3_000_000)),
            Time = new TimeOnly(random.NextInt64(TimeSpan.TicksPerDay)),
            Ints = ListOf(Small),
            Words = ListOf(() => Text(random) ?? "w")?.ToArray(),
            MaybeWords = random.Next(3) switch { 0 => ListOf(() => Text(random)), 1 => ListOf(() => Text(random))?.ToArray(), _ => new Collection<string?>([Text(random)]) },
            Amounts = random.Next(3) switch { 0 => ListOf(() => Pick(random, decimals)), 1 => ListOf(() => Pick(random, decimals))?.ToArray(), _ => new ReadOnlyCollection<decimal>([1m]) },
            Map = random.Next(2) == 0 ? null : new Dictionary<string, int> { ["k"] = 1 },
            Bytes = random.Next(2) == 0 ? null : [1, 2, 3],
            Part = random.Next(3) == 0 ? null : new WidgetPart { Label = Text(random), Size = Small() },
            Parts = ListOf(() => random.Next(4) == 0 ? null : new WidgetPart { Label = Text(random), Size = Small() }),
        };
    }

    public sealed class Nullables
    {
        public int? Count { get; set; }

        public string? Label { get; set; }
    }

    public sealed class Pair
    {
        public string? A { get; set; }

        public int B { get; set; }
    }

    public sealed class Shouting
    {
        [JsonConverter(typeof(UpperCase))]
        public string? A { get; set; }

        public int B { get; set; }
    }

    public sealed class UpperCase : JsonConverter<string>
    {
        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString();

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToUpperInvariant() + "!");
    }

    [JsonDerivedType(typeof(Animal), "animal")]
    [JsonDerivedType(typeof(Dog), "dog")]
    public class Animal
    {
        public string? Name { get; set; }
    }

    public sealed class Dog : Animal
    {
        public bool Barks { get; set; }
    }

    public sealed class Zoo
    {
        public Animal? Star { get; set; }
    }

    public sealed class Loose
    {
        public object? Payload { get; set; }

        public JsonElement Element { get; set; }

        public Dictionary<string, int>? Counts { get; set; }
    }

    public sealed class Extensible
    {
        public string? A { get; set; }

        [JsonExtensionData]
        public Dictionary<string, JsonElement>? Extra { get; set; }
    }

    public sealed class TreeNode
    {
        public string? Name { get; set; }

        public List<TreeNode>? Children { get; set; }
    }

    public sealed class Computed
    {
        public int B { get; set; }

        public string? Label { get => field; set => field = value; }

        public int Twice => B * 2;
    }

    public sealed class Listed
    {
        public List<int>? Values { get; set; }

        public double[] Ratios { get; set; } = [];
    }

    public sealed class Dated
    {
        public Guid Id { get; set; }

        public DateTimeOffset At { get; set; }

        public DateOnly Day { get; set; }
    }
}

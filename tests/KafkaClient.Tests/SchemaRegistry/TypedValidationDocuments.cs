using System.Text.Json;
using System.Text.Json.Serialization;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The walkthrough's user, as the benchmarks write it.</summary>
public sealed record TypedUser(string Name, long FavoriteNumber, string FavoriteColor, string? TwitterHandle)
{
    public const string Schema = """
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
}

/// <summary>The benchmarks' 2 KB order: formats, patterns, enums, bounds, nested objects, $ref, arrays, closed objects.</summary>
public sealed class TypedOrder
{
    public const string Schema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "Order",
          "type": "object",
          "additionalProperties": false,
          "required": ["order_id", "status", "created_at", "customer", "shipping_address", "billing_address", "items", "payment"],
          "properties": {
            "order_id": { "type": "string", "format": "uuid" },
            "status": { "type": "string", "enum": ["pending", "paid", "shipped", "delivered", "cancelled"] },
            "created_at": { "type": "string", "format": "date-time" },
            "customer": { "$ref": "#/definitions/customer" },
            "shipping_address": { "$ref": "#/definitions/address" },
            "billing_address": { "$ref": "#/definitions/address" },
            "items": { "type": "array", "minItems": 1, "maxItems": 100, "items": { "$ref": "#/definitions/line_item" } },
            "payment": { "$ref": "#/definitions/payment" },
            "notes": { "type": ["string", "null"], "maxLength": 500 },
            "tracking_url": { "type": ["string", "null"], "format": "uri" }
          },
          "definitions": {
            "customer": {
              "type": "object",
              "additionalProperties": false,
              "required": ["customer_id", "name", "email", "tier", "loyalty_points"],
              "properties": {
                "customer_id": { "type": "string", "format": "uuid" },
                "name": { "type": "string", "minLength": 1, "maxLength": 100 },
                "email": { "type": "string", "format": "email" },
                "phone": { "type": ["string", "null"], "pattern": "^[0-9 ]{7,20}$" },
                "tier": { "type": "string", "enum": ["bronze", "silver", "gold", "platinum"] },
                "loyalty_points": { "type": "integer", "minimum": 0, "maximum": 1000000 }
              }
            },
            "address": {
              "type": "object",
              "additionalProperties": false,
              "required": ["street", "city", "postal_code", "country"],
              "properties": {
                "street": { "type": "string", "minLength": 1, "maxLength": 200 },
                "city": { "type": "string", "minLength": 1, "maxLength": 100 },
                "region": { "type": ["string", "null"], "maxLength": 100 },
                "postal_code": { "type": "string", "pattern": "^[A-Z0-9 -]{3,10}$" },
                "country": { "type": "string", "pattern": "^[A-Z]{2}$" }
              }
            },
            "line_item": {
              "type": "object",
              "additionalProperties": false,
              "required": ["sku", "name", "quantity", "unit_price", "currency"],
              "properties": {
                "sku": { "type": "string", "pattern": "^[A-Z]{3}-[0-9]{5}$" },
                "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                "quantity": { "type": "integer", "minimum": 1, "maximum": 1000 },
                "unit_price": { "type": "number", "minimum": 0, "exclusiveMaximum": 100000 },
                "currency": { "type": "string", "enum": ["USD", "EUR", "GBP", "JPY"] },
                "discount": { "type": "number", "minimum": 0, "maximum": 1 },
                "tags": { "type": "array", "maxItems": 10, "uniqueItems": true, "items": { "type": "string", "minLength": 1, "maxLength": 30 } }
              }
            },
            "payment": {
              "type": "object",
              "additionalProperties": false,
              "required": ["method", "amount", "currency", "authorized_at"],
              "properties": {
                "method": { "type": "string", "enum": ["card", "paypal", "bank_transfer"] },
                "amount": { "type": "number", "minimum": 0 },
                "currency": { "type": "string", "enum": ["USD", "EUR", "GBP", "JPY"] },
                "authorized_at": { "type": "string", "format": "date-time" },
                "card_suffix": { "type": ["string", "null"], "pattern": "^[0-9]{4}$" }
              }
            }
          }
        }
        """;

    public Guid OrderId { get; set; }

    public string Status { get; set; } = "pending";

    public DateTimeOffset CreatedAt { get; set; }

    public TypedCustomer Customer { get; set; } = new();

    public TypedAddress ShippingAddress { get; set; } = new();

    public TypedAddress BillingAddress { get; set; } = new();

    public IList<TypedLineItem> Items { get; set; } = [];

    public TypedPayment Payment { get; set; } = new();

    public string? Notes { get; set; }

    public string? TrackingUrl { get; set; }

    public static TypedOrder Sample()
    {
        string[][] tags = [["books", "fiction"], ["garden"], ["kitchen", "gift", "sale"], ["toys"], ["books", "classics"], ["outdoor", "summer"], ["electronics"], ["office", "sale"]];
        var items = new List<TypedLineItem>();
        for (var i = 0; i < tags.Length; i++)
        {
            items.Add(new TypedLineItem
            {
                Sku = $"SKU-{10_000 + (i * 137):D5}",
                Name = $"Catalogue item number {i + 1}, standard edition",
                Quantity = i + 1,
                UnitPrice = 9.99m + (i * 3.25m),
                Currency = "EUR",
                Discount = i % 3 == 0 ? 0.15 : 0.05,
                Tags = tags[i],
            });
        }

        TypedAddress Address() => new() { Street = "221B Baker Street, Flat 2", City = "London", Region = "Greater London", PostalCode = "NW1 6XE", Country = "GB" };
        return new TypedOrder
        {
            OrderId = Guid.Parse("3f2c8b8e-6a1d-4c1e-9a57-0c8f2d9b7e41"),
            Status = "paid",
            CreatedAt = new DateTimeOffset(2025, 5, 17, 9, 41, 27, TimeSpan.Zero),
            Customer = new TypedCustomer
            {
                CustomerId = Guid.Parse("b1a6f0d2-2e4b-4f7a-8c3d-5e6f7a8b9c0d"),
                Name = "Alice Liddell",
                Email = "alice.liddell@example.org",
                Phone = "0044 1632 960961",
                Tier = "gold",
                LoyaltyPoints = 18_650,
            },
            ShippingAddress = Address(),
            BillingAddress = Address(),
            Items = items,
            Payment = new TypedPayment { Method = "card", Amount = 412.37m, Currency = "EUR", AuthorizedAt = new DateTimeOffset(2025, 5, 17, 9, 41, 31, TimeSpan.Zero), CardSuffix = "4242" },
            Notes = "Please leave the parcel with the neighbour at number 219 if nobody answers the door.",
            TrackingUrl = "https://tracking.example.com/parcels/GB1234567890?lang=en",
        };
    }
}

public sealed class TypedCustomer
{
    public Guid CustomerId { get; set; }

    public string Name { get; set; } = string.Empty;

    public string Email { get; set; } = string.Empty;

    public string? Phone { get; set; }

    public string Tier { get; set; } = "bronze";

    public int LoyaltyPoints { get; set; }
}

public sealed class TypedAddress
{
    public string Street { get; set; } = string.Empty;

    public string City { get; set; } = string.Empty;

    public string? Region { get; set; }

    public string PostalCode { get; set; } = string.Empty;

    public string Country { get; set; } = string.Empty;
}

public sealed class TypedLineItem
{
    public string Sku { get; set; } = string.Empty;

    public string Name { get; set; } = string.Empty;

    public int Quantity { get; set; }

    public decimal UnitPrice { get; set; }

    public string Currency { get; set; } = "EUR";

    public double Discount { get; set; }

    public IList<string> Tags { get; set; } = [];
}

public sealed class TypedPayment
{
    public string Method { get; set; } = "card";

    public decimal Amount { get; set; }

    public string Currency { get; set; } = "EUR";

    public DateTimeOffset AuthorizedAt { get; set; }

    public string? CardSuffix { get; set; }
}

public enum Shade
{
    Red,
    DarkBlue,
    Green = 7,
}

[JsonConverter(typeof(JsonStringEnumConverter<Tone>))]
public enum Tone
{
    Soft,
    Loud,
}

/// <summary>One property of each kind the typed checks handle, for differential tests against the JSON validator.</summary>
public sealed class Widget
{
    public string? Text { get; set; }

    public int Int { get; set; }

    public long Long { get; set; }

    public ulong ULong { get; set; }

    public short Short { get; set; }

    public double Double { get; set; }

    public float Float { get; set; }

    public decimal Decimal { get; set; }

    public int? MaybeInt { get; set; }

    public double? MaybeDouble { get; set; }

    public bool Flag { get; set; }

    public Shade Shade { get; set; }

    [JsonConverter(typeof(JsonStringEnumConverter<Shade>))]
    public Shade NamedShade { get; set; }

    public Shade? MaybeShade { get; set; }

    [JsonConverter(typeof(JsonStringEnumConverter<Shade>))]
    public Shade? MaybeNamedShade { get; set; }

    public Tone Tone { get; set; }

    public Tone? MaybeTone { get; set; }

    public List<Tone>? Tones { get; set; }

    public Guid Id { get; set; }

    public DateTimeOffset At { get; set; }

    public DateTime When { get; set; }

    public DateOnly Day { get; set; }

    public TimeOnly Time { get; set; }

    public List<int>? Ints { get; set; }

    public string[]? Words { get; set; }

    public IList<string?>? MaybeWords { get; set; }

    public IReadOnlyList<decimal>? Amounts { get; set; }

    public Dictionary<string, int>? Map { get; set; }

    public byte[]? Bytes { get; set; }

    public WidgetPart? Part { get; set; }

    public List<WidgetPart?>? Parts { get; set; }
}

public sealed class WidgetPart
{
    public string? Label { get; set; }

    public int Size { get; set; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TypedUser))]
[JsonSerializable(typeof(TypedOrder))]
[JsonSerializable(typeof(Widget))]
public sealed partial class TypedValidationContext : JsonSerializerContext;

/// <summary>The option sets the typed checks are tested under.</summary>
public static class TypedValidationOptions
{
    public static JsonSerializerOptions SnakeReflection { get; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static JsonSerializerOptions SnakeGenerated => TypedValidationContext.Default.Options;

    public static JsonSerializerOptions SnakeWhenWritingNull { get; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static JsonSerializerOptions SnakeWhenWritingDefault { get; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault };
}

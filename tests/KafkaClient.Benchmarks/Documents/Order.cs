using Newtonsoft.Json;
using Newtonsoft.Json.Serialization;

namespace KafkaClient.Benchmarks.Documents;

/// <summary>
/// A larger document (about 2 KB of JSON) whose schema has what makes validation cost: nested objects and <c>$ref</c>,
/// arrays, string formats (uuid, date-time, email, uri), patterns, enums, numeric bounds, unique items and closed objects.
/// </summary>
/// <remarks>
/// One set of mutable classes serves every serde: System.Text.Json maps them with snake_case naming
/// (<see cref="BenchJsonContext"/>) and Newtonsoft.Json, for Confluent's serdes, with its snake_case naming strategy,
/// so both write the same bytes. Enumerated values are strings, checked by the schema's <c>enum</c>.
/// </remarks>
[JsonObject(NamingStrategyType = typeof(SnakeCaseNamingStrategy))]
public sealed class Order
{
    public const string Schema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "Order",
          "description": "A web shop order",
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

    public Customer Customer { get; set; } = new();

    public Address ShippingAddress { get; set; } = new();

    public Address BillingAddress { get; set; } = new();

    public IList<LineItem> Items { get; set; } = [];

    public Payment Payment { get; set; } = new();

    public string? Notes { get; set; }

    public string? TrackingUrl { get; set; }

    /// <summary>Gets the order every benchmark writes and reads (about 2 KB of JSON).</summary>
    public static Order Sample { get; } = CreateSample();

    private static Order CreateSample()
    {
        string[][] tags = [["books", "fiction"], ["garden"], ["kitchen", "gift", "sale"], ["toys"], ["books", "classics"], ["outdoor", "summer"], ["electronics"], ["office", "sale"]];
        var items = new List<LineItem>();
        for (var i = 0; i < tags.Length; i++)
        {
            items.Add(new LineItem
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

        var address = new Address { Street = "221B Baker Street, Flat 2", City = "London", Region = "Greater London", PostalCode = "NW1 6XE", Country = "GB" };
        return new Order
        {
            OrderId = Guid.Parse("3f2c8b8e-6a1d-4c1e-9a57-0c8f2d9b7e41"),
            Status = "paid",
            CreatedAt = new DateTimeOffset(2025, 5, 17, 9, 41, 27, TimeSpan.Zero),
            Customer = new Customer
            {
                CustomerId = Guid.Parse("b1a6f0d2-2e4b-4f7a-8c3d-5e6f7a8b9c0d"),
                Name = "Alice Liddell",
                Email = "alice.liddell@example.org",
                Phone = "0044 1632 960961",
                Tier = "gold",
                LoyaltyPoints = 18_650,
            },
            ShippingAddress = address,
            BillingAddress = new Address { Street = address.Street, City = address.City, Region = address.Region, PostalCode = address.PostalCode, Country = address.Country },
            Items = items,
            Payment = new Payment { Method = "card", Amount = 412.37m, Currency = "EUR", AuthorizedAt = new DateTimeOffset(2025, 5, 17, 9, 41, 31, TimeSpan.Zero), CardSuffix = "4242" },
            Notes = "Please leave the parcel with the neighbour at number 219 if nobody answers the door.",
            TrackingUrl = "https://tracking.example.com/parcels/GB1234567890?lang=en",
        };
    }
}

[JsonObject(NamingStrategyType = typeof(SnakeCaseNamingStrategy))]
public sealed class Customer
{
    public Guid CustomerId { get; set; }

    public string Name { get; set; } = string.Empty;

    public string Email { get; set; } = string.Empty;

    public string? Phone { get; set; }

    public string Tier { get; set; } = "bronze";

    public int LoyaltyPoints { get; set; }
}

[JsonObject(NamingStrategyType = typeof(SnakeCaseNamingStrategy))]
public sealed class Address
{
    public string Street { get; set; } = string.Empty;

    public string City { get; set; } = string.Empty;

    public string? Region { get; set; }

    public string PostalCode { get; set; } = string.Empty;

    public string Country { get; set; } = string.Empty;
}

[JsonObject(NamingStrategyType = typeof(SnakeCaseNamingStrategy))]
public sealed class LineItem
{
    public string Sku { get; set; } = string.Empty;

    public string Name { get; set; } = string.Empty;

    public int Quantity { get; set; }

    public decimal UnitPrice { get; set; }

    public string Currency { get; set; } = "EUR";

    public double Discount { get; set; }

    public IList<string> Tags { get; set; } = [];
}

[JsonObject(NamingStrategyType = typeof(SnakeCaseNamingStrategy))]
public sealed class Payment
{
    public string Method { get; set; } = "card";

    public decimal Amount { get; set; }

    public string Currency { get; set; } = "EUR";

    public DateTimeOffset AuthorizedAt { get; set; }

    public string? CardSuffix { get; set; }
}

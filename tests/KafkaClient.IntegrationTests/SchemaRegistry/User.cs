using System.Text.Json;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>The user of Confluent's walkthrough.</summary>
public sealed record User(string Name, long FavoriteNumber, string FavoriteColor, string? TwitterHandle = null)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    // The walkthrough's schema, as confluent-kafka-python's json_producer example writes it.
    public const string Schema = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "User",
          "description": "A Confluent Kafka Python User",
          "type": "object",
          "properties": {
            "name": { "description": "User's name", "type": "string" },
            "favorite_number": { "description": "User's favorite number", "type": "number", "exclusiveMinimum": 0 },
            "favorite_color": { "description": "User's favorite color", "type": "string" },
            "twitter_handle": { "description": "User's twitter handle", "type": ["string", "null"] }
          },
          "required": ["name", "favorite_number", "favorite_color"]
        }
        """;

    // The same schema with one more required property: refused while compatibility is BACKWARD.
    public const string SchemaWithRequiredEmail = """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "User",
          "description": "A Confluent Kafka Python User",
          "type": "object",
          "properties": {
            "name": { "description": "User's name", "type": "string" },
            "favorite_number": { "description": "User's favorite number", "type": "number", "exclusiveMinimum": 0 },
            "favorite_color": { "description": "User's favorite color", "type": "string" },
            "twitter_handle": { "description": "User's twitter handle", "type": ["string", "null"] },
            "email": { "type": "string" }
          },
          "required": ["name", "favorite_number", "favorite_color", "email"]
        }
        """;
}

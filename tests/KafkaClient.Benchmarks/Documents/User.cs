using Newtonsoft.Json;

namespace KafkaClient.Benchmarks.Documents;

/// <summary>The walkthrough's user (samples/JsonWalkthrough), as our serdes and System.Text.Json map it.</summary>
public sealed record User(string Name, long FavoriteNumber, string FavoriteColor, string? TwitterHandle)
{
    /// <summary>The walkthrough's schema, word for word.</summary>
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

    /// <summary>The user every benchmark writes and reads: 103 bytes of JSON, 108 framed.</summary>
    public static User Sample { get; } = new("Alice Liddell", 1865, "periwinkle", "@alice");

    /// <summary>The same user as Confluent's serdes (Newtonsoft.Json) map it.</summary>
    public static ConfluentUser ConfluentSample { get; } = new()
    {
        Name = Sample.Name,
        FavoriteNumber = Sample.FavoriteNumber,
        FavoriteColor = Sample.FavoriteColor,
        TwitterHandle = Sample.TwitterHandle,
    };
}

/// <summary>The walkthrough's user for Confluent's JSON serdes, which map with Newtonsoft.Json: a mutable class with the wire names.</summary>
public sealed class ConfluentUser
{
    [JsonProperty("name")]
    public string Name { get; set; } = string.Empty;

    [JsonProperty("favorite_number")]
    public long FavoriteNumber { get; set; }

    [JsonProperty("favorite_color")]
    public string FavoriteColor { get; set; } = string.Empty;

    [JsonProperty("twitter_handle")]
    public string? TwitterHandle { get; set; }
}

using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Settings of the registry-aware JSON serdes, under Confluent's key names, validated once at construction.</summary>
/// <remarks>
/// The common keys of <see cref="SchemaRegistrySerdeConfig"/>, and: <c>validate.on.serialize</c> (true),
/// <c>validate.on.deserialize</c> (true, as Confluent's .NET and Python deserializers validate). Unknown keys throw.
/// Immutable.
/// </remarks>
public sealed class JsonSchemaSerdeConfig : SchemaRegistrySerdeConfig
{
    private static readonly string[] JsonKeys = ["validate.on.serialize", "validate.on.deserialize"];

    /// <summary>Gets the defaults.</summary>
    public static JsonSchemaSerdeConfig Default { get; } = new([]);

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaSerdeConfig"/> class.</summary>
    /// <param name="config">Key/value pairs; see the remarks for the keys.</param>
    /// <exception cref="ArgumentException">A key is unknown or a value ill-typed; the message names the key.</exception>
    public JsonSchemaSerdeConfig(IEnumerable<KeyValuePair<string, string>> config)
        : base(config, "JSON serde", JsonKeys, out var own)
    {
        foreach (var (key, value) in own)
        {
            switch (key)
            {
                case "validate.on.serialize": ValidateOnSerialize = ParseBool(key, value); break;
                case "validate.on.deserialize": ValidateOnDeserialize = ParseBool(key, value); break;
            }
        }
    }

    /// <summary>Gets a value indicating whether values are validated against the schema before they are produced (default true).</summary>
    public bool ValidateOnSerialize { get; } = true;

    /// <summary>Gets a value indicating whether received bytes are validated against the writer's schema (default true; <c>validate.on.deserialize=false</c> opts out).</summary>
    public bool ValidateOnDeserialize { get; } = true;
}

using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>Settings of the registry-aware JSON serdes, under Confluent's key names, validated once at construction.</summary>
/// <remarks>
/// Keys and defaults: <c>auto.register.schemas</c> (true), <c>use.latest.version</c> (false),
/// <c>latest.compatibility.strict</c> (true), <c>normalize.schemas</c> (false), <c>use.schema.id</c> (unset),
/// <c>subject.name.strategy</c> (<c>topic</c>; also <c>record</c>, <c>topic_record</c> or Confluent's Java class
/// names), <c>validate.on.serialize</c> (true), <c>validate.on.deserialize</c> (true, as Confluent's .NET and Python deserializers validate). Unknown keys throw.
/// Immutable.
/// </remarks>
public sealed class JsonSchemaSerdeConfig
{
    private static readonly string[] Keys =
    [
        "auto.register.schemas", "use.latest.version", "latest.compatibility.strict", "normalize.schemas", "use.schema.id",
        "subject.name.strategy", "validate.on.serialize", "validate.on.deserialize",
    ];

    /// <summary>Gets the defaults.</summary>
    public static JsonSchemaSerdeConfig Default { get; } = new([]);

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaSerdeConfig"/> class.</summary>
    /// <param name="config">Key/value pairs; see the remarks for the keys.</param>
    /// <exception cref="ArgumentException">A key is unknown or a value ill-typed; the message names the key.</exception>
    public JsonSchemaSerdeConfig(IEnumerable<KeyValuePair<string, string>> config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (key, value) in config)
        {
            if (!Keys.Contains(key))
            {
                throw new ArgumentException($"Unknown JSON serde configuration key '{key}'. Known keys: {string.Join(", ", Keys)}.", nameof(config));
            }

            switch (key)
            {
                case "auto.register.schemas": AutoRegisterSchemas = Bool(key, value); break;
                case "use.latest.version": UseLatestVersion = Bool(key, value); break;
                case "latest.compatibility.strict": LatestCompatibilityStrict = Bool(key, value); break;
                case "normalize.schemas": NormalizeSchemas = Bool(key, value); break;
                case "validate.on.serialize": ValidateOnSerialize = Bool(key, value); break;
                case "validate.on.deserialize": ValidateOnDeserialize = Bool(key, value); break;
                case "use.schema.id":
                    UseSchemaId = int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0
                        ? id
                        : throw new ArgumentException($"Configuration key '{key}' must be a positive schema id, not \"{value}\".", nameof(config));
                    break;
                case "subject.name.strategy":
                    SubjectNameStrategy = value.Trim().ToLowerInvariant() switch
                    {
                        "topic" or "topicname" or "io.confluent.kafka.serializers.subject.topicnamestrategy" => Confluent.SchemaRegistry.SubjectNameStrategy.Topic,
                        "record" or "recordname" or "io.confluent.kafka.serializers.subject.recordnamestrategy" => Confluent.SchemaRegistry.SubjectNameStrategy.Record,
                        "topic_record" or "topicrecord" or "topicrecordname" or "io.confluent.kafka.serializers.subject.topicrecordnamestrategy" => Confluent.SchemaRegistry.SubjectNameStrategy.TopicRecord,
                        _ => throw new ArgumentException($"Configuration key '{key}' must be topic, record or topic_record, not \"{value}\".", nameof(config)),
                    };
                    break;
            }
        }

        if (UseLatestVersion && AutoRegisterSchemas)
        {
            throw new ArgumentException("Configuration keys 'use.latest.version' and 'auto.register.schemas' cannot both be true.", nameof(config));
        }
    }

    /// <summary>Gets a value indicating whether the serializer registers its schema if the subject lacks it (default true).</summary>
    public bool AutoRegisterSchemas { get; } = true;

    /// <summary>Gets a value indicating whether the serializer writes with the subject's latest schema instead of its own (default false).</summary>
    public bool UseLatestVersion { get; }

    /// <summary>Gets a value indicating whether, with <see cref="UseLatestVersion"/>, the serializer's own schema must be compatible with the latest (default true).</summary>
    public bool LatestCompatibilityStrict { get; } = true;

    /// <summary>Gets a value indicating whether schemas are normalized before registration and lookup (default false).</summary>
    public bool NormalizeSchemas { get; }

    /// <summary>Gets the schema id to write with, or null (the default) to register or look up.</summary>
    public int? UseSchemaId { get; }

    /// <summary>Gets how subjects are named (default <c>&lt;topic&gt;-value</c> / <c>&lt;topic&gt;-key</c>).</summary>
    public SubjectNameStrategy SubjectNameStrategy { get; } = Confluent.SchemaRegistry.SubjectNameStrategy.Topic;

    /// <summary>Gets a value indicating whether values are validated against the schema before they are produced (default true).</summary>
    public bool ValidateOnSerialize { get; } = true;

    /// <summary>Gets a value indicating whether received bytes are validated against the writer's schema (default true; <c>validate.on.deserialize=false</c> opts out).</summary>
    public bool ValidateOnDeserialize { get; } = true;

    internal string Subject(SerializationContext context, string recordName) => SubjectNameStrategy switch
    {
        // Confluent's naming: <topic>-key / <topic>-value, <record>, <topic>-<record>.
        Confluent.SchemaRegistry.SubjectNameStrategy.Record => recordName,
        Confluent.SchemaRegistry.SubjectNameStrategy.TopicRecord => $"{context.Topic}-{recordName}",
        _ => $"{context.Topic}-{(context.Component == MessageComponentType.Key ? "key" : "value")}",
    };

    private static bool Bool(string key, string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ArgumentException($"Configuration key '{key}' must be true or false, not \"{value}\".", "config"),
    };
}

using System.Globalization;
using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>The settings every registry-aware serde shares, under Confluent's key names, validated once at construction; each format's config adds its own keys.</summary>
/// <remarks>
/// <para>
/// Common keys and defaults: <c>auto.register.schemas</c> (true), <c>use.latest.version</c> (false),
/// <c>latest.compatibility.strict</c> (true), <c>normalize.schemas</c> (false), <c>use.schema.id</c> (unset),
/// <c>subject.name.strategy</c> (<c>topic</c>; also <c>record</c>, <c>topic_record</c> or Confluent's Java class names),
/// and this library's <c>schema.id.negative.cache.ms</c> (5000): how long a deserializer remembers that a schema id
/// could not be used for a reason that is not retriable (an unknown id, HTTP 404 / 40403), so that a run of records
/// with that id costs one registry request instead of one each; 0 asks again for every record.
/// </para>
/// <para>A key neither common nor the format's throws, naming the key. Immutable.</para>
/// </remarks>
public abstract class SchemaRegistrySerdeConfig
{
    /// <summary>The keys every format reads.</summary>
    private protected static readonly string[] CommonKeys =
    [
        "auto.register.schemas", "use.latest.version", "latest.compatibility.strict", "normalize.schemas", "use.schema.id",
        "subject.name.strategy", "schema.id.negative.cache.ms",
    ];

    /// <summary>Initializes a new instance of the <see cref="SchemaRegistrySerdeConfig"/> class from the common keys; the format's keys are handed back.</summary>
    /// <param name="config">Key/value pairs.</param>
    /// <param name="serdeName">The serde's name for messages, for example <c>JSON serde</c>.</param>
    /// <param name="formatKeys">The keys the format's config reads itself.</param>
    /// <param name="formatEntries">The entries with keys of <paramref name="formatKeys"/>, in order.</param>
    private protected SchemaRegistrySerdeConfig(IEnumerable<KeyValuePair<string, string>> config, string serdeName, IReadOnlyCollection<string> formatKeys, out IReadOnlyList<KeyValuePair<string, string>> formatEntries)
    {
        ArgumentNullException.ThrowIfNull(config);
        var entries = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in config)
        {
            if (formatKeys.Contains(key))
            {
                entries.Add(new(key, value));
                continue;
            }

            switch (key)
            {
                case "auto.register.schemas": AutoRegisterSchemas = ParseBool(key, value); break;
                case "use.latest.version": UseLatestVersion = ParseBool(key, value); break;
                case "latest.compatibility.strict": LatestCompatibilityStrict = ParseBool(key, value); break;
                case "normalize.schemas": NormalizeSchemas = ParseBool(key, value); break;
                case "use.schema.id": UseSchemaId = ParseCount(key, value, "a positive schema id", minimum: 1); break;
                case "subject.name.strategy": SubjectNameStrategy = SubjectNaming.Parse(key, value); break;
                case "schema.id.negative.cache.ms": SchemaIdNegativeCacheTime = TimeSpan.FromMilliseconds(ParseCount(key, value, "a number of milliseconds (0 or more)", minimum: 0)); break;
                default:
                    throw new ArgumentException($"Unknown {serdeName} configuration key '{key}'. Known keys: {string.Join(", ", CommonKeys.Concat(formatKeys))}.", nameof(config));
            }
        }

        if (UseLatestVersion && AutoRegisterSchemas)
        {
            throw new ArgumentException("Configuration keys 'use.latest.version' and 'auto.register.schemas' cannot both be true.", nameof(config));
        }

        formatEntries = entries;
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
    public SubjectNameStrategy SubjectNameStrategy { get; } = SubjectNameStrategy.Topic;

    /// <summary>Gets how long a schema id that failed for a reason that is not retriable (an unknown id) is remembered as failed (<c>schema.id.negative.cache.ms</c>, default 5 s; zero asks again every time).</summary>
    public TimeSpan SchemaIdNegativeCacheTime { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Names the subject of a record as <see cref="SubjectNameStrategy"/> says.</summary>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <param name="recordName">The record's fully-qualified name, for the record strategies.</param>
    /// <returns>The subject.</returns>
    internal string Subject(SerializationContext context, string recordName) => SubjectNaming.Name(SubjectNameStrategy, context, recordName);

    /// <summary>Reads <c>true</c> or <c>false</c>.</summary>
    /// <param name="key">The key, for the message.</param>
    /// <param name="value">The value.</param>
    /// <returns>The value as a bool.</returns>
    private protected static bool ParseBool(string key, string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ArgumentException($"Configuration key '{key}' must be true or false, not \"{value}\".", "config"),
    };

    private static int ParseCount(string key, string value, string what, int minimum) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= minimum
            ? number
            : throw new ArgumentException($"Configuration key '{key}' must be {what}, not \"{value}\".", "config");
}

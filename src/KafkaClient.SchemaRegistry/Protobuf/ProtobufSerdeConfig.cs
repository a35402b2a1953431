using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.SchemaRegistry.Protobuf;

/// <summary>How the subject of an imported .proto file is named when the serializer registers it as a reference (<c>reference.subject.name.strategy</c>).</summary>
public enum ReferenceSubjectNaming
{
    /// <summary>The import path itself, for example <c>common/money.proto</c> (Confluent's default, <c>ReferenceName</c>).</summary>
    ReferenceName,

    /// <summary>The import path without <c>.proto</c> and with <c>/</c> as <c>.</c>, for example <c>common.money</c> (Confluent's <c>Qualified</c>).</summary>
    Qualified,
}

/// <summary>Settings of the registry-aware Protobuf serdes, under Confluent's key names, validated once at construction.</summary>
/// <remarks>
/// <para>
/// The common keys of <see cref="SchemaRegistrySerdeConfig"/>, and: <c>reference.subject.name.strategy</c>
/// (<c>reference_name</c>, the default: an import's subject is its path; or <c>qualified</c>), <c>skip.known.types</c>
/// (true: imports under <c>google/protobuf/</c>, <c>google/type/</c> and <c>confluent/</c> are not registered as
/// references, as Confluent's current serializers do), <c>use.deprecated.format</c> (false).
/// </para>
/// <para>
/// <c>use.deprecated.format=true</c> reads and writes the message-index encoding of confluent-kafka-python before 1.8.2
/// (plain unsigned varints) instead of Confluent's current one (zig-zag varints). The two agree only for the first
/// top-level message of a file (path [0], one byte 0); every other path reads wrongly in the other encoding, so a topic
/// must use one encoding throughout.
/// </para>
/// <para>
/// Confluent's .NET key names are accepted too: <c>protobuf.serializer.auto.register.schemas</c> means
/// <c>auto.register.schemas</c>, and so on for the <c>protobuf.serializer.</c> and <c>protobuf.deserializer.</c>
/// prefixes. Unknown keys throw, naming the key. Immutable.
/// </para>
/// </remarks>
public sealed class ProtobufSerdeConfig : SchemaRegistrySerdeConfig
{
    private static readonly string[] ProtobufKeys = ["reference.subject.name.strategy", "skip.known.types", "use.deprecated.format"];

    /// <summary>Gets the defaults.</summary>
    public static ProtobufSerdeConfig Default { get; } = new([]);

    /// <summary>Initializes a new instance of the <see cref="ProtobufSerdeConfig"/> class.</summary>
    /// <param name="config">Key/value pairs; see the remarks for the keys.</param>
    /// <exception cref="ArgumentException">A key is unknown or a value ill-typed; the message names the key.</exception>
    public ProtobufSerdeConfig(IEnumerable<KeyValuePair<string, string>> config)
        : base(WithoutConfluentPrefixes(config), "Protobuf serde", ProtobufKeys, out var own)
    {
        foreach (var (key, value) in own)
        {
            switch (key)
            {
                case "reference.subject.name.strategy": ReferenceSubjectNaming = ParseReferenceNaming(key, value); break;
                case "skip.known.types": SkipKnownTypes = ParseBool(key, value); break;
                case "use.deprecated.format": UseDeprecatedFormat = ParseBool(key, value); break;
            }
        }
    }

    /// <summary>Gets how the subjects of imported files are named when registered as references (default <see cref="ReferenceSubjectNaming.ReferenceName"/>).</summary>
    public ReferenceSubjectNaming ReferenceSubjectNaming { get; }

    /// <summary>Gets a value indicating whether imports of well-known files (<c>google/protobuf/</c>, <c>google/type/</c>, <c>confluent/</c>) are left out of the references (default true).</summary>
    public bool SkipKnownTypes { get; } = true;

    /// <summary>Gets a value indicating whether message indexes use the unsigned-varint encoding of confluent-kafka-python before 1.8.2 (default false).</summary>
    public bool UseDeprecatedFormat { get; }

    /// <summary>Names the subject of an imported file as <see cref="ReferenceSubjectNaming"/> says.</summary>
    /// <param name="importPath">The import path, for example <c>common/money.proto</c>.</param>
    /// <returns>The subject.</returns>
    internal string ReferenceSubject(string importPath) => ReferenceSubjectNaming switch
    {
        ReferenceSubjectNaming.Qualified => (importPath.EndsWith(".proto", StringComparison.Ordinal) ? importPath[..^".proto".Length] : importPath).Replace('/', '.'),
        _ => importPath,
    };

    private static ReferenceSubjectNaming ParseReferenceNaming(string key, string value) => value.Trim().ToLowerInvariant() switch
    {
        "reference_name" or "referencename" => ReferenceSubjectNaming.ReferenceName,
        "qualified" => ReferenceSubjectNaming.Qualified,
        _ => throw new ArgumentException($"Configuration key '{key}' must be reference_name or qualified, not \"{value}\".", "config"),
    };

    private static IEnumerable<KeyValuePair<string, string>> WithoutConfluentPrefixes(IEnumerable<KeyValuePair<string, string>> config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (key, value) in config)
        {
            // Only a known key loses its prefix, so an unknown one is reported as the caller wrote it.
            var plain = key.StartsWith("protobuf.serializer.", StringComparison.Ordinal) ? key["protobuf.serializer.".Length..]
                : key.StartsWith("protobuf.deserializer.", StringComparison.Ordinal) ? key["protobuf.deserializer.".Length..]
                : key;
            yield return new(CommonKeys.Contains(plain) || ProtobufKeys.Contains(plain) ? plain : key, value);
        }
    }
}

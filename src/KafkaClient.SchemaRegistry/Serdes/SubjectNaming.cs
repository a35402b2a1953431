using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>Confluent's subject name strategies (<c>subject.name.strategy</c>): <c>&lt;topic&gt;-key</c> / <c>&lt;topic&gt;-value</c>, <c>&lt;record&gt;</c>, <c>&lt;topic&gt;-&lt;record&gt;</c>.</summary>
internal static class SubjectNaming
{
    /// <summary>Reads a strategy as Confluent's clients spell it: <c>topic</c>, <c>record</c>, <c>topic_record</c>, the .NET enum names or Java's class names.</summary>
    /// <param name="key">The configuration key, for the message.</param>
    /// <param name="value">The value.</param>
    /// <returns>The strategy.</returns>
    /// <exception cref="ArgumentException">Not a known strategy; the message names the key.</exception>
    public static SubjectNameStrategy Parse(string key, string value) => value.Trim().ToLowerInvariant() switch
    {
        "topic" or "topicname" or "io.confluent.kafka.serializers.subject.topicnamestrategy" => SubjectNameStrategy.Topic,
        "record" or "recordname" or "io.confluent.kafka.serializers.subject.recordnamestrategy" => SubjectNameStrategy.Record,
        "topic_record" or "topicrecord" or "topicrecordname" or "io.confluent.kafka.serializers.subject.topicrecordnamestrategy" => SubjectNameStrategy.TopicRecord,
        _ => throw new ArgumentException($"Configuration key '{key}' must be topic, record or topic_record, not \"{value}\".", "config"),
    };

    /// <summary>Names a subject as Confluent's client does for the strategy.</summary>
    /// <param name="strategy">The strategy.</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <param name="recordName">The record's fully-qualified name (the schema's title or the type's name for JSON, the message's full name for Protobuf).</param>
    /// <returns>The subject.</returns>
    /// <exception cref="NotSupportedException">A strategy this library does not name by (Confluent's <c>Associated</c>, which asks the registry).</exception>
    public static string Name(SubjectNameStrategy strategy, SerializationContext context, string recordName) => strategy switch
    {
        SubjectNameStrategy.Topic => $"{context.Topic}-{(context.Component == MessageComponentType.Key ? "key" : "value")}",
        SubjectNameStrategy.Record => recordName,
        SubjectNameStrategy.TopicRecord => $"{context.Topic}-{recordName}",
        _ => throw new NotSupportedException($"Subject name strategy {strategy} is not supported."),
    };
}

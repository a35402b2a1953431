namespace KafkaClient.SchemaRegistry.Compatibility;

/// <summary>Compares two schemas of one format, in the form <typeparamref name="TSchema"/> that format's rules need, and lists their differences in Confluent's terms.</summary>
/// <typeparam name="TSchema">The schema as the format's rules take it: its text, or a parsed form that carries its references.</typeparam>
public interface ISchemaDiff<in TSchema>
{
    /// <summary>Gets the registry's name of the schema format, for example <c>JSON</c> or <c>PROTOBUF</c>.</summary>
    string SchemaType { get; }

    /// <summary>Lists the differences from <paramref name="original"/> to <paramref name="update"/> and whether a reader of <paramref name="update"/> can read data written with <paramref name="original"/>.</summary>
    /// <param name="original">The earlier (writer) schema.</param>
    /// <param name="update">The new (reader) schema.</param>
    /// <returns>The differences and the BACKWARD verdict.</returns>
    SchemaComparison Compare(TSchema original, TSchema update);
}

/// <summary>Compares two schema texts of one format and lists their differences in Confluent's terms.</summary>
public interface ISchemaDiff : ISchemaDiff<string>;

/// <summary>The differences between two schemas and which of them break backward compatibility.</summary>
/// <param name="Changes">Each difference as <c>"TYPE #/path"</c>, compatible ones included.</param>
/// <param name="Incompatible">The differences that a reader of the update cannot accept.</param>
public sealed record SchemaComparison(IReadOnlyList<string> Changes, IReadOnlyList<string> Incompatible)
{
    /// <summary>Gets a value indicating whether every difference is a compatible one.</summary>
    public bool IsCompatible => Incompatible.Count == 0;
}

/// <summary>Applies a compatibility level to a candidate schema and the registered versions, as Confluent Schema Registry does.</summary>
/// <remarks>Stateless and thread-safe when the diff is.</remarks>
public static class CompatibilityChecker
{
    /// <summary>Checks a candidate schema against the registered versions.</summary>
    /// <typeparam name="TSchema">The schema as the format's rules take it.</typeparam>
    /// <param name="diff">The format's rules.</param>
    /// <param name="level">The subject's compatibility level.</param>
    /// <param name="candidate">The new schema.</param>
    /// <param name="registeredNewestFirst">The subject's live versions, newest first.</param>
    /// <returns>The incompatibilities found (empty when compatible).</returns>
    public static IReadOnlyList<string> Check<TSchema>(ISchemaDiff<TSchema> diff, CompatibilityLevel level, TSchema candidate, IReadOnlyList<TSchema> registeredNewestFirst)
    {
        ArgumentNullException.ThrowIfNull(diff);
        ArgumentNullException.ThrowIfNull(registeredNewestFirst);
        if (level == CompatibilityLevel.None || registeredNewestFirst.Count == 0)
        {
            return [];
        }

        var transitive = level is CompatibilityLevel.BackwardTransitive or CompatibilityLevel.ForwardTransitive or CompatibilityLevel.FullTransitive;
        var backward = level is CompatibilityLevel.Backward or CompatibilityLevel.BackwardTransitive or CompatibilityLevel.Full or CompatibilityLevel.FullTransitive;
        var forward = level is CompatibilityLevel.Forward or CompatibilityLevel.ForwardTransitive or CompatibilityLevel.Full or CompatibilityLevel.FullTransitive;
        var messages = new List<string>();
        foreach (var previous in transitive ? registeredNewestFirst : registeredNewestFirst.Take(1))
        {
            if (backward)
            {
                Collect(diff.Compare(previous, candidate), "BACKWARD", messages);
            }

            if (forward)
            {
                Collect(diff.Compare(candidate, previous), "FORWARD", messages);
            }

            if (messages.Count > 0)
            {
                break;
            }
        }

        return messages;
    }

    private static void Collect(SchemaComparison comparison, string direction, List<string> messages)
    {
        messages.AddRange(comparison.Incompatible.Select(c => $"{{errorType:'{c.Split(' ')[0]}', description:'at {c[(c.IndexOf(' ', StringComparison.Ordinal) + 1)..]}', direction:'{direction}'}}"));
    }
}

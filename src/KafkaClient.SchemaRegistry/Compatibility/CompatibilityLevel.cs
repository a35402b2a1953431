namespace KafkaClient.SchemaRegistry.Compatibility;

/// <summary>The compatibility levels of Confluent Schema Registry.</summary>
public enum CompatibilityLevel
{
    /// <summary>No check.</summary>
    None,

    /// <summary>Consumers using the new schema can read data written with the latest registered one (the default).</summary>
    Backward,

    /// <summary>As <see cref="Backward"/>, against every registered version.</summary>
    BackwardTransitive,

    /// <summary>Consumers using the latest registered schema can read data written with the new one.</summary>
    Forward,

    /// <summary>As <see cref="Forward"/>, against every registered version.</summary>
    ForwardTransitive,

    /// <summary>Both <see cref="Backward"/> and <see cref="Forward"/>.</summary>
    Full,

    /// <summary>Both <see cref="BackwardTransitive"/> and <see cref="ForwardTransitive"/>.</summary>
    FullTransitive,
}

/// <summary>Converts compatibility levels to and from the registry's wire names (<c>BACKWARD_TRANSITIVE</c>, ...).</summary>
public static class CompatibilityLevels
{
    /// <summary>Gets the registry's name of a level.</summary>
    /// <param name="level">The level.</param>
    /// <returns>For example <c>FULL_TRANSITIVE</c>.</returns>
    public static string ToWireName(this CompatibilityLevel level) => level switch
    {
        CompatibilityLevel.None => "NONE",
        CompatibilityLevel.Backward => "BACKWARD",
        CompatibilityLevel.BackwardTransitive => "BACKWARD_TRANSITIVE",
        CompatibilityLevel.Forward => "FORWARD",
        CompatibilityLevel.ForwardTransitive => "FORWARD_TRANSITIVE",
        CompatibilityLevel.Full => "FULL",
        CompatibilityLevel.FullTransitive => "FULL_TRANSITIVE",
        _ => throw new ArgumentOutOfRangeException(nameof(level)),
    };

    /// <summary>Parses a registry level name, case-insensitively.</summary>
    /// <param name="name">For example <c>backward_transitive</c>.</param>
    /// <param name="level">The level.</param>
    /// <returns>True when <paramref name="name"/> names a level.</returns>
    public static bool TryParse(string? name, out CompatibilityLevel level)
    {
        foreach (var candidate in Enum.GetValues<CompatibilityLevel>())
        {
            if (string.Equals(candidate.ToWireName(), name, StringComparison.OrdinalIgnoreCase))
            {
                level = candidate;
                return true;
            }
        }

        level = default;
        return false;
    }
}

/// <summary>How strictly open content models are judged (Confluent's <c>compatibilityPolicy</c> config).</summary>
public enum CompatibilityPolicy
{
    /// <summary>The default: a property added to an open content model may clash with what old writers sent.</summary>
    Strict,

    /// <summary>Assumes writers only sent the declared properties, so adding an optional property or closing the model is compatible.</summary>
    Lenient,
}

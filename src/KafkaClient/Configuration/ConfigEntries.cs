using System.Globalization;

namespace KafkaClient.Configuration;

/// <summary>Splits a Python-style configuration dictionary into librdkafka properties and serde entries.</summary>
internal static class ConfigEntries
{
    public static Dictionary<string, string> ToProperties(
        IEnumerable<KeyValuePair<string, object?>> config,
        IReadOnlyDictionary<string, Action<object>> objectEntries)
    {
        ArgumentNullException.ThrowIfNull(config);
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in config)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                throw new ArgumentException("Configuration keys must not be empty.", nameof(config));
            }

            if (objectEntries.TryGetValue(key, out var accept))
            {
                if (value is null)
                {
                    throw new ArgumentException($"Configuration key '{key}' is null.", nameof(config));
                }

                accept(value);
                continue;
            }

            properties[key] = value switch
            {
                null => throw new ArgumentException($"Configuration key '{key}' is null; leave it out to use the default.", nameof(config)),
                string s => s,
                bool b => b ? "true" : "false",
                int or long or short or byte or uint or ulong or ushort or sbyte or double or float or decimal =>
                    Convert.ToString(value, CultureInfo.InvariantCulture)!,
                _ => throw new ArgumentException(
                    $"Configuration key '{key}' has a value of type {value.GetType().Name}; librdkafka properties take a string, a bool or a number.",
                    nameof(config)),
            };
        }

        return properties;
    }

    public static Dictionary<string, string> ToProperties(IEnumerable<KeyValuePair<string, string>> config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in config)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                throw new ArgumentException("Configuration keys must not be empty.", nameof(config));
            }

            properties[key] = value ?? throw new ArgumentException($"Configuration key '{key}' is null; leave it out to use the default.", nameof(config));
        }

        return properties;
    }

    /// <summary>Turns librdkafka's complaint about a configuration entry into an ArgumentException that names the key.</summary>
    public static ArgumentException Invalid(string clientKind, Exception librdkafkaError) =>
        new($"Invalid {clientKind} configuration: {librdkafkaError.Message}", "config", librdkafkaError);
}

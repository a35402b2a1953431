using System.Globalization;
using System.Text.RegularExpressions;

namespace KafkaClient.Configuration;

/// <summary>Splits a Python-style configuration dictionary into librdkafka properties and serde entries.</summary>
internal static partial class ConfigEntries
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

    // librdkafka's aliases: the name a user writes (Java's, mostly) and the property librdkafka reports.
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["bootstrap.servers"] = "metadata.broker.list",
        ["linger.ms"] = "queue.buffering.max.ms",
        ["retries"] = "message.send.max.retries",
        ["acks"] = "request.required.acks",
        ["compression.type"] = "compression.codec",
        ["delivery.timeout.ms"] = "message.timeout.ms",
        ["max.in.flight"] = "max.in.flight.requests.per.connection",
        ["max.partition.fetch.bytes"] = "fetch.message.max.bytes",
        ["sasl.mechanism"] = "sasl.mechanisms",
        ["auto.commit.enable"] = "enable.auto.commit",
    };

    /// <summary>Turns librdkafka's complaint about a configuration entry into an ArgumentException that names the key as the user wrote it.</summary>
    /// <param name="clientKind">"producer" or "consumer".</param>
    /// <param name="librdkafkaError">librdkafka's exception.</param>
    /// <param name="userKeys">The keys the user wrote.</param>
    /// <returns>The exception to throw.</returns>
    public static ArgumentException Invalid(string clientKind, Exception librdkafkaError, IEnumerable<string> userKeys)
    {
        var message = librdkafkaError.Message;
        var named = NamedProperty().Match(message);
        if (named.Success)
        {
            var property = named.Groups["name"].Value;
            var written = userKeys.FirstOrDefault(k => Aliases.TryGetValue(k, out var target) && target == property && k != property);
            if (written is not null)
            {
                message = $"configuration key '{written}' (librdkafka's alias '{property}'): {message.Replace($"\"{property}\"", $"\"{written}\"", StringComparison.Ordinal)}";
            }
            else
            {
                message = $"configuration key '{property}': {message}";
            }
        }

        return new ArgumentException($"Invalid {clientKind} configuration: {message}", "config", librdkafkaError);
    }

    /// <summary>Finds, in librdkafka's configuration warnings, a key that the other kind of client uses and this one would silently ignore.</summary>
    /// <param name="clientKind">"producer" or "consumer".</param>
    /// <param name="warnings">The CONFWARN log lines librdkafka wrote while the client was created.</param>
    /// <returns>The exception to throw, or null when no key is misplaced.</returns>
    public static ArgumentException? Misplaced(string clientKind, IEnumerable<string> warnings)
    {
        foreach (var warning in warnings)
        {
            var match = MisplacedProperty().Match(warning);
            if (match.Success)
            {
                var key = match.Groups["name"].Value;
                var other = match.Groups["kind"].Value;
                return new ArgumentException(
                    $"Invalid {clientKind} configuration: configuration key '{key}' is a {other} setting, and a {clientKind} would ignore it. Remove it from the {clientKind} configuration.",
                    "config");
            }
        }

        return null;
    }

    [GeneratedRegex("""property "?(?<name>[a-z0-9_.\-]+)"?""", RegexOptions.CultureInvariant)]
    private static partial Regex NamedProperty();

    [GeneratedRegex(@"property (?<name>[a-z0-9_.\-]+) is a (?<kind>producer|consumer) property and will be ignored", RegexOptions.CultureInvariant)]
    private static partial Regex MisplacedProperty();
}

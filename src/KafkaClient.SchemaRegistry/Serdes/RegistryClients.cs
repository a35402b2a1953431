using System.Globalization;
using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>The one check, made when any serde is constructed, that a registry client's settings let it send requests at all.</summary>
/// <remarks>
/// Confluent's <see cref="CachedSchemaRegistryClient"/> (Confluent.SchemaRegistry 2.16) makes
/// <c>schema.registry.max.retries</c> attempts per request; with 0 (or less) it makes none and throws
/// <see cref="NullReferenceException"/> on every call, even while the registry is up. A serde built on such a client
/// could never read or write a record, so it is refused at construction instead of failing record by record.
/// </remarks>
internal static class RegistryClients
{
    /// <summary>Confluent's key for how many attempts its client makes per request.</summary>
    public const string MaxRetriesKey = SchemaRegistryConfig.PropertyNames.SchemaRegistryMaxRetries;

    /// <summary>Throws when <paramref name="registry"/> is configured so that Confluent's client fails every call.</summary>
    /// <param name="registry">The registry client given to a serde.</param>
    /// <param name="paramName">The serde constructor's parameter, for the exception.</param>
    /// <exception cref="ArgumentException"><c>schema.registry.max.retries</c> is below 1.</exception>
    public static void ThrowIfUnusable(ISchemaRegistryClient registry, string paramName)
    {
        ArgumentNullException.ThrowIfNull(registry, paramName);
        if (MaxRetries(registry) is { } attempts && attempts < 1)
        {
            throw new ArgumentException(
                $"The registry client is configured with {MaxRetriesKey}={attempts.ToString(CultureInfo.InvariantCulture)}: Confluent's CachedSchemaRegistryClient then sends no request and fails every call "
                + $"(with a NullReferenceException), even while the registry is up, so every record would fail. Set {MaxRetriesKey} to 1 or more (1 makes one attempt per request).",
                paramName);
        }
    }

    /// <summary>Reads <c>schema.registry.max.retries</c> as Confluent's client reads it: the first key that matches ignoring case, as an integer.</summary>
    /// <param name="registry">The registry client.</param>
    /// <returns>The setting; null when it is not set, not an integer, or the client does not expose its settings.</returns>
    private static int? MaxRetries(ISchemaRegistryClient registry)
    {
        IEnumerable<KeyValuePair<string, string>>? config;
        try
        {
            config = registry.Config;
        }
        catch (Exception ex) when (ex is NotImplementedException or NotSupportedException)
        {
            return null; // a hand-written client or decorator that keeps no settings
        }

        foreach (var (key, value) in config ?? [])
        {
            if (string.Equals(key, MaxRetriesKey, StringComparison.OrdinalIgnoreCase))
            {
                return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var attempts) ? attempts : null;
            }
        }

        return null;
    }
}

using System.Text;

namespace KafkaClient.Hosting;

/// <summary>Recognizes secret configuration keys and keeps their values out of messages.</summary>
internal static class Secrets
{
    private static readonly string[] SecretParts = ["password", "secret", "user.info", "token", "sasl.oauthbearer.config", "ssl.key.pem"];

    public static bool IsSecret(string key) =>
        SecretParts.Any(part => key.Contains(part, StringComparison.OrdinalIgnoreCase));

    public static string Describe(string kind, IEnumerable<KeyValuePair<string, string>> config)
    {
        var entries = config.OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
        var values = SecretValues(entries);
        var text = new StringBuilder(kind).Append(" {");
        var first = true;
        foreach (var (key, value) in entries)
        {
            // A secret value is hidden under any key: it may have been pasted under the wrong one.
            text.Append(first ? " " : ", ").Append(key).Append('=').Append(IsSecret(key) ? "***" : Redact(value, values));
            first = false;
        }

        return text.Append(first ? "}" : " }").ToString();
    }

    /// <summary>Runs a factory and, if it throws an exception whose text holds a secret value of the configuration, throws one without it.</summary>
    public static T Guard<T>(IEnumerable<KeyValuePair<string, string>> config, Func<T> create)
    {
        try
        {
            return create();
        }
        catch (Exception ex) when (Leaks(ex, config, out var values))
        {
            // The original (and its inner exceptions) held a secret: neither is kept.
            var message = Redact(ex.Message, values);
            throw ex is ArgumentException
                ? new ArgumentException(message, "config")
                : new InvalidOperationException(message);
        }
    }

    private static bool Leaks(Exception ex, IEnumerable<KeyValuePair<string, string>> config, out List<string> values)
    {
        values = SecretValues(config);
        var text = ex.ToString();
        return values.Any(v => text.Contains(v, StringComparison.Ordinal));
    }

    /// <summary>Returns the non-empty values of the secret keys of a configuration, longest first.</summary>
    public static List<string> SecretValues(IEnumerable<KeyValuePair<string, string>> config) =>
        config
            .Where(e => IsSecret(e.Key) && !string.IsNullOrEmpty(e.Value))
            .Select(e => e.Value)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length)
            .ToList();

    /// <summary>Replaces every occurrence of the given secret values in a text by <c>***</c>.</summary>
    public static string Redact(string text, List<string> values)
    {
        foreach (var value in values)
        {
            text = text.Replace(value, "***", StringComparison.Ordinal);
        }

        return text;
    }
}

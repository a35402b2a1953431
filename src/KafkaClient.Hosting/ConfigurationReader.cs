using Microsoft.Extensions.Configuration;

namespace KafkaClient.Hosting;

/// <summary>Turns a configuration section into librdkafka-style properties.</summary>
internal static class ConfigurationReader
{
    /// <summary>Reads every value under the section; nested sections join with dots (<c>ssl:ca:location</c> is <c>ssl.ca.location</c>).</summary>
    public static void ReadInto(IConfiguration section, IDictionary<string, string> properties, string kind)
    {
        var any = false;
        foreach (var (path, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is null)
            {
                continue;
            }

            properties[path.Replace(':', '.')] = value;
            any = true;
        }

        if (!any)
        {
            var name = section is IConfigurationSection s ? $"'{s.Path}'" : "given";
            throw new ArgumentException($"The {kind} configuration section {name} is missing or empty.", "configuration");
        }
    }
}

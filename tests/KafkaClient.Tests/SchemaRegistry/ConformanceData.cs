using System.Text.Json;
using System.Text.Json.Nodes;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Confluent's own compatibility cases from ../shared/conformance (test fixtures only, never packed).</summary>
internal static class ConformanceData
{
    public static string Folder { get; } = FindFolder();

    public static IEnumerable<(string File, int Index, JsonObject Case)> JsonSchemaCases()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Folder, "json-schema-provider"), "*.json").Order())
        {
            var cases = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true })!.AsArray();
            for (var i = 0; i < cases.Count; i++)
            {
                yield return (Path.GetFileName(file), i, cases[i]!.AsObject());
            }
        }
    }

    private static string FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "conformance", "schema-registry");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("shared/conformance/schema-registry was not found beside the checkout.");
    }
}

using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Confluent's own compatibility cases from ../shared/conformance (test fixtures only, never packed).</summary>
/// <remarks>
/// The cases are not in the repository: they are looked for in shared/conformance/schema-registry in any folder
/// above the test binaries, which CI lays beside the checkout. Tests that need them use
/// <see cref="RequiresConformanceDataFactAttribute"/>.
/// </remarks>
internal static class ConformanceData
{
    private const string RelativeFolder = "shared/conformance/schema-registry";

    /// <summary>Gets the folder of the cases, or null when there is none.</summary>
    public static string? Folder { get; } = FindFolder();

    /// <summary>Gets what to do when the folder is missing.</summary>
    public static string MissingMessage =>
        $"Confluent's conformance cases were not found: put them in {ExpectedFolder()} (json-schema-provider/*.json, protobuf-provider/*.json), " +
        $"that is {RelativeFolder} beside the checkout, as CI lays it out.";

    public static IEnumerable<(string File, int Index, JsonObject Case)> JsonSchemaCases()
    {
        var folder = Folder ?? throw new DirectoryNotFoundException(MissingMessage);
        foreach (var file in Directory.GetFiles(Path.Combine(folder, "json-schema-provider"), "*.json").Order())
        {
            var cases = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true })!.AsArray();
            for (var i = 0; i < cases.Count; i++)
            {
                yield return (Path.GetFileName(file), i, cases[i]!.AsObject());
            }
        }
    }

    public static IEnumerable<(string File, int Index, JsonObject Case)> ProtobufCases()
    {
        var folder = Folder ?? throw new DirectoryNotFoundException(MissingMessage);
        foreach (var file in Directory.GetFiles(Path.Combine(folder, "protobuf-provider"), "*.json").Order(StringComparer.Ordinal))
        {
            var cases = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true })!.AsArray();
            for (var i = 0; i < cases.Count; i++)
            {
                yield return (Path.GetFileName(file), i, cases[i]!.AsObject());
            }
        }
    }

    /// <summary>Reads a file the Protobuf cases name by resource path (under protobuf-provider), or null when it is not there.</summary>
    public static string? ProtobufResource(string path)
    {
        var folder = Folder ?? throw new DirectoryNotFoundException(MissingMessage);
        var file = Path.Combine(folder, "protobuf-provider", path);
        return File.Exists(file) ? File.ReadAllText(file) : null;
    }

    private static string? FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RelativeFolder);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string ExpectedFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Client.sln")))
            {
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", RelativeFolder));
            }
        }

        return Path.Combine("..", RelativeFolder);
    }
}

/// <summary>A test of Confluent's conformance cases.</summary>
/// <remarks>
/// Without the cases, a developer's run reports the test skipped, with where the cases go, in its name too (the
/// console shows a skip reason only at normal verbosity). In CI (the environment variable CI set to anything) the
/// test always runs, and missing cases fail it.
/// </remarks>
public sealed class RequiresConformanceDataFactAttribute : FactAttribute
{
    public RequiresConformanceDataFactAttribute([CallerMemberName] string test = "")
    {
        if (ConformanceData.Folder is null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Skip = $"{ConformanceData.MissingMessage} Skipped because CI is not set; in CI missing cases fail.";
            DisplayName = $"{test} - {Skip}";
        }
    }
}

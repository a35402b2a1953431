using System.Text.Json.Nodes;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using Xunit.Abstractions;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Runs every one of Confluent's Protobuf compatibility cases: verdicts and the exact, ordered change lists.</summary>
public class ProtobufSchemaConformanceTests(ITestOutputHelper output)
{
    // Measured agreement; raise these as the checker improves, never lower them.
    private const int MinimumVerdicts = 55;
    private const int MinimumExactChangeLists = 55;

    [RequiresConformanceDataFact]
    public void Verdicts_and_change_lists_agree_with_confluent()
    {
        var diff = new ProtobufSchemaDiff();
        int total = 0, verdicts = 0, exact = 0, errors = 0, levelVerdicts = 0;
        var misses = new List<string>();
        foreach (var (file, index, item) in ConformanceData.ProtobufCases())
        {
            total++;
            var expected = item["changes"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
            var compatible = item["compatible"]!.GetValue<bool>();
            var name = $"{file}[{index}] {item["description"]}";
            try
            {
                var original = Load(item, "original");
                var update = Load(item, "update");
                var result = diff.Compare(original, update);
                if (result.IsCompatible == compatible)
                {
                    verdicts++;
                }
                else
                {
                    misses.Add($"{name}: expected {(compatible ? "compatible" : "incompatible")}; expected [{string.Join(", ", expected)}] got [{string.Join(", ", result.Changes)}]");
                }

                if (expected.SequenceEqual(result.Changes))
                {
                    exact++;
                }
                else
                {
                    misses.Add($"{name}: changes expected [{string.Join(", ", expected)}] got [{string.Join(", ", result.Changes)}]");
                }

                // The same verdict through the levels: BACKWARD registers update after original; FORWARD registers original after update.
                var backward = CompatibilityChecker.Check(diff, CompatibilityLevel.Backward, update, [original]).Count == 0;
                var forward = CompatibilityChecker.Check(diff, CompatibilityLevel.ForwardTransitive, original, [update]).Count == 0;
                if (backward == compatible && forward == compatible)
                {
                    levelVerdicts++;
                }
            }
            catch (FormatException ex)
            {
                errors++;
                misses.Add($"{name}: {ex.Message}");
            }
        }

        output.WriteLine($"Protobuf conformance: {verdicts}/{total} verdicts, {exact}/{total} exact ordered change lists, {levelVerdicts}/{total} BACKWARD and swapped FORWARD level checks, {errors} errors");
        foreach (var miss in misses)
        {
            output.WriteLine(miss);
        }

        Assert.Equal(55, total);
        Assert.True(verdicts >= MinimumVerdicts, $"{verdicts}/{total} verdicts agree; at least {MinimumVerdicts} did before");
        Assert.True(exact >= MinimumExactChangeLists, $"{exact}/{total} change lists agree; at least {MinimumExactChangeLists} did before");
        Assert.Equal(total, levelVerdicts);
    }

    /// <summary>Parses one side of a case: schema text or resource, with its dependencies and references.</summary>
    /// <remarks>
    /// A dependency without inline text is read from the cases' resources; one that is not there either
    /// (<c>confluent/meta.proto</c> and the like, which Confluent's harness reads from its classpath) is a built-in
    /// file here, and needs no dependency.
    /// </remarks>
    private static ProtobufSchema Load(JsonObject item, string side)
    {
        var schema = item[$"{side}_schema"]!.GetValue<string>();
        if (schema.EndsWith(".proto", StringComparison.Ordinal))
        {
            schema = ConformanceData.ProtobufResource(schema) ?? throw new FileNotFoundException("A resource of the cases is missing.", schema);
        }

        var references = (item[$"{side}_references"]?.AsArray() ?? [])
            .Select(r => r!.AsObject())
            .ToDictionary(r => r["name"]!.GetValue<string>(), r => (Subject: r["subject"]!.GetValue<string>(), Version: r["version"]!.GetValue<int>()), StringComparer.Ordinal);
        var dependencies = new List<ProtobufDependency>();
        foreach (var node in item[$"{side}_dependencies"]?.AsArray() ?? [])
        {
            var name = node!["name"]!.GetValue<string>();
            var text = node["dependency"]?.GetValue<string>() ?? ConformanceData.ProtobufResource(name);
            if (text is null)
            {
                continue;
            }

            var hasReference = references.TryGetValue(name, out var reference);
            dependencies.Add(new ProtobufDependency(name, text, hasReference ? reference.Subject : null, hasReference ? reference.Version : null));
        }

        return ProtobufSchema.Parse(schema, dependencies);
    }
}

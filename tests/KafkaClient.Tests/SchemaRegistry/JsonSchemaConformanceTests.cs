using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Json;
using Xunit.Abstractions;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Runs every one of Confluent's JSON Schema compatibility cases, BACKWARD and swapped FORWARD.</summary>
public class JsonSchemaConformanceTests(ITestOutputHelper output)
{
    // Measured agreement; raise these as the checker improves, never lower them.
    private const int MinimumVerdicts = 263;
    private const int MinimumExactChangeLists = 255;

    [RequiresConformanceDataFact]
    public void Verdicts_and_change_lists_agree_with_confluent()
    {
        var diff = new JsonSchemaDiff();
        var lenient = new JsonSchemaDiff(CompatibilityPolicy.Lenient);
        int total = 0, verdicts = 0, exact = 0, errors = 0, lenientVerdicts = 0, levelVerdicts = 0;
        var misses = new List<string>();
        foreach (var (file, index, item) in ConformanceData.JsonSchemaCases())
        {
            total++;
            var original = item["original_schema"]!.ToJsonString();
            var update = item["update_schema"]!.ToJsonString();
            var expected = item["changes"]!.AsArray().Select(c => c!.GetValue<string>()).Order().ToList();
            var compatible = item["compatible"]!.GetValue<bool>();
            try
            {
                var result = diff.Compare(original, update);
                if (result.IsCompatible == compatible)
                {
                    verdicts++;
                }
                else
                {
                    misses.Add($"{file}[{index}] {item["description"]}: expected {(compatible ? "compatible" : "incompatible")}; expected [{string.Join(", ", expected)}] got [{string.Join(", ", result.Changes.Order())}]");
                }

                if (expected.SequenceEqual(result.Changes.Order()))
                {
                    exact++;
                }
                else
                {
                    misses.Add($"{file}[{index}] {item["description"]}: changes expected [{string.Join(", ", expected)}] got [{string.Join(", ", result.Changes.Order())}]");
                }

                var lenientExpected = item["compatible_lenient"]?.GetValue<bool>() ?? compatible;
                if (lenient.Compare(original, update).IsCompatible == lenientExpected)
                {
                    lenientVerdicts++;
                }

                // The same verdict through the levels: BACKWARD registers update after original; FORWARD registers original after update.
                var backward = CompatibilityChecker.Check(diff, CompatibilityLevel.Backward, update, [original]).Count == 0;
                var forward = CompatibilityChecker.Check(diff, CompatibilityLevel.ForwardTransitive, original, [update]).Count == 0;
                if (backward == compatible && forward == compatible)
                {
                    levelVerdicts++;
                }
            }
            catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or ArgumentException)
            {
                errors++;
                misses.Add($"{file}[{index}] {item["description"]}: {ex.Message}");
            }
        }

        output.WriteLine($"JSON Schema conformance: {verdicts}/{total} verdicts, {exact}/{total} exact change lists, {lenientVerdicts}/{total} LENIENT verdicts, {levelVerdicts}/{total} BACKWARD and swapped FORWARD level checks, {errors} errors");
        foreach (var miss in misses)
        {
            output.WriteLine(miss);
        }

        Assert.Equal(263, total);
        Assert.True(verdicts >= MinimumVerdicts, $"{verdicts}/{total} verdicts agree; at least {MinimumVerdicts} did before");
        Assert.Equal(total, lenientVerdicts);
        Assert.Equal(total, levelVerdicts);
        Assert.True(exact >= MinimumExactChangeLists, $"{exact}/{total} change lists agree; at least {MinimumExactChangeLists} did before");
    }
}

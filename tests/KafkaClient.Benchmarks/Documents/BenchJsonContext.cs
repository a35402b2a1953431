using System.Text.Json;
using System.Text.Json.Serialization;

namespace KafkaClient.Benchmarks.Documents;

/// <summary>
/// System.Text.Json metadata generated at build time for the documents, with the walkthrough's naming (web defaults, snake_case).
/// The raw baseline maps with it, and our serdes get its options too, so a ratio against the baseline is the cost of our
/// serdes (registry lookup, checks, validation, framing), not of reflection-based mapping.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(User))]
[JsonSerializable(typeof(Order))]
public sealed partial class BenchJsonContext : JsonSerializerContext;

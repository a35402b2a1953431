extern alias ProtobufNet;

using System.Collections.Concurrent;
using System.Collections.Frozen;
using PbNet = ProtobufNet::Google.Protobuf.Reflection;

namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>The files a schema may import without a reference, as Confluent's registry knows them.</summary>
/// <remarks>
/// Confluent's own files (<c>confluent/meta.proto</c> and the <c>confluent/type</c> logical types) are written out
/// here from their public definitions; Google's well-known types (<c>google/protobuf/*</c>) and common types
/// (<c>google/type/*</c>) are the copies embedded in protobuf-net.Reflection.
/// </remarks>
internal static class ProtobufBuiltIns
{
    private static readonly FrozenDictionary<string, string> Confluent = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["confluent/meta.proto"] = """
            syntax = "proto3";

            package confluent;

            import "google/protobuf/descriptor.proto";

            option java_package = "io.confluent.protobuf";
            option java_outer_classname = "MetaProto";

            // Documentation, parameters and tags attached to a schema element.
            message Meta {
              string doc = 1;
              map<string, string> params = 2;
              repeated string tags = 3;
              repeated Rule rules = 4;
            }

            // A data-contract rule attached to a schema element.
            message Rule {
              string name = 1;
              string doc = 2;
              string expr = 3;
              string sql = 4;
            }

            extend google.protobuf.FileOptions {
              Meta file_meta = 1088;
            }

            extend google.protobuf.MessageOptions {
              Meta message_meta = 1088;
            }

            extend google.protobuf.FieldOptions {
              Meta field_meta = 1088;
            }

            extend google.protobuf.EnumOptions {
              Meta enum_meta = 1088;
            }

            extend google.protobuf.EnumValueOptions {
              Meta enum_value_meta = 1088;
            }
            """,
        ["confluent/type/decimal.proto"] = """
            syntax = "proto3";

            package confluent.type;

            option java_package = "io.confluent.protobuf.type";
            option java_multiple_files = true;
            option java_outer_classname = "DecimalProto";

            // An arbitrary-precision decimal: the two's-complement big-endian unscaled value, its precision and scale.
            message Decimal {
              bytes value = 1;
              uint32 precision = 2;
              int32 scale = 3;
            }
            """,
        ["confluent/type/variant.proto"] = """
            syntax = "proto3";

            package confluent.type;

            option java_package = "io.confluent.protobuf.type";
            option java_multiple_files = true;
            option java_outer_classname = "VariantProto";

            // A semi-structured value in the variant encoding: its metadata and value bytes.
            message Variant {
              bytes metadata = 1;
              bytes value = 2;
            }
            """,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<string, string?> Embedded = new(StringComparer.Ordinal);

    /// <summary>Gets the text of a built-in file, or null when the name is not one.</summary>
    /// <param name="name">The import path.</param>
    /// <returns>The .proto text, or null.</returns>
    public static string? Find(string name) =>
        Confluent.TryGetValue(name, out var text) ? text : Embedded.GetOrAdd(name, LoadEmbedded);

    private static string? LoadEmbedded(string name)
    {
        if (!name.EndsWith(".proto", StringComparison.Ordinal)
            || !(name.StartsWith("google/protobuf/", StringComparison.Ordinal) || name.StartsWith("google/type/", StringComparison.Ordinal)))
        {
            return null;
        }

        // protobuf-net.Reflection embeds them as resources named after the path.
        var resource = "ProtoBuf." + name.Replace('/', '.').Replace('-', '_');
        using var stream = typeof(PbNet.FileDescriptorSet).Assembly.GetManifestResourceStream(resource);
        if (stream is null)
        {
            return null;
        }

        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

using System.Collections.ObjectModel;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>A parsed Protobuf schema with the files it imports, as the registry stores it and the serdes use it.</summary>
/// <remarks>
/// The schema and each dependency may be .proto text or base64 of a serialized <c>FileDescriptorProto</c>, as
/// Confluent's registry accepts them. Imports of Google's well-known types (<c>google/protobuf/*.proto</c>), of the
/// common types protobuf-net ships (<c>google/type/*.proto</c>) and of Confluent's <c>confluent/meta.proto</c>,
/// <c>confluent/type/decimal.proto</c> and <c>confluent/type/variant.proto</c> need no dependency. Parsing is bounded:
/// text nested more than 64 levels deep, a chain of more than 64 imports, more than 10,000 import paths from one file
/// and imports in a cycle are format errors. Immutable and thread-safe: descriptors are handed out as copies.
/// </remarks>
public sealed class ProtobufSchema
{
    private readonly FileDescriptorProto _descriptor;
    private readonly Dictionary<string, FileDescriptorProto> _dependencies;
    private ProtobufDiffModel? _diffModel;

    private ProtobufSchema(FileDescriptorProto descriptor, Dictionary<string, FileDescriptorProto> dependencies, IReadOnlyList<ProtobufDependency> references)
    {
        _descriptor = descriptor;
        _dependencies = dependencies;
        References = references;
        Canonical = CanonicalForm(descriptor);
    }

    /// <summary>Gets a copy of the schema's file descriptor, with fully qualified type names; its name is empty when the schema was .proto text.</summary>
    public FileDescriptorProto Descriptor => _descriptor.Clone();

    /// <summary>Gets copies of the descriptors of every file the schema imports, directly or not, built-in ones included, by import path.</summary>
    public IReadOnlyDictionary<string, FileDescriptorProto> Dependencies =>
        new ReadOnlyDictionary<string, FileDescriptorProto>(_dependencies.ToDictionary(p => p.Key, p => p.Value.Clone(), StringComparer.Ordinal));

    /// <summary>Gets the dependencies as they were given: each reference's name, subject and version, for comparing schemas.</summary>
    public IReadOnlyList<ProtobufDependency> References { get; }

    /// <summary>Gets a form of the schema that is the same whether it was registered as .proto text or as a serialized descriptor.</summary>
    /// <remarks>
    /// Base64 of the descriptor without its file name and source information, and with <c>json_name</c> only where it
    /// differs from the default camel-case name (protoc sets it on every field of a descriptor set, but the
    /// descriptors that protoc embeds in generated code carry only the explicit ones). An explicit <c>json_name</c>
    /// equal to the default is therefore indistinguishable from none.
    /// </remarks>
    public string Canonical { get; }

    internal FileDescriptorProto RawDescriptor => _descriptor;

    internal IReadOnlyDictionary<string, FileDescriptorProto> RawDependencies => _dependencies;

    internal ProtobufDiffModel DiffModel => LazyInitializer.EnsureInitialized(ref _diffModel, () => ProtobufDiffModel.Build(this));

    /// <summary>Parses a schema and the files it imports.</summary>
    /// <param name="schema">The schema: .proto text, or base64 of a serialized <c>FileDescriptorProto</c>.</param>
    /// <param name="dependencies">Every file the schema imports, directly or not (the transitive closure of its references, in any order); built-in files need none.</param>
    /// <returns>The parsed schema.</returns>
    /// <exception cref="FormatException">The schema or a dependency is invalid, an import is unresolved, a type is not found, the files import each other in a cycle, or the text nests too deeply.</exception>
    public static ProtobufSchema Parse(string schema, IReadOnlyList<ProtobufDependency>? dependencies = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var given = dependencies?.ToArray() ?? [];
        var (root, files) = ProtobufSchemaParser.Parse(schema, given);
        return new ProtobufSchema(root, files, Array.AsReadOnly(given));
    }

    /// <summary>Serializes the schema's descriptor as base64, the form Confluent's serializers register.</summary>
    /// <returns>Base64 of the serialized <c>FileDescriptorProto</c>.</returns>
    public string ToBase64() => Convert.ToBase64String(_descriptor.ToByteArray());

    /// <summary>Writes the schema as .proto text, the form in which Confluent's registry returns a Protobuf schema.</summary>
    /// <returns>The .proto text, with fully qualified type names.</returns>
    /// <remarks>
    /// Parsed again with the same dependencies, the text has the same <see cref="Canonical"/> form, except for what
    /// .proto text (as protobuf-net reads it) cannot say: a weak import, an explicit <c>syntax = "proto2"</c>, options
    /// on groups and extension ranges, a custom option that no imported file defines, oneofs whose fields are apart,
    /// and a few option and default values that protobuf-net encodes or rounds differently.
    /// </remarks>
    /// <exception cref="FormatException">The descriptor has a name that is not an identifier, a default value that does not fit its field, an unknown syntax or edition, a group field whose message is not beside it, or an option value nested too deeply.</exception>
    public string ToProtoText() => ProtoTextPrinter.Print(_descriptor, _dependencies);

    /// <summary>Gets protoc's default JSON name of a field: underscores dropped, each letter after one upper-cased.</summary>
    /// <param name="name">The field's name.</param>
    /// <returns>The default JSON name.</returns>
    internal static string DefaultJsonName(string name)
    {
        var result = new System.Text.StringBuilder(name.Length);
        var upper = false;
        foreach (var c in name)
        {
            if (c == '_')
            {
                upper = true;
            }
            else
            {
                result.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
        }

        return result.ToString();
    }

    private static string CanonicalForm(FileDescriptorProto descriptor)
    {
        var canonical = descriptor.Clone();
        canonical.ClearName();
        canonical.SourceCodeInfo = null;
        StripDefaultJsonNames(canonical.Extension);
        var pending = new Stack<DescriptorProto>(canonical.MessageType);
        while (pending.Count > 0)
        {
            var message = pending.Pop();
            StripDefaultJsonNames(message.Field);
            StripDefaultJsonNames(message.Extension);
            foreach (var nested in message.NestedType)
            {
                pending.Push(nested);
            }
        }

        return Convert.ToBase64String(canonical.ToByteArray());
    }

    private static void StripDefaultJsonNames(IEnumerable<FieldDescriptorProto> fields)
    {
        foreach (var field in fields)
        {
            if (field.HasJsonName && string.Equals(field.JsonName, DefaultJsonName(field.Name), StringComparison.Ordinal))
            {
                field.ClearJsonName();
            }
        }
    }
}

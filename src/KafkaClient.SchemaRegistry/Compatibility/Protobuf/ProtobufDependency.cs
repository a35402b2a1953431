namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>A file that a Protobuf schema imports: a schema reference of the registry, with the referenced schema's text.</summary>
/// <param name="Name">The import path, which is the reference's name (for example <c>common/money.proto</c>).</param>
/// <param name="Schema">The imported file, as .proto text or as base64 of a serialized <c>FileDescriptorProto</c>.</param>
/// <param name="Subject">The subject the file is registered under, or null when it is not a registered reference.</param>
/// <param name="Version">The version of <paramref name="Subject"/> that is referenced, or null when it is not a registered reference.</param>
public sealed record ProtobufDependency(string Name, string Schema, string? Subject = null, int? Version = null);

using Google.Protobuf.Reflection;
using FieldType = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Type;
using FieldLabel = Google.Protobuf.Reflection.FieldDescriptorProto.Types.Label;

namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>A field's label as the .proto text spells it; a field without one has none.</summary>
internal enum ProtoLabel
{
    Optional,
    Required,
    Repeated,
}

/// <summary>What a field's type is: a scalar keyword, a named message or enum, or a map.</summary>
internal enum ProtoTypeForm
{
    Scalar,
    Named,
    Map,
}

/// <summary>The registered subject and version a type comes from (the schema's own types share an empty one).</summary>
internal sealed record ProtoRef(string Subject, int Version)
{
    public static readonly ProtoRef Local = new(string.Empty, -1);
}

/// <summary>A field's type: a scalar keyword (<c>int32</c>), a fully qualified name without the leading dot, or <c>map&lt;K, V&gt;</c>.</summary>
internal sealed record ProtoFieldType(ProtoTypeForm Form, string Name, ProtoFieldType? Key = null, ProtoFieldType? Value = null);

internal sealed record ProtoField(string Name, int Tag, ProtoLabel? Label, ProtoFieldType Type);

internal sealed record ProtoOneof(string Name, List<ProtoField> Fields);

internal sealed record ProtoEnum(string Name, List<(int Number, string Name)> Constants);

/// <summary>A message as Confluent's rules see the .proto text: map entries and groups are not nested types.</summary>
internal sealed class ProtoMessage(string name)
{
    public string Name { get; } = name;

    public List<ProtoField> Fields { get; } = [];

    public List<ProtoOneof> Oneofs { get; } = [];

    public List<ProtoMessage> Messages { get; } = [];

    public List<ProtoEnum> Enums { get; } = [];
}

/// <summary>A named type, with the package of its file and where that file comes from.</summary>
internal sealed record ProtoTypeInfo(string Package, ProtoRef? Ref, ProtoMessage? Message, ProtoEnum? Enum, ProtoFieldType? MapType);

/// <summary>A schema as Confluent's Protobuf compatibility rules compare it, built from its descriptors.</summary>
/// <remarks>
/// Confluent compares the elements of the .proto text: labels as written (a proto3 field without one has none,
/// proto3 <c>optional</c> is <c>optional</c> and no oneof, oneof members and map fields have none), maps as
/// <c>map&lt;K, V&gt;</c> fields rather than nested entry messages. Type names are fully qualified here, which is
/// what Confluent's name resolution finds for a valid schema.
/// </remarks>
internal sealed class ProtobufDiffModel
{
    private ProtobufDiffModel(string package, ProtoMessage file, Dictionary<string, ProtoTypeInfo> types)
    {
        Package = package;
        File = file;
        Types = types;
    }

    public string Package { get; }

    /// <summary>Gets the file's top-level messages and enums, as a nameless message.</summary>
    public ProtoMessage File { get; }

    /// <summary>Gets every named type of the schema and its dependencies, by fully qualified name without the leading dot.</summary>
    public Dictionary<string, ProtoTypeInfo> Types { get; }

    public static ProtobufDiffModel Build(ProtobufSchema schema)
    {
        var types = new Dictionary<string, ProtoTypeInfo>(StringComparer.Ordinal);
        var references = new Dictionary<string, ProtoRef>(StringComparer.OrdinalIgnoreCase);
        foreach (var reference in schema.References)
        {
            if (reference.Subject is not null)
            {
                references.TryAdd(reference.Name, new ProtoRef(reference.Subject, reference.Version ?? -1));
            }
        }

        // Dependencies first and the schema last, so that the schema's own types win a clash of names.
        foreach (var (name, file) in schema.RawDependencies)
        {
            AddFile(file, references.GetValueOrDefault(name), types);
        }

        var root = AddFile(schema.RawDescriptor, ProtoRef.Local, types);
        return new ProtobufDiffModel(schema.RawDescriptor.Package, root, types);
    }

    private static ProtoMessage AddFile(FileDescriptorProto file, ProtoRef? reference, Dictionary<string, ProtoTypeInfo> types)
    {
        var package = file.Package;
        var proto2 = file.Syntax is "" or "proto2";
        var top = new ProtoMessage(string.Empty);
        var prefix = package.Length > 0 ? package + "." : string.Empty;
        foreach (var type in file.EnumType)
        {
            var element = BuildEnum(type);
            top.Enums.Add(element);
            types[prefix + type.Name] = new ProtoTypeInfo(package, reference, null, element, null);
        }

        var pending = new Stack<(DescriptorProto Descriptor, string Name, ProtoMessage Parent)>();
        for (var i = file.MessageType.Count - 1; i >= 0; i--)
        {
            pending.Push((file.MessageType[i], prefix + file.MessageType[i].Name, top));
        }

        while (pending.Count > 0)
        {
            var (descriptor, name, parent) = pending.Pop();
            var message = new ProtoMessage(descriptor.Name);
            parent.Messages.Add(message);
            types[name] = new ProtoTypeInfo(package, reference, message, null, null);

            var mapEntries = new Dictionary<string, DescriptorProto>(StringComparer.Ordinal);
            var groups = new HashSet<string>(StringComparer.Ordinal);
            foreach (var nested in descriptor.NestedType)
            {
                if (nested.Options?.MapEntry == true)
                {
                    mapEntries["." + name + "." + nested.Name] = nested;
                    types[name + "." + nested.Name] = new ProtoTypeInfo(package, reference, null, null, MapType(nested));
                }
            }

            foreach (var field in descriptor.Field)
            {
                if (field.Type == FieldType.Group)
                {
                    groups.Add(field.TypeName);
                }
            }

            // Members of real oneofs (not proto3 optional's synthetic ones), in declaration order.
            var oneofs = new ProtoOneof?[descriptor.OneofDecl.Count];
            foreach (var field in descriptor.Field)
            {
                if (field.Type == FieldType.Group)
                {
                    continue; // a group is no field of the text's message element
                }

                var isMap = field.Type == FieldType.Message && mapEntries.ContainsKey(field.TypeName);
                var inOneof = field.HasOneofIndex && !field.Proto3Optional && field.OneofIndex >= 0 && field.OneofIndex < oneofs.Length;
                ProtoLabel? label = inOneof || isMap ? null
                    : field.Proto3Optional ? ProtoLabel.Optional
                    : field.Label switch
                    {
                        FieldLabel.Repeated => ProtoLabel.Repeated,
                        FieldLabel.Required => ProtoLabel.Required,
                        _ => proto2 ? ProtoLabel.Optional : null,
                    };
                var type = isMap ? MapType(mapEntries[field.TypeName]) : TypeOf(field);
                var element = new ProtoField(field.Name, field.Number, label, type);
                if (inOneof)
                {
                    var oneof = oneofs[field.OneofIndex] ??= new ProtoOneof(descriptor.OneofDecl[field.OneofIndex].Name, []);
                    oneof.Fields.Add(element);
                }
                else
                {
                    message.Fields.Add(element);
                }
            }

            foreach (var oneof in oneofs)
            {
                if (oneof is not null)
                {
                    message.Oneofs.Add(oneof);
                }
            }

            foreach (var type in descriptor.EnumType)
            {
                var element = BuildEnum(type);
                message.Enums.Add(element);
                types[name + "." + type.Name] = new ProtoTypeInfo(package, reference, null, element, null);
            }

            for (var i = descriptor.NestedType.Count - 1; i >= 0; i--)
            {
                var nested = descriptor.NestedType[i];
                if (nested.Options?.MapEntry != true && !groups.Contains("." + name + "." + nested.Name))
                {
                    pending.Push((nested, name + "." + nested.Name, message));
                }
            }
        }

        return top;
    }

    private static ProtoEnum BuildEnum(EnumDescriptorProto type) =>
        new(type.Name, type.Value.Select(v => (v.Number, v.Name)).ToList());

    private static ProtoFieldType MapType(DescriptorProto entry)
    {
        var key = entry.Field.FirstOrDefault(f => f.Name == "key");
        var value = entry.Field.FirstOrDefault(f => f.Name == "value");
        return new ProtoFieldType(ProtoTypeForm.Map, "map", key is null ? Unknown : TypeOf(key), value is null ? Unknown : TypeOf(value));
    }

    private static readonly ProtoFieldType Unknown = new(ProtoTypeForm.Named, string.Empty);

    private static ProtoFieldType TypeOf(FieldDescriptorProto field) => field.Type switch
    {
        FieldType.Message or FieldType.Enum or FieldType.Group => new ProtoFieldType(ProtoTypeForm.Named, field.TypeName.TrimStart('.')),
        FieldType.Double => Scalar("double"),
        FieldType.Float => Scalar("float"),
        FieldType.Int64 => Scalar("int64"),
        FieldType.Uint64 => Scalar("uint64"),
        FieldType.Int32 => Scalar("int32"),
        FieldType.Fixed64 => Scalar("fixed64"),
        FieldType.Fixed32 => Scalar("fixed32"),
        FieldType.Bool => Scalar("bool"),
        FieldType.String => Scalar("string"),
        FieldType.Bytes => Scalar("bytes"),
        FieldType.Uint32 => Scalar("uint32"),
        FieldType.Sfixed32 => Scalar("sfixed32"),
        FieldType.Sfixed64 => Scalar("sfixed64"),
        FieldType.Sint32 => Scalar("sint32"),
        FieldType.Sint64 => Scalar("sint64"),
        _ => new ProtoFieldType(ProtoTypeForm.Named, field.TypeName.TrimStart('.')),
    };

    private static ProtoFieldType Scalar(string name) => new(ProtoTypeForm.Scalar, name);
}

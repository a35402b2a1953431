namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>The kinds of difference Confluent's Protobuf rules report, in the order of their Java enum.</summary>
internal enum ProtobufChange
{
    PackageChanged,
    MessageAdded,
    MessageRemoved,
    MessageMoved,
    EnumAdded,
    EnumRemoved,
    EnumConstAdded,
    EnumConstChanged,
    EnumConstRemoved,
    FieldAdded,
    FieldRemoved,
    FieldNameChanged,
    FieldKindChanged,
    FieldScalarKindChanged,
    FieldNamedTypeChanged,
    FieldNumericLabelChanged,
    FieldStringOrBytesLabelChanged,
    RequiredFieldAdded,
    RequiredFieldRemoved,
    OneofAdded,
    OneofRemoved,
    OneofFieldAdded,
    OneofFieldRemoved,
    OneofFieldMovedToTopLevel,
    MultipleFieldsMovedToOneof,
    FieldMovedToExistingOneof,
}

/// <summary>One difference: its kind and where it is (<c>#/Message/2</c>).</summary>
internal sealed record ProtobufDifference(ProtobufChange Type, string Path)
{
    public override string ToString() => $"{ProtobufChanges.Name(Type)} {Path}";
}

/// <summary>Names of the kinds of difference as Confluent spells them, and which of them are compatible.</summary>
internal static class ProtobufChanges
{
    private static readonly string[] Names =
    [
        "PACKAGE_CHANGED", "MESSAGE_ADDED", "MESSAGE_REMOVED", "MESSAGE_MOVED",
        "ENUM_ADDED", "ENUM_REMOVED", "ENUM_CONST_ADDED", "ENUM_CONST_CHANGED", "ENUM_CONST_REMOVED",
        "FIELD_ADDED", "FIELD_REMOVED", "FIELD_NAME_CHANGED", "FIELD_KIND_CHANGED",
        "FIELD_SCALAR_KIND_CHANGED", "FIELD_NAMED_TYPE_CHANGED",
        "FIELD_NUMERIC_LABEL_CHANGED", "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "REQUIRED_FIELD_ADDED", "REQUIRED_FIELD_REMOVED",
        "ONEOF_ADDED", "ONEOF_REMOVED",
        "ONEOF_FIELD_ADDED", "ONEOF_FIELD_REMOVED",
        "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
        "MULTIPLE_FIELDS_MOVED_TO_ONEOF", "FIELD_MOVED_TO_EXISTING_ONEOF",
    ];

    /// <summary>The 15 kinds that a reader of the update tolerates.</summary>
    public static readonly IReadOnlyList<ProtobufChange> Compatible =
    [
        ProtobufChange.MessageAdded, ProtobufChange.MessageMoved, ProtobufChange.EnumAdded, ProtobufChange.EnumRemoved,
        ProtobufChange.EnumConstAdded, ProtobufChange.EnumConstChanged, ProtobufChange.EnumConstRemoved,
        ProtobufChange.FieldAdded, ProtobufChange.FieldRemoved, ProtobufChange.FieldNameChanged,
        ProtobufChange.FieldStringOrBytesLabelChanged, ProtobufChange.OneofAdded, ProtobufChange.OneofRemoved,
        ProtobufChange.OneofFieldAdded, ProtobufChange.OneofFieldMovedToTopLevel,
    ];

    private static readonly bool[] IsCompatibleByType = Enumerable.Range(0, Names.Length).Select(i => Compatible.Contains((ProtobufChange)i)).ToArray();

    public static string Name(ProtobufChange type) => Names[(int)type];

    public static bool IsCompatible(ProtobufChange type) => IsCompatibleByType[(int)type];
}

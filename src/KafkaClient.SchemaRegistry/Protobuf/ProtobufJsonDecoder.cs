using System.Globalization;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace KafkaClient.SchemaRegistry.Protobuf;

/// <summary>Decodes Protobuf bytes of any message described at run time into JSON with proto3's JSON mapping; Google.Protobuf has no dynamic message.</summary>
/// <remarks>
/// Fields are named by their JSON name; 64-bit integers are strings, bytes are base64, enums are value names (the
/// number when unknown), maps are objects, and well-known types take their special forms (a Timestamp is an RFC 3339
/// string). Fields absent from the bytes are absent from the JSON; unknown fields are skipped. Stateless and thread-safe.
/// </remarks>
internal static class ProtobufJsonDecoder
{
    /// <summary>How deep messages may nest before the bytes are refused (Google.Protobuf's default recursion limit).</summary>
    private const int MaxDepth = 100;

    /// <summary>Decodes one message.</summary>
    /// <param name="message">The message's descriptor.</param>
    /// <param name="bytes">The message's encoding.</param>
    /// <returns>The message as a JSON object (or the special JSON form of a well-known type).</returns>
    /// <exception cref="InvalidProtocolBufferException">The bytes are not a valid encoding of the message.</exception>
    /// <exception cref="InvalidDataException">Messages nest too deeply.</exception>
    public static JsonNode? Decode(MessageDescriptor message, byte[] bytes) => DecodeMessage(message, bytes, 0);

    /// <returns>The JSON; null only for a <c>google.protobuf.Value</c> holding null.</returns>
    private static JsonNode? DecodeMessage(MessageDescriptor message, byte[] bytes, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException($"Messages nest deeper than {MaxDepth} levels.");
        }

        if (WellKnown(message.FullName) is { } parser)
        {
            // The well-known types' own JSON forms, from their generated classes.
            return JsonNode.Parse(JsonFormatter.Default.Format(parser.ParseFrom(bytes)));
        }

        var result = new JsonObject();
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = message.FindFieldByNumber(WireFormat.GetTagFieldNumber(tag));
            if (field is null || field.FieldType == FieldType.Group)
            {
                input.SkipLastField();
                continue;
            }

            if (field.IsMap)
            {
                var map = result[field.JsonName] as JsonObject ?? new JsonObject();
                result[field.JsonName] = map;
                var entry = (JsonObject)DecodeMessage(field.MessageType, input.ReadBytes().ToByteArray(), depth + 1)!;
                var keyField = field.MessageType.FindFieldByNumber(1);
                var valueField = field.MessageType.FindFieldByNumber(2);
                var key = entry[keyField.JsonName]?.ToString() ?? DefaultKey(keyField);
                map[key] = entry[valueField.JsonName]?.DeepClone() ?? DefaultValue(valueField);
                continue;
            }

            if (field.IsRepeated)
            {
                var array = result[field.JsonName] as JsonArray ?? new JsonArray();
                result[field.JsonName] = array;
                if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited && IsPackable(field.FieldType))
                {
                    var packed = new CodedInputStream(input.ReadBytes().ToByteArray());
                    while (!packed.IsAtEnd)
                    {
                        array.Add(ReadValue(packed, field, depth));
                    }
                }
                else
                {
                    array.Add(ReadValue(input, field, depth));
                }

                continue;
            }

            result[field.JsonName] = ReadValue(input, field, depth); // the last occurrence wins
        }

        return result;
    }

    private static JsonNode? ReadValue(CodedInputStream input, FieldDescriptor field, int depth) => field.FieldType switch
    {
        FieldType.Double => Number(input.ReadDouble()),
        FieldType.Float => Number(input.ReadFloat()),
        FieldType.Int64 => JsonValue.Create(input.ReadInt64().ToString(CultureInfo.InvariantCulture)),
        FieldType.UInt64 => JsonValue.Create(input.ReadUInt64().ToString(CultureInfo.InvariantCulture)),
        FieldType.SInt64 => JsonValue.Create(input.ReadSInt64().ToString(CultureInfo.InvariantCulture)),
        FieldType.Fixed64 => JsonValue.Create(input.ReadFixed64().ToString(CultureInfo.InvariantCulture)),
        FieldType.SFixed64 => JsonValue.Create(input.ReadSFixed64().ToString(CultureInfo.InvariantCulture)),
        FieldType.Int32 => JsonValue.Create(input.ReadInt32()),
        FieldType.UInt32 => JsonValue.Create(input.ReadUInt32()),
        FieldType.SInt32 => JsonValue.Create(input.ReadSInt32()),
        FieldType.Fixed32 => JsonValue.Create(input.ReadFixed32()),
        FieldType.SFixed32 => JsonValue.Create(input.ReadSFixed32()),
        FieldType.Bool => JsonValue.Create(input.ReadBool()),
        FieldType.String => JsonValue.Create(input.ReadString()),
        FieldType.Bytes => JsonValue.Create(input.ReadBytes().ToBase64()),
        FieldType.Enum => EnumValue(field.EnumType, input.ReadEnum()),
        FieldType.Message => DecodeMessage(field.MessageType, input.ReadBytes().ToByteArray(), depth + 1),
        _ => throw new InvalidDataException($"Field {field.FullName} has an unsupported type {field.FieldType}."),
    };

    private static JsonNode? EnumValue(EnumDescriptor type, int number) =>
        type.FindValueByNumber(number) is { } value ? JsonValue.Create(value.Name) : JsonValue.Create(number);

    private static JsonNode Number(double value) =>
        double.IsNaN(value) ? JsonValue.Create("NaN")
        : double.IsPositiveInfinity(value) ? JsonValue.Create("Infinity")
        : double.IsNegativeInfinity(value) ? JsonValue.Create("-Infinity")
        : JsonValue.Create(value);

    private static string DefaultKey(FieldDescriptor key) => key.FieldType switch
    {
        FieldType.String => string.Empty,
        FieldType.Bool => "false",
        _ => "0",
    };

    private static JsonNode? DefaultValue(FieldDescriptor value) => value.FieldType switch
    {
        FieldType.Message => new JsonObject(),
        FieldType.String => JsonValue.Create(string.Empty),
        FieldType.Bytes => JsonValue.Create(string.Empty),
        FieldType.Bool => JsonValue.Create(false),
        FieldType.Enum => EnumValue(value.EnumType, 0),
        FieldType.Int64 or FieldType.UInt64 or FieldType.SInt64 or FieldType.Fixed64 or FieldType.SFixed64 => JsonValue.Create("0"),
        _ => JsonValue.Create(0),
    };

    /// <summary>Gets a value indicating whether a message is a well-known type with a JSON form of its own.</summary>
    /// <param name="fullName">The message's full name.</param>
    /// <returns>True for Timestamp, Duration, the wrappers, Struct and the like.</returns>
    public static bool IsWellKnown(string fullName) => WellKnown(fullName) is not null;

    private static bool IsPackable(FieldType type) => type is not (FieldType.String or FieldType.Bytes or FieldType.Message or FieldType.Group);

    private static MessageParser? WellKnown(string fullName) => fullName switch
    {
        "google.protobuf.Timestamp" => Timestamp.Parser,
        "google.protobuf.Duration" => Duration.Parser,
        "google.protobuf.FieldMask" => FieldMask.Parser,
        "google.protobuf.Struct" => Struct.Parser,
        "google.protobuf.Value" => Value.Parser,
        "google.protobuf.ListValue" => ListValue.Parser,
        "google.protobuf.Empty" => Empty.Parser,
        "google.protobuf.DoubleValue" => DoubleValue.Parser,
        "google.protobuf.FloatValue" => FloatValue.Parser,
        "google.protobuf.Int64Value" => Int64Value.Parser,
        "google.protobuf.UInt64Value" => UInt64Value.Parser,
        "google.protobuf.Int32Value" => Int32Value.Parser,
        "google.protobuf.UInt32Value" => UInt32Value.Parser,
        "google.protobuf.BoolValue" => BoolValue.Parser,
        "google.protobuf.StringValue" => StringValue.Parser,
        "google.protobuf.BytesValue" => BytesValue.Parser,
        _ => null,
    };
}

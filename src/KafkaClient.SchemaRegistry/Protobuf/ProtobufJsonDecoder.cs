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
/// string). The bytes are read as Google.Protobuf's generated parsers read them: a field whose wire type does not fit
/// its type is skipped as unknown, the last member of a oneof wins, occurrences of a singular message field merge, and
/// proto2 groups are messages. Fields absent from the bytes are absent from the JSON; unknown fields are skipped.
/// Stateless and thread-safe.
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
    /// <exception cref="InvalidDataException">Messages nest too deeply, or a well-known type's value has no JSON form (a Timestamp out of range...).</exception>
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
            // The well-known types' own JSON forms, from their generated classes; JsonFormatter refuses values that
            // have none (a Timestamp beyond year 9999, a Value without a kind...) with InvalidOperationException.
            string json;
            try
            {
                json = JsonFormatter.Default.Format(parser.ParseFrom(bytes));
            }
            catch (InvalidOperationException ex)
            {
                throw new InvalidDataException($"The {message.FullName} value has no JSON form: {ex.Message}", ex);
            }

            return JsonNode.Parse(json);
        }

        var result = new JsonObject();

        // Occurrences of a singular message field merge, as the concatenation of their bytes does: decoded at the end.
        var messages = new Dictionary<FieldDescriptor, List<byte[]>>();
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = message.FindFieldByNumber(WireFormat.GetTagFieldNumber(tag));
            if (field is null || !Fits(field, WireFormat.GetTagWireType(tag)))
            {
                input.SkipLastField(); // unknown, or a wire type that does not fit: an unknown field to Google.Protobuf too
                continue;
            }

            if (field.RealContainingOneof is { } oneof)
            {
                // The last member of a oneof wins.
                foreach (var other in oneof.Fields.Where(f => f != field))
                {
                    result.Remove(other.JsonName);
                    messages.Remove(other);
                }
            }

            if (field.IsMap)
            {
                var map = result[field.JsonName] as JsonObject ?? new JsonObject();
                result[field.JsonName] = map;
                var entry = (JsonObject)DecodeMessage(field.MessageType, input.ReadBytes().ToByteArray(), depth + 1)!;
                var keyField = field.MessageType.FindFieldByNumber(1);
                var valueField = field.MessageType.FindFieldByNumber(2);
                var key = entry[keyField.JsonName]?.ToString() ?? DefaultKey(keyField);
                map[key] = entry.TryGetPropertyValue(valueField.JsonName, out var value)
                    ? value?.DeepClone()
                    : valueField.FieldType is FieldType.Message or FieldType.Group ? DecodeMessage(valueField.MessageType, [], depth + 1) : DefaultValue(valueField);
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
                    array.Add(field.FieldType == FieldType.Group ? DecodeMessage(field.MessageType, ReadGroup(input, bytes, tag), depth + 1) : ReadValue(input, field, depth));
                }

                continue;
            }

            if (field.FieldType is FieldType.Message or FieldType.Group)
            {
                if (!messages.TryGetValue(field, out var parts))
                {
                    parts = [];
                    messages[field] = parts;
                    result[field.JsonName] = null; // keeps the field's place among the others
                }

                parts.Add(field.FieldType == FieldType.Group ? ReadGroup(input, bytes, tag) : input.ReadBytes().ToByteArray());
                continue;
            }

            result[field.JsonName] = ReadValue(input, field, depth); // the last occurrence wins
        }

        foreach (var (field, parts) in messages)
        {
            result[field.JsonName] = DecodeMessage(field.MessageType, parts.Count == 1 ? parts[0] : [.. parts.SelectMany(p => p)], depth + 1);
        }

        return result;
    }

    /// <summary>Reads the fields of a group whose start tag was just read, without its end tag.</summary>
    private static byte[] ReadGroup(CodedInputStream input, byte[] bytes, uint startTag)
    {
        var start = (int)input.Position;
        input.SkipLastField(); // checks that the group ends, with its own end tag
        var endTag = WireFormat.MakeTag(WireFormat.GetTagFieldNumber(startTag), WireFormat.WireType.EndGroup);
        return bytes[start..((int)input.Position - CodedOutputStream.ComputeRawVarint32Size(endTag))];
    }

    /// <summary>Whether a field of this type is read from a value of this wire type, as Google.Protobuf's generated parsers do (a repeated scalar both packed and not).</summary>
    private static bool Fits(FieldDescriptor field, WireFormat.WireType wireType)
    {
        var expected = field.FieldType switch
        {
            FieldType.Double or FieldType.Fixed64 or FieldType.SFixed64 => WireFormat.WireType.Fixed64,
            FieldType.Float or FieldType.Fixed32 or FieldType.SFixed32 => WireFormat.WireType.Fixed32,
            FieldType.String or FieldType.Bytes or FieldType.Message => WireFormat.WireType.LengthDelimited,
            FieldType.Group => WireFormat.WireType.StartGroup,
            _ => WireFormat.WireType.Varint,
        };
        return wireType == expected || (field.IsRepeated && IsPackable(field.FieldType) && wireType == WireFormat.WireType.LengthDelimited);
    }

    private static JsonNode? ReadValue(CodedInputStream input, FieldDescriptor field, int depth) => field.FieldType switch
    {
        FieldType.Double => Number(input.ReadDouble()),
        FieldType.Float => Number(input.ReadFloat()), // as a float: 0.1f is 0.1, not its double 0.10000000149011612
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

    private static JsonNode Number(float value) =>
        float.IsFinite(value) ? JsonValue.Create(value) : Number((double)value);

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

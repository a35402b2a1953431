using System.Globalization;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>Writes a <c>FileDescriptorProto</c> as .proto text that parses back, with the same imports, to the same descriptor.</summary>
/// <remarks>
/// <para>
/// The layout follows the text Confluent's registry returns: the syntax line, the package, the imports, the file
/// options, then messages, enums, <c>extend</c> blocks and services; inside a message its reserved numbers and names,
/// options, fields (oneofs, maps and groups where their fields are), extension ranges, <c>extend</c> blocks, nested
/// messages and nested enums; two spaces of indentation. Type names are written as the descriptor has them, which
/// for a parsed schema is fully qualified with a leading dot, so they never depend on the scope they are read in.
/// </para>
/// <para>
/// What the text keeps is what decides the descriptor: fields in their order, oneofs where their first field is,
/// and a nested message written before a map or group field that comes after it in the nested types (the map entry
/// and group messages take their places among the nested types from where their fields are).
/// </para>
/// <para>
/// Not representable, so not the same after a round trip: a <c>weak</c> import (written as a plain import, since
/// protobuf-net cannot parse <c>import weak</c>); options on a group field (protobuf-net reads none) and on an
/// extension range (written, but protobuf-net drops them); a custom option whose extension no file in reach defines,
/// or whose value does not decode as its type (left out: there is no way to write raw bytes); a custom option value
/// that protobuf-net encodes differently (a packed repeated scalar, which it writes unpacked; a field set to its
/// proto2 default, which it leaves out); a floating-point default that protobuf-net rounds (one it formats with an exponent,
/// such as <c>1.5e+20</c>, becomes <c>2e+20</c>); a <c>syntax = "proto2"</c> set explicitly (a parsed proto2 file has
/// none); fields of a oneof that are not next to each other, or oneofs out of order; a map entry message that does
/// not have the shape and name <c>map&lt;K, V&gt;</c> gives it (written as an ordinary nested message, without
/// <c>map_entry</c>); in editions, the <c>LABEL_REQUIRED</c> and <c>TYPE_GROUP</c> that protoc derives from the
/// features (the features are written; protobuf-net keeps <c>LABEL_OPTIONAL</c> and <c>TYPE_MESSAGE</c>).
/// </para>
/// <para>
/// A name that is not an identifier (it could change what the text means), a default value that does not fit its
/// field, an unknown syntax or edition, and a proto2 group field whose message is not the nested message of its name
/// are format errors: no text says them.
/// </para>
/// <para>
/// The printer never recurses on the descriptor: messages nest on a heap stack, so any depth prints (the text nests
/// as deep as the descriptor, and <see cref="ProtobufSchema.Parse"/> accepts only <see cref="ProtoTextScanner.MaxNestingDepth"/>
/// levels of it; indentation stops growing there). Option values nest at most <see cref="MaxOptionDepth"/> levels.
/// </para>
/// </remarks>
internal static class ProtoTextPrinter
{
    /// <summary>The deepest nesting of messages inside one option value that is written.</summary>
    public const int MaxOptionDepth = 64;

    /// <summary>The highest field number, which <c>max</c> means in a message's ranges.</summary>
    private const int MaxFieldNumber = 536_870_911;

    private const int UninterpretedOptionNumber = 999;

    private const string DescriptorPrefix = ".google.protobuf.";

    private static readonly Lazy<Symbols> BuiltInSymbols = new(() =>
    {
        var symbols = new Symbols();
        symbols.Add(FileDescriptorProto.Parser.ParseFrom(DescriptorReflection.Descriptor.SerializedData));
        return symbols;
    });

    private static readonly Lazy<EnumDescriptorProto> EditionEnum = new(() =>
        BuiltInSymbols.Value.Enums[DescriptorPrefix + "Edition"]);

    /// <summary>Writes a file descriptor as .proto text.</summary>
    /// <param name="file">The file, with fully qualified type names.</param>
    /// <param name="dependencies">The files it imports, directly or not, by import path: where custom options are defined.</param>
    /// <returns>The .proto text.</returns>
    /// <exception cref="FormatException">A name is not an identifier, a default value does not fit its field, the syntax or edition is unknown, a group field's message is not beside it, or an option value nests too deeply.</exception>
    public static string Print(FileDescriptorProto file, IReadOnlyDictionary<string, FileDescriptorProto> dependencies)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(dependencies);
        return new Writer(file, dependencies).Write();
    }

    /// <summary>Gets protoc's name of a map field's entry message: the field's name in camel case, capitalized, with <c>Entry</c> appended.</summary>
    /// <param name="fieldName">The map field's name.</param>
    /// <returns>The entry message's name.</returns>
    internal static string MapEntryName(string fieldName)
    {
        var result = new StringBuilder(fieldName.Length + 5);
        var upper = true;
        foreach (var c in fieldName)
        {
            if (c == '_')
            {
                upper = true;
            }
            else
            {
                result.Append(upper && c is >= 'a' and <= 'z' ? (char)(c - 'a' + 'A') : c);
                upper = false;
            }
        }

        return result.Append("Entry").ToString();
    }

    /// <summary>Writes a string as a .proto string literal.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The literal, quotes included.</returns>
    internal static string Quote(string value)
    {
        var result = new StringBuilder(value.Length + 2).Append('"');
        foreach (var rune in value.EnumerateRunes())
        {
            var v = rune.Value;
            switch (v)
            {
                case '"':
                    result.Append("\\\"");
                    break;
                case '\\':
                    result.Append("\\\\");
                    break;
                case '\n':
                    result.Append("\\n");
                    break;
                case '\r':
                    result.Append("\\r");
                    break;
                case '\t':
                    result.Append("\\t");
                    break;
                case < 0x20 or 0x7f:
                    AppendOctal(result, (byte)v);
                    break;
                case < 0x7f:
                    result.Append((char)v);
                    break;
                default:
                    // Letters, marks, symbols and the like are written as they are; what is invisible or would
                    // need a surrogate pair (which protobuf-net reads a char at a time) is escaped.
                    if (v > 0xFFFF)
                    {
                        result.Append("\\U").Append(v.ToString("x8", CultureInfo.InvariantCulture));
                    }
                    else if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                        or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.SpaceSeparator)
                    {
                        result.Append("\\u").Append(v.ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        result.Append((char)v);
                    }

                    break;
            }
        }

        return result.Append('"').ToString();
    }

    /// <summary>Writes bytes as a .proto string literal: printable ASCII as it is, the rest escaped.</summary>
    /// <param name="value">The bytes.</param>
    /// <returns>The literal, quotes included.</returns>
    internal static string QuoteBytes(ReadOnlySpan<byte> value)
    {
        var result = new StringBuilder(value.Length + 2).Append('"');
        foreach (var b in value)
        {
            switch (b)
            {
                case (byte)'"':
                    result.Append("\\\"");
                    break;
                case (byte)'\\':
                    result.Append("\\\\");
                    break;
                case (byte)'\n':
                    result.Append("\\n");
                    break;
                case (byte)'\r':
                    result.Append("\\r");
                    break;
                case (byte)'\t':
                    result.Append("\\t");
                    break;
                case >= 0x20 and < 0x7f:
                    result.Append((char)b);
                    break;
                default:
                    AppendOctal(result, b);
                    break;
            }
        }

        return result.Append('"').ToString();
    }

    /// <summary>Reads the C-escaped text that a descriptor holds as a bytes field's default value.</summary>
    /// <param name="text">The escaped text.</param>
    /// <returns>The bytes, or null when an escape is invalid.</returns>
    internal static byte[]? Unescape(string text)
    {
        var result = new List<byte>(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i++];
            if (c != '\\')
            {
                if (c < 0x80)
                {
                    result.Add((byte)c);
                }
                else
                {
                    var end = char.IsHighSurrogate(c) && i < text.Length ? i + 1 : i;
                    result.AddRange(Encoding.UTF8.GetBytes(text[(i - 1)..end]));
                    i = end;
                }

                continue;
            }

            if (i == text.Length)
            {
                return null;
            }

            c = text[i++];
            switch (c)
            {
                case 'a': result.Add(7); break;
                case 'b': result.Add(8); break;
                case 'f': result.Add(12); break;
                case 'n': result.Add(10); break;
                case 'r': result.Add(13); break;
                case 't': result.Add(9); break;
                case 'v': result.Add(11); break;
                case '\\' or '\'' or '"' or '?': result.Add((byte)c); break;
                case >= '0' and <= '7':
                    {
                        var value = c - '0';
                        for (var n = 1; n < 3 && i < text.Length && text[i] is >= '0' and <= '7'; n++)
                        {
                            value = (value * 8) + (text[i++] - '0');
                        }

                        if (value > 0xFF)
                        {
                            return null;
                        }

                        result.Add((byte)value);
                        break;
                    }

                case 'x' or 'X':
                    {
                        var value = 0;
                        var n = 0;
                        for (; n < 2 && i < text.Length && Uri.IsHexDigit(text[i]); n++)
                        {
                            value = (value * 16) + Uri.FromHex(text[i++]);
                        }

                        if (n == 0)
                        {
                            return null;
                        }

                        result.Add((byte)value);
                        break;
                    }

                default:
                    return null;
            }
        }

        return [.. result];
    }

    private static void AppendOctal(StringBuilder result, byte b) =>
        result.Append('\\').Append((char)('0' + ((b >> 6) & 7))).Append((char)('0' + ((b >> 3) & 7))).Append((char)('0' + (b & 7)));

    private static string FormatDouble(double value) =>
        double.IsNaN(value) ? "nan"
        : double.IsPositiveInfinity(value) ? "inf"
        : double.IsNegativeInfinity(value) ? "-inf"
        : SingleToken(value.ToString("R", CultureInfo.InvariantCulture));

    private static string FormatFloat(float value) =>
        float.IsNaN(value) ? "nan"
        : float.IsPositiveInfinity(value) ? "inf"
        : float.IsNegativeInfinity(value) ? "-inf"
        : SingleToken(value.ToString("R", CultureInfo.InvariantCulture));

    // protobuf-net reads '+' as a token of its own: 1E+20 is written 1e20.
    private static string SingleToken(string number) => number.Replace("E+", "e", StringComparison.Ordinal).Replace('E', 'e');

    private static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || name[0] is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsDottedName(string name, bool leadingDot)
    {
        var parts = name.Split('.');
        var first = leadingDot && name.StartsWith('.') ? 1 : 0;
        if (parts.Length - first == 0)
        {
            return false;
        }

        for (var i = first; i < parts.Length; i++)
        {
            if (!IsIdentifier(parts[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Identifier(string name, string what) =>
        IsIdentifier(name) ? name : throw new FormatException($"The {what} '{name}' is not an identifier, so the schema cannot be written as .proto text.");

    private static string TypeName(string name, string what) =>
        IsDottedName(name, leadingDot: true) ? name : throw new FormatException($"The {what} '{name}' is not a type name, so the schema cannot be written as .proto text.");

    private static string? ScalarName(FieldDescriptorProto.Types.Type type) => type switch
    {
        FieldDescriptorProto.Types.Type.Double => "double",
        FieldDescriptorProto.Types.Type.Float => "float",
        FieldDescriptorProto.Types.Type.Int64 => "int64",
        FieldDescriptorProto.Types.Type.Uint64 => "uint64",
        FieldDescriptorProto.Types.Type.Int32 => "int32",
        FieldDescriptorProto.Types.Type.Fixed64 => "fixed64",
        FieldDescriptorProto.Types.Type.Fixed32 => "fixed32",
        FieldDescriptorProto.Types.Type.Bool => "bool",
        FieldDescriptorProto.Types.Type.String => "string",
        FieldDescriptorProto.Types.Type.Bytes => "bytes",
        FieldDescriptorProto.Types.Type.Uint32 => "uint32",
        FieldDescriptorProto.Types.Type.Sfixed32 => "sfixed32",
        FieldDescriptorProto.Types.Type.Sfixed64 => "sfixed64",
        FieldDescriptorProto.Types.Type.Sint32 => "sint32",
        FieldDescriptorProto.Types.Type.Sint64 => "sint64",
        _ => null,
    };

    private static bool IsNamedType(FieldDescriptorProto field) =>
        !field.HasType || field.Type is FieldDescriptorProto.Types.Type.Message or FieldDescriptorProto.Types.Type.Enum or FieldDescriptorProto.Types.Type.Group;

    /// <summary>Whether a type name is exactly the name <paramref name="name"/> declared in a scope, compared without building the scope's name.</summary>
    private static bool IsDeclaredIn(string typeName, Scope scope, string name)
    {
        var end = typeName.Length;
        if (!TrimSegment(typeName, ref end, name))
        {
            return false;
        }

        for (var s = scope; s.Parent is not null; s = s.Parent)
        {
            if (!TrimSegment(typeName, ref end, s.Name))
            {
                return false;
            }
        }

        return (scope.Package.Length == 0 || TrimSegment(typeName, ref end, scope.Package)) && end == 0;
    }

    private static bool TrimSegment(string text, ref int end, string segment)
    {
        var start = end - segment.Length - 1;
        if (start < 0 || text[start] != '.' || string.CompareOrdinal(text, start + 1, segment, 0, segment.Length) != 0)
        {
            return false;
        }

        end = start;
        return true;
    }

    /// <summary>The scope a message is declared in, as a chain: building each nested message's full name would cost the square of the depth.</summary>
    private sealed class Scope(Scope? parent, string name, string package)
    {
        public Scope? Parent { get; } = parent;

        public string Name { get; } = name;

        public string Package { get; } = package;

        public Scope Child(string name) => new(this, name, Package);
    }

    /// <summary>A message (or group) to write: its opening line, at an indentation depth.</summary>
    private sealed record Body(DescriptorProto Message, Scope Scope, int Depth, string Opening);

    /// <summary>A field of a message or an extension, with the nested message it declares (a map entry or a group), if any.</summary>
    private readonly record struct Member(FieldDescriptorProto Field, int Nested, bool IsMap);

    private sealed class Writer(FileDescriptorProto file, IReadOnlyDictionary<string, FileDescriptorProto> dependencies)
    {
        private readonly StringBuilder _text = new();
        private readonly FileDescriptorProto _file = file;
        private readonly IReadOnlyDictionary<string, FileDescriptorProto> _dependencies = dependencies;
        private readonly string _syntax = file.Syntax switch
        {
            "" or "proto2" => "proto2",
            "proto3" => "proto3",
            "editions" => "editions",
            _ => throw new FormatException($"The syntax '{file.Syntax}' is unknown, so the schema cannot be written as .proto text."),
        };

        private Symbols? _symbols;

        private bool IsProto2 => _syntax == "proto2";

        private bool IsEditions => _syntax == "editions";

        /// <summary>Gets the definitions of the file and of the files it imports, with descriptor.proto's first: for custom options.</summary>
        private Symbols AllSymbols
        {
            get
            {
                if (_symbols is null)
                {
                    var symbols = BuiltInSymbols.Value.Copy();
                    symbols.Add(_file);
                    foreach (var dependency in _dependencies.Values)
                    {
                        symbols.Add(dependency);
                    }

                    _symbols = symbols;
                }

                return _symbols;
            }
        }

        public string Write()
        {
            WriteHeader();
            var stack = new Stack<IEnumerator<Body>>();
            try
            {
                stack.Push(FileBody().GetEnumerator());
                while (stack.Count > 0)
                {
                    var top = stack.Peek();
                    if (top.MoveNext())
                    {
                        stack.Push(MessageBody(top.Current).GetEnumerator());
                    }
                    else
                    {
                        stack.Pop().Dispose();
                    }
                }
            }
            finally
            {
                while (stack.Count > 0)
                {
                    stack.Pop().Dispose();
                }
            }

            return _text.ToString();
        }

        private void Line(int depth, string line) =>
            _text.Append(' ', 2 * Math.Min(depth, ProtoTextScanner.MaxNestingDepth)).Append(line).Append('\n');

        private void Blank()
        {
            if (_text.Length > 0)
            {
                _text.Append('\n');
            }
        }

        /// <summary>Writes a block's opening line and returns where its body starts, for <see cref="Close"/>.</summary>
        private int Open(int depth, string opening)
        {
            Line(depth, opening + " {");
            return _text.Length;
        }

        /// <summary>Closes a block: <c>{}</c> on the opening line when nothing was written in it.</summary>
        private void Close(int depth, int bodyStart)
        {
            if (_text.Length == bodyStart)
            {
                _text.Length--;
                _text.Append("}\n");
            }
            else
            {
                Line(depth, "}");
            }
        }

        private void WriteHeader()
        {
            if (IsEditions)
            {
                Line(0, $"edition = \"{EditionName(_file.Edition)}\";");
            }
            else
            {
                Line(0, $"syntax = \"{_syntax}\";");
            }

            if (_file.Package.Length > 0)
            {
                if (!IsDottedName(_file.Package, leadingDot: false))
                {
                    throw new FormatException($"The package '{_file.Package}' is not a dotted name, so the schema cannot be written as .proto text.");
                }

                Line(0, $"package {_file.Package};");
            }

            if (_file.Dependency.Count > 0 || _file.OptionDependency.Count > 0)
            {
                Blank();
                for (var i = 0; i < _file.Dependency.Count; i++)
                {
                    // A weak import is written as a plain one: protobuf-net cannot parse "import weak".
                    var marker = _file.PublicDependency.Contains(i) ? "public " : string.Empty;
                    Line(0, $"import {marker}{Quote(_file.Dependency[i])};");
                }

                foreach (var dependency in _file.OptionDependency)
                {
                    Line(0, $"import option {Quote(dependency)};");
                }
            }

            var options = Options(_file.Options, "FileOptions");
            if (options.Count > 0)
            {
                Blank();
                foreach (var option in options)
                {
                    Line(0, $"option {option};");
                }
            }
        }

        private static string EditionName(Edition edition)
        {
            var name = EditionEnum.Value.Value.FirstOrDefault(v => v.Number == (int)edition)?.Name;
            const string Prefix = "EDITION_";
            return name is not null && name.StartsWith(Prefix, StringComparison.Ordinal) && name.Length > Prefix.Length && name[Prefix.Length..].All(char.IsAsciiDigit)
                ? name[Prefix.Length..]
                : throw new FormatException($"The edition {(int)edition} cannot be written as .proto text.");
        }

        private IEnumerable<Body> FileBody()
        {
            var scope = new Scope(null, string.Empty, _file.Package);
            var messages = _file.MessageType;
            var written = new bool[messages.Count];
            var extensions = Bind(_file.Extension, messages, scope);
            MarkDeclared(extensions, written);
            var firstBound = extensions.Where(m => m.Nested >= 0).Select(m => m.Nested).DefaultIfEmpty(messages.Count).Min();

            if (firstBound > 0)
            {
                Blank();
            }

            foreach (var body in Messages(messages, written, firstBound, scope, 0))
            {
                yield return body;
            }

            if (_file.EnumType.Count > 0)
            {
                Blank();
                foreach (var type in _file.EnumType)
                {
                    WriteEnum(type, 0);
                }
            }

            if (extensions.Length > 0)
            {
                Blank();
                foreach (var body in Extends(extensions, messages, written, scope, 0))
                {
                    yield return body;
                }
            }

            if (written.Contains(false))
            {
                Blank();
            }

            foreach (var body in Messages(messages, written, messages.Count, scope, 0))
            {
                yield return body;
            }

            if (_file.Service.Count > 0)
            {
                Blank();
                foreach (var service in _file.Service)
                {
                    WriteService(service);
                }
            }
        }

        /// <summary>Yields the messages not yet written that come before <paramref name="end"/> in their list.</summary>
        private static IEnumerable<Body> Messages(IList<DescriptorProto> messages, bool[] written, int end, Scope scope, int depth)
        {
            for (var i = 0; i < end; i++)
            {
                if (!written[i])
                {
                    written[i] = true;
                    yield return new Body(messages[i], scope.Child(messages[i].Name), depth, $"{Visibility(messages[i].HasVisibility, messages[i].Visibility)}message {Identifier(messages[i].Name, "message name")}");
                }
            }
        }

        private static string Visibility(bool has, SymbolVisibility visibility) => !has ? string.Empty : visibility switch
        {
            SymbolVisibility.VisibilityLocal => "local ",
            SymbolVisibility.VisibilityExport => "export ",
            _ => string.Empty,
        };

        private IEnumerable<Body> MessageBody(Body body)
        {
            var message = body.Message;
            var depth = body.Depth + 1;
            var start = Open(body.Depth, body.Opening);

            if (message.ReservedRange.Count > 0)
            {
                Line(depth, $"reserved {string.Join(", ", message.ReservedRange.Select(r => Range(r.Start, (long)r.End - 1, MaxFieldNumber)))};");
            }

            if (message.ReservedName.Count > 0)
            {
                Line(depth, $"reserved {string.Join(", ", message.ReservedName.Select(n => IsEditions ? Identifier(n, "reserved name") : Quote(n)))};");
            }

            foreach (var option in Options(message.Options, "MessageOptions"))
            {
                Line(depth, $"option {option};");
            }

            var nested = message.NestedType;
            var written = new bool[nested.Count];
            var fields = Bind(message.Field, nested, body.Scope);
            var extensions = Bind(message.Extension, nested, body.Scope);
            MarkDeclared(fields, written);
            MarkDeclared(extensions, written);
            var synthetic = SyntheticOneofs(message);
            var oneofs = new List<Member>[message.OneofDecl.Count];
            for (var k = 0; k < oneofs.Length; k++)
            {
                oneofs[k] = [];
            }

            foreach (var member in fields)
            {
                if (InOneof(member.Field, synthetic) is { } k)
                {
                    oneofs[k].Add(member);
                }
            }

            var oneofWritten = new bool[oneofs.Length];
            foreach (var member in fields)
            {
                if (InOneof(member.Field, synthetic) is { } index)
                {
                    if (oneofWritten[index])
                    {
                        continue;
                    }

                    // Oneofs are numbered in the order they are written: empty ones before this are written first.
                    for (var k = 0; k < index; k++)
                    {
                        if (!oneofWritten[k] && !synthetic[k] && oneofs[k].Count == 0)
                        {
                            oneofWritten[k] = true;
                            WriteOneofStart(message.OneofDecl[k], depth, out var emptyStart);
                            Close(depth, emptyStart);
                        }
                    }

                    oneofWritten[index] = true;
                    foreach (var nestedBody in Messages(nested, written, oneofs[index].Select(m => m.Nested).Max(), body.Scope, depth))
                    {
                        yield return nestedBody;
                    }

                    WriteOneofStart(message.OneofDecl[index], depth, out var oneofStart);
                    foreach (var inner in oneofs[index])
                    {
                        if (WriteMember(inner, nested, body.Scope, depth + 1, inOneof: true) is { } group)
                        {
                            yield return group;
                        }
                    }

                    Close(depth, oneofStart);
                    continue;
                }

                foreach (var nestedBody in Messages(nested, written, member.Nested, body.Scope, depth))
                {
                    yield return nestedBody;
                }

                if (WriteMember(member, nested, body.Scope, depth, inOneof: false) is { } groupBody)
                {
                    yield return groupBody;
                }
            }

            for (var k = 0; k < oneofs.Length; k++)
            {
                if (!oneofWritten[k] && !synthetic[k])
                {
                    WriteOneofStart(message.OneofDecl[k], depth, out var emptyStart);
                    Close(depth, emptyStart);
                }
            }

            foreach (var range in message.ExtensionRange)
            {
                var options = Options(range.Options, "ExtensionRangeOptions");
                var suffix = options.Count > 0 ? $" [{string.Join(", ", options)}]" : string.Empty;

                // One statement a range: protobuf-net misreads a list of them.
                Line(depth, $"extensions {Range(range.Start, (long)range.End - 1, MaxFieldNumber)}{suffix};");
            }

            foreach (var extendBody in Extends(extensions, nested, written, body.Scope, depth))
            {
                yield return extendBody;
            }

            foreach (var nestedBody in Messages(nested, written, nested.Count, body.Scope, depth))
            {
                yield return nestedBody;
            }

            foreach (var type in message.EnumType)
            {
                WriteEnum(type, depth);
            }

            Close(body.Depth, start);
        }

        private void WriteOneofStart(OneofDescriptorProto oneof, int depth, out int start)
        {
            start = Open(depth, $"oneof {Identifier(oneof.Name, "oneof name")}");
            foreach (var option in Options(oneof.Options, "OneofOptions"))
            {
                Line(depth + 1, $"option {option};");
            }
        }

        private static int? InOneof(FieldDescriptorProto field, bool[] synthetic) =>
            field.HasOneofIndex && field.OneofIndex >= 0 && field.OneofIndex < synthetic.Length && !synthetic[field.OneofIndex] ? field.OneofIndex : null;

        /// <summary>Finds the oneofs that proto3 <c>optional</c> fields imply: one field each, which is marked so.</summary>
        private static bool[] SyntheticOneofs(DescriptorProto message)
        {
            var counts = new int[message.OneofDecl.Count];
            var optional = new bool[message.OneofDecl.Count];
            foreach (var field in message.Field)
            {
                if (field.HasOneofIndex && field.OneofIndex >= 0 && field.OneofIndex < counts.Length)
                {
                    counts[field.OneofIndex]++;
                    optional[field.OneofIndex] = field.Proto3Optional;
                }
            }

            return [.. counts.Select((count, k) => count == 1 && optional[k])];
        }

        /// <summary>Pairs fields with the nested messages that <c>map</c> and <c>group</c> declare for them.</summary>
        private Member[] Bind(IList<FieldDescriptorProto> fields, IList<DescriptorProto> nested, Scope scope)
        {
            var taken = new bool[nested.Count];
            var result = new Member[fields.Count];
            for (var i = 0; i < fields.Count; i++)
            {
                var field = fields[i];
                var index = -1;
                var isMap = false;
                if (field.Label == FieldDescriptorProto.Types.Label.Repeated && field.Type == FieldDescriptorProto.Types.Type.Message && !field.HasExtendee)
                {
                    var entryName = MapEntryName(field.Name);
                    index = FindNested(nested, taken, entryName);
                    isMap = index >= 0 && IsDeclaredIn(field.TypeName, scope, entryName) && IsMapEntry(nested[index]);
                    index = isMap ? index : -1;
                }
                else if (field.Type == FieldDescriptorProto.Types.Type.Group && !IsEditions)
                {
                    var groupName = field.TypeName[(field.TypeName.LastIndexOf('.') + 1)..];
                    index = FindNested(nested, taken, groupName);
                    if (index < 0 || !IsDeclaredIn(field.TypeName, scope, groupName) || groupName.Length == 0 || !char.IsAsciiLetterUpper(groupName[0])
                        || !string.Equals(field.Name, groupName.ToLowerInvariant(), StringComparison.Ordinal))
                    {
                        throw new FormatException($"The group field '{field.Name}' is not the lower-case name of a message declared beside it, so the schema cannot be written as .proto text.");
                    }
                }

                if (index >= 0)
                {
                    taken[index] = true;
                }

                result[i] = new Member(field, index, isMap);
            }

            return result;
        }

        /// <summary>Marks the nested messages that fields declare (map entries and groups) as written: their fields write them.</summary>
        private static void MarkDeclared(Member[] members, bool[] written)
        {
            foreach (var member in members)
            {
                if (member.Nested >= 0)
                {
                    written[member.Nested] = true;
                }
            }
        }

        private static int FindNested(IList<DescriptorProto> nested, bool[] taken, string name)
        {
            for (var j = 0; j < nested.Count; j++)
            {
                if (!taken[j] && string.Equals(nested[j].Name, name, StringComparison.Ordinal))
                {
                    return j;
                }
            }

            return -1;
        }

        /// <summary>Whether a message is exactly what <c>map&lt;K, V&gt;</c> declares: a key and a value, the option <c>map_entry</c> and nothing else.</summary>
        private static bool IsMapEntry(DescriptorProto entry)
        {
            if (entry.Options is null || !entry.Options.Equals(new MessageOptions { MapEntry = true }) || entry.Field.Count != 2
                || entry.NestedType.Count + entry.EnumType.Count + entry.Extension.Count + entry.ExtensionRange.Count + entry.OneofDecl.Count
                    + entry.ReservedRange.Count + entry.ReservedName.Count > 0)
            {
                return false;
            }

            var key = entry.Field[0];
            var value = entry.Field[1];
            return IsEntryField(key, "key", 1) && IsEntryField(value, "value", 2)
                && key.Type is not (FieldDescriptorProto.Types.Type.Double or FieldDescriptorProto.Types.Type.Float or FieldDescriptorProto.Types.Type.Bytes
                    or FieldDescriptorProto.Types.Type.Message or FieldDescriptorProto.Types.Type.Enum or FieldDescriptorProto.Types.Type.Group)
                && key.HasType && value.HasType && value.Type != FieldDescriptorProto.Types.Type.Group;
        }

        private static bool IsEntryField(FieldDescriptorProto field, string name, int number) =>
            field.Name == name && field.Number == number && field.Label == FieldDescriptorProto.Types.Label.Optional && field.Options is null
            && !field.HasDefaultValue && !field.HasOneofIndex && !field.Proto3Optional && !field.HasExtendee && (!field.HasJsonName || field.JsonName == name);

        /// <summary>Writes a field, or returns the body of a group for the caller to yield.</summary>
        private Body? WriteMember(Member member, IList<DescriptorProto> nested, Scope scope, int depth, bool inOneof)
        {
            var field = member.Field;
            var name = Identifier(field.Name, "field name");
            if (member.IsMap)
            {
                var entry = nested[member.Nested];
                var key = ScalarName(entry.Field[0].Type)!;
                var value = FieldType(entry.Field[1]);
                Line(depth, $"map<{key}, {value}> {name} = {field.Number}{FieldOptions(field)};");
                return null;
            }

            var label = inOneof ? string.Empty : Label(field);
            if (member.Nested >= 0)
            {
                // protobuf-net reads no options on a group: they are left out.
                var group = nested[member.Nested];
                return new Body(group, scope.Child(group.Name), depth, $"{label}group {Identifier(group.Name, "group name")} = {field.Number}");
            }

            Line(depth, $"{label}{FieldType(field)} {name} = {field.Number}{FieldOptions(field)};");
            return null;
        }

        private string Label(FieldDescriptorProto field)
        {
            if (field.Label == FieldDescriptorProto.Types.Label.Repeated)
            {
                return "repeated ";
            }

            if (IsEditions)
            {
                return string.Empty;
            }

            if (field.Label == FieldDescriptorProto.Types.Label.Required)
            {
                return "required ";
            }

            return IsProto2 || field.Proto3Optional ? "optional " : string.Empty;
        }

        private static string FieldType(FieldDescriptorProto field)
        {
            if (IsNamedType(field))
            {
                return field.TypeName.Length > 0
                    ? TypeName(field.TypeName, "type of field " + field.Name)
                    : throw new FormatException($"The field '{field.Name}' has no type, so the schema cannot be written as .proto text.");
            }

            return ScalarName(field.Type) ?? throw new FormatException($"The field '{field.Name}' has the unknown type {(int)field.Type}, so the schema cannot be written as .proto text.");
        }

        private string FieldOptions(FieldDescriptorProto field)
        {
            var options = new List<string>();
            if (DefaultValue(field) is { } value)
            {
                options.Add($"default = {value}");
            }

            if (field.HasJsonName && !string.Equals(field.JsonName, ProtobufSchema.DefaultJsonName(field.Name), StringComparison.Ordinal))
            {
                options.Add($"json_name = {Quote(field.JsonName)}");
            }

            options.AddRange(Options(field.Options, "FieldOptions"));
            return options.Count > 0 ? $" [{string.Join(", ", options)}]" : string.Empty;
        }

        private static string? DefaultValue(FieldDescriptorProto field)
        {
            if (!field.HasDefaultValue)
            {
                return null;
            }

            var value = field.DefaultValue;
            var invalid = new FormatException($"The default value '{value}' of field '{field.Name}' does not fit its type, so the schema cannot be written as .proto text.");
            if (!field.HasType)
            {
                return IsIdentifier(value) ? value : throw invalid;
            }

            switch (field.Type)
            {
                case FieldDescriptorProto.Types.Type.String:
                    return Quote(value);
                case FieldDescriptorProto.Types.Type.Bytes:
                    return QuoteBytes(Unescape(value) ?? throw invalid);
                case FieldDescriptorProto.Types.Type.Enum:
                    return IsIdentifier(value) ? value : throw invalid;
                case FieldDescriptorProto.Types.Type.Bool:
                    return value is "true" or "false" ? value : throw invalid;
                case FieldDescriptorProto.Types.Type.Double:
                    return value is "inf" or "-inf" or "nan" ? value
                        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? FormatDouble(d) : throw invalid;
                case FieldDescriptorProto.Types.Type.Float:
                    return value is "inf" or "-inf" or "nan" ? value
                        : float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? FormatFloat(f) : throw invalid;
                case FieldDescriptorProto.Types.Type.Int32 or FieldDescriptorProto.Types.Type.Sint32 or FieldDescriptorProto.Types.Type.Sfixed32:
                    return int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i32) ? i32.ToString(CultureInfo.InvariantCulture) : throw invalid;
                case FieldDescriptorProto.Types.Type.Int64 or FieldDescriptorProto.Types.Type.Sint64 or FieldDescriptorProto.Types.Type.Sfixed64:
                    return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i64) ? i64.ToString(CultureInfo.InvariantCulture) : throw invalid;
                case FieldDescriptorProto.Types.Type.Uint32 or FieldDescriptorProto.Types.Type.Fixed32:
                    return uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var u32) ? u32.ToString(CultureInfo.InvariantCulture) : throw invalid;
                case FieldDescriptorProto.Types.Type.Uint64 or FieldDescriptorProto.Types.Type.Fixed64:
                    return ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var u64) ? u64.ToString(CultureInfo.InvariantCulture) : throw invalid;
                default:
                    // A message or group has no default value in .proto text.
                    return null;
            }
        }

        /// <summary>Writes <c>extend</c> blocks, one for each run of extensions of the same message, with nested messages due before their groups.</summary>
        private IEnumerable<Body> Extends(Member[] extensions, IList<DescriptorProto> nested, bool[] written, Scope scope, int depth)
        {
            var i = 0;
            while (i < extensions.Length)
            {
                var extendee = extensions[i].Field.Extendee;
                var end = i + 1;
                while (end < extensions.Length && extensions[end].Field.Extendee == extendee)
                {
                    end++;
                }

                var due = extensions.Skip(i).Take(end - i).Select(m => m.Nested).Max();
                foreach (var body in Messages(nested, written, due, scope, depth))
                {
                    yield return body;
                }

                var start = Open(depth, $"extend {TypeName(extendee, "extended message")}");
                for (var k = i; k < end; k++)
                {
                    if (WriteMember(extensions[k], nested, scope, depth + 1, inOneof: false) is { } group)
                    {
                        yield return group;
                    }
                }

                Close(depth, start);
                i = end;
            }
        }

        private void WriteEnum(EnumDescriptorProto type, int depth)
        {
            var start = Open(depth, $"{Visibility(type.HasVisibility, type.Visibility)}enum {Identifier(type.Name, "enum name")}");
            if (type.ReservedRange.Count > 0)
            {
                Line(depth + 1, $"reserved {string.Join(", ", type.ReservedRange.Select(r => Range(r.Start, r.End, int.MaxValue)))};");
            }

            if (type.ReservedName.Count > 0)
            {
                Line(depth + 1, $"reserved {string.Join(", ", type.ReservedName.Select(n => IsEditions ? Identifier(n, "reserved name") : Quote(n)))};");
            }

            foreach (var option in Options(type.Options, "EnumOptions"))
            {
                Line(depth + 1, $"option {option};");
            }

            foreach (var value in type.Value)
            {
                var options = Options(value.Options, "EnumValueOptions");
                var suffix = options.Count > 0 ? $" [{string.Join(", ", options)}]" : string.Empty;
                Line(depth + 1, $"{Identifier(value.Name, "enum value name")} = {value.Number.ToString(CultureInfo.InvariantCulture)}{suffix};");
            }

            Close(depth, start);
        }

        private void WriteService(ServiceDescriptorProto service)
        {
            var start = Open(0, $"service {Identifier(service.Name, "service name")}");
            foreach (var option in Options(service.Options, "ServiceOptions"))
            {
                Line(1, $"option {option};");
            }

            foreach (var method in service.Method)
            {
                var input = (method.ClientStreaming ? "stream " : string.Empty) + TypeName(method.InputType, "input type of method " + method.Name);
                var output = (method.ServerStreaming ? "stream " : string.Empty) + TypeName(method.OutputType, "output type of method " + method.Name);
                var signature = $"rpc {Identifier(method.Name, "method name")}({input}) returns ({output})";
                var options = Options(method.Options, "MethodOptions");
                if (options.Count == 0)
                {
                    Line(1, signature + ";");
                }
                else
                {
                    var methodStart = Open(1, signature);
                    foreach (var option in options)
                    {
                        Line(2, $"option {option};");
                    }

                    Close(1, methodStart);
                }
            }

            Close(0, start);
        }

        private static string Range(long start, long end, long max) =>
            start == end ? start.ToString(CultureInfo.InvariantCulture)
            : end == max ? $"{start.ToString(CultureInfo.InvariantCulture)} to max"
            : $"{start.ToString(CultureInfo.InvariantCulture)} to {end.ToString(CultureInfo.InvariantCulture)}";

        /// <summary>Lists an options message's options as <c>name = value</c>, in the order of its serialized form.</summary>
        /// <remarks>
        /// Standard options are named by their field in descriptor.proto; custom ones (extensions, which
        /// Google.Protobuf keeps as unknown fields) by the extension found in this file or its imports, as
        /// <c>(.full.name)</c>. <c>map_entry</c> is never written (a map field declares it), nor the uninterpreted
        /// options of a descriptor that still has them; a custom option whose extension is nowhere defined, or whose
        /// value does not decode as its type, cannot be written and is left out.
        /// </remarks>
        private List<string> Options(IMessage? options, string type)
        {
            var result = new List<string>();
            if (options is null)
            {
                return result;
            }

            var bytes = options.ToByteArray();
            if (bytes.Length == 0)
            {
                return result;
            }

            var typeName = DescriptorPrefix + type;
            var definition = BuiltInSymbols.Value.Messages[typeName];
            var reader = new WireReader(bytes);
            while (reader.Next(out var record))
            {
                if (record.Number == UninterpretedOptionNumber || (record.Number == MessageOptions.MapEntryFieldNumber && type == "MessageOptions"))
                {
                    continue;
                }

                string name;
                var field = FindField(definition, record.Number);
                if (field is not null)
                {
                    name = field.Name;
                }
                else if (AllSymbols.Extensions.TryGetValue((typeName, record.Number), out var extension))
                {
                    name = $"({extension.Name})";
                    field = extension.Field;
                }
                else
                {
                    continue;
                }

                if (name == "features" && record.WireType == WireFormat.WireType.LengthDelimited)
                {
                    // protobuf-net reads features only as paths (features.field_presence = EXPLICIT), not as an aggregate.
                    var paths = new List<string>();
                    if (Flatten(name, record.Payload, field.TypeName, 1, paths))
                    {
                        result.AddRange(paths);
                    }
                }
                else if (Values(field, record, 0) is { } values)
                {
                    result.AddRange(values.Select(v => $"{name} = {v}"));
                }
            }

            return result;
        }

        /// <summary>Lists a message value as paths, <c>prefix.name = value</c>; false when it does not decode as its type.</summary>
        private bool Flatten(string prefix, ReadOnlyMemory<byte> payload, string typeName, int depth, List<string> result)
        {
            if (depth > MaxOptionDepth)
            {
                throw new FormatException($"An option value nests more than {MaxOptionDepth} messages deep, so the schema cannot be written as .proto text.");
            }

            if (!SymbolsFor(typeName).Messages.TryGetValue(typeName, out var definition))
            {
                return false;
            }

            var reader = new WireReader(payload);
            while (!reader.AtEnd)
            {
                if (!reader.Next(out var record))
                {
                    return false;
                }

                string name;
                var field = FindField(definition, record.Number);
                if (field is not null)
                {
                    name = field.Name;
                }
                else if (AllSymbols.Extensions.TryGetValue((typeName, record.Number), out var extension))
                {
                    name = $"({extension.Name})";
                    field = extension.Field;
                }
                else
                {
                    continue;
                }

                if (field.Type == FieldDescriptorProto.Types.Type.Message && record.WireType == WireFormat.WireType.LengthDelimited)
                {
                    if (!Flatten($"{prefix}.{name}", record.Payload, field.TypeName, depth + 1, result))
                    {
                        return false;
                    }
                }
                else if (Values(field, record, depth) is { } values)
                {
                    result.AddRange(values.Select(v => $"{prefix}.{name} = {v}"));
                }
                else
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Gets where a type is defined: descriptor.proto's own types from Google.Protobuf's copy, the rest from the files in reach.</summary>
        private Symbols SymbolsFor(string typeName) =>
            typeName.StartsWith(DescriptorPrefix, StringComparison.Ordinal) && (BuiltInSymbols.Value.Messages.ContainsKey(typeName) || BuiltInSymbols.Value.Enums.ContainsKey(typeName))
                ? BuiltInSymbols.Value
                : AllSymbols;

        private static FieldDescriptorProto? FindField(DescriptorProto message, int number)
        {
            foreach (var field in message.Field)
            {
                if (field.Number == number)
                {
                    return field;
                }
            }

            return null;
        }

        /// <summary>Formats one record of a field as values (more than one for a packed record), or null when it does not decode as the field's type.</summary>
        private List<string>? Values(FieldDescriptorProto field, WireRecord record, int depth)
        {
            var type = field.HasType ? field.Type : (AllSymbols.Enums.ContainsKey(field.TypeName) ? FieldDescriptorProto.Types.Type.Enum : FieldDescriptorProto.Types.Type.Message);
            var wireType = WireTypeOf(type);
            if (record.WireType == WireFormat.WireType.LengthDelimited && wireType is WireFormat.WireType.Varint or WireFormat.WireType.Fixed32 or WireFormat.WireType.Fixed64)
            {
                var packed = new List<string>();
                var reader = new WireReader(record.Payload);
                while (!reader.AtEnd)
                {
                    if (!reader.ReadScalar(wireType, out var scalar) || Scalar(type, field.TypeName, scalar) is not { } value)
                    {
                        return null;
                    }

                    packed.Add(value);
                }

                return packed;
            }

            if (record.WireType != wireType)
            {
                return null;
            }

            var single = type switch
            {
                FieldDescriptorProto.Types.Type.String => DecodeUtf8(record.Payload.Span) is { } s ? Quote(s) : null,
                FieldDescriptorProto.Types.Type.Bytes => QuoteBytes(record.Payload.Span),
                FieldDescriptorProto.Types.Type.Message or FieldDescriptorProto.Types.Type.Group => Aggregate(record.Payload, field.TypeName, depth + 1),
                _ => Scalar(type, field.TypeName, record.Scalar),
            };
            return single is null ? null : [single];
        }

        private string? Scalar(FieldDescriptorProto.Types.Type type, string typeName, ulong value) => type switch
        {
            FieldDescriptorProto.Types.Type.Double => FormatDouble(BitConverter.Int64BitsToDouble((long)value)),
            FieldDescriptorProto.Types.Type.Float => FormatFloat(BitConverter.Int32BitsToSingle((int)(uint)value)),
            FieldDescriptorProto.Types.Type.Int64 or FieldDescriptorProto.Types.Type.Sfixed64 => ((long)value).ToString(CultureInfo.InvariantCulture),
            FieldDescriptorProto.Types.Type.Uint64 or FieldDescriptorProto.Types.Type.Fixed64 => value.ToString(CultureInfo.InvariantCulture),
            FieldDescriptorProto.Types.Type.Int32 or FieldDescriptorProto.Types.Type.Sfixed32 => ((int)value).ToString(CultureInfo.InvariantCulture),
            FieldDescriptorProto.Types.Type.Uint32 or FieldDescriptorProto.Types.Type.Fixed32 => ((uint)value).ToString(CultureInfo.InvariantCulture),
            FieldDescriptorProto.Types.Type.Sint32 => ((int)((uint)value >> 1) ^ -(int)(value & 1)).ToString(CultureInfo.InvariantCulture),
            FieldDescriptorProto.Types.Type.Sint64 => ((long)(value >> 1) ^ -(long)(value & 1)).ToString(CultureInfo.InvariantCulture),
            FieldDescriptorProto.Types.Type.Bool => value != 0 ? "true" : "false",
            FieldDescriptorProto.Types.Type.Enum => EnumValue(typeName, (int)value),
            _ => null,
        };

        private string EnumValue(string typeName, int number)
        {
            if (SymbolsFor(typeName).Enums.TryGetValue(typeName, out var type))
            {
                foreach (var value in type.Value)
                {
                    if (value.Number == number && IsIdentifier(value.Name))
                    {
                        return value.Name;
                    }
                }
            }

            return number.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>Formats a message value as an aggregate, <c>{ name: value ... }</c>, or null when it does not decode as its type.</summary>
        /// <remarks>
        /// A field is written once for each value, <c>tags: "a" tags: "b"</c>, except a repeated message field with more than one
        /// value, which is written once as a list, <c>params: [{ ... }, { ... }]</c>: protobuf-net merges messages given
        /// under one name into one. (protobuf-net before 3.4, which Confluent's .NET deserializer may run, reads no
        /// lists, so it cannot read such a value; nor can it from Confluent's registry, which writes lists too.)
        /// </remarks>
        private string? Aggregate(ReadOnlyMemory<byte> payload, string typeName, int depth)
        {
            if (depth > MaxOptionDepth)
            {
                throw new FormatException($"An option value nests more than {MaxOptionDepth} messages deep, so the schema cannot be written as .proto text.");
            }

            if (!SymbolsFor(typeName).Messages.TryGetValue(typeName, out var definition))
            {
                return null;
            }

            var groups = new List<(int Number, List<WireRecord> Records)>();
            var reader = new WireReader(payload);
            while (!reader.AtEnd)
            {
                if (!reader.Next(out var record))
                {
                    return null;
                }

                var index = groups.FindIndex(g => g.Number == record.Number);
                if (index < 0)
                {
                    groups.Add((record.Number, [record]));
                }
                else
                {
                    groups[index].Records.Add(record);
                }
            }

            var parts = new List<string>();
            foreach (var (number, records) in groups)
            {
                string name;
                var field = FindField(definition, number);
                if (field is not null)
                {
                    name = field.Name;
                }
                else if (AllSymbols.Extensions.TryGetValue((typeName, number), out var extension))
                {
                    name = $"[{extension.Name[1..]}]";
                    field = extension.Field;
                }
                else
                {
                    continue;
                }

                var values = new List<string>();
                foreach (var record in records)
                {
                    if (Values(field, record, depth) is not { } decoded)
                    {
                        return null;
                    }

                    values.AddRange(decoded);
                }

                var isMessage = field.Type is FieldDescriptorProto.Types.Type.Message or FieldDescriptorProto.Types.Type.Group;
                if (isMessage && values.Count > 1 && field.Label == FieldDescriptorProto.Types.Label.Repeated)
                {
                    parts.Add($"{name}: [{string.Join(", ", values)}]");
                }
                else
                {
                    parts.AddRange(values.Select(v => isMessage ? $"{name} {v}" : $"{name}: {v}"));
                }
            }

            return parts.Count == 0 ? "{}" : $"{{ {string.Join(" ", parts)} }}";
        }

        private static string? DecodeUtf8(ReadOnlySpan<byte> bytes)
        {
            try
            {
                return new UTF8Encoding(false, true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                return null;
            }
        }

        private static WireFormat.WireType WireTypeOf(FieldDescriptorProto.Types.Type type) => type switch
        {
            FieldDescriptorProto.Types.Type.Double or FieldDescriptorProto.Types.Type.Fixed64 or FieldDescriptorProto.Types.Type.Sfixed64 => WireFormat.WireType.Fixed64,
            FieldDescriptorProto.Types.Type.Float or FieldDescriptorProto.Types.Type.Fixed32 or FieldDescriptorProto.Types.Type.Sfixed32 => WireFormat.WireType.Fixed32,
            FieldDescriptorProto.Types.Type.String or FieldDescriptorProto.Types.Type.Bytes or FieldDescriptorProto.Types.Type.Message => WireFormat.WireType.LengthDelimited,
            FieldDescriptorProto.Types.Type.Group => WireFormat.WireType.StartGroup,
            _ => WireFormat.WireType.Varint,
        };
    }

    /// <summary>The messages, enums and extensions of some files, by fully qualified name (with a leading dot).</summary>
    private sealed class Symbols
    {
        public Dictionary<string, DescriptorProto> Messages { get; private init; } = new(StringComparer.Ordinal);

        public Dictionary<string, EnumDescriptorProto> Enums { get; private init; } = new(StringComparer.Ordinal);

        public Dictionary<(string Extendee, int Number), (string Name, FieldDescriptorProto Field)> Extensions { get; private init; } = [];

        public Symbols Copy() => new()
        {
            Messages = new(Messages, StringComparer.Ordinal),
            Enums = new(Enums, StringComparer.Ordinal),
            Extensions = new(Extensions),
        };

        /// <summary>Adds a file's definitions; those already known by name are kept.</summary>
        public void Add(FileDescriptorProto file)
        {
            var package = file.Package.Length > 0 ? "." + file.Package : string.Empty;
            AddExtensions(file.Extension, package);
            foreach (var type in file.EnumType)
            {
                Enums.TryAdd($"{package}.{type.Name}", type);
            }

            var pending = new Stack<(DescriptorProto Message, string Name)>();
            foreach (var message in file.MessageType)
            {
                pending.Push((message, $"{package}.{message.Name}"));
            }

            while (pending.Count > 0)
            {
                var (message, name) = pending.Pop();
                Messages.TryAdd(name, message);
                AddExtensions(message.Extension, name);
                foreach (var type in message.EnumType)
                {
                    Enums.TryAdd($"{name}.{type.Name}", type);
                }

                foreach (var nested in message.NestedType)
                {
                    pending.Push((nested, $"{name}.{nested.Name}"));
                }
            }
        }

        private void AddExtensions(IEnumerable<FieldDescriptorProto> extensions, string scope)
        {
            foreach (var extension in extensions)
            {
                Extensions.TryAdd((extension.Extendee, extension.Number), ($"{scope}.{extension.Name}", extension));
            }
        }
    }

    /// <summary>One field's record in serialized protobuf: a scalar (varints and fixed widths) or a payload (length-delimited and groups).</summary>
    private readonly record struct WireRecord(int Number, WireFormat.WireType WireType, ulong Scalar, ReadOnlyMemory<byte> Payload);

    /// <summary>Reads serialized protobuf a record at a time, without recursion (a group's payload is found by counting its nested groups).</summary>
    private struct WireReader(ReadOnlyMemory<byte> data)
    {
        private readonly ReadOnlyMemory<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position >= _data.Length;

        public bool Next(out WireRecord record)
        {
            record = default;
            if (AtEnd || !ReadVarint(out var tag) || tag >> 3 is 0 or > int.MaxValue)
            {
                return false;
            }

            var number = (int)(tag >> 3);
            var wireType = (WireFormat.WireType)(tag & 7);
            switch (wireType)
            {
                case WireFormat.WireType.Varint or WireFormat.WireType.Fixed32 or WireFormat.WireType.Fixed64:
                    {
                        if (!ReadScalar(wireType, out var scalar))
                        {
                            return false;
                        }

                        record = new WireRecord(number, wireType, scalar, default);
                        return true;
                    }

                case WireFormat.WireType.LengthDelimited:
                    {
                        if (!ReadVarint(out var length) || length > (ulong)(_data.Length - _position))
                        {
                            return false;
                        }

                        record = new WireRecord(number, wireType, 0, _data.Slice(_position, (int)length));
                        _position += (int)length;
                        return true;
                    }

                case WireFormat.WireType.StartGroup:
                    {
                        var start = _position;
                        var open = 1;
                        var end = start;
                        while (open > 0)
                        {
                            end = _position;
                            if (AtEnd || !ReadVarint(out var inner))
                            {
                                return false;
                            }

                            var innerType = (WireFormat.WireType)(inner & 7);
                            if (innerType == WireFormat.WireType.StartGroup)
                            {
                                open++;
                            }
                            else if (innerType == WireFormat.WireType.EndGroup)
                            {
                                open--;
                                if (open == 0 && inner >> 3 != (ulong)number)
                                {
                                    return false;
                                }
                            }
                            else if (innerType == WireFormat.WireType.LengthDelimited)
                            {
                                if (!ReadVarint(out var length) || length > (ulong)(_data.Length - _position))
                                {
                                    return false;
                                }

                                _position += (int)length;
                            }
                            else if (!ReadScalar(innerType, out _))
                            {
                                return false;
                            }
                        }

                        record = new WireRecord(number, wireType, 0, _data[start..end]);
                        return true;
                    }

                default:
                    return false;
            }
        }

        public bool ReadScalar(WireFormat.WireType wireType, out ulong value)
        {
            value = 0;
            switch (wireType)
            {
                case WireFormat.WireType.Varint:
                    return ReadVarint(out value);
                case WireFormat.WireType.Fixed32:
                    if (_data.Length - _position < 4)
                    {
                        return false;
                    }

                    value = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(_data.Span.Slice(_position, 4));
                    _position += 4;
                    return true;
                case WireFormat.WireType.Fixed64:
                    if (_data.Length - _position < 8)
                    {
                        return false;
                    }

                    value = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(_data.Span.Slice(_position, 8));
                    _position += 8;
                    return true;
                default:
                    return false;
            }
        }

        private bool ReadVarint(out ulong value)
        {
            value = 0;
            var span = _data.Span;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= span.Length)
                {
                    return false;
                }

                var b = span[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return true;
                }
            }

            return false;
        }
    }
}

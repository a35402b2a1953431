extern alias ProtobufNet;

using Google.Protobuf;
using Google.Protobuf.Reflection;
using PbNet = ProtobufNet::Google.Protobuf.Reflection;
using PbNetError = ProtobufNet::ProtoBuf.Reflection.Error;
using PbNetSerializer = ProtobufNet::ProtoBuf.Serializer;

namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>Parses a schema and the files it imports into Google.Protobuf descriptors, with protobuf-net.Reflection for the .proto text.</summary>
/// <remarks>
/// The files are found first (each one's imports, resolved against the given dependencies and the built-in files),
/// so that a missing import, a cycle of imports or an import graph the parser would take too long over is reported
/// before the parser runs. protobuf-net parses the text; files given as base64 of a serialized
/// <c>FileDescriptorProto</c> are taken as they are (the parser only sees their declarations, so that text importing
/// them resolves). Type names of every file are then resolved here as protoc resolves them, from the spelling in the
/// text: protobuf-net compares names ignoring case.
/// </remarks>
internal static class ProtobufSchemaParser
{
    /// <summary>The name the schema itself has while it is parsed: one that no import can mean.</summary>
    public const string RootName = "<schema>";

    /// <summary>The longest chain of imports accepted (the parser resolves names through imports recursively).</summary>
    public const int MaxImportDepth = 64;

    /// <summary>The most import paths from one file accepted (the parser may walk each of them to resolve a name).</summary>
    public const int MaxImportPaths = 10_000;

    private const int MaxReportedErrors = 10;

    private static readonly MessageParser<FileDescriptorProto> DiscardingUnknown = FileDescriptorProto.Parser.WithDiscardUnknownFields(true);

    private enum SymbolKind
    {
        Message,
        Enum,
        Service,
        Package,
    }

    public static (FileDescriptorProto Root, Dictionary<string, FileDescriptorProto> Dependencies) Parse(string schema, IReadOnlyList<ProtobufDependency> dependencies)
    {
        // Imports match dependencies exactly, as protoc and Confluent's registry match them.
        var given = new Dictionary<string, ProtobufDependency>(StringComparer.Ordinal);
        foreach (var dependency in dependencies)
        {
            if (dependency is null || dependency.Name is null || dependency.Schema is null)
            {
                throw new ArgumentException("A dependency, its name or its schema is null.", nameof(dependencies));
            }

            given.TryAdd(dependency.Name, dependency);
        }

        // Find every file the schema needs, breadth first; the schema itself is first.
        var root = Classify(RootName, schema);
        var sources = new Dictionary<string, Source>(StringComparer.OrdinalIgnoreCase) { [RootName] = root };
        var order = new List<Source> { root };
        for (var k = 0; k < order.Count; k++)
        {
            var source = order[k];
            foreach (var import in source.Imports)
            {
                if (sources.TryGetValue(import.Path, out var known))
                {
                    // The parser tells files apart ignoring case, so two that differ only in case cannot both be used.
                    if (!string.Equals(known.Name, import.Path, StringComparison.Ordinal))
                    {
                        throw new FormatException($"{Where(source, import)}: import '{import.Path}' differs only in case from the file '{known.Name}'.");
                    }

                    continue;
                }

                if (!IsValidImportPath(import.Path))
                {
                    throw new FormatException($"{Where(source, import)}: invalid import path '{import.Path}'.");
                }

                Source loaded;
                if (given.TryGetValue(import.Path, out var dependency))
                {
                    loaded = Classify(import.Path, dependency.Schema);
                }
                else if (ProtobufBuiltIns.Find(import.Path) is { } builtIn)
                {
                    loaded = new Source(import.Path, builtIn, null, ProtoTextScanner.Scan(builtIn, import.Path), null);
                }
                else
                {
                    throw new FormatException($"{Where(source, import)}: unresolved import '{import.Path}' (no dependency of that name was given, and it is not a built-in file).");
                }

                sources.Add(import.Path, loaded);
                order.Add(loaded);
            }
        }

        CheckImportGraph(order, sources);

        // The parser is given every file beforehand and may load no other (the disk is never read): so the files it
        // sees, and how they import each other, are the ones checked above.
        var set = new PbNet.FileDescriptorSet { FileSystem = NoFiles.Instance, ImportValidator = sources.ContainsKey };
        Dictionary<object, string[]> originals;
        try
        {
            foreach (var source in order)
            {
                if (source.Text is not null)
                {
                    set.Add(source.Name, ReferenceEquals(source, root), new StringReader(source.Text));
                }
                else
                {
                    // Known to the parser so that text importing it resolves its types; it is not taken from the parser.
                    // The copy leaves out unknown fields, which the parser's reader rejects when their wire type is
                    // not the one it expects for their number (Google.Protobuf's keeps them as unknown).
                    var known = DiscardingUnknown.ParseFrom(source.Descriptor!.ToByteArray());
                    var copy = PbNetSerializer.Deserialize<PbNet.FileDescriptorProto>(new MemoryStream(known.ToByteArray()));
                    copy.Name = source.Name;
                    set.Files.Add(copy);
                }
            }

            originals = OriginalTypeNames(set, order);
            set.Process();
        }
        catch (Exception ex) when (ex is global::ProtoBuf.ProtoException or ArgumentException or InvalidOperationException or NullReferenceException or IndexOutOfRangeException or KeyNotFoundException or OverflowException or NotSupportedException or FormatException or InvalidCastException)
        {
            throw new FormatException($"The schema could not be parsed: {ex.Message}", ex);
        }

        ThrowOnErrors(set.GetErrors(), order, root);

        foreach (var source in order.Where(s => s.Text is not null))
        {
            var parsed = set.Files.First(f => string.Equals(f.Name, source.Name, StringComparison.OrdinalIgnoreCase));
            using var stream = new MemoryStream();
            PbNetSerializer.Serialize(stream, parsed);
            source.Result = FileDescriptorProto.Parser.ParseFrom(stream.ToArray());
            RestoreTypeNames(parsed, source.Result, originals);
        }

        // Type names are resolved here, as protoc does, for text too: protobuf-net compares names ignoring case, so
        // it takes 'foo' for a message 'Foo', or an outer 'Foo' for a nested 'foo'.
        var symbols = CollectSymbols(order);
        foreach (var source in order)
        {
            source.Result = ResolveTypes(source, symbols);
            if (source.Text is null && !ReferenceEquals(source, root))
            {
                source.Result.Name = source.Name;
            }
        }

        var rootResult = root.Result!;
        if (root.Text is not null)
        {
            rootResult.ClearName();
        }

        var files = new Dictionary<string, FileDescriptorProto>(StringComparer.Ordinal);
        foreach (var source in order.Skip(1))
        {
            files[source.Name] = source.Result!;
        }

        return (rootResult, files);
    }

    private static Source Classify(string name, string schema)
    {
        // As Confluent's registry: .proto text first, then strict base64 of a FileDescriptorProto. Non-empty strict
        // base64 is never valid .proto text (no statement ends without ';' or '}'), so trying it first is the same.
        string? note = null;
        if (TryDecodeStrictBase64(schema, out var bytes))
        {
            try
            {
                var descriptor = FileDescriptorProto.Parser.ParseFrom(bytes);
                return new Source(name, null, descriptor, descriptor.Dependency.Select(d => new ProtoImport(d, 0, 0)).ToList(), null);
            }
            catch (InvalidProtocolBufferException ex)
            {
                note = ex.Message;
            }
        }

        return new Source(name, schema, null, ProtoTextScanner.Scan(schema, name), note);
    }

    private static bool TryDecodeStrictBase64(string text, out byte[] bytes)
    {
        bytes = [];
        var length = text.Length;
        if (length == 0)
        {
            return false;
        }

        var padding = 0;
        while (padding < 2 && length - padding > 0 && text[length - padding - 1] == '=')
        {
            padding++;
        }

        for (var i = 0; i < length - padding; i++)
        {
            if (text[i] is not ((>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '+' or '/'))
            {
                return false;
            }
        }

        // Padding is optional (as for Java's basic decoder), but when present it must complete the last quantum.
        var data = length - padding;
        if (data % 4 == 1 || (padding > 0 && length % 4 != 0))
        {
            return false;
        }

        var padded = padding > 0 ? text : text + new string('=', (4 - (data % 4)) % 4);
        try
        {
            bytes = Convert.FromBase64String(padded);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool IsValidImportPath(string path) =>
        path.Length > 0 && !path.Contains("..", StringComparison.Ordinal) && !Path.IsPathRooted(path) && path.IndexOf('\0', StringComparison.Ordinal) < 0;

    private static string Where(Source source, ProtoImport import) =>
        source.Text is not null ? $"{source.Name}({import.Line},{import.Column})" : source.Name;

    private static void CheckImportGraph(List<Source> order, Dictionary<string, Source> sources)
    {
        // Iterative depth-first search: grey files are on the current path, black ones are done. Once a file is done,
        // so are its imports: its depth and number of import paths follow from theirs. The parser looks names up
        // through imports recursively, each path anew, so both are bounded (a lattice of files that import two
        // files each has twice as many paths at each level).
        var state = new Dictionary<Source, int>(ReferenceEqualityComparer.Instance);
        var depth = new Dictionary<Source, int>(ReferenceEqualityComparer.Instance);
        var paths = new Dictionary<Source, long>(ReferenceEqualityComparer.Instance);
        foreach (var start in order)
        {
            if (state.ContainsKey(start))
            {
                continue;
            }

            var path = new List<(Source File, int Next)> { (start, 0) };
            state[start] = 1;
            while (path.Count > 0)
            {
                var (file, next) = path[^1];
                if (next < file.Imports.Count)
                {
                    path[^1] = (file, next + 1);
                    var child = sources[file.Imports[next].Path];
                    if (!state.TryGetValue(child, out var childState))
                    {
                        state[child] = 1;
                        path.Add((child, 0));
                    }
                    else if (childState == 1)
                    {
                        var from = path.FindIndex(p => ReferenceEquals(p.File, child));
                        var cycle = path.Skip(from).Select(p => p.File.Name).Append(child.Name);
                        throw new FormatException($"Import cycle: {string.Join(" -> ", cycle)}.");
                    }
                }
                else
                {
                    state[file] = 2;
                    path.RemoveAt(path.Count - 1);
                    var imported = file.Imports.Select(i => sources[i.Path]).Distinct().ToList();
                    depth[file] = imported.Count == 0 ? 0 : 1 + imported.Max(i => depth[i]);
                    paths[file] = Math.Min(MaxImportPaths + 1L, imported.Sum(i => 1 + paths[i]));
                    if (depth[file] > MaxImportDepth)
                    {
                        throw new FormatException($"{file.Name} imports files through a chain of more than {MaxImportDepth} imports.");
                    }

                    if (paths[file] > MaxImportPaths)
                    {
                        throw new FormatException($"{file.Name} reaches imported files through more than {MaxImportPaths} import paths.");
                    }
                }
            }
        }
    }

    private static void ThrowOnErrors(PbNetError[] all, List<Source> order, Source root)
    {
        // Files given as descriptors were never text: what the parser says of them (their types from other files
        // are beyond it) is checked here instead, so its messages without a file are dropped when there are any.
        var textFiles = new HashSet<string>(order.Where(s => s.Text is not null).Select(s => s.Name), StringComparer.OrdinalIgnoreCase);
        var anyDescriptor = order.Any(s => s.Text is null);
        var errors = all.Where(e => e.IsError && (textFiles.Contains(e.File ?? string.Empty) || (!anyDescriptor && string.IsNullOrEmpty(e.File)))).ToList();
        if (errors.Count == 0)
        {
            return;
        }

        var lines = errors.Take(MaxReportedErrors).Select(Describe).ToList();
        if (errors.Count > MaxReportedErrors)
        {
            lines.Add($"and {errors.Count - MaxReportedErrors} more");
        }

        var message = string.Join("; ", lines);
        if (root.Base64Note is not null && errors.Any(e => string.Equals(e.File, RootName, StringComparison.Ordinal)))
        {
            message += $" (nor is the schema base64 of a FileDescriptorProto: {root.Base64Note})";
        }

        throw new FormatException(message);
    }

    private static string Describe(PbNetError error)
    {
        var quoted = Quoted(error.Message);
        var message = error.ErrorNumber switch
        {
            2 when quoted is not null => $"type '{quoted}' not found",
            4 when quoted is not null => $"unresolved import '{quoted}'",
            _ => error.Message,
        };
        return string.IsNullOrEmpty(error.File) ? message : $"{error.File}({error.LineNumber},{error.ColumnNumber}): {message}";
    }

    private static string? Quoted(string message)
    {
        var first = message.IndexOf('\'', StringComparison.Ordinal);
        var last = message.LastIndexOf('\'');
        return first >= 0 && last > first ? message[(first + 1)..last] : null;
    }

    private static Dictionary<string, SymbolKind> CollectSymbols(List<Source> order)
    {
        var symbols = new Dictionary<string, SymbolKind>(StringComparer.Ordinal);
        foreach (var source in order)
        {
            var file = source.Result ?? source.Descriptor!;
            var package = file.Package.Length > 0 ? "." + file.Package : string.Empty;
            for (var dot = 0; dot < package.Length; dot++)
            {
                if (dot + 1 == package.Length || package[dot + 1] == '.')
                {
                    symbols.TryAdd(package[..(dot + 1)], SymbolKind.Package); // ".a", ".a.b", ... of ".a.b.c"
                }
            }

            var pending = new Stack<(DescriptorProto Message, string Name)>();
            foreach (var message in file.MessageType)
            {
                pending.Push((message, package + "." + message.Name));
            }

            foreach (var type in file.EnumType)
            {
                symbols.TryAdd(package + "." + type.Name, SymbolKind.Enum);
            }

            foreach (var service in file.Service)
            {
                symbols.TryAdd(package + "." + service.Name, SymbolKind.Service);
            }

            while (pending.Count > 0)
            {
                var (message, name) = pending.Pop();
                symbols.TryAdd(name, SymbolKind.Message);
                foreach (var nested in message.NestedType)
                {
                    pending.Push((nested, name + "." + nested.Name));
                }

                foreach (var type in message.EnumType)
                {
                    symbols.TryAdd(name + "." + type.Name, SymbolKind.Enum);
                }
            }
        }

        return symbols;
    }

    private static FileDescriptorProto ResolveTypes(Source source, Dictionary<string, SymbolKind> symbols)
    {
        var file = source.Result ?? source.Descriptor!.Clone();
        var package = file.Package.Length > 0 ? "." + file.Package : string.Empty;
        foreach (var extension in file.Extension)
        {
            ResolveField(source, extension, package, symbols);
        }

        var pending = new Stack<(DescriptorProto Message, string Name)>();
        foreach (var message in file.MessageType)
        {
            pending.Push((message, package + "." + message.Name));
        }

        while (pending.Count > 0)
        {
            var (message, name) = pending.Pop();
            CheckFieldNumbers(source, message, name);
            foreach (var field in message.Field.Concat(message.Extension))
            {
                ResolveField(source, field, name, symbols);
            }

            foreach (var nested in message.NestedType)
            {
                pending.Push((nested, name + "." + nested.Name));
            }
        }

        foreach (var service in file.Service)
        {
            foreach (var method in service.Method)
            {
                var scope = package + "." + service.Name;
                method.InputType = ResolveMessage(source, method.InputType, scope, symbols, $"{service.Name}.{method.Name}");
                method.OutputType = ResolveMessage(source, method.OutputType, scope, symbols, $"{service.Name}.{method.Name}");
            }
        }

        return file;
    }

    /// <summary>Checks a message's field numbers as protoc does (the text parser lets 19000 to 19999 through; a serialized descriptor is not checked by it at all).</summary>
    private static void CheckFieldNumbers(Source source, DescriptorProto message, string name)
    {
        var seen = new HashSet<int>();
        foreach (var field in message.Field)
        {
            var where = $"{source.Name}: field '{name.TrimStart('.')}.{field.Name}'";
            if (field.Number is < 1 or > 536_870_911)
            {
                throw new FormatException($"{where} has number {field.Number}, outside 1 to 536870911.");
            }

            if (field.Number is >= 19_000 and <= 19_999)
            {
                throw new FormatException($"{where} has number {field.Number}: 19000 to 19999 are reserved for the Protobuf implementation.");
            }

            if (!seen.Add(field.Number))
            {
                throw new FormatException($"{where} has number {field.Number}, which another field of the message has.");
            }
        }
    }

    private static void ResolveField(Source source, FieldDescriptorProto field, string scope, Dictionary<string, SymbolKind> symbols)
    {
        var named = !field.HasType || field.Type is FieldDescriptorProto.Types.Type.Message or FieldDescriptorProto.Types.Type.Enum or FieldDescriptorProto.Types.Type.Group;
        if (field.TypeName.Length > 0 && named)
        {
            var resolved = Resolve(field.TypeName, scope, symbols)
                ?? throw new FormatException($"{source.Name}: type '{field.TypeName}' not found (field '{scope.TrimStart('.')}.{field.Name}').");
            var kind = symbols[resolved];
            if (source.Text is not null && field.Type != FieldDescriptorProto.Types.Type.Group)
            {
                // The text's parser chose message or enum by its own lookup.
                field.ClearType();
            }

            var isEnum = field.HasType && field.Type == FieldDescriptorProto.Types.Type.Enum;
            if (field.HasType && (isEnum ? kind != SymbolKind.Enum : kind != SymbolKind.Message))
            {
                throw new FormatException($"{source.Name}: type '{field.TypeName}' of field '{scope.TrimStart('.')}.{field.Name}' is not {(isEnum ? "an enum" : "a message")}.");
            }

            if (!field.HasType)
            {
                field.Type = kind == SymbolKind.Enum ? FieldDescriptorProto.Types.Type.Enum : FieldDescriptorProto.Types.Type.Message;
            }

            field.TypeName = resolved;
        }

        if (field.Extendee.Length > 0)
        {
            field.Extendee = ResolveMessage(source, field.Extendee, scope, symbols, $"{scope.TrimStart('.')}.{field.Name}");
        }
    }

    private static string ResolveMessage(Source source, string name, string scope, Dictionary<string, SymbolKind> symbols, string user)
    {
        var resolved = Resolve(name, scope, symbols);
        if (resolved is null || symbols[resolved] != SymbolKind.Message)
        {
            throw new FormatException($"{source.Name}: message type '{name}' not found (used by '{user}').");
        }

        return resolved;
    }

    /// <summary>Finds the type a name means in a scope as protoc does, or null when there is none.</summary>
    /// <remarks>
    /// Scopes are tried innermost first. A compound name (<c>A.B</c>) is decided by its first part: the innermost
    /// scope that has a message, enum, service or package of that name must hold the rest, or the name is undefined.
    /// Names are compared ordinally (case matters).
    /// </remarks>
    private static string? Resolve(string name, string scope, Dictionary<string, SymbolKind> symbols)
    {
        if (name.StartsWith('.'))
        {
            return symbols.TryGetValue(name, out var kind) && kind is SymbolKind.Message or SymbolKind.Enum ? name : null;
        }

        var dot = name.IndexOf('.', StringComparison.Ordinal);
        var first = dot < 0 ? name : name[..dot];
        var current = scope;
        while (true)
        {
            if (symbols.TryGetValue(current + "." + first, out var found))
            {
                if (dot < 0)
                {
                    if (found is SymbolKind.Message or SymbolKind.Enum)
                    {
                        return current + "." + name;
                    }
                }
                else
                {
                    var full = current + "." + name;
                    return symbols.TryGetValue(full, out var kind) && kind is SymbolKind.Message or SymbolKind.Enum ? full : null;
                }
            }

            if (current.Length == 0)
            {
                return null;
            }

            current = current[..Math.Max(0, current.LastIndexOf('.'))];
        }
    }

    /// <summary>Records the type names as the text spells them, before the parser resolves them.</summary>
    private static Dictionary<object, string[]> OriginalTypeNames(PbNet.FileDescriptorSet set, List<Source> order)
    {
        var originals = new Dictionary<object, string[]>(ReferenceEqualityComparer.Instance);
        foreach (var source in order.Where(s => s.Text is not null))
        {
            var file = set.Files.First(f => string.Equals(f.Name, source.Name, StringComparison.OrdinalIgnoreCase));
            foreach (var field in file.Extensions)
            {
                originals[field] = [field.TypeName, field.Extendee];
            }

            foreach (var service in file.Services)
            {
                foreach (var method in service.Methods)
                {
                    originals[method] = [method.InputType, method.OutputType];
                }
            }

            var pending = new Stack<PbNet.DescriptorProto>(file.MessageTypes);
            while (pending.Count > 0)
            {
                var message = pending.Pop();
                foreach (var field in message.Fields.Concat(message.Extensions))
                {
                    originals[field] = [field.TypeName, field.Extendee];
                }

                foreach (var nested in message.NestedTypes)
                {
                    pending.Push(nested);
                }
            }
        }

        return originals;
    }

    /// <summary>Puts the spellings recorded by <see cref="OriginalTypeNames"/> back into the converted descriptor, whose structure is the parser's.</summary>
    private static void RestoreTypeNames(PbNet.FileDescriptorProto parsed, FileDescriptorProto file, Dictionary<object, string[]> originals)
    {
        void Restore(IList<PbNet.FieldDescriptorProto> from, IList<FieldDescriptorProto> to)
        {
            for (var i = 0; i < from.Count && i < to.Count; i++)
            {
                if (originals.TryGetValue(from[i], out var names))
                {
                    if (!string.IsNullOrEmpty(names[0]))
                    {
                        to[i].TypeName = names[0];
                    }

                    if (!string.IsNullOrEmpty(names[1]))
                    {
                        to[i].Extendee = names[1];
                    }
                }
            }
        }

        Restore(parsed.Extensions, file.Extension);
        for (var i = 0; i < parsed.Services.Count && i < file.Service.Count; i++)
        {
            for (var j = 0; j < parsed.Services[i].Methods.Count && j < file.Service[i].Method.Count; j++)
            {
                if (originals.TryGetValue(parsed.Services[i].Methods[j], out var names) && !string.IsNullOrEmpty(names[0]) && !string.IsNullOrEmpty(names[1]))
                {
                    file.Service[i].Method[j].InputType = names[0];
                    file.Service[i].Method[j].OutputType = names[1];
                }
            }
        }

        var pending = new Stack<(PbNet.DescriptorProto From, DescriptorProto To)>(parsed.MessageTypes.Zip(file.MessageType));
        while (pending.Count > 0)
        {
            var (from, to) = pending.Pop();
            Restore(from.Fields, to.Field);
            Restore(from.Extensions, to.Extension);
            foreach (var pair in from.NestedTypes.Zip(to.NestedType))
            {
                pending.Push(pair);
            }
        }
    }

    private sealed class Source(string name, string? text, FileDescriptorProto? descriptor, List<ProtoImport> imports, string? base64Note)
    {
        public string Name { get; } = name;

        public string? Text { get; } = text;

        public FileDescriptorProto? Descriptor { get; } = descriptor;

        public List<ProtoImport> Imports { get; } = imports;

        public string? Base64Note { get; } = base64Note;

        public FileDescriptorProto? Result { get; set; }
    }

    /// <summary>A file system with no files: every import is given to the parser beforehand, and the disk is never read.</summary>
    private sealed class NoFiles : PbNet.IFileSystem
    {
        public static readonly NoFiles Instance = new();

        public bool Exists(string path) => false;

        public TextReader OpenText(string path) => throw new FileNotFoundException("No files are read from disk.", path);
    }
}

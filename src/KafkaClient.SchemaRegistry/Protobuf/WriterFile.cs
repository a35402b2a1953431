using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace KafkaClient.SchemaRegistry.Protobuf;

/// <summary>The top-level .proto file of a writer's schema, as far as framing needs it: which message sits at which index path.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
internal sealed class WriterFile
{
    private readonly FileDescriptorProto _file;

    private WriterFile(FileDescriptorProto file) => _file = file;

    /// <summary>Reads the serialized form of a schema (base64 of a FileDescriptorProto), as the registry gives it with <c>format=serialized</c> and Confluent's serializers register it.</summary>
    /// <param name="schema">The schema string.</param>
    /// <param name="file">The file, when the string is a serialized descriptor.</param>
    /// <returns>True when the string is a serialized descriptor.</returns>
    public static bool TryReadSerialized(string schema, out WriterFile? file)
    {
        file = null;
        var bytes = new byte[((schema.Length + 3) / 4) * 3];
        if (!Convert.TryFromBase64String(schema, bytes, out var length))
        {
            return false;
        }

        try
        {
            var proto = FileDescriptorProto.Parser.ParseFrom(bytes, 0, length);
            file = new WriterFile(proto);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>Wraps a parsed file.</summary>
    /// <param name="file">The file.</param>
    /// <returns>The writer file.</returns>
    public static WriterFile Of(FileDescriptorProto file) => new(file);

    /// <summary>Gets the file's package, possibly empty.</summary>
    public string Package => _file.Package;

    /// <summary>Finds the full name of the message at an index path.</summary>
    /// <param name="path">The path, root first.</param>
    /// <returns>The message's full name (<c>package.Outer.Inner</c>), or null if the file has no message there.</returns>
    public string? NameAt(ReadOnlySpan<int> path)
    {
        if (path.IsEmpty || path[0] >= _file.MessageType.Count)
        {
            return null;
        }

        var message = _file.MessageType[path[0]];
        var name = string.IsNullOrEmpty(_file.Package) ? message.Name : $"{_file.Package}.{message.Name}";
        foreach (var index in path[1..])
        {
            if (index >= message.NestedType.Count)
            {
                return null;
            }

            message = message.NestedType[index];
            name = $"{name}.{message.Name}";
        }

        return name;
    }

    /// <summary>Finds the index path of a message by its full name.</summary>
    /// <param name="fullName">The message's full name.</param>
    /// <returns>The path, or null if the file has no such message.</returns>
    public int[]? PathOf(string fullName)
    {
        var prefix = string.IsNullOrEmpty(_file.Package) ? string.Empty : $"{_file.Package}.";
        if (!fullName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var path = new List<int>();
        return Find(_file.MessageType, fullName[prefix.Length..], path) ? [.. path] : null;
    }

    /// <summary>Lists the top-level messages, for messages: <c>User, Order</c>.</summary>
    /// <returns>The names.</returns>
    public string MessageNames() => string.Join(", ", _file.MessageType.Select(m => m.Name));

    private static bool Find(IList<DescriptorProto> messages, string relativeName, List<int> path)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            var name = messages[i].Name;
            if (relativeName == name)
            {
                path.Add(i);
                return true;
            }

            if (relativeName.Length > name.Length && relativeName[name.Length] == '.' && relativeName.StartsWith(name, StringComparison.Ordinal))
            {
                path.Add(i);
                if (Find(messages[i].NestedType, relativeName[(name.Length + 1)..], path))
                {
                    return true;
                }

                path.RemoveAt(path.Count - 1);
            }
        }

        return false;
    }
}

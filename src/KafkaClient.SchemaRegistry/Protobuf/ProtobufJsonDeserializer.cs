using System.Text.Json.Nodes;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using KafkaClient.SchemaRegistry.Compatibility.Protobuf;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.SchemaRegistry.Protobuf;

/// <summary>Deserializes any Protobuf record written in Confluent's wire format into JSON, without a generated class: the message type comes from the writer's schema.</summary>
/// <remarks>
/// <para>
/// Fetches the writer's schema by id and the files it imports (once per id), builds their descriptors, finds the
/// message at the record's index path and decodes the bytes with proto3's JSON mapping: fields by their JSON names,
/// 64-bit integers as strings, bytes as base64, enums by name, well-known types in their special forms
/// (<c>google.protobuf.Timestamp</c> as an RFC 3339 string). The result is the JSON form of a
/// <c>google.protobuf.Any</c>: an object whose first property <c>@type</c> is <c>type.googleapis.com/</c> and the
/// message's full name, followed by its fields (a well-known type's value sits under <c>value</c>). One consumer can
/// thereby read a topic that carries several message types, and tools can show any Protobuf record.
/// </para>
/// <para>
/// Every failure is a <see cref="ProtobufSerdeException"/>, as with <see cref="ProtobufDeserializer{T}"/>; only a
/// registry that cannot be reached or fails on its side, or a registry client that itself fails, is retriable. Thread-safe.
/// </para>
/// </remarks>
public sealed class ProtobufJsonDeserializer : IAsyncDeserializer<JsonNode>
{
    private const string TypeUrlPrefix = "type.googleapis.com/";

    private readonly ISchemaRegistryClient _registry;
    private readonly ProtobufSerdeConfig _config;
    private readonly ReaderSchemas<Writer> _writers;

    /// <summary>Initializes a new instance of the <see cref="ProtobufJsonDeserializer"/> class.</summary>
    /// <param name="registry">The registry client.</param>
    /// <param name="config">Serde settings; null for the defaults.</param>
    /// <exception cref="ArgumentException">The registry client is configured with <c>schema.registry.max.retries</c> below 1, with which Confluent's client fails every call.</exception>
    public ProtobufJsonDeserializer(ISchemaRegistryClient registry, ProtobufSerdeConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        _config = config ?? ProtobufSerdeConfig.Default;
        _writers = new ReaderSchemas<Writer>(registry, _config, ProtobufSerdeErrors.Instance, PrepareAsync, format: "serialized");
    }

    /// <summary>Deserializes one framed payload.</summary>
    /// <param name="data">The bytes as read from Kafka.</param>
    /// <param name="isNull">True for a null payload (a tombstone), which gives null.</param>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The record as the JSON form of a <c>google.protobuf.Any</c>.</returns>
    /// <exception cref="ProtobufSerdeException">
    /// The bytes are not Confluent's Protobuf framing or name a message the writer's schema does not have (<see cref="ProtobufSerdeFailure.InvalidFrame"/>),
    /// the schema id is unknown (<see cref="ProtobufSerdeFailure.UnknownSchema"/>), the schema or an import cannot be built (<see cref="ProtobufSerdeFailure.UnsupportedSchema"/>),
    /// the registry cannot be reached (<see cref="ProtobufSerdeFailure.RegistryUnavailable"/>, retriable) or the bytes do not parse (<see cref="ProtobufSerdeFailure.MalformedPayload"/>).
    /// </exception>
    public async Task<JsonNode> DeserializeAsync(ReadOnlyMemory<byte> data, bool isNull, SerializationContext context)
    {
        if (isNull)
        {
            return null!;
        }

        int id;
        try
        {
            id = ConfluentWireFormat.ReadSchemaId(data.Span);
        }
        catch (InvalidDataException ex)
        {
            throw new ProtobufSerdeException(ProtobufSerdeFailure.InvalidFrame, ex.Message, ex, topic: context.Topic);
        }

        var writer = await _writers.GetAsync(id).ConfigureAwait(false);
        var afterHeader = data[ConfluentWireFormat.HeaderLength..];
        if (!MessageIndexes.TryRead(afterHeader.Span, _config.UseDeprecatedFormat, out var path, out var consumed, out var error))
        {
            throw new ProtobufSerdeException(ProtobufSerdeFailure.InvalidFrame, $"The message-index path of a record written with schema {id} is corrupt: {error}.", null, id, topic: context.Topic);
        }

        var message = writer.MessageAt(path) ?? throw new ProtobufSerdeException(
            ProtobufSerdeFailure.InvalidFrame,
            $"The record names the message at {MessageIndexes.Describe(path)}, which schema {id} does not have.{(_config.UseDeprecatedFormat ? string.Empty : " A record written by confluent-kafka-python before 1.8.2 needs use.deprecated.format=true.")}",
            null,
            id,
            topic: context.Topic);
        try
        {
            var decoded = ProtobufJsonDecoder.Decode(message, afterHeader[consumed..].ToArray());
            var result = new JsonObject { ["@type"] = TypeUrlPrefix + message.FullName };
            if (decoded is JsonObject fields && !ProtobufJsonDecoder.IsWellKnown(message.FullName))
            {
                foreach (var (name, value) in fields.ToList())
                {
                    fields.Remove(name);
                    result[name] = value;
                }
            }
            else
            {
                result["value"] = decoded;
            }

            return result;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidDataException)
        {
            throw new ProtobufSerdeException(ProtobufSerdeFailure.MalformedPayload, $"The payload written with schema {id} is not a valid {message.FullName}: {ErrorText.Safe(ex.Message, 512)}", ex, id, topic: context.Topic);
        }
    }

    private async Task<Writer> PrepareAsync(int id, Schema schema)
    {
        if (schema.SchemaType != SchemaType.Protobuf)
        {
            throw new ProtobufSerdeException(ProtobufSerdeFailure.UnsupportedSchema, $"Schema {id} is a {schema.SchemaType} schema, not Protobuf.", null, id);
        }

        return new Writer(Build(await WriterSchemaLoader.LoadAsync(_registry, id, schema).ConfigureAwait(false), id));
    }

    /// <summary>Builds Google.Protobuf descriptors for the schema and its imports, each file after the files it imports.</summary>
    private static FileDescriptor Build(ProtobufSchema schema, int id)
    {
        var files = schema.RawDependencies;
        var ordered = new List<ByteString>();
        var placed = new HashSet<string>(StringComparer.Ordinal);

        void Place(string name, FileDescriptorProto file, int depth)
        {
            if (!placed.Add(name))
            {
                return;
            }

            foreach (var import in file.Dependency)
            {
                if (depth < MessageIndexes.MaxDepth && files.TryGetValue(import, out var imported))
                {
                    Place(import, imported, depth + 1);
                }
            }

            var named = file.Clone();
            named.Name = name;
            ordered.Add(named.ToByteString());
        }

        foreach (var (name, file) in files)
        {
            Place(name, file, 0);
        }

        var root = schema.RawDescriptor.Clone();
        root.Name = $"schema-{id}.proto";
        ordered.Add(root.ToByteString());
        try
        {
            return FileDescriptor.BuildFromByteStrings(ordered)[^1];
        }
        catch (Exception ex) when (ex is DescriptorValidationException or ArgumentException or InvalidProtocolBufferException)
        {
            throw new ProtobufSerdeException(ProtobufSerdeFailure.UnsupportedSchema, $"Schema {id} could not be built into descriptors: {ErrorText.Safe(ex.Message, 512)}", ex, id);
        }
    }

    /// <summary>A writer schema's file, ready to find messages by index path.</summary>
    private sealed class Writer(FileDescriptor file)
    {
        public MessageDescriptor? MessageAt(int[] path)
        {
            if (path[0] >= file.MessageTypes.Count)
            {
                return null;
            }

            var message = file.MessageTypes[path[0]];
            foreach (var index in path.AsSpan(1))
            {
                if (index >= message.NestedTypes.Count)
                {
                    return null;
                }

                message = message.NestedTypes[index];
            }

            return message;
        }
    }
}

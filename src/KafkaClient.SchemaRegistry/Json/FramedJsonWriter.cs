using System.Buffers;
using System.Text.Json;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.SchemaRegistry.Json;

/// <summary>A per-thread buffer and <see cref="Utf8JsonWriter"/> that write a framed JSON payload (header, then JSON) in place.</summary>
/// <remarks>
/// The serializer writes the Confluent header and the JSON into one pooled buffer, validates the JSON there, and
/// copies the whole frame out once into an array of its exact size: one allocation per value instead of the JSON
/// array and then the framed copy. Rented and returned around each value, so a nested use on the same thread (a
/// conversion hook that serializes) gets a buffer of its own.
/// </remarks>
internal sealed class FramedJsonWriter
{
    private const int MaxKeptCapacity = 1 << 20;

    [ThreadStatic]
    private static FramedJsonWriter? t_cached;

    private readonly ArrayBufferWriter<byte> _buffer = new(512);
    private Utf8JsonWriter? _writer;
    private JsonWriterOptions _options;

    /// <summary>Gets the frame written so far: header, then JSON.</summary>
    public ReadOnlySpan<byte> Frame => _buffer.WrittenSpan;

    /// <summary>Gets the JSON written so far, after the header.</summary>
    public ReadOnlySpan<byte> Json => _buffer.WrittenSpan[ConfluentWireFormat.HeaderLength..];

    /// <summary>Takes this thread's writer, or a new one when it is in use.</summary>
    public static FramedJsonWriter Rent()
    {
        var writer = t_cached ?? new FramedJsonWriter();
        t_cached = null;
        return writer;
    }

    /// <summary>Gives a writer back for the next value on this thread (unless it grew large).</summary>
    public static void Return(FramedJsonWriter writer)
    {
        if (writer._buffer.Capacity <= MaxKeptCapacity)
        {
            t_cached = writer;
        }
    }

    /// <summary>Starts a frame: writes the header and returns a JSON writer positioned after it.</summary>
    /// <param name="schemaId">The schema id for the header.</param>
    /// <param name="options">The JSON writer's options.</param>
    public Utf8JsonWriter Start(int schemaId, JsonWriterOptions options)
    {
        _buffer.ResetWrittenCount();
        ConfluentWireFormat.WriteHeader(_buffer.GetSpan(ConfluentWireFormat.HeaderLength), schemaId);
        _buffer.Advance(ConfluentWireFormat.HeaderLength);
        if (_writer is null || !SameOptions(_options, options))
        {
            _writer?.Dispose();
            _writer = new Utf8JsonWriter(_buffer, options);
            _options = options;
        }
        else
        {
            _writer.Reset(_buffer);
        }

        return _writer;
    }

    private static bool SameOptions(JsonWriterOptions a, JsonWriterOptions b) =>
        ReferenceEquals(a.Encoder, b.Encoder) && a.Indented == b.Indented && a.IndentCharacter == b.IndentCharacter && a.IndentSize == b.IndentSize
        && a.MaxDepth == b.MaxDepth && a.NewLine == b.NewLine && a.SkipValidation == b.SkipValidation;
}

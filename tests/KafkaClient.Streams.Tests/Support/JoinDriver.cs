using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;

namespace KafkaClient.Streams.Tests.Support;

/// <summary>
/// A join topology in Streamiz's <see cref="TopologyTestDriver"/> (no broker): two input topics of <see cref="Value"/>s,
/// one output topic of <see cref="Joined"/> rows, string keys, values as JSON Schema through the embedded registry.
/// </summary>
public sealed class JoinDriver : IDisposable
{
    private readonly StateDirectory _state = new();
    private readonly Confluent.SchemaRegistry.CachedSchemaRegistryClient _client;
    private readonly TopologyTestDriver _driver;
    private readonly ISerDes<Value> _values;
    private readonly JoinTopics _topics;
    private readonly TestInputTopic<string, byte[]> _left;
    private readonly TestInputTopic<string, byte[]> _right;
    private readonly TestOutputTopic<string, Joined> _output;

    /// <summary>Initializes a new instance of the <see cref="JoinDriver"/> class.</summary>
    /// <param name="registry">The registry.</param>
    /// <param name="build">Builds the join from the left and right topics to the output topic, with the serdes given.</param>
    /// <param name="poison">The poison-record policy; null for Streamiz's default (fail).</param>
    public JoinDriver(RegistryFixture registry, Action<StreamBuilder, JoinTopics, JoinSerDes> build, PoisonRecordPolicy? poison = null)
    {
        _client = registry.Client();
        var serdes = new JoinSerDes(new JsonSchemaSerDes<Value>(_client), new JsonSchemaSerDes<Joined>(_client));
        var topics = new JoinTopics(StreamsKit.Unique("left"), StreamsKit.Unique("right"), StreamsKit.Unique("joined"));
        var builder = new StreamBuilder();
        build(builder, topics, serdes);
        var config = StreamsKit.Config(_state);
        if (poison is not null)
        {
            config.SetPoisonRecordPolicy(poison);
        }

        (_values, _topics) = (serdes.Values, topics);
        _driver = new TopologyTestDriver(builder.Build(), config);
        _left = _driver.CreateInputTopic(topics.Left, new StringSerDes(), new ByteArraySerDes());
        _right = _driver.CreateInputTopic(topics.Right, new StringSerDes(), new ByteArraySerDes());
        _output = _driver.CreateOutputTopic(topics.Output, TimeSpan.FromSeconds(1), new StringSerDes(), serdes.Rows);
    }

    public TopologyTestDriver Driver => _driver;

    public JoinTopics Topics => _topics;

    /// <summary>Sends a left record; a null text is a tombstone.</summary>
    public void Left(string? key, string? text, long timestampMs) => LeftBytes(key, Bytes(_topics.Left, text), timestampMs);

    /// <summary>Sends a right record; a null text is a tombstone.</summary>
    public void Right(string? key, string? text, long timestampMs) => RightBytes(key, Bytes(_topics.Right, text), timestampMs);

    /// <summary>Sends a left record as raw bytes (for example a poison record).</summary>
    public void LeftBytes(string? key, byte[]? value, long timestampMs) => _left.PipeInput(key!, value!, At(timestampMs));

    /// <summary>Sends a right record as raw bytes (for example a poison record).</summary>
    public void RightBytes(string? key, byte[]? value, long timestampMs) => _right.PipeInput(key!, value!, At(timestampMs));

    /// <summary>Reads what the join wrote since the last read: key, row (null for a tombstone) and timestamp.</summary>
    public List<(string Key, Joined? Row, long Timestamp)> Read() =>
        [.. _output.ReadKeyValueList().Select(r => (r.Message.Key, (Joined?)r.Message.Value, r.Message.Timestamp.UnixTimestampMs))];

    public void Dispose()
    {
        _driver.Dispose();
        _client.Dispose();
        _state.Dispose();
    }

    private static DateTime At(long timestampMs) => DateTime.UnixEpoch.AddMilliseconds(timestampMs);

    private byte[]? Bytes(string topic, string? text) =>
        text is null ? null : _values.Serialize(new Value(text), new Confluent.Kafka.SerializationContext(Confluent.Kafka.MessageComponentType.Value, topic));
}

public sealed record JoinTopics(string Left, string Right, string Output);

public sealed record JoinSerDes(ISerDes<Value> Values, ISerDes<Joined> Rows);

using System.Text;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Streams.Tests.Support;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Mock;
using Streamiz.Kafka.Net.SerDes;

namespace KafkaClient.Streams.Tests;

/// <summary>A record our serdes cannot read reaches Streamiz's deserialization-exception handler as the core's typed exception, and the poison policy decides.</summary>
public class PoisonRecordTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static readonly byte[] Garbage = Encoding.UTF8.GetBytes("not a Confluent frame");

    private static SerializationContext ValueOf(string topic) => new(MessageComponentType.Value, topic);

    [Fact]
    public void With_skip_a_poison_value_is_handed_over_with_its_raw_bytes_and_the_stream_goes_on()
    {
        using var rig = new SkippingRig(registry);
        var (serdes, skipped, input, driver, raw, results) = (rig.Serdes, rig.Skipped, rig.Input, rig.Driver, rig.Raw, rig.Results);

        raw.PipeInput("a", serdes.Serialize(new Value("one"), ValueOf(input)));
        raw.PipeInput("b", Garbage, new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc), new Headers { { "trace", [1, 2] } });
        raw.PipeInput("c", serdes.Serialize(new Value("three"), ValueOf(input)));

        Assert.Equal([new("a", new Value("ONE")), new("c", new Value("THREE"))], results.ReadKeyValueList().Select(r => KeyValuePair.Create(r.Message.Key, r.Message.Value)));
        Assert.False(driver.IsError);
        var poison = Assert.IsType<ValueDeserializationException>(Assert.Single(skipped));
        Assert.Equal(Garbage, poison.RawValue);
        Assert.Equal("b"u8.ToArray(), poison.RawKey);
        Assert.Equal(input, poison.Topic);
        Assert.Equal(1, poison.Offset!.Value.Value);
        Assert.Equal([1, 2], poison.Headers!.GetLastBytes("trace"));
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), poison.Timestamp.UnixTimestampMs);
        Assert.False(poison.IsRetriable);
        Assert.Equal(JsonSerdeFailure.InvalidFrame, Assert.IsType<JsonSerdeException>(poison.InnerException).Failure);
    }

    [Fact]
    public void Consecutive_poison_records_read_in_one_batch_are_each_reported_once_and_the_good_ones_around_them_kept()
    {
        using var rig = new SkippingRig(registry);
        var (serdes, skipped, input, driver, raw, results) = (rig.Serdes, rig.Skipped, rig.Input, rig.Driver, rig.Raw, rig.Results);

        // One batch, as a stream thread gets from a poll: Streamiz reads the timestamp of the next record of the
        // partition before it processes the current one, so the two passes over each poison record interleave.
        raw.PipeInputs(
        [
            KeyValuePair.Create("a", serdes.Serialize(new Value("one"), ValueOf(input))),
            KeyValuePair.Create("b", Garbage),
            KeyValuePair.Create("c", Encoding.UTF8.GetBytes("more garbage")),
            KeyValuePair.Create("d", serdes.Serialize(new Value("four"), ValueOf(input))),
            KeyValuePair.Create("e", Garbage),
        ]);

        Assert.Equal([1L, 2L, 4L], skipped.Select(s => s.Offset!.Value.Value));
        Assert.Equal([("a", new Value("ONE")), ("d", new Value("FOUR"))], results.ReadKeyValueList().Select(r => (r.Message.Key, r.Message.Value)));
        Assert.False(driver.IsError);
    }

    [Fact]
    public void Streamiz_deserializes_each_record_twice_and_the_serdes_decode_it_once()
    {
        using var state = new StateDirectory();
        using var client = registry.Client();
        var source = new JsonSchemaSerDes<Value>(client);
        var sink = new JsonSchemaSerDes<Value>(client);
        var (input, output) = (StreamsKit.Unique("in"), StreamsKit.Unique("out"));
        var builder = new StreamBuilder();
        builder.Stream(input, new StringSerDes(), source).MapValues((v, _) => new Value(v.Text + "!")).To(output, new StringSerDes(), sink);

        using var driver = new TopologyTestDriver(builder.Build(), StreamsKit.Config(state));
        var records = driver.CreateInputTopic(input, new StringSerDes(), sink);
        var results = driver.CreateOutputTopic(output, TimeSpan.FromSeconds(5), new StringSerDes(), sink);
        for (var i = 0; i < 50; i++)
        {
            records.PipeInput($"k{i}", new Value($"v{i}"));
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => new Value($"v{i}!")), results.ReadValueList());
        Assert.Equal(50, source.Decoded);
    }

    [Fact]
    public void Records_read_in_one_batch_are_decoded_once_each_keys_and_values_by_one_serdes_included()
    {
        using var state = new StateDirectory();
        using var client = registry.Client();
        var source = new JsonSchemaSerDes<Value>(client);
        var sink = new JsonSchemaSerDes<Value>(client);
        var (input, output) = (StreamsKit.Unique("in"), StreamsKit.Unique("out"));
        var builder = new StreamBuilder();
        builder.Stream(input, source, source).MapValues((v, _) => new Value(v.Text + "!")).To(output, sink, sink);

        using var driver = new TopologyTestDriver(builder.Build(), StreamsKit.Config(state));
        var records = driver.CreateInputTopic(input, sink, sink);
        var results = driver.CreateOutputTopic(output, TimeSpan.FromSeconds(5), sink, sink);

        // One batch: Streamiz reads the timestamp of each partition's next record before it processes the current one.
        records.PipeInputs(Enumerable.Range(0, 50).Select(i => KeyValuePair.Create(new Value($"k{i}"), new Value($"v{i}"))));

        Assert.Equal(
            Enumerable.Range(0, 50).Select(i => (new Value($"k{i}"), new Value($"v{i}!"))),
            results.ReadKeyValueList().Select(r => (r.Message.Key, r.Message.Value)));
        Assert.Equal(100, source.Decoded);
    }

    [Fact]
    public void A_poison_key_is_reported_as_the_key()
    {
        using var state = new StateDirectory();
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);
        var skipped = new List<DeserializationException>();
        var config = StreamsKit.Config(state).SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(skipped.Add));
        var (input, output) = (StreamsKit.Unique("in"), StreamsKit.Unique("out"));

        using var driver = new TopologyTestDriver(Upper(input, output, serdes, serdes), config);
        var raw = driver.CreateInputTopic(input, new ByteArraySerDes(), serdes);
        var results = driver.CreateOutputTopic(output, TimeSpan.FromSeconds(5), serdes, serdes);

        raw.PipeInput(Garbage, new Value("lost"));
        raw.PipeInput(serdes.Serialize(new Value("k"), new SerializationContext(MessageComponentType.Key, input)), new Value("kept"));

        var poison = Assert.IsType<KeyDeserializationException>(Assert.Single(skipped));
        Assert.Equal(Garbage, poison.RawKey);
        Assert.Equal(MessageComponentType.Key, poison.Component);
        Assert.Equal(new Value("KEPT"), Assert.Single(results.ReadValueList()));
    }

    [Fact]
    public void With_raise_a_poison_value_stops_processing_with_the_serdes_exception_inside()
    {
        using var state = new StateDirectory();
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);
        var config = StreamsKit.Config(state).SetPoisonRecordPolicy(PoisonRecordPolicy.Raise);
        var (input, output) = (StreamsKit.Unique("in"), StreamsKit.Unique("out"));

        using var driver = new TopologyTestDriver(Upper(input, output, new StringSerDes(), serdes), config);
        var raw = driver.CreateInputTopic(input, new StringSerDes(), new ByteArraySerDes());

        var stopped = Record.Exception(() => raw.PipeInput("b", Garbage));

        Assert.NotNull(stopped);
        Assert.Contains(Chain(stopped), e => e is JsonSerdeException { Failure: JsonSerdeFailure.InvalidFrame });
    }

    [Fact]
    public void A_transient_failure_is_never_skipped_even_with_skip()
    {
        var topic = StreamsKit.Unique("in");
        using var state = new StateDirectory();
        using var client = registry.Client();
        var writer = new JsonSchemaSerDes<Value>(client);
        var good = writer.Serialize(new Value("good"), new SerializationContext(MessageComponentType.Value, topic));
        var down = FlakyRegistry.Wrap(registry.Client(), nameof(ISchemaRegistryClient.GetSchemaAsync), failures: int.MaxValue, out _);
        var reader = new JsonSchemaSerDes<Value>(down) { RegistryWaitTimeout = TimeSpan.FromMilliseconds(300) };
        var skipped = new List<DeserializationException>();
        var config = StreamsKit.Config(state).SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(skipped.Add));

        using var driver = new TopologyTestDriver(Upper(topic, StreamsKit.Unique("out"), new StringSerDes(), reader), config);
        var raw = driver.CreateInputTopic(topic, new StringSerDes(), new ByteArraySerDes());

        var stopped = Record.Exception(() => raw.PipeInput("a", good));

        Assert.NotNull(stopped);
        Assert.Contains(Chain(stopped), e => e is JsonSerdeException { Failure: JsonSerdeFailure.RegistryUnavailable, IsRetriable: true });
        Assert.Empty(skipped);
    }

    [Fact]
    public void A_skip_callback_that_throws_stops_processing_with_its_exception()
    {
        using var state = new StateDirectory();
        using var client = registry.Client();
        var serdes = new JsonSchemaSerDes<Value>(client);
        var config = StreamsKit.Config(state).SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(_ => throw new InvalidOperationException("callback refused")));
        var (input, output) = (StreamsKit.Unique("in"), StreamsKit.Unique("out"));

        using var driver = new TopologyTestDriver(Upper(input, output, new StringSerDes(), serdes), config);
        var raw = driver.CreateInputTopic(input, new StringSerDes(), new ByteArraySerDes());

        var stopped = Record.Exception(() => raw.PipeInput("b", Garbage));

        Assert.Contains(Chain(stopped!), e => e is InvalidOperationException { Message: "callback refused" });
    }

    [Fact]
    public void A_dead_letter_policy_is_refused_with_the_way_around_it()
    {
        var refused = Assert.Throws<ArgumentException>(() => PoisonRecordHandler.Create(PoisonRecordPolicy.DeadLetter(new DeadLetterPolicy("dlt"))));
        Assert.Contains("PoisonRecordPolicy.Skip", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_of_other_serdes_is_reported_as_the_value()
    {
        var record = new ConsumeResult<byte[]?, byte[]?>
        {
            Topic = "t",
            Partition = 2,
            Offset = 9,
            Message = new Message<byte[]?, byte[]?> { Key = [1], Value = [2], Timestamp = new Timestamp(5, TimestampType.CreateTime) },
        };

        var failure = PoisonRecordHandler.Describe(record, new FormatException("bad"));

        Assert.IsType<ValueDeserializationException>(failure);
        Assert.Equal(new TopicPartitionOffset("t", 2, 9), failure.TopicPartitionOffset);
    }

    /// <summary>The upper-casing topology on a test driver, skipping poison records into <see cref="Skipped"/>, fed raw bytes.</summary>
    private sealed class SkippingRig : IDisposable
    {
        private readonly StateDirectory _state = new();
        private readonly ISchemaRegistryClient _client;

        public SkippingRig(RegistryFixture registry)
        {
            _client = registry.Client();
            Serdes = new JsonSchemaSerDes<Value>(_client);
            var config = StreamsKit.Config(_state).SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(Skipped.Add));
            var output = StreamsKit.Unique("out");
            Driver = new TopologyTestDriver(Upper(Input, output, new StringSerDes(), Serdes), config);
            Raw = Driver.CreateInputTopic(Input, new StringSerDes(), new ByteArraySerDes());
            Results = Driver.CreateOutputTopic(output, TimeSpan.FromSeconds(5), new StringSerDes(), Serdes);
        }

        public JsonSchemaSerDes<Value> Serdes { get; }

        public List<DeserializationException> Skipped { get; } = [];

        public string Input { get; } = StreamsKit.Unique("in");

        public TopologyTestDriver Driver { get; }

        public TestInputTopic<string, byte[]> Raw { get; }

        public TestOutputTopic<string, Value> Results { get; }

        public void Dispose()
        {
            Driver.Dispose();
            _client.Dispose();
            _state.Dispose();
        }
    }

    private static Streamiz.Kafka.Net.Stream.Topology Upper(string input, string output, ISerDes<string> keys, ISerDes<Value> values) => Upper<string>(input, output, keys, values);

    private static Streamiz.Kafka.Net.Stream.Topology Upper(string input, string output, ISerDes<Value> keys, ISerDes<Value> values) => Upper<Value>(input, output, keys, values);

    private static Streamiz.Kafka.Net.Stream.Topology Upper<TKey>(string input, string output, ISerDes<TKey> keys, ISerDes<Value> values)
    {
        var builder = new StreamBuilder();
        builder.Stream(input, keys, values)
            .MapValues((v, _) => new Value(v.Text.ToUpperInvariant()))
            .To(output, keys, values);
        return builder.Build();
    }

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                {
                    yield return inner;
                }
            }
        }
    }
}

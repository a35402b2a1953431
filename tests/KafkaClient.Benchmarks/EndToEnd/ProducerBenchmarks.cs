using BenchmarkDotNet.Attributes;
using Confluent.Kafka;
using KafkaClient.Benchmarks.Documents;
using ProtoUser = KafkaClient.Tests.Protos.User;

namespace KafkaClient.Benchmarks.EndToEnd;

/// <summary>
/// End to end produce on the embedded cluster (one broker, linger 5 ms, acks=1): each invocation produces
/// <see cref="EmbeddedStack.Messages"/> users with string keys and flushes until every one is acknowledged.
/// Ours (<see cref="SerializingProducer{TKey, TValue}"/> with JSON validation on and off, and Protobuf) against the
/// baseline: Confluent's raw <c>IProducer&lt;string, byte[]&gt;</c> fed the same framed bytes, serialized once up front,
/// with a delivery handler that counts failures (ours learns the outcome of every message too; without a callback it
/// reports failures to its error handler). <see cref="Raw_NoDeliveryHandler"/> is the raw producer fire-and-forget,
/// the least librdkafka can be asked to do.
/// </summary>
/// <remarks>
/// Time and allocation are per message (OperationsPerInvoke). Every iteration writes to a fresh 4-partition topic,
/// which a setup outside the measurement creates and primes with one message (so the producer has its metadata and
/// the serializer its schema id), and which is checked for completeness and deleted afterwards: the mock's 5 MiB per
/// partition never drops records under a running benchmark.
/// </remarks>
[MemoryDiagnoser]
public class ProducerBenchmarks
{
    private const int Messages = EmbeddedStack.Messages;

    private EmbeddedStack _stack = null!;
    private IReadOnlyList<string> _keys = [];
    private SerializingProducer<string, User> _jsonValidating = null!;
    private SerializingProducer<string, User> _json = null!;
    private SerializingProducer<string, ProtoUser> _protobuf = null!;
    private IProducer<string, byte[]> _raw = null!;
    private IConsumer<byte[], byte[]> _probe = null!;
    private byte[] _framed = [];
    private string _topic = string.Empty;
    private Action<DeliveryReport<string, byte[]>> _onDelivery = null!;
    private int _failures;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _stack = await EmbeddedStack.StartAsync();
        _keys = _stack.Keys;
        _jsonValidating = new SerializingProducerBuilder<string, User>(_stack.ProducerConfig()).SetValueSerializer(_stack.JsonSerializer(validate: true)).Build();
        _json = new SerializingProducerBuilder<string, User>(_stack.ProducerConfig()).SetValueSerializer(_stack.JsonSerializer(validate: false)).Build();
        _protobuf = new SerializingProducerBuilder<string, ProtoUser>(_stack.ProducerConfig()).SetValueSerializer(_stack.ProtobufSerializer()).Build();
        _raw = new ProducerBuilder<string, byte[]>(_stack.ProducerConfig()).Build();
        _probe = new ConsumerBuilder<byte[], byte[]>(_stack.ConsumerConfig()).Build();
        _onDelivery = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failures);
            }
        };
        _framed = await _stack.JsonSerializer(validate: false).SerializeAsync(EmbeddedStack.JsonUser, new SerializationContext(MessageComponentType.Value, "bench-framing"));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _jsonValidating.DisposeAsync();
        await _json.DisposeAsync();
        await _protobuf.DisposeAsync();
        _raw.Dispose();
        _probe.Dispose();
        await _stack.DisposeAsync();
    }

    [IterationSetup(Targets = [nameof(Raw), nameof(Raw_NoDeliveryHandler)])]
    public void BeforeRaw()
    {
        _topic = _stack.CreateTopic("raw");
        _raw.Produce(_topic, new Message<string, byte[]> { Key = "primer", Value = _framed });
        Flushed(_raw.Flush(TimeSpan.FromSeconds(30)));
    }

    [IterationSetup(Target = nameof(Json_Validated))]
    public void BeforeJsonValidated() => Prime(_jsonValidating, EmbeddedStack.JsonUser, "json-validated");

    [IterationSetup(Target = nameof(Json_NotValidated))]
    public void BeforeJson() => Prime(_json, EmbeddedStack.JsonUser, "json");

    [IterationSetup(Target = nameof(Protobuf))]
    public void BeforeProtobuf() => Prime(_protobuf, EmbeddedStack.ProtobufUser, "protobuf");

    [IterationCleanup]
    public void AfterEach()
    {
        if (Volatile.Read(ref _failures) != 0)
        {
            throw new InvalidOperationException($"{_failures} messages were not delivered.");
        }

        var count = _stack.Count(_probe, _topic);
        if (count != Messages + 1)
        {
            throw new InvalidOperationException($"Topic {_topic} holds {count} records, not {Messages + 1}.");
        }

        _stack.Cluster.DeleteTopic(_topic);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public void Raw()
    {
        for (var i = 0; i < Messages; i++)
        {
            _raw.Produce(_topic, new Message<string, byte[]> { Key = _keys[i], Value = _framed }, _onDelivery);
        }

        Flushed(_raw.Flush(TimeSpan.FromSeconds(60)));
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public void Raw_NoDeliveryHandler()
    {
        for (var i = 0; i < Messages; i++)
        {
            _raw.Produce(_topic, new Message<string, byte[]> { Key = _keys[i], Value = _framed });
        }

        Flushed(_raw.Flush(TimeSpan.FromSeconds(60)));
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task Json_Validated() => ProduceAsync(_jsonValidating, EmbeddedStack.JsonUser);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task Json_NotValidated() => ProduceAsync(_json, EmbeddedStack.JsonUser);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task Protobuf() => ProduceAsync(_protobuf, EmbeddedStack.ProtobufUser);

    private static void Flushed(int left)
    {
        if (left != 0)
        {
            throw new InvalidOperationException($"{left} messages were still in flight after the flush.");
        }
    }

    private async Task ProduceAsync<T>(SerializingProducer<string, T> producer, T value)
    {
        for (var i = 0; i < Messages; i++)
        {
            producer.Produce(_topic, _keys[i], value);
        }

        Flushed(await producer.FlushAsync(TimeSpan.FromSeconds(60)));
    }

    private void Prime<T>(SerializingProducer<string, T> producer, T value, string prefix)
    {
        // The first message of a topic registers its subject's schema and fetches the topic's metadata: not measured.
        _topic = _stack.CreateTopic(prefix);
        producer.Produce(_topic, "primer", value);
        Flushed(producer.Flush(TimeSpan.FromSeconds(30)));
    }
}

using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Confluent.Kafka;
using KafkaClient.Benchmarks.Documents;
using KafkaClient.Benchmarks.Support;
using ProtoUser = KafkaClient.Tests.Protos.User;

namespace KafkaClient.Benchmarks.EndToEnd;

/// <summary>
/// End to end consume on the embedded cluster: each invocation reads <see cref="EmbeddedStack.Messages"/> records of a
/// 4-partition topic from the beginning. Ours (<see cref="DeserializingConsumer{TKey, TValue}"/> through
/// <c>ConsumeAsync</c>, JSON with validation on and off, and Protobuf) against the baseline: Confluent's raw
/// <c>IConsumer&lt;string, byte[]&gt;</c>, which deserializes the key and hands the value over as bytes.
/// <see cref="Raw_DeserializedByHand_Json"/> and <see cref="Raw_DeserializedByHand_Protobuf"/> are the raw consumer with
/// each value read by hand after its framing (System.Text.Json source-generated, or Google.Protobuf's <c>ParseFrom</c>):
/// the same work as ours without our consumer, so their ratio to ours is what the wrapper costs.
/// </summary>
/// <remarks>
/// The topics are written once, in setup. A fresh consumer is built before each iteration, outside the measurement,
/// and learns the topic's leaders; the measured invocation assigns the four partitions at their beginning (no group
/// join, no commits) and reads until it has every record, so fetching is part of what is measured, as it is for an application. The deserializers are
/// shared by all iterations, so their schema caches stay warm. Time and allocation are per message.
/// </remarks>
[MemoryDiagnoser]
public class ConsumerBenchmarks
{
    private const int Messages = EmbeddedStack.Messages;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private EmbeddedStack _stack = null!;
    private string _jsonTopic = string.Empty;
    private string _protobufTopic = string.Empty;
    private KafkaClient.SchemaRegistry.Json.JsonSchemaDeserializer<User> _jsonValidating = null!;
    private KafkaClient.SchemaRegistry.Json.JsonSchemaDeserializer<User> _json = null!;
    private KafkaClient.SchemaRegistry.Protobuf.ProtobufDeserializer<ProtoUser> _protobuf = null!;
    private DeserializingConsumer<string, User>? _jsonConsumer;
    private DeserializingConsumer<string, ProtoUser>? _protobufConsumer;
    private IConsumer<string, byte[]>? _rawConsumer;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _stack = await EmbeddedStack.StartAsync();
        _jsonTopic = _stack.CreateTopic("json");
        _protobufTopic = _stack.CreateTopic("protobuf");
        await using (var json = new SerializingProducerBuilder<string, User>(_stack.ProducerConfig()).SetValueSerializer(_stack.JsonSerializer(validate: false)).Build())
        {
            await WriteAsync(json, _jsonTopic, EmbeddedStack.JsonUser);
        }

        await using (var protobuf = new SerializingProducerBuilder<string, ProtoUser>(_stack.ProducerConfig()).SetValueSerializer(_stack.ProtobufSerializer()).Build())
        {
            await WriteAsync(protobuf, _protobufTopic, EmbeddedStack.ProtobufUser);
        }

        _jsonValidating = _stack.JsonDeserializer(validate: true);
        _json = _stack.JsonDeserializer(validate: false);
        _protobuf = _stack.ProtobufDeserializer();
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _stack.DisposeAsync();

    [IterationSetup(Target = nameof(Raw))]
    public void BeforeRaw()
    {
        _rawConsumer = new ConsumerBuilder<string, byte[]>(_stack.ConsumerConfig()).Build();
        Learn(_jsonTopic, _rawConsumer.QueryWatermarkOffsets);
    }

    [IterationSetup(Target = nameof(Raw_ThreadHandOff))]
    public void BeforeRawHandOff() => BeforeRaw();

    [IterationSetup(Target = nameof(Raw_DeserializedByHand_Json))]
    public void BeforeRawJson() => BeforeRaw();

    [IterationSetup(Target = nameof(Raw_DeserializedByHand_Protobuf))]
    public void BeforeRawProtobuf()
    {
        _rawConsumer = new ConsumerBuilder<string, byte[]>(_stack.ConsumerConfig()).Build();
        Learn(_protobufTopic, _rawConsumer.QueryWatermarkOffsets);
    }

    [IterationSetup(Target = nameof(Json_Validated))]
    public void BeforeJsonValidated() => _jsonConsumer = JsonConsumer(_jsonValidating);

    [IterationSetup(Target = nameof(Json_NotValidated))]
    public void BeforeJson() => _jsonConsumer = JsonConsumer(_json);

    [IterationSetup(Target = nameof(Protobuf))]
    public void BeforeProtobuf()
    {
        _protobufConsumer = new DeserializingConsumerBuilder<string, ProtoUser>(_stack.ConsumerConfig()).SetValueDeserializer(_protobuf).Build();
        Learn(_protobufTopic, _protobufConsumer.QueryWatermarkOffsets);
    }

    [IterationCleanup]
    public void AfterEach()
    {
        _rawConsumer?.Close();
        _rawConsumer?.Dispose();
        _jsonConsumer?.Dispose();
        _protobufConsumer?.Dispose();
        (_rawConsumer, _jsonConsumer, _protobufConsumer) = (null, null, null);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public long Raw()
    {
        var consumer = _rawConsumer!;
        consumer.Assign(FromTheBeginning(_jsonTopic));
        var deadline = DateTime.UtcNow + Patience;
        long bytes = 0;
        for (var read = 0; read < Messages;)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            if (record is { IsPartitionEOF: false })
            {
                bytes += record.Message.Value.Length;
                read++;
            }
            else if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Read {read} of {Messages} records.");
            }
        }

        return bytes;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public long Raw_DeserializedByHand_Json() =>
        ReadRaw(_jsonTopic, value => JsonSerializer.Deserialize(Framing.Payload(value), BenchJsonContext.Default.User)!.FavoriteNumber);

    [Benchmark(OperationsPerInvoke = Messages)]
    public long Raw_DeserializedByHand_Protobuf() =>
        ReadRaw(_protobufTopic, value => ProtoUser.Parser.ParseFrom(value.AsSpan(6)).FavoriteNumber); // header, then message index 0

    /// <summary>
    /// The raw consumer polled on a thread of its own that hands each record to the reader through a bounded
    /// <see cref="System.Threading.Channels.Channel"/> (1,024 records, as ours buffers): what moving records between
    /// two threads costs by itself, without any of our code.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<long> Raw_ThreadHandOff()
    {
        var consumer = _rawConsumer!;
        consumer.Assign(FromTheBeginning(_jsonTopic));
        var channel = System.Threading.Channels.Channel.CreateBounded<ConsumeResult<string, byte[]>>(
            new System.Threading.Channels.BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
        using var stop = new CancellationTokenSource(Patience);
        var poller = new Thread(() =>
        {
            try
            {
                for (var fetched = 0; fetched < Messages && !stop.IsCancellationRequested;)
                {
                    var record = consumer.Consume(TimeSpan.FromMilliseconds(25));
                    if (record is { IsPartitionEOF: false })
                    {
                        while (!channel.Writer.TryWrite(record))
                        {
                            channel.Writer.WaitToWriteAsync(stop.Token).AsTask().GetAwaiter().GetResult();
                        }

                        fetched++;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        });
        poller.Start();
        long bytes = 0;
        var read = 0;
        await foreach (var record in channel.Reader.ReadAllAsync(stop.Token))
        {
            bytes += record.Message.Value.Length;
            read++;
        }

        poller.Join();
        return read == Messages ? bytes : throw new TimeoutException($"Read {read} of {Messages} records.");
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<long> Json_Validated() => ReadAsync(_jsonConsumer!, _jsonTopic, user => user.FavoriteNumber);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<long> Json_NotValidated() => ReadAsync(_jsonConsumer!, _jsonTopic, user => user.FavoriteNumber);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<long> Protobuf() => ReadAsync(_protobufConsumer!, _protobufTopic, user => user.FavoriteNumber);

    private static async Task<long> ReadAsync<T>(DeserializingConsumer<string, T> consumer, string topic, Func<T, long> field)
    {
        consumer.Assign(FromTheBeginning(topic));
        using var patience = new CancellationTokenSource(Patience);
        long sum = 0;
        var read = 0;
        await foreach (var record in consumer.ConsumeAsync(patience.Token))
        {
            sum += field(record.Message.Value);
            if (++read == Messages)
            {
                return sum;
            }
        }

        throw new TimeoutException($"Read {read} of {Messages} records.");
    }

    private long ReadRaw(string topic, Func<byte[], long> field)
    {
        var consumer = _rawConsumer!;
        consumer.Assign(FromTheBeginning(topic));
        var deadline = DateTime.UtcNow + Patience;
        long sum = 0;
        for (var read = 0; read < Messages;)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            if (record is { IsPartitionEOF: false })
            {
                sum += field(record.Message.Value);
                read++;
            }
            else if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Read {read} of {Messages} records.");
            }
        }

        return sum;
    }

    private static List<TopicPartitionOffset> FromTheBeginning(string topic) =>
        Enumerable.Range(0, EmbeddedStack.Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)).ToList();

    /// <summary>
    /// Makes a new consumer learn where the topic's partitions are (asking each for its watermarks), outside the measurement:
    /// assigned a partition it knows no leader for, librdkafka retries the offset query only after about half a second,
    /// which would dwarf the reading being measured.
    /// </summary>
    private static void Learn(string topic, Func<TopicPartition, TimeSpan, WatermarkOffsets> query)
    {
        for (var partition = 0; partition < EmbeddedStack.Partitions; partition++)
        {
            if (query(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10)).High.Value <= 0)
            {
                throw new InvalidOperationException($"{topic} [{partition}] is empty.");
            }
        }
    }

    private DeserializingConsumer<string, User> JsonConsumer(KafkaClient.SchemaRegistry.Json.JsonSchemaDeserializer<User> deserializer)
    {
        var consumer = new DeserializingConsumerBuilder<string, User>(_stack.ConsumerConfig()).SetValueDeserializer(deserializer).Build();
        Learn(_jsonTopic, consumer.QueryWatermarkOffsets);
        return consumer;
    }

    private async Task WriteAsync<T>(SerializingProducer<string, T> producer, string topic, T value)
    {
        for (var i = 0; i < Messages; i++)
        {
            producer.Produce(topic, _stack.Keys[i], value);
        }

        var left = await producer.FlushAsync(TimeSpan.FromSeconds(60));
        using var probe = new ConsumerBuilder<byte[], byte[]>(_stack.ConsumerConfig()).Build();
        if (left != 0 || _stack.Count(probe, topic) != Messages)
        {
            throw new InvalidOperationException($"Writing {topic} failed: {left} left in flight, {_stack.Count(probe, topic)} records.");
        }
    }
}

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Confluent.Kafka;
using Google.Protobuf;
using KafkaClient.Benchmarks.Support;
using KafkaClient.SchemaRegistry.Protobuf;
using ProtoUser = KafkaClient.Tests.Protos.User;

namespace KafkaClient.Benchmarks.Serdes;

/// <summary>
/// Protobuf framed serialize and deserialize of the walkthrough's user (tests/Protos/user.proto), ours against the floor:
/// Google.Protobuf's own <c>WriteTo</c> into an exactly sized array and <c>ParseFrom</c>, without any framing (the baseline of each category).
/// </summary>
/// <remarks>The registry is <see cref="InMemorySchemaRegistry"/>, warmed up in setup: the measured calls make no registry call.</remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ProtobufSerdeBenchmarks
{
    private static readonly SerializationContext Context = new(MessageComponentType.Value, "bench-protobuf");

    private readonly InMemorySchemaRegistry _registry = new();
    private readonly ProtoUser _user = new() { Name = "Alice Liddell", FavoriteNumber = 1865, FavoriteColor = "periwinkle", TwitterHandle = "@alice" };
    private ProtobufSerializer<ProtoUser> _serializer = null!;
    private ProtobufDeserializer<ProtoUser> _deserializer = null!;
    private byte[] _payload = [];
    private byte[] _framed = [];
    private IReadOnlyDictionary<string, long> _callsAfterWarmUp = new Dictionary<string, long>();

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _serializer = new ProtobufSerializer<ProtoUser>(_registry);
        _deserializer = new ProtobufDeserializer<ProtoUser>(_registry);
        _payload = Serialize_Raw();
        _framed = await _serializer.SerializeAsync(_user, Context);

        // Header, then the index path of the file's first message (one byte 0), then the message itself.
        if (_framed.Length != Framing.HeaderLength + 1 + _payload.Length || !_framed.AsSpan(Framing.HeaderLength + 1).SequenceEqual(_payload))
        {
            throw new InvalidOperationException("Our framing is not header + [0] + message.");
        }

        if (!(await _deserializer.DeserializeAsync(_framed, isNull: false, Context)).Equals(_user) || !Deserialize_Raw().Equals(_user))
        {
            throw new InvalidOperationException("The user did not read back.");
        }

        _callsAfterWarmUp = _registry.CallsByMethod;
        Console.WriteLine($"// Protobuf user: {_payload.Length} bytes, {_framed.Length} framed, {_registry.Calls} registry calls during warm-up");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// Protobuf user: registry calls after warm-up: {RegistryCalls.Since(_registry, _callsAfterWarmUp)}");
        _registry.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Serialize")]
    public byte[] Serialize_Raw()
    {
        var bytes = new byte[_user.CalculateSize()];
        _user.WriteTo(bytes);
        return bytes;
    }

    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public byte[]? Serialize_Ours() => _serializer.TrySerialize(_user, Context, out var bytes) ? bytes : throw Framing.NotWarm();

    [Benchmark]
    [BenchmarkCategory("Serialize")]
    public Task<byte[]> Serialize_Ours_TaskApi() => _serializer.SerializeAsync(_user, Context);

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Deserialize")]
    public ProtoUser Deserialize_Raw() => ProtoUser.Parser.ParseFrom(_payload.AsSpan());

    [Benchmark]
    [BenchmarkCategory("Deserialize")]
    public ProtoUser Deserialize_Ours() => _deserializer.TryDeserialize(_framed, isNull: false, Context, out var user) ? user : throw Framing.NotWarm();

    [Benchmark]
    [BenchmarkCategory("Deserialize")]
    public Task<ProtoUser> Deserialize_Ours_TaskApi() => _deserializer.DeserializeAsync(_framed, isNull: false, Context);
}

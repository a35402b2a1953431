using System.Reflection;
using System.Runtime.ExceptionServices;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.Testing;
using PbUser = KafkaClient.Tests.Protos.User;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>
/// Once warmed up, producing and consuming with the registry-aware serdes makes no registry request at all: the schema
/// id is registered or looked up once per subject and the writer's schema fetched once per id, whatever the volume.
/// </summary>
/// <remarks>
/// Each test counts the HTTP requests its own embedded registry serves (<see cref="EmbeddedSchemaRegistry.RequestCount"/>),
/// so that nothing else running can add to the count, while the records go through the shared cluster. Confluent's
/// caching client could hide a serde that asks on every record, so the calls the serdes make to their
/// <see cref="ISchemaRegistryClient"/> are counted too, and must also be zero.
/// </remarks>
[Collection(KafkaCollection.Name)]
public class SteadyStateRegistryTests(KafkaFixture kafka)
{
    private const int Messages = 1000;

    [Fact]
    public Task Json_produce_and_consume_make_no_registry_request_per_message() =>
        CountRequestsAsync(
            "steady-json",
            registry => new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json),
            registry => new JsonSchemaDeserializer<User>(registry, jsonOptions: User.Json),
            i => new User($"user-{i}", i + 1, "blue", i % 2 == 0 ? $"@user{i}" : null),
            user => user.FavoriteNumber);

    [Fact]
    public Task Protobuf_produce_and_consume_make_no_registry_request_per_message() =>
        CountRequestsAsync(
            "steady-protobuf",
            registry => new ProtobufSerializer<PbUser>(registry),
            registry => new ProtobufDeserializer<PbUser>(registry),
            i => new PbUser { Name = $"user-{i}", FavoriteNumber = i + 1, FavoriteColor = "blue", TwitterHandle = $"@user{i}" },
            user => user.FavoriteNumber);

    private async Task CountRequestsAsync<T>(
        string prefix,
        Func<ISchemaRegistryClient, IAsyncSerializer<T>> serializer,
        Func<ISchemaRegistryClient, IAsyncDeserializer<T>> deserializer,
        Func<int, T> value,
        Func<T, long> favoriteNumber)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, 2);
        await using var embedded = await EmbeddedSchemaRegistry.StartAsync();
        using var http = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = embedded.Url });
        var (registry, calls) = CountingRegistryClient.Wrap(http);

        // Produce: the first message registers the schema; the next thousand must not ask anything.
        await using (var producer = new SerializingProducerBuilder<string, T>(kafka.Producer()).SetValueSerializer(serializer(registry)).Build())
        {
            await producer.ProduceAsync(topic, "warm-up", value(0));
            var before = embedded.RequestCount;
            var callsBefore = calls.Calls;
            Assert.True(before > 0 && callsBefore > 0, "The warm-up should have registered the schema through both counters.");
            var failed = 0;
            for (var i = 1; i <= Messages; i++)
            {
                producer.Produce(topic, $"k{i}", value(i), onDelivery: report =>
                {
                    if (report.Error.IsError)
                    {
                        Interlocked.Increment(ref failed);
                    }
                });
            }

            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
            Assert.Equal(0, failed);
            Assert.Equal(0, embedded.RequestCount - before);
            Assert.Equal(0, calls.Calls - callsBefore);
        }

        // Consume: the first record fetches the writer's schema; the next thousand must not ask anything.
        await using var consumer = new DeserializingConsumerBuilder<string, T>(kafka.Consumer(KafkaFixture.Unique(prefix)))
            .SetValueDeserializer(deserializer(registry))
            .Build();
        consumer.Subscribe(topic);
        var callsBeforeWarmUp = calls.Calls;
        var warmUp = await Records.PollManyAsync(consumer, 1);
        Assert.Single(warmUp);
        var readBefore = embedded.RequestCount;
        var readCallsBefore = calls.Calls;
        Assert.True(readCallsBefore > callsBeforeWarmUp, "The first record should have fetched the writer's schema.");
        var records = await Records.PollManyAsync(consumer, Messages);

        Assert.Equal(0, embedded.RequestCount - readBefore);
        Assert.Equal(0, calls.Calls - readCallsBefore);
        Assert.Equal(Messages, records.Count);
        var numbers = warmUp.Concat(records).Select(r => favoriteNumber(r.Message.Value)).Order().ToList();
        Assert.Equal(Enumerable.Range(1, Messages + 1).Select(i => (long)i), numbers); // the warm-up's 1, then 2 to 1001
    }
}

/// <summary>An <see cref="ISchemaRegistryClient"/> that counts every call (methods and properties) and passes it on.</summary>
public class CountingRegistryClient : DispatchProxy
{
    private ISchemaRegistryClient _inner = null!;
    private long _calls;

    /// <summary>Gets the number of calls so far.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Wraps a client.</summary>
    /// <param name="inner">The client that answers.</param>
    /// <returns>The counting client, and its counter.</returns>
    public static (ISchemaRegistryClient Client, CountingRegistryClient Counter) Wrap(ISchemaRegistryClient inner)
    {
        var client = Create<ISchemaRegistryClient, CountingRegistryClient>();
        var counter = (CountingRegistryClient)(object)client;
        counter._inner = inner;
        return (client, counter);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        Interlocked.Increment(ref _calls);
        try
        {
            return targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is { } inner)
        {
            ExceptionDispatchInfo.Capture(inner).Throw();
            throw;
        }
    }
}

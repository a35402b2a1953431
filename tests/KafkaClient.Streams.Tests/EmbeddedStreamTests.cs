using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Streams.Tests.Support;
using KafkaClient.Testing;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Errors;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.State;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;

namespace KafkaClient.Streams.Tests;

public sealed record Customer(string Name, string Tier);

public sealed record Order(string CustomerId, string Item, int Quantity);

public sealed record EnrichedOrder(string Item, int Quantity, string CustomerName, string Tier);

/// <summary>Topologies end to end: a <see cref="KafkaStream"/> on the embedded cluster and registry, with our JSON serdes, its internal topics created from the topology.</summary>
public class EmbeddedStreamTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task A_stream_table_join_enriches_each_order_with_the_latest_customer_on_the_embedded_cluster()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        using var state = new StateDirectory();
        using var client = registry.Client();
        var (customers, orders, enriched) = (StreamsKit.Unique("customers"), StreamsKit.Unique("orders"), StreamsKit.Unique("enriched"));
        foreach (var topic in new[] { customers, orders, enriched })
        {
            cluster.CreateTopic(topic, partitions: 2);
        }

        var customerSerDes = new JsonSchemaSerDes<Customer>(client);
        var builder = new StreamBuilder();
        var table = builder.Table(customers, new StringSerDes(), customerSerDes, InMemory.As<string, Customer>("customers-store"));
        builder.Stream(orders, new StringSerDes(), new JsonSchemaSerDes<Order>(client))
            .Join(table, (order, customer) => new EnrichedOrder(order.Item, order.Quantity, customer.Name, customer.Tier))
            .To(enriched, new StringSerDes(), new JsonSchemaSerDes<EnrichedOrder>(client));
        var topology = builder.Build();
        var config = StreamsKit.Config(state, cluster.BootstrapServers);
        config.AutoOffsetReset = AutoOffsetReset.Earliest;

        var internalTopics = await InternalTopics.CreateAsync(topology, config.ApplicationId, cluster);

        Assert.Equal([$"{config.ApplicationId}-customers-store-changelog"], internalTopics.Select(t => t.Name));
        await using var customerProducer = Producer<Customer>(cluster, client);
        await using var orderProducer = Producer<Order>(cluster, client);
        using var running = await RunningStream.StartAsync(topology, config);
        var store = new CustomerStore(running.Stream);

        await customerProducer.ProduceAsync(customers, "c1", new Customer("Alice", "Gold"));
        await customerProducer.ProduceAsync(customers, "c2", new Customer("Bob", "Silver"));
        await StreamsKit.Until(() => store.Get("c1") is not null && store.Get("c2") is not null, "both customers in the table's store");

        await orderProducer.ProduceAsync(orders, "c1", new Order("c1", "book", 1));
        await orderProducer.ProduceAsync(orders, "c2", new Order("c2", "pen", 2));
        await orderProducer.ProduceAsync(orders, "c3", new Order("c3", "lamp", 3)); // no customer c3 yet: an inner join drops it
        await customerProducer.ProduceAsync(customers, "c1", new Customer("Alice", "Platinum"));
        await StreamsKit.Until(() => store.Get("c1")?.Tier == "Platinum", "Alice's new tier in the table's store");
        await customerProducer.ProduceAsync(customers, "c3", new Customer("Carol", "Bronze"));
        await StreamsKit.Until(() => store.Get("c3") is not null, "Carol in the table's store");
        await orderProducer.ProduceAsync(orders, "c1", new Order("c1", "chair", 4));
        await orderProducer.ProduceAsync(orders, "c3", new Order("c3", "desk", 5)); // after "lamp" in the same partition

        var output = await ReadAsync(cluster, client, enriched, count: 4, last: e => e.Item == "desk");

        Assert.Equal(
            [
                ("c1", new EnrichedOrder("book", 1, "Alice", "Gold")),
                ("c1", new EnrichedOrder("chair", 4, "Alice", "Platinum")),
                ("c2", new EnrichedOrder("pen", 2, "Bob", "Silver")),
                ("c3", new EnrichedOrder("desk", 5, "Carol", "Bronze")),
            ],
            output.OrderBy(r => r.Key, StringComparer.Ordinal).ThenBy(r => r.Value.Quantity));
    }

    [Fact]
    public async Task A_key_change_before_the_join_runs_through_a_repartition_topic_created_from_the_topology()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        using var state = new StateDirectory();
        using var client = registry.Client();
        var (customers, orders, enriched) = (StreamsKit.Unique("customers"), StreamsKit.Unique("orders"), StreamsKit.Unique("enriched"));
        foreach (var topic in new[] { customers, orders, enriched })
        {
            cluster.CreateTopic(topic, partitions: 2);
        }

        var orderSerDes = new JsonSchemaSerDes<Order>(client);
        var builder = new StreamBuilder();
        var table = builder.Table(customers, new StringSerDes(), new JsonSchemaSerDes<Customer>(client), InMemory.As<string, Customer>("customers-store"));
        builder.Stream(orders, new StringSerDes(), orderSerDes)
            .SelectKey((_, order, _) => order.CustomerId)
            .Join(table, (order, customer) => new EnrichedOrder(order.Item, order.Quantity, customer.Name, customer.Tier), new StreamTableJoinProps<string, Order, Customer>(new StringSerDes(), orderSerDes, null))
            .To(enriched, new StringSerDes(), new JsonSchemaSerDes<EnrichedOrder>(client));
        var topology = builder.Build();
        var config = StreamsKit.Config(state, cluster.BootstrapServers);
        config.AutoOffsetReset = AutoOffsetReset.Earliest;

        var internalTopics = await InternalTopics.CreateAsync(topology, config.ApplicationId, cluster);

        Assert.Equal([InternalTopicKind.Changelog, InternalTopicKind.Repartition], internalTopics.Select(t => t.Kind));
        Assert.All(internalTopics, t => Assert.StartsWith(config.ApplicationId + "-", t.Name, StringComparison.Ordinal));
        await using var customerProducer = Producer<Customer>(cluster, client);
        await using var orderProducer = Producer<Order>(cluster, client);
        using var running = await RunningStream.StartAsync(topology, config);
        var store = new CustomerStore(running.Stream);
        await customerProducer.ProduceAsync(customers, "c1", new Customer("Alice", "Gold"));
        await customerProducer.ProduceAsync(customers, "c2", new Customer("Bob", "Silver"));
        await StreamsKit.Until(() => store.Get("c1") is not null && store.Get("c2") is not null, "both customers in the table's store");

        await orderProducer.ProduceAsync(orders, "order-1", new Order("c2", "pen", 1)); // keyed by order, joined by customer
        await orderProducer.ProduceAsync(orders, "order-2", new Order("c1", "book", 2));

        var output = await ReadAsync(cluster, client, enriched, count: 2, last: _ => false);

        Assert.Equal(
            [("c1", new EnrichedOrder("book", 2, "Alice", "Gold")), ("c2", new EnrichedOrder("pen", 1, "Bob", "Silver"))],
            output.OrderBy(r => r.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_thread_reading_several_partitions_decodes_each_key_and_value_once()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        using var state = new StateDirectory();
        using var client = registry.Client();
        var (orders, copies) = (StreamsKit.Unique("orders"), StreamsKit.Unique("copies"));
        cluster.CreateTopic(orders, partitions: 4);
        cluster.CreateTopic(copies, partitions: 1);
        var serdes = new JsonSchemaSerDes<Order>(client);
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            for (var i = 0; i < 200; i++)
            {
                var order = new Order($"c{i}", "item", i);
                producer.Produce(orders, new Message<byte[], byte[]>
                {
                    Key = serdes.Serialize(order with { Item = "key" }, new SerializationContext(MessageComponentType.Key, orders)),
                    Value = serdes.Serialize(order, new SerializationContext(MessageComponentType.Value, orders)),
                });
            }

            producer.Flush(StreamsKit.Patience);
        }

        // Keys and values through one serdes, 4 partitions on one stream thread: Streamiz reads each record twice, and
        // between the two reads come the first reads of the next record of every other partition.
        var builder = new StreamBuilder();
        builder.Stream(orders, serdes, serdes).To(copies, serdes, serdes);
        var config = StreamsKit.Config(state, cluster.BootstrapServers);
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        using var running = await RunningStream.StartAsync(builder.Build(), config);

        var copied = await ReadAllAsync(cluster, client, copies, count: 200);

        Assert.Equal(Enumerable.Range(0, 200), copied.Select(o => o.Quantity).Order());
        Assert.Equal(400, serdes.Decoded);
    }

    private static ISerializingProducer<string, T> Producer<T>(EmbeddedKafkaCluster cluster, Confluent.SchemaRegistry.ISchemaRegistryClient client) =>
        new SerializingProducerBuilder<string, T>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers })
            .SetValueSerializer(new JsonSchemaSerializer<T>(client))
            .Build();

    /// <summary>Reads <paramref name="count"/> records (or up to the one <paramref name="last"/> picks), bounded by the tests' patience.</summary>
    private static async Task<List<(string Key, EnrichedOrder Value)>> ReadAsync(EmbeddedKafkaCluster cluster, Confluent.SchemaRegistry.ISchemaRegistryClient client, string topic, int count, Func<EnrichedOrder, bool> last)
    {
        await using var consumer = new DeserializingConsumerBuilder<string, EnrichedOrder>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = StreamsKit.Unique("reader"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        })
            .SetValueDeserializer(new JsonSchemaDeserializer<EnrichedOrder>(client))
            .Build();
        consumer.Subscribe(topic);
        var records = new List<(string, EnrichedOrder)>();
        using var timeout = new CancellationTokenSource(StreamsKit.Patience);
        while (records.Count < count)
        {
            var record = await consumer.PollAsync(TimeSpan.FromMilliseconds(200), timeout.Token);
            if (record is not null)
            {
                records.Add((record.Message.Key, record.Message.Value));
                if (last(record.Message.Value))
                {
                    break;
                }
            }
        }

        return records;
    }

    /// <summary>Reads <paramref name="count"/> order values, bounded by the tests' patience.</summary>
    private static async Task<List<Order>> ReadAllAsync(EmbeddedKafkaCluster cluster, Confluent.SchemaRegistry.ISchemaRegistryClient client, string topic, int count)
    {
        await using var consumer = new DeserializingConsumerBuilder<byte[], Order>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = StreamsKit.Unique("reader"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        })
            .SetValueDeserializer(new JsonSchemaDeserializer<Order>(client))
            .Build();
        consumer.Subscribe(topic);
        var records = new List<Order>();
        using var timeout = new CancellationTokenSource(StreamsKit.Patience);
        while (records.Count < count)
        {
            if (await consumer.PollAsync(TimeSpan.FromMilliseconds(200), timeout.Token) is { } record)
            {
                records.Add(record.Message.Value);
            }
        }

        return records;
    }

    /// <summary>The table's state store, read through Streamiz's interactive queries (a pull query).</summary>
    private sealed class CustomerStore(KafkaStream stream)
    {
        public Customer? Get(string key)
        {
            try
            {
                return stream.Store(StoreQueryParameters.FromNameAndType("customers-store", QueryableStoreTypes.KeyValueStore<string, Customer>())).Get(key);
            }
            catch (InvalidStateStoreException)
            {
                return null; // not queryable yet (restoring, rebalancing)
            }
        }
    }
}

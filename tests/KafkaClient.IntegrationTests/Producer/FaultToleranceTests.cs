using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Producer;

/// <summary>Brokers that die mid-stream, and producers disposed with messages still queued.</summary>
[Collection(KafkaCollection.Name)]
public class FaultToleranceTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Leader_broker_down_mid_production_with_idempotence_delivers_every_message_once_in_order()
    {
        const int Messages = 6_000;
        const int Partitions = 3;
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 3);
        var topic = KafkaFixture.Unique("idempotent");
        cluster.CreateTopic(topic, Partitions, replicationFactor: 3);
        for (var p = 0; p < Partitions; p++)
        {
            cluster.SetPartitionLeader(topic, p, 1);
        }

        var config = new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            EnableIdempotence = true,
            LingerMs = 2,
            MessageTimeoutMs = 60_000,
        };
        var failures = new ConcurrentQueue<Error>();
        var connectionFailures = new ConcurrentQueue<LogMessage>();
        await using (var producer = new SerializingProducerBuilder<int, int>(config)
            .SetLogHandler(log =>
            {
                if (log.Facility == "FAIL")
                {
                    connectionFailures.Enqueue(log);
                }
            })
            .Build())
        {
            for (var i = 0; i < Messages; i++)
            {
                producer.Produce(topic, i % 100, i, onDelivery: r =>
                {
                    if (r.Error.IsError)
                    {
                        failures.Enqueue(r.Error);
                    }
                });

                if (i == Messages / 3)
                {
                    // The leader of every partition dies; leadership moves to broker 2.
                    cluster.SetBrokerDown(1);
                    for (var p = 0; p < Partitions; p++)
                    {
                        cluster.SetPartitionLeader(topic, p, 2);
                    }
                }
                else if (i == 2 * Messages / 3)
                {
                    // Down until the producer has noticed (a fast producer can otherwise finish this third before librdkafka
                    // tries broker 1 again), bounded so a producer that never notices fails the assertion below, not the run.
                    var noticed = Stopwatch.StartNew();
                    while (connectionFailures.IsEmpty && noticed.Elapsed < TimeSpan.FromSeconds(30))
                    {
                        await Task.Delay(50);
                    }

                    cluster.SetBrokerUp(1);
                }

                if (i % 500 == 0)
                {
                    await Task.Delay(20); // spread production over the failover
                }
            }

            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(120)));
        }

        Assert.Empty(failures);
        Assert.NotEmpty(connectionFailures); // the producer did lose its leader mid-stream

        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = KafkaFixture.Unique("idempotent"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        using var consumer = new DeserializingConsumerBuilder<int, int>(consumerConfig).Build();
        consumer.Subscribe(topic);
        var records = Records.PollMany(consumer, Messages, TimeSpan.FromSeconds(120));
        Assert.Null(consumer.Poll(TimeSpan.FromSeconds(1))); // and nothing more

        Assert.Equal(Messages, records.Count);
        Assert.Equal(Enumerable.Range(0, Messages), records.Select(r => r.Message.Value).Order());
        foreach (var partition in records.GroupBy(r => r.Partition.Value))
        {
            var values = partition.OrderBy(r => r.Offset.Value).Select(r => r.Message.Value).ToList();
            Assert.Equal(values.Order(), values); // produced order kept within each partition
        }
    }

    [Fact]
    public async Task Dispose_with_messages_still_queued_delivers_them()
    {
        const int Messages = 5_000;
        var topic = KafkaFixture.Unique("dispose");
        await kafka.CreateTopicAsync(topic, 3);
        var delivered = 0;
        var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).SetDisposeTimeout(TimeSpan.FromSeconds(60)).Build();
        for (var i = 0; i < Messages; i++)
        {
            producer.Produce(topic, $"k{i}", i, onDelivery: r =>
            {
                if (!r.Error.IsError)
                {
                    Interlocked.Increment(ref delivered);
                }
            });
        }

        await producer.DisposeAsync(); // no Flush before: dispose does it

        Assert.Equal(Messages, delivered);
        using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("dispose"))).Build();
        consumer.Subscribe(topic);
        Assert.Equal(Messages, Records.PollMany(consumer, Messages).Count);
    }

    [Fact]
    public async Task Dispose_reports_what_could_not_be_delivered_when_the_cluster_is_down()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 1);
        var topic = KafkaFixture.Unique("down");
        cluster.CreateTopic(topic);

        var producer = new SerializingProducerBuilder<string, int>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers })
            .SetDisposeTimeout(TimeSpan.FromSeconds(1))
            .Build();
        Assert.Equal(0, (await producer.ProduceAsync(topic, "first", 0)).Offset.Value);

        cluster.SetBrokerDown(1);
        var reports = new ConcurrentQueue<DeliveryReport<string, int>>();
        for (var i = 1; i <= 10; i++)
        {
            producer.Produce(topic, $"k{i}", i, onDelivery: reports.Enqueue);
        }

        var pending = Enumerable.Range(11, 5).Select(i => producer.ProduceAsync(topic, $"k{i}", i)).ToList();
        producer.Dispose();

        Assert.Equal(10, reports.Count);
        Assert.All(reports, r => Assert.True(r.Error.IsError));
        Assert.Equal(Enumerable.Range(1, 10), reports.Select(r => r.Message.Value).Order());
        foreach (var task in pending)
        {
            var ex = await Assert.ThrowsAsync<DeliveryFailedException>(() => task);
            Assert.True(ex.IsRetriable);
        }
    }
}

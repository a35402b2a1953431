using Confluent.Kafka;
using KafkaClient.Testing;

namespace KafkaClient.IntegrationTests.Testing;

/// <summary>The embedded cluster serves clients in other processes, and its topic API behaves.</summary>
[Collection(KafkaCollection.Name)]
public class EmbeddedClusterTests(KafkaFixture kafka)
{
    [RequiresToolFact("kcat", "kcat")]
    public async Task Kcat_in_another_process_reads_what_we_produce_and_we_read_what_it_produces()
    {
        var topic = KafkaFixture.Unique("kcat");
        await kafka.CreateTopicAsync(topic, 1);
        await using (var producer = new SerializingProducerBuilder<string, string>(kafka.Producer()).Build())
        {
            await producer.ProduceAsync(topic, "k1", "from .NET");
        }

        await ExternalTool.RunAsync("kcat", ["-b", kafka.BootstrapServers, "-P", "-t", topic, "-K", ":"], "k2:from kcat\n");
        var read = await ExternalTool.RunAsync("kcat", ["-b", kafka.BootstrapServers, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k=%s\\n"]);

        Assert.Equal(["k1=from .NET", "k2=from kcat"], read.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        using var consumer = new DeserializingConsumerBuilder<string, string>(kafka.Consumer(KafkaFixture.Unique("kcat"))).Build();
        consumer.Subscribe(topic);
        Assert.Equal(["from .NET", "from kcat"], Records.PollMany(consumer, 2).Select(r => r.Message.Value));
    }

    [Fact]
    public async Task Topics_can_be_created_and_deleted()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 1);
        cluster.CreateTopic("orders", partitions: 4);
        Assert.Throws<KafkaException>(() => cluster.CreateTopic("orders", partitions: 4));

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var metadata = admin.GetMetadata("orders", TimeSpan.FromSeconds(10));
        Assert.Equal(4, metadata.Topics.Single().Partitions.Count);

        cluster.DeleteTopic("orders");
        var gone = admin.GetMetadata(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(gone.Topics, t => t.Topic == "orders");
    }

    [Fact]
    public void Caller_mistakes_are_argument_errors()
    {
        using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerDown(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.CreateTopic("t", partitions: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.CreateTopic("t", replicationFactor: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedKafkaCluster.Start(0));
        cluster.Dispose();
        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("t"));
    }

    [Fact]
    public async Task Injected_produce_errors_are_retried_by_the_producer()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 1);
        cluster.CreateTopic("flaky");
        cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut);

        await using var producer = new SerializingProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true }).Build();
        var result = await producer.ProduceAsync("flaky", "k", "v");

        Assert.Equal(0, result.Offset.Value);
    }

    [Fact]
    public async Task A_non_retriable_injected_error_fails_the_delivery_with_context()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 1);
        cluster.CreateTopic("strict");
        cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.MsgSizeTooLarge);

        await using var producer = new SerializingProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var ex = await Assert.ThrowsAsync<DeliveryFailedException>(() => producer.ProduceAsync("strict", "k", "v"));

        Assert.Equal(ErrorCode.MsgSizeTooLarge, ex.Error.Code);
        Assert.Equal("strict", ex.Topic);
        Assert.False(ex.IsRetriable);
    }

    [Fact]
    public void The_cluster_runs_in_the_librdkafka_image_confluent_kafka_loaded()
    {
        var loaded = File.ReadAllLines("/proc/self/maps").Where(l => l.Contains("rdkafka", StringComparison.Ordinal)).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last()).Distinct().ToList();
        Assert.Equal([EmbeddedKafkaCluster.NativeLibraryPath], loaded);
    }
}

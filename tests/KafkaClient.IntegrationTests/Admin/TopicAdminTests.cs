using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Admin;

/// <summary>Topic administration: the admin client against real clusters, the cluster's own API against the embedded one.</summary>
[Collection(KafkaCollection.Name)]
public class TopicAdminTests(KafkaFixture kafka)
{
    [Fact]
    public async Task The_embedded_cluster_creates_lists_describes_and_deletes_topics()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 3);
        ITopicAdmin admin = cluster;
        var topic = KafkaFixture.Unique("admin");

        await admin.CreateTopicAsync(topic, partitions: 6, replicationFactor: 3);
        Assert.Contains(topic, await admin.ListTopicsAsync());
        var description = await admin.DescribeTopicAsync(topic);
        Assert.Equal(6, description.Partitions.Count);
        Assert.All(description.Partitions, p => Assert.Equal(3, p.Replicas.Count));
        Assert.All(description.Partitions, p => Assert.InRange(p.Leader, 1, 3));

        await Assert.ThrowsAsync<NotSupportedException>(() => admin.CreateTopicAsync(topic + "-cfg", 1, configs: new Dictionary<string, string> { ["retention.ms"] = "1000" }));

        await admin.DeleteTopicAsync(topic);
        Assert.DoesNotContain(topic, await admin.ListTopicsAsync());
    }

    [Fact]
    public async Task The_admin_client_describes_and_reports_errors_with_the_topic_name()
    {
        var topic = KafkaFixture.Unique("admin-client");
        await kafka.CreateTopicAsync(topic, 2);
        using var admin = new TopicAdmin(new AdminClientConfig { BootstrapServers = kafka.BootstrapServers });

        Assert.Contains(topic, await admin.ListTopicsAsync());
        Assert.Equal(2, (await admin.DescribeTopicAsync(topic)).Partitions.Count);

        if (kafka.Mode == "embedded")
        {
            // The embedded cluster refuses admin CreateTopics: the error is typed and names the topic.
            var ex = await Assert.ThrowsAsync<KafkaOperationException>(() => admin.CreateTopicAsync(topic + "-new", 1));
            Assert.Equal(topic + "-new", ex.Topic);
        }
        else
        {
            await admin.CreateTopicAsync(topic + "-new", 3, configs: new Dictionary<string, string> { ["cleanup.policy"] = "compact" });
            Assert.Equal(3, (await admin.DescribeTopicAsync(topic + "-new")).Partitions.Count);
            await admin.DeleteTopicAsync(topic + "-new");
        }
    }

    [Fact]
    public void Unknown_admin_configuration_fails_naming_the_key()
    {
        var ex = Assert.Throws<ArgumentException>(() => new TopicAdmin(new Dictionary<string, string> { ["bootstrap.servers"] = "127.0.0.1:1", ["no.such.key"] = "1" }));
        Assert.Contains("no.such.key", ex.Message, StringComparison.Ordinal);
    }
}

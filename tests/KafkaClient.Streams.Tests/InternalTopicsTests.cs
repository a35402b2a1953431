using KafkaClient.Streams.Tests.Support;
using KafkaClient.Testing;
using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;
using Streamiz.Kafka.Net.Table;

namespace KafkaClient.Streams.Tests;

/// <summary>A topology's internal topics, named and sized from its description as Streamiz names and sizes them.</summary>
public class InternalTopicsTests
{
    [Fact]
    public void A_stream_table_join_needs_the_tables_changelog_with_the_sources_partitions()
    {
        var builder = new StreamBuilder();
        var table = builder.Table("customers", new StringSerDes(), new StringSerDes(), InMemory.As<string, string>("customers-store"));
        builder.Stream("orders", new StringSerDes(), new StringSerDes()).Join(table, (o, c) => o + c).To("enriched");

        var topics = InternalTopics.Of(builder.Build(), "shop", new Dictionary<string, int> { ["customers"] = 3, ["orders"] = 3 });

        Assert.Equal([new InternalTopic("shop-customers-store-changelog", InternalTopicKind.Changelog, 3, "customers-store")], topics);
    }

    [Fact]
    public void A_key_change_before_a_join_needs_a_repartition_topic_as_wide_as_its_upstream_source()
    {
        var builder = new StreamBuilder();
        var table = builder.Table("customers", new StringSerDes(), new StringSerDes(), InMemory.As<string, string>("customers-store"));
        builder.Stream("orders", new StringSerDes(), new StringSerDes())
            .SelectKey((_, v, _) => v)
            .Join(table, (o, c) => o + c)
            .To("enriched");
        var topology = builder.Build();
        var repartition = topology.Describe().SubTopologies.SelectMany(s => s.Nodes).OfType<ISinkNodeDescription>().Single(n => n.Topic.EndsWith("-repartition", StringComparison.Ordinal)).Topic;

        var topics = InternalTopics.Of(topology, "shop", new Dictionary<string, int> { ["customers"] = 2, ["orders"] = 5 });

        Assert.Equal(
            [
                new InternalTopic("shop-customers-store-changelog", InternalTopicKind.Changelog, 2, "customers-store"), // its sub-topology's first source, customers
                new InternalTopic($"shop-{repartition}", InternalTopicKind.Repartition, 5, null),
            ],
            topics);
        var fixedCount = InternalTopics.Of(topology, "shop", new Dictionary<string, int> { ["customers"] = 2, ["orders"] = 5 }, new Dictionary<string, int> { [repartition] = 2 });
        Assert.All(fixedCount, t => Assert.Equal(2, t.Partitions));
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(3, 1)]
    public void A_store_fed_by_sources_of_different_widths_has_a_changelog_as_wide_as_the_first_source_as_Streamiz_checks(int first, int second)
    {
        var builder = new StreamBuilder();
        builder.Stream("first", new StringSerDes(), new StringSerDes())
            .Merge(builder.Stream("second", new StringSerDes(), new StringSerDes()))
            .GroupByKey()
            .Count(InMemory.As<string, long>("counts"))
            .ToStream()
            .To("counted", new StringSerDes(), new Int64SerDes());

        var topics = InternalTopics.Of(builder.Build(), "merge", new Dictionary<string, int> { ["first"] = first, ["second"] = second });

        Assert.Equal([new InternalTopic("merge-counts-changelog", InternalTopicKind.Changelog, first, "counts")], topics);
    }

    [Fact]
    public void A_windowed_stream_stream_join_needs_a_changelog_for_each_sides_window_store()
    {
        var builder = new StreamBuilder();
        var right = builder.Stream("right", new StringSerDes(), new StringSerDes());
        builder.Stream("left", new StringSerDes(), new StringSerDes())
            .Join(right, (l, r) => l + r, JoinWindowOptions.Of(TimeSpan.FromMinutes(1)), StreamJoinProps.With(new StringSerDes(), new StringSerDes(), new StringSerDes()))
            .To("joined");

        var topics = InternalTopics.Of(builder.Build(), "win", new Dictionary<string, int> { ["left"] = 4, ["right"] = 4 });

        Assert.Equal(2, topics.Count);
        Assert.All(topics, t =>
        {
            Assert.Equal(InternalTopicKind.Changelog, t.Kind);
            Assert.Equal(4, t.Partitions);
            Assert.Matches("^win-KSTREAM-JOIN(THIS|OTHER)-[0-9]+-store-changelog$", t.Name);
        });
    }

    [Fact]
    public void A_stateless_topology_needs_none_and_a_missing_source_count_is_named()
    {
        var builder = new StreamBuilder();
        builder.Stream("in", new StringSerDes(), new StringSerDes()).MapValues((v, _) => v.ToUpperInvariant()).To("out");

        Assert.Empty(InternalTopics.Of(builder.Build(), "app", new Dictionary<string, int> { ["in"] = 1 }));
        var missing = Assert.Throws<ArgumentException>(() => InternalTopics.Of(builder.Build(), "app", new Dictionary<string, int>()));
        Assert.Contains("\"in\"", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Creating_on_the_embedded_cluster_skips_what_exists_and_refuses_a_wrong_partition_count()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var (customers, orders, app) = (StreamsKit.Unique("customers"), StreamsKit.Unique("orders"), StreamsKit.Unique("app"));
        var builder = new StreamBuilder();
        var table = builder.Table(customers, new StringSerDes(), new StringSerDes(), InMemory.As<string, string>("customers-store"));
        builder.Stream(orders, new StringSerDes(), new StringSerDes()).Join(table, (o, c) => o + c).To(StreamsKit.Unique("out"));
        var topology = builder.Build();

        var missingSources = await Assert.ThrowsAsync<InvalidOperationException>(() => InternalTopics.CreateAsync(topology, app, cluster));
        Assert.Contains(customers, missingSources.Message, StringComparison.Ordinal);

        cluster.CreateTopic(customers, partitions: 2);
        cluster.CreateTopic(orders, partitions: 2);
        var created = await InternalTopics.CreateAsync(topology, app, cluster);
        var again = await InternalTopics.CreateAsync(topology, app, cluster);

        Assert.Equal(created, again);
        var changelog = Assert.Single(created).Name;
        Assert.Equal(2, (await ((ITopicAdmin)cluster).DescribeTopicAsync(changelog)).Partitions.Count);

        cluster.DeleteTopic(changelog);
        cluster.CreateTopic(changelog, partitions: 3);
        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() => InternalTopics.CreateAsync(topology, app, cluster));
        Assert.Contains("3 partition(s)", wrong.Message, StringComparison.Ordinal);
    }
}

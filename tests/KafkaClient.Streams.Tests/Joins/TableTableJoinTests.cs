using KafkaClient.Streams.Tests.Support;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Table;

namespace KafkaClient.Streams.Tests.Joins;

/// <summary>
/// Table-table joins (ksqlDB's <c>CREATE TABLE ... AS SELECT ... FROM left_table JOIN right_table</c>) in the test driver:
/// the joined table gets an updated row whenever either side changes, tombstones delete rows, and each row carries the
/// later of its two sides' timestamps, as Kafka Streams' KTable-KTable joins do.
/// </summary>
public class TableTableJoinTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private const string JoinedStore = "joined-store";

    [Fact]
    public void An_inner_join_updates_the_row_when_either_side_changes_and_deletes_it_with_either_side()
    {
        using var join = new JoinDriver(registry, (builder, topics, serdes) => Tables(builder, topics, serdes, left: false));

        join.Left("k1", "a1", 1_000);
        Assert.Empty(join.Read()); // no right row yet

        join.Right("k1", "b1", 2_000);
        Assert.Equal([("k1", new Joined("a1", "b1"), 2_000L)], join.Read());

        join.Left("k1", "a2", 1_500); // an update older than the right side: the row keeps the later timestamp
        Assert.Equal([("k1", new Joined("a2", "b1"), 2_000L)], join.Read());

        join.Right("k1", "b2", 3_000);
        Assert.Equal([("k1", new Joined("a2", "b2"), 3_000L)], join.Read());

        join.Right("k2", "b3", 3_100);
        Assert.Empty(join.Read()); // no left row for k2

        join.Right("k1", null, 4_000); // the right row is deleted: so is the joined one
        Assert.Equal([("k1", (Joined?)null, 4_000L)], join.Read());
        Assert.Null(Row(join, "k1"));

        join.Left("k1", "a3", 5_000);
        Assert.Empty(join.Read()); // the right side is gone

        join.Right("k1", "b4", 6_000);
        join.Left("k1", null, 7_000); // now the left row goes
        Assert.Equal([("k1", new Joined("a3", "b4"), 6_000L), ("k1", (Joined?)null, 7_000L)], join.Read());
        Assert.Null(Row(join, "k1"));
    }

    [Fact]
    public void A_left_join_keeps_every_left_row_with_the_right_side_when_there_is_one()
    {
        using var join = new JoinDriver(registry, (builder, topics, serdes) => Tables(builder, topics, serdes, left: true));

        join.Left("k1", "a1", 1_000);
        Assert.Equal([("k1", new Joined("a1", null), 1_000L)], join.Read());

        join.Right("k1", "b1", 2_000);
        Assert.Equal([("k1", new Joined("a1", "b1"), 2_000L)], join.Read());

        join.Left("k1", "a2", 3_000);
        Assert.Equal([("k1", new Joined("a2", "b1"), 3_000L)], join.Read());
        Assert.Equal(new Joined("a2", "b1"), Row(join, "k1")); // the pull query of the joined table

        join.Right("k1", null, 4_000); // the right row goes: the left row stays, without it
        Assert.Equal([("k1", new Joined("a2", null), 4_000L)], join.Read());
        Assert.Equal(new Joined("a2", null), Row(join, "k1"));

        join.Right("k2", "b2", 5_000);
        join.Right("k2", null, 5_100);
        Assert.Empty(join.Read()); // right rows without a left row never show

        join.Left("k1", null, 6_000); // the left row goes: so does the joined row
        Assert.Equal([("k1", (Joined?)null, 6_000L)], join.Read());
        Assert.Null(Row(join, "k1"));
    }

    private static void Tables(Streamiz.Kafka.Net.StreamBuilder builder, JoinTopics topics, JoinSerDes serdes, bool left)
    {
        var leftTable = builder.Table(topics.Left, new StringSerDes(), serdes.Values, InMemory.As<string, Value>("left-store"));
        var rightTable = builder.Table(topics.Right, new StringSerDes(), serdes.Values, InMemory.As<string, Value>("right-store"));
        var joined = InMemory.As<string, Joined>(JoinedStore).WithKeySerdes(new StringSerDes()).WithValueSerdes(serdes.Rows);
        var table = left
            ? leftTable.LeftJoin(rightTable, (l, r) => new Joined(l.Text, r?.Text), joined)
            : leftTable.Join(rightTable, (l, r) => new Joined(l.Text, r.Text), joined);
        table.ToStream().To(topics.Output, new StringSerDes(), serdes.Rows);
    }

    private static Joined? Row(JoinDriver join, string key) => join.Driver.GetKeyValueStore<string, Joined>(JoinedStore).Get(key);
}

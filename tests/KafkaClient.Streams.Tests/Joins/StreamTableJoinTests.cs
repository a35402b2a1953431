using KafkaClient.Streams.Tests.Support;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Table;

namespace KafkaClient.Streams.Tests.Joins;

/// <summary>
/// Stream-table joins (ksqlDB's <c>SELECT ... FROM left_stream JOIN right_table</c>) in the test driver: each stream event
/// is enriched with the table's value for its key at the moment the event is processed; only the stream side emits.
/// </summary>
/// <remarks>
/// As in Kafka Streams with a non-versioned table (Streamiz has no versioned stores), the table value joined is the latest
/// one processed, whatever the timestamps: an event older than the table's last update still gets that update, and a
/// table update with an older timestamp still replaces the value. The output keeps the event's timestamp.
/// </remarks>
public class StreamTableJoinTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public void An_inner_join_enriches_each_event_with_the_latest_table_value_and_drops_events_without_one()
    {
        using var join = new JoinDriver(registry, (builder, topics, serdes) => StreamTable(builder, topics, serdes, left: false));

        join.Left("k1", "e1", 1_000);
        Assert.Empty(join.Read()); // no table row yet

        join.Right("k1", "x", 2_000);
        Assert.Empty(join.Read()); // the table side never emits

        join.Left("k1", "e2", 3_000);
        Assert.Equal([("k1", new Joined("e2", "x"), 3_000L)], join.Read());

        join.Right("k1", "y", 5_000);
        join.Left("k1", "e3", 4_000); // older than y, processed after it: joined with y
        Assert.Equal([("k1", new Joined("e3", "y"), 4_000L)], join.Read());

        join.Right("k1", "z", 1_500); // an older table update still replaces y
        join.Left("k1", "e4", 6_000);
        Assert.Equal([("k1", new Joined("e4", "z"), 6_000L)], join.Read());

        join.Right("k1", null, 7_000); // the row is deleted
        join.Left("k1", "e5", 8_000);
        join.Left("k2", "e6", 8_100);
        Assert.Empty(join.Read());
    }

    [Fact]
    public void A_left_join_emits_every_event_with_the_latest_table_value_or_none()
    {
        using var join = new JoinDriver(registry, (builder, topics, serdes) => StreamTable(builder, topics, serdes, left: true));

        join.Left("k1", "e1", 1_000);
        Assert.Equal([("k1", new Joined("e1", null), 1_000L)], join.Read());

        join.Right("k1", "x", 2_000);
        join.Left("k1", "e2", 3_000);
        join.Right("k1", "y", 5_000);
        join.Left("k1", "e3", 4_000);
        Assert.Equal([("k1", new Joined("e2", "x"), 3_000L), ("k1", new Joined("e3", "y"), 4_000L)], join.Read());

        join.Right("k1", null, 6_000);
        join.Left("k1", "e4", 7_000);
        Assert.Equal([("k1", new Joined("e4", null), 7_000L)], join.Read());
    }

    [Fact]
    public void Events_without_a_key_or_a_value_are_dropped_by_both_joins()
    {
        foreach (var left in new[] { false, true })
        {
            using var join = new JoinDriver(registry, (builder, topics, serdes) => StreamTable(builder, topics, serdes, left));
            join.Right("k1", "x", 1_000);

            join.Left(null, "no key", 2_000);
            join.Left("k1", null, 3_000);
            join.Left("k1", "e", 4_000);

            Assert.Equal([("k1", new Joined("e", "x"), 4_000L)], join.Read());
        }
    }

    [Fact]
    public void Poison_records_on_either_side_are_skipped_and_the_join_goes_on()
    {
        var skipped = new List<DeserializationException>();
        using var join = new JoinDriver(registry, (builder, topics, serdes) => StreamTable(builder, topics, serdes, left: false), PoisonRecordPolicy.Skip(skipped.Add));

        join.Right("k1", "x", 1_000);
        join.RightBytes("k1", [0, 0, 0, 0], 1_500); // a truncated frame on the table's topic: the row keeps x
        join.LeftBytes("k1", "{\"text\": \"unframed\"}"u8.ToArray(), 2_000); // JSON without Confluent's frame
        join.Left("k1", "e", 3_000);

        Assert.Equal([("k1", new Joined("e", "x"), 3_000L)], join.Read());
        Assert.False(join.Driver.IsError);
        Assert.Equal([(join.Topics.Right, 1L), (join.Topics.Left, 0L)], skipped.Select(p => (p.Topic!, p.Offset!.Value.Value)));
        Assert.All(skipped, p => Assert.IsType<ValueDeserializationException>(p));
    }

    private static void StreamTable(Streamiz.Kafka.Net.StreamBuilder builder, JoinTopics topics, JoinSerDes serdes, bool left)
    {
        var table = builder.Table(topics.Right, new StringSerDes(), serdes.Values, InMemory.As<string, Value>("right-store"));
        var stream = builder.Stream(topics.Left, new StringSerDes(), serdes.Values);
        var joined = left
            ? stream.LeftJoin(table, (e, r) => new Joined(e.Text, r?.Text))
            : stream.Join(table, (e, r) => new Joined(e.Text, r.Text));
        joined.To(topics.Output, new StringSerDes(), serdes.Rows);
    }
}

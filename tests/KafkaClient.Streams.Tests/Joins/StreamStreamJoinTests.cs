using KafkaClient.Streams.Tests.Support;
using Streamiz.Kafka.Net.SerDes;
using Streamiz.Kafka.Net.Stream;

namespace KafkaClient.Streams.Tests.Joins;

/// <summary>
/// Stream-stream joins in a one-minute window (ksqlDB's <c>... JOIN right_stream WITHIN 1 MINUTE</c>, Kafka Streams'
/// <c>JoinWindows.of(Duration.ofMinutes(1))</c>) in the test driver: two events of one key match when their timestamps are at
/// most 60 s apart, in either order (the bound is inclusive: 60 000 ms apart match, 60 001 ms do not), whatever order
/// they arrive in; the joined record has the later timestamp.
/// </summary>
public class StreamStreamJoinTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    [Fact]
    public void Events_exactly_sixty_seconds_apart_match_and_one_millisecond_more_do_not()
    {
        using var join = new JoinDriver(registry, (builder, topics, serdes) => Streams(builder, topics, serdes, left: false));

        join.Left("k1", "a", 0);
        join.Right("k1", "x", 60_000); // exactly 60 s after a
        Assert.Equal([("k1", new Joined("a", "x"), 60_000L)], join.Read());

        join.Right("k1", "y", 60_001); // 60.001 s after a
        Assert.Empty(join.Read());

        join.Left("k1", "b", 120_001); // 60.001 s after x, exactly 60 s after y
        Assert.Equal([("k1", new Joined("b", "y"), 120_001L)], join.Read());
    }

    [Fact]
    public void The_window_holds_both_ways_and_for_late_arrivals()
    {
        using var join = new JoinDriver(registry, (builder, topics, serdes) => Streams(builder, topics, serdes, left: false));

        join.Right("k2", "r", 0);
        join.Left("k2", "l", 60_000); // the left event 60 s after the right one
        join.Left("k2", "m", 60_001);
        Assert.Equal([("k2", new Joined("l", "r"), 60_000L)], join.Read());

        join.Left("k3", "p", 100_000);
        join.Right("k3", "q", 40_000); // arrives after p, 60 s earlier in event time
        join.Right("k3", "s", 39_999);
        Assert.Equal([("k3", new Joined("p", "q"), 100_000L)], join.Read());

        join.Left("k4", "u", 500_000);
        join.Right("k5", "v", 500_000); // another key never matches
        Assert.Empty(join.Read());
    }

    [Fact]
    public void Every_pair_within_the_window_is_joined()
    {
        using var join = new JoinDriver(registry, (builder, topics, serdes) => Streams(builder, topics, serdes, left: false));

        join.Left("k", "a1", 10_000);
        join.Left("k", "a2", 20_000);
        join.Right("k", "x", 70_000); // 60 s after a1, 50 s after a2

        Assert.Equal([("k", new Joined("a1", "x"), 70_000L), ("k", new Joined("a2", "x"), 70_000L)], join.Read().OrderBy(r => r.Row!.Left).ToList());
    }

    [Fact]
    public void A_left_join_emits_each_left_event_at_once_and_again_for_each_match()
    {
        // Streamiz emits a left event without partner as soon as it arrives (as Kafka Streams did before 3.1); Kafka
        // Streams 3.1+ holds it until the window closes and emits it only if no partner came.
        using var join = new JoinDriver(registry, (builder, topics, serdes) => Streams(builder, topics, serdes, left: true));

        join.Left("k1", "a", 0);
        Assert.Equal([("k1", new Joined("a", null), 0L)], join.Read());

        join.Right("k1", "x", 60_000);
        join.Right("k1", "y", 60_001);
        Assert.Equal([("k1", new Joined("a", "x"), 60_000L)], join.Read());

        join.Right("k2", "z", 70_000); // a right event without partner never shows in a left join
        Assert.Empty(join.Read());
    }

    private static void Streams(Streamiz.Kafka.Net.StreamBuilder builder, JoinTopics topics, JoinSerDes serdes, bool left)
    {
        var right = builder.Stream(topics.Right, new StringSerDes(), serdes.Values);
        var stream = builder.Stream(topics.Left, new StringSerDes(), serdes.Values);
        var props = StreamJoinProps.With(new StringSerDes(), serdes.Values, serdes.Values);
        var joined = left
            ? stream.LeftJoin(right, (l, r) => new Joined(l.Text, r?.Text), JoinWindowOptions.Of(Window), props)
            : stream.Join(right, (l, r) => new Joined(l.Text, r.Text), JoinWindowOptions.Of(Window), props);
        joined.To(topics.Output, new StringSerDes(), serdes.Rows);
    }
}

using System.Text;
using Confluent.Kafka;
using KafkaClient.Testing;

namespace KafkaClient.IntegrationTests.Consumer;

/// <summary>Dead letters: pipelined, one copy each, offsets stored in order, and no poison record that can stall a consumer.</summary>
[Collection(KafkaCollection.Name)]
public class DeadLetterTests(KafkaFixture kafka)
{
    [Fact]
    public async Task A_poison_flood_is_forwarded_in_order_and_every_good_record_comes_through()
    {
        const int Pairs = 1000;
        var topic = await PoisonTopics.WriteAsync(kafka, "flood", Enumerable.Range(0, Pairs).SelectMany(i => new int?[] { null, i }));
        var deadLetters = topic + ".dlq";
        await kafka.CreateTopicAsync(deadLetters, 1);
        var group = KafkaFixture.Unique("flood");
        await using (var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group))
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters))
            .Build())
        {
            consumer.Subscribe(topic);
            var values = new List<int>();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await foreach (var record in consumer.ConsumeAsync(limit.Token))
            {
                values.Add(record.Message.Value);
                if (values.Count == Pairs)
                {
                    break;
                }
            }

            Assert.Equal(Enumerable.Range(0, Pairs), values);
        }

        var parked = PoisonTopics.ReadRaw(kafka, deadLetters, Pairs);
        Assert.Equal(Enumerable.Range(0, Pairs).Select(i => 2L * i), parked.Select(r => long.Parse(Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes(DeadLetterPolicy.HeaderSourceOffset)), System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(2 * Pairs, PoisonTopics.Committed(kafka, group, topic));
    }

    [Fact]
    public async Task A_record_too_large_for_the_dead_letter_topic_is_forwarded_truncated_and_the_next_record_comes()
    {
        var topic = KafkaFixture.Unique("oversized");
        await kafka.CreateTopicAsync(topic, 1);
        var deadLetters = topic + ".dlq";
        await kafka.CreateTopicAsync(deadLetters, 1);
        var huge = new byte[999_900];
        Random.Shared.NextBytes(huge);
        await using (var producer = new SerializingProducerBuilder<string, byte[]>(kafka.Producer()).Build())
        {
            await producer.ProduceAsync(topic, "huge", huge);
            await producer.ProduceAsync(topic, "next", Serdes.Int32.Serialize(42, default));
        }

        var group = KafkaFixture.Unique("oversized");
        await using (var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group))
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters))
            .Build())
        {
            consumer.Subscribe(topic);
            var next = await consumer.PollAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(42, next!.Message.Value);
        }

        var parked = Assert.Single(PoisonTopics.ReadRaw(kafka, deadLetters, 1));
        string Header(string name) => Encoding.UTF8.GetString(parked.Message.Headers.GetLastBytes(name));
        Assert.Null(parked.Message.Value);
        Assert.Equal("true", Header(DeadLetterPolicy.HeaderTruncated));
        Assert.Equal("999900", Header(DeadLetterPolicy.HeaderOriginalValueSize));
        Assert.Contains("MsgSizeTooLarge", Header(DeadLetterPolicy.HeaderForwardError), StringComparison.Ordinal);
        Assert.Equal("0", Header(DeadLetterPolicy.HeaderSourceOffset));
        Assert.Equal(2, PoisonTopics.Committed(kafka, group, topic));
    }

    [Fact]
    public async Task Without_truncation_an_oversized_record_goes_to_the_undeliverable_handler_and_the_consumer_moves_on()
    {
        var topic = KafkaFixture.Unique("oversized-skip");
        await kafka.CreateTopicAsync(topic, 1);
        var huge = new byte[999_900];
        await using (var producer = new SerializingProducerBuilder<string, byte[]>(kafka.Producer()).Build())
        {
            await producer.ProduceAsync(topic, "huge", huge);
            await producer.ProduceAsync(topic, "next", Serdes.Int32.Serialize(7, default));
        }

        var undeliverable = new List<DeadLetterException>();
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("oversized-skip")))
            .SetDeadLetterPolicy(new DeadLetterPolicy(topic + ".dlq") { TruncateOversized = false, OnUndeliverable = undeliverable.Add })
            .Build();
        consumer.Subscribe(topic);
        Assert.Equal(7, (await consumer.PollAsync(TimeSpan.FromSeconds(60)))!.Message.Value);
        Assert.Null(await consumer.PollAsync(TimeSpan.FromSeconds(1)));

        var refused = Assert.Single(undeliverable);
        Assert.Equal(ErrorCode.MsgSizeTooLarge, refused.Error.Code);
        Assert.Equal(huge.Length, Assert.IsType<ValueDeserializationException>(refused.InnerException).RawValue!.Length);
    }

    [Fact]
    public async Task A_dead_letter_topic_whose_leader_is_down_gets_exactly_one_copy_once_it_is_back()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 2);
        var topic = await PoisonTopics.WriteAsync(kafka, "dlq-leader", [1, null, 3], cluster, t => cluster.SetPartitionLeader(t, 0, 1));
        var deadLetters = topic + ".dlq";
        cluster.CreateTopic(deadLetters);
        cluster.SetPartitionLeader(deadLetters, 0, 2);
        var group = KafkaFixture.Unique("dlq-leader");
        cluster.SetGroupCoordinator(group, 1);
        var errors = new List<Error>();

        var config = kafka.Consumer(group).On(cluster);
        config.EnableAutoCommit = false;
        await using (var consumer = new DeserializingConsumerBuilder<string, int>(config)
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters) { DeliveryTimeout = TimeSpan.FromSeconds(2), RetryBackoff = TimeSpan.FromMilliseconds(200) })
            .SetErrorHandler(e => { lock (errors) { errors.Add(e); } })
            .Build())
        {
            consumer.Subscribe(topic);
            Assert.Equal(1, (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value);
            cluster.SetBrokerDown(2);
            Assert.Equal(3, (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value); // the dead letter is on its way meanwhile
            await Task.Delay(TimeSpan.FromSeconds(8));
            Assert.Equal(1, Assert.Single(await consumer.CommitAsync()).Offset.Value); // offset 2 is held behind the dead letter at 1
            cluster.SetBrokerUp(2);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (consumer.DeadLetteredRecords == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.Equal(1, consumer.DeadLetteredRecords);
            Assert.Equal(3, Assert.Single(await consumer.CommitAsync()).Offset.Value);
        }

        lock (errors)
        {
            Assert.Contains(errors, e => e.Reason.Contains("retrying", StringComparison.Ordinal));
        }

        Assert.Single(PoisonTopics.ReadRaw(kafka, deadLetters, 2, cluster, TimeSpan.FromSeconds(10)));
        Assert.Equal(3, PoisonTopics.Committed(kafka, group, topic, cluster));
    }

    [Fact]
    public async Task Cancellation_is_honoured_while_waiting_for_room_among_dead_letters_on_their_way()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 2);
        var topic = await PoisonTopics.WriteAsync(kafka, "dlq-cancel", [null, null, 3], cluster, t => cluster.SetPartitionLeader(t, 0, 1));
        var deadLetters = topic + ".dlq";
        cluster.CreateTopic(deadLetters);
        cluster.SetPartitionLeader(deadLetters, 0, 2);
        var group = KafkaFixture.Unique("dlq-cancel");
        cluster.SetGroupCoordinator(group, 1);
        cluster.SetBrokerDown(2);

        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group).On(cluster))
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters) { MaxInFlight = 1, DeliveryTimeout = TimeSpan.FromSeconds(5) })
            .Build();
        consumer.Subscribe(topic);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await consumer.PollAsync(Timeout.InfiniteTimeSpan, cancel.Token));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "cancellation was not honoured in bounded time");

        cluster.SetBrokerUp(2);
        Assert.Equal(3, (await consumer.PollAsync(TimeSpan.FromSeconds(60)))!.Message.Value);
    }

    [Fact]
    public async Task Skip_policy_keeps_one_await_foreach_running_past_poison_and_counts_what_it_skipped()
    {
        var topic = await PoisonTopics.WriteAsync(kafka, "skip", [1, null, 3, null, 5]);
        var group = KafkaFixture.Unique("skip");
        var skipped = new List<DeserializationException>();
        await using (var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group))
            .SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(skipped.Add))
            .Build())
        {
            consumer.Subscribe(topic);
            var values = new List<int>();
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await foreach (var record in consumer.ConsumeAsync(limit.Token))
            {
                values.Add(record.Message.Value);
                if (values.Count == 3)
                {
                    break;
                }
            }

            Assert.Equal([1, 3, 5], values);
            Assert.Equal(2, consumer.SkippedRecords);
        }

        Assert.Equal([1L, 3L], skipped.Select(s => s.Offset!.Value.Value));
        Assert.All(skipped, s => Assert.Equal(PoisonTopics.Poison, s.RawValue));
        Assert.Equal(5, PoisonTopics.Committed(kafka, group, topic));
    }

    [Fact]
    public async Task Seek_drops_records_fetched_ahead_and_position_counts_only_what_was_returned()
    {
        var topic = await PoisonTopics.WriteAsync(kafka, "seek", Enumerable.Range(0, 20).Select(i => (int?)i));
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("seek"))).Build();
        consumer.Assign([new TopicPartitionOffset(topic, 0, Offset.Beginning)]);
        Assert.Equal([0, 1, 2], Records.PollMany(consumer, 3).Select(r => r.Message.Value));
        await Task.Delay(500); // let the poll thread fetch ahead
        Assert.Equal(3, consumer.Position(new TopicPartition(topic, 0)).Value);

        consumer.Seek(new TopicPartitionOffset(topic, 0, 1));
        Assert.Equal([1, 2, 3], Records.PollMany(consumer, 3).Select(r => r.Message.Value));
        consumer.Seek(new TopicPartitionOffset(topic, 0, 15));
        Assert.Equal([15, 16], Records.PollMany(consumer, 2).Select(r => r.Message.Value));
        Assert.Equal(17, consumer.Position(new TopicPartition(topic, 0)).Value);
    }

    [Fact]
    public async Task Commit_with_nothing_stored_returns_nothing_and_raises_nothing()
    {
        var topic = await PoisonTopics.WriteAsync(kafka, "empty-commit", [1]);
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("empty-commit"))).Build();
        consumer.Subscribe(topic);
        Assert.Equal(1, Records.PollMany(consumer, 1).Single().Message.Value);
        Assert.Single(consumer.Commit());
        Assert.Empty(consumer.Commit());
        Assert.Empty(await consumer.CommitAsync());
    }
}

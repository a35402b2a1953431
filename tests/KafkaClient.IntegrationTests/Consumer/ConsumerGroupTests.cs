using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Consumer;

[Collection(KafkaCollection.Name)]
public class ConsumerGroupTests(KafkaFixture kafka)
{
    private async Task<string> TopicWithAsync(string prefix, int partitions, int messages)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, partitions);
        await using var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).Build();
        for (var i = 0; i < messages; i++)
        {
            producer.Produce(topic, $"k{i}", i);
        }

        Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
        return topic;
    }

    [Fact]
    public async Task When_one_of_two_members_leaves_the_other_takes_all_partitions_and_nothing_is_lost_or_read_twice()
    {
        const int Messages = 600;
        var topic = await TopicWithAsync("group", partitions: 6, Messages);
        var group = KafkaFixture.Unique("group");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;
        var assignedToB = new List<TopicPartition>();

        var a = new DeserializingConsumerBuilder<string, int>(config).Build();
        using var b = new DeserializingConsumerBuilder<string, int>(config)
            .SetPartitionsAssignedHandler(partitions => assignedToB.AddRange(partitions))
            .SetPartitionsRevokedHandler(partitions => assignedToB.RemoveAll(p => partitions.Any(r => r.TopicPartition == p)))
            .Build();
        a.Subscribe(topic);
        b.Subscribe(topic);

        var seen = new HashSet<int>();
        var committed = new Dictionary<TopicPartition, long>();
        var mayRepeat = new HashSet<int>();
        var readByA = 0;

        // Reads one record, checks it is not below its partition's committed offset, commits past it.
        bool ReadOne(DeserializingConsumer<string, int> consumer)
        {
            if (consumer.Poll(TimeSpan.FromMilliseconds(50)) is not { } record)
            {
                return false;
            }

            Assert.True(
                record.Offset.Value >= committed.GetValueOrDefault(record.TopicPartition, 0),
                $"{record.TopicPartitionOffset} was read again although its offset was committed");
            seen.Add(record.Message.Value);
            try
            {
                consumer.Commit(record);
                committed[record.TopicPartition] = record.Offset.Value + 1;
            }
            catch (KafkaOperationException ex) when (ex.IsRetriable || ex.Error.Code == ErrorCode.IllegalGeneration)
            {
                // A commit refused mid-rebalance: this record may legitimately be read again.
                mayRepeat.Add(record.Message.Value);
            }

            return true;
        }

        var deadline = DateTime.UtcNow.AddSeconds(120);
        while ((a.Assignment.Count == 0 || b.Assignment.Count == 0 || seen.Count < Messages / 2) && DateTime.UtcNow < deadline)
        {
            if (ReadOne(a))
            {
                readByA++;
            }

            ReadOne(b);
        }

        Assert.Equal(6, a.Assignment.Count + b.Assignment.Count);
        Assert.True(readByA > 0, "member A read some records before leaving");

        a.Close();
        a.Dispose();

        while (seen.Count < Messages && DateTime.UtcNow < deadline)
        {
            ReadOne(b);
        }

        // Only a record whose commit a rebalance refused may come again (on a loaded machine that can be after all were
        // seen); anything else read now was lost to a commit or read twice.
        while (b.Poll(TimeSpan.FromSeconds(1)) is { } again)
        {
            Assert.True(mayRepeat.Contains(again.Message.Value), $"{again.TopicPartitionOffset} was read again although its commit succeeded");
            Assert.True(again.Offset.Value >= committed.GetValueOrDefault(again.TopicPartition, 0), $"{again.TopicPartitionOffset} was read below its committed offset");
        }

        Assert.Equal(6, b.Assignment.Count);
        Assert.Equal(6, assignedToB.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, Messages), seen.Order());
    }

    [Fact]
    public async Task Commit_close_and_restart_resume_at_the_committed_offset()
    {
        var topic = await TopicWithAsync("resume", partitions: 1, messages: 10);
        var group = KafkaFixture.Unique("resume");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;

        using (var first = new DeserializingConsumerBuilder<string, int>(config).Build())
        {
            first.Subscribe(topic);
            var records = Records.PollMany(first, 4);
            Assert.Equal([0, 1, 2, 3], records.Select(r => r.Message.Value));
            first.Commit(records[^1]); // next to read: offset 4
            Assert.Equal(4, first.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10))[0].Offset.Value);
            Assert.Equal(4, first.Position(new TopicPartition(topic, 0)).Value);
            first.Close();
        }

        using var second = new DeserializingConsumerBuilder<string, int>(config).Build();
        second.Subscribe(topic);
        var rest = Records.PollMany(second, 6);
        Assert.Equal([4, 5, 6, 7, 8, 9], rest.Select(r => r.Message.Value));
    }

    [Fact]
    public async Task Auto_commit_commits_what_was_returned_on_close()
    {
        var topic = await TopicWithAsync("autocommit", partitions: 1, messages: 10);
        var group = KafkaFixture.Unique("autocommit");

        using (var first = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build())
        {
            first.Subscribe(topic);
            Assert.Equal(3, Records.PollMany(first, 3).Count);
            first.Close();
        }

        using var second = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        second.Subscribe(topic);
        Assert.Equal(3, Records.PollMany(second, 1)[0].Message.Value);
    }

    [Fact]
    public async Task Async_commit_and_the_async_stream_work_without_blocking()
    {
        var topic = await TopicWithAsync("async", partitions: 2, messages: 20);
        var group = KafkaFixture.Unique("async");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;

        await using (var consumer = new DeserializingConsumerBuilder<string, int>(config).Build())
        {
            consumer.Subscribe(topic);
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var values = new List<int>();
            await foreach (var record in consumer.ConsumeAsync(limit.Token))
            {
                values.Add(record.Message.Value);
                if (values.Count == 20)
                {
                    break;
                }
            }

            Assert.Equal(Enumerable.Range(0, 20), values.Order());
            var committed = await consumer.CommitAsync();
            Assert.Equal(20, committed.Sum(c => c.Offset.Value));

            // Explicit offsets, asynchronously: rewind partition 0 to 1, then put it back.
            await consumer.CommitAsync([new TopicPartitionOffset(topic, 0, 1)]);
            Assert.Equal(1, consumer.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10))[0].Offset.Value);
            await consumer.CommitAsync(committed.Where(c => c.Partition.Value == 0));

            var times = consumer.OffsetsForTimes([new TopicPartitionTimestamp(topic, 0, new Timestamp(DateTime.UtcNow.AddHours(-1)))], TimeSpan.FromSeconds(10));
            Assert.Equal(new TopicPartition(topic, 0), Assert.Single(times).TopicPartition);
        }

        await using var again = new DeserializingConsumerBuilder<string, int>(config).Build();
        again.Subscribe(topic);
        Assert.Null(await again.PollAsync(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task Stream_ends_quietly_when_cancelled()
    {
        var topic = await TopicWithAsync("cancel", partitions: 1, messages: 0);
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("cancel"))).Build();
        consumer.Subscribe(topic);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        var count = 0;
        await foreach (var _ in consumer.ConsumeAsync(cancel.Token))
        {
            count++;
        }

        Assert.Equal(0, count);
        Assert.True(cancel.IsCancellationRequested);
    }

    [Fact]
    public async Task Earliest_reads_history_and_latest_only_new_records()
    {
        var topic = await TopicWithAsync("reset", partitions: 1, messages: 5);

        using var earliest = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("earliest"))).Build();
        earliest.Subscribe(topic);
        Assert.Equal([0, 1, 2, 3, 4], Records.PollMany(earliest, 5).Select(r => r.Message.Value));

        var latestConfig = kafka.Consumer(KafkaFixture.Unique("latest"));
        latestConfig.AutoOffsetReset = AutoOffsetReset.Latest;
        var assigned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var latest = new DeserializingConsumerBuilder<string, int>(latestConfig)
            .SetPartitionsAssignedHandler(_ => assigned.TrySetResult())
            .Build();
        latest.Subscribe(topic);
        while (!assigned.Task.IsCompleted)
        {
            Assert.Null(latest.Poll(TimeSpan.FromMilliseconds(100)));
        }

        // The position is resolved on the first fetch after assignment: poll once more before producing.
        Assert.Null(latest.Poll(TimeSpan.FromSeconds(1)));
        await using (var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).Build())
        {
            await producer.ProduceAsync(topic, "new", 100);
        }

        var fresh = Records.PollMany(latest, 1);
        Assert.Equal(100, fresh.Single().Message.Value);
    }

    [Fact]
    public async Task Seek_back_replays()
    {
        var topic = await TopicWithAsync("seek", partitions: 1, messages: 6);
        using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("seek"))).Build();
        consumer.Assign([new TopicPartitionOffset(topic, 0, Offset.Beginning)]);

        Assert.Equal([0, 1, 2, 3, 4, 5], Records.PollMany(consumer, 6).Select(r => r.Message.Value));

        consumer.Seek(new TopicPartitionOffset(topic, 0, 2));
        Assert.Equal([2, 3, 4, 5], Records.PollMany(consumer, 4).Select(r => r.Message.Value));

        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10));
        Assert.Equal(6, watermarks.High.Value);
    }
}

using System.Collections.Concurrent;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Consumer;

/// <summary>The consumer pipeline attacked as a demanding user would: closing under a waiting reader, rebalances with records fetched ahead, pause, seek and commit from odd places.</summary>
[Collection(KafkaCollection.Name)]
public class AttackTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private async Task<string> TopicWithAsync(string prefix, int partitions, int messages, int first = 0)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, partitions);
        await ProduceAsync(topic, first, messages);
        return topic;
    }

    private async Task ProduceAsync(string topic, int first, int count)
    {
        await using var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).Build();
        for (var i = first; i < first + count; i++)
        {
            producer.Produce(topic, $"k{i}", i);
        }

        Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Closing_while_the_stream_waits_for_records_ends_it_quietly(bool async)
    {
        var topic = await TopicWithAsync("close-stream", partitions: 1, messages: 3);
        var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("close-stream"))).Build();
        consumer.Subscribe(topic);
        var read = new List<int>();
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reader = Task.Run(async () =>
        {
            await foreach (var record in consumer.ConsumeAsync())
            {
                read.Add(record.Message.Value);
                if (read.Count == 3)
                {
                    drained.TrySetResult();
                }
            }
        });

        await drained.Task.WaitAsync(Guard);
        await Task.Delay(300); // the reader now waits in the buffer for a record that never comes
        if (async)
        {
            await consumer.DisposeAsync().AsTask().WaitAsync(Guard);
        }
        else
        {
            await Task.Run(consumer.Dispose).WaitAsync(Guard);
        }

        await reader.WaitAsync(Guard); // no exception: the stream just ends
        Assert.Equal([0, 1, 2], read);
    }

    [Fact]
    public async Task Closing_while_a_blocking_poll_waits_throws_ObjectDisposedException_only()
    {
        var topic = await TopicWithAsync("close-poll", partitions: 1, messages: 0);
        var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("close-poll"))).Build();
        consumer.Subscribe(topic);
        var poller = Task.Factory.StartNew(() => consumer.Poll(Timeout.InfiniteTimeSpan), TaskCreationOptions.LongRunning);
        await Task.Delay(500);
        consumer.Close();
        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => poller.WaitAsync(Guard));
        Assert.IsType<ObjectDisposedException>(thrown);
        consumer.Dispose();
    }

    [Fact]
    public async Task Closing_while_the_reader_waits_for_a_dead_letter_slot_ends_the_reader_in_bounded_time()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 2);
        var topic = await PoisonTopics.WriteAsync(kafka, "dlq-close", [null, null, null, 4], cluster, t => cluster.SetPartitionLeader(t, 0, 1));
        var deadLetters = topic + ".dlq";
        cluster.CreateTopic(deadLetters);
        cluster.SetPartitionLeader(deadLetters, 0, 2);
        var group = KafkaFixture.Unique("dlq-close");
        cluster.SetGroupCoordinator(group, 1);
        cluster.SetBrokerDown(2); // the dead-letter topic cannot take anything

        var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group).On(cluster))
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters) { MaxInFlight = 1, DeliveryTimeout = TimeSpan.FromSeconds(2), RetryBackoff = TimeSpan.FromMilliseconds(200) })
            .Build();
        consumer.Subscribe(topic);
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in consumer.ConsumeAsync())
            {
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(5)); // one forward on its way (failing, retried), the reader waiting for a slot
        Assert.False(reader.IsCompleted);
        var started = DateTime.UtcNow;
        await consumer.DisposeAsync().AsTask().WaitAsync(Guard);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), $"DisposeAsync took {DateTime.UtcNow - started}");

        // The reader must end (quietly, or with ObjectDisposedException), not wait forever for a slot.
        try
        {
            await reader.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (ObjectDisposedException)
        {
        }
    }

    [Fact]
    public async Task Commit_in_the_revoked_handler_during_Close_commits_what_was_read()
    {
        var topic = await TopicWithAsync("revoke-commit", partitions: 1, messages: 10);
        var group = KafkaFixture.Unique("revoke-commit");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;
        Exception? inHandler = null;
        DeserializingConsumer<string, int>? consumer = null;
        consumer = new DeserializingConsumerBuilder<string, int>(config)
            .SetPartitionsRevokedHandler(_ =>
            {
                try
                {
                    consumer!.Commit();
                }
                catch (Exception ex)
                {
                    inHandler = ex;
                    throw;
                }
            })
            .Build();
        consumer.Subscribe(topic);
        Assert.Equal([0, 1, 2, 3], Records.PollMany(consumer, 4).Select(r => r.Message.Value));

        var close = Task.Run(consumer.Close);
        await close.WaitAsync(Guard);
        consumer.Dispose();
        Assert.Null(inHandler);
        Assert.Equal(4, PoisonTopics.Committed(kafka, group, topic));
    }

    [Fact]
    public async Task Commit_in_the_revoked_handler_during_a_rebalance_runs_inline_and_commits()
    {
        var topic = await TopicWithAsync("rebalance-commit", partitions: 2, messages: 20);
        var group = KafkaFixture.Unique("rebalance-commit");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;
        var commits = 0;
        DeserializingConsumer<string, int>? a = null;
        a = new DeserializingConsumerBuilder<string, int>(config)
            .SetPartitionsRevokedHandler(_ =>
            {
                try
                {
                    a!.Commit();
                    a.Commit(); // again, and nothing stored: no error
                }
                catch (KafkaOperationException ex) when (ex.Error.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration)
                {
                    // The embedded cluster refuses commits once the rebalance started; a broker would take them.
                }

                Interlocked.Increment(ref commits);
            })
            .Build();
        a.Subscribe(topic);
        var first = Records.PollMany(a, 20);
        Assert.Equal(20, first.Count);

        using var b = new DeserializingConsumerBuilder<string, int>(config).Build();
        b.Subscribe(topic);
        var deadline = DateTime.UtcNow + Guard;
        while ((b.Assignment.Count == 0 || a.Assignment.Count != 1) && DateTime.UtcNow < deadline)
        {
            a.Poll(TimeSpan.FromMilliseconds(50));
            b.Poll(TimeSpan.FromMilliseconds(50)); // may read again what the refused commit did not cover
        }

        Assert.True(Volatile.Read(ref commits) >= 1, "the revoked handler ran");
        Assert.Single(b.Assignment);
        a.Dispose();
    }

    [Fact]
    public async Task A_rebalance_handler_that_throws_surfaces_from_poll_instead_of_killing_the_process()
    {
        var topic = await TopicWithAsync("handler-throws", partitions: 1, messages: 5);
        var thrown = 0;
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("handler-throws")))
            .SetPartitionsAssignedHandler(_ =>
            {
                Interlocked.Increment(ref thrown);
                throw new InvalidOperationException("the application's handler failed");
            })
            .Build();
        consumer.Subscribe(topic);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            var deadline = DateTime.UtcNow + Guard;
            while (DateTime.UtcNow < deadline)
            {
                await consumer.PollAsync(TimeSpan.FromMilliseconds(200));
            }
        });
        Assert.Equal("the application's handler failed", failure.Message);
        Assert.Equal(1, thrown);

        // The consumer goes on: the assignment was applied and no record was dropped.
        var values = new List<int>();
        var until = DateTime.UtcNow + Guard;
        while (values.Count < 5 && DateTime.UtcNow < until)
        {
            if (await consumer.PollAsync(TimeSpan.FromMilliseconds(200)) is { } record)
            {
                values.Add(record.Message.Value);
            }
        }

        Assert.Equal([0, 1, 2, 3, 4], values);
    }

    [Fact]
    public async Task Close_called_from_a_rebalance_handler_ends_in_bounded_time()
    {
        var topic = await TopicWithAsync("close-in-handler", partitions: 1, messages: 3);
        DeserializingConsumer<string, int>? consumer = null;
        var handlerDone = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("close-in-handler")))
            .SetPartitionsAssignedHandler(_ =>
            {
                try
                {
                    consumer!.Close();
                    handlerDone.TrySetResult(null);
                }
                catch (Exception ex)
                {
                    handlerDone.TrySetResult(ex);
                    throw;
                }
            })
            .Build();
        consumer.Subscribe(topic);
        var poller = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await consumer.PollAsync(TimeSpan.FromMilliseconds(100));
                }
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
            {
            }
        });

        // Closing from the poll thread cannot wait for the poll thread: it must fail fast (or close), never hang.
        var outcome = await handlerDone.Task.WaitAsync(Guard);
        Assert.IsType<InvalidOperationException>(outcome);
        await consumer.DisposeAsync().AsTask().WaitAsync(Guard);
        await poller.WaitAsync(Guard);
    }

    [Fact]
    public async Task Closing_while_the_stream_backs_off_a_transient_failure_ends_it_promptly()
    {
        var topic = await TopicWithAsync("close-backoff", partitions: 1, messages: 1);
        var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("close-backoff")))
            .SetValueDeserializer(new AlwaysUnreachable())
            .SetTransientErrorHandler(_ => { })
            .SetRetryBackoff(TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(40))
            .Build();
        consumer.Subscribe(topic);
        var attempted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        AlwaysUnreachable.Attempted = attempted;
        var reader = Task.Run(async () =>
        {
            await foreach (var _ in consumer.ConsumeAsync())
            {
            }
        });
        await attempted.Task.WaitAsync(Guard);
        await Task.Delay(200); // the stream now waits out a 40 s backoff

        await consumer.DisposeAsync().AsTask().WaitAsync(Guard);
        await reader.WaitAsync(TimeSpan.FromSeconds(10)); // not 40 s later
    }

    private sealed class AlwaysUnreachable : IDeserializer<int>
    {
        public static TaskCompletionSource? Attempted { get; set; }

        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            Attempted?.TrySetResult();
            throw new HttpRequestException("registry unreachable");
        }
    }

    [Fact]
    public async Task Position_right_after_a_seek_is_the_seek_offset_even_with_records_fetched_ahead()
    {
        var topic = await TopicWithAsync("seek-position", partitions: 1, messages: 50);
        var tp = new TopicPartition(topic, 0);
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("seek-position"))).Build();
        consumer.Assign([new TopicPartitionOffset(tp, Offset.Beginning)]);
        Assert.Equal([0, 1], Records.PollMany(consumer, 2).Select(r => r.Message.Value));
        await Task.Delay(500); // all 50 fetched ahead
        Assert.Equal(2, consumer.Position(tp).Value);

        consumer.Seek(new TopicPartitionOffset(tp, 30));
        Assert.Equal(30, consumer.Position(tp).Value);
        Assert.Equal(30, Records.PollMany(consumer, 1).Single().Message.Value);
        Assert.Equal(31, consumer.Position(tp).Value);

        consumer.Seek(new TopicPartitionOffset(tp, 5));
        Assert.Equal(5, consumer.Position(tp).Value);
        await Task.Delay(500);
        Assert.Equal(5, consumer.Position(tp).Value);
        Assert.Equal(Enumerable.Range(5, 45), Records.PollMany(consumer, 45).Select(r => r.Message.Value));
        Assert.Null(consumer.Poll(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Unassign_then_assign_again_resumes_at_the_committed_offset_without_stale_records()
    {
        var topic = await TopicWithAsync("reassign", partitions: 2, messages: 100);
        var group = KafkaFixture.Unique("reassign");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;
        var partitions = new[] { new TopicPartition(topic, 0), new TopicPartition(topic, 1) };
        await using var consumer = new DeserializingConsumerBuilder<string, int>(config).SetFetchBufferSize(16).Build();
        consumer.Assign(partitions);
        var first = Records.PollMany(consumer, 10);
        Assert.Equal(10, first.Count);
        consumer.Commit();
        await Task.Delay(300); // the buffer fills up again
        consumer.Unassign();
        await Task.Delay(300);
        consumer.Assign(partitions);

        var rest = Records.PollMany(consumer, 90);
        Assert.Null(consumer.Poll(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(Enumerable.Range(0, 100), first.Concat(rest).Select(r => r.Message.Value).Order());
        Assert.Equal(100, first.Concat(rest).Select(r => r.TopicPartitionOffset).Distinct().Count());
    }

    [Fact]
    public async Task Pause_and_resume_with_a_full_buffer_lose_and_repeat_nothing()
    {
        const int Messages = 2000;
        var topic = await TopicWithAsync("pause", partitions: 2, messages: Messages);
        var partitions = new[] { new TopicPartition(topic, 0), new TopicPartition(topic, 1) };
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("pause"))).SetFetchBufferSize(64).Build();
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(p, Offset.Beginning)));
        var read = new List<ConsumeResult<string, int>>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        var round = 0;
        while (read.Count < Messages && DateTime.UtcNow < deadline)
        {
            read.AddRange(Records.PollMany(consumer, 50, TimeSpan.FromSeconds(5)));
            var paused = round++ % 2 == 0 ? partitions[..1] : partitions;
            consumer.Pause(paused);
            await Task.Delay(50);
            read.AddRange(Records.PollMany(consumer, 20, TimeSpan.FromMilliseconds(300)));
            consumer.Resume(paused);
        }

        read.AddRange(Records.PollMany(consumer, Messages - read.Count, TimeSpan.FromSeconds(30)));
        Assert.Null(consumer.Poll(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(read.Count, read.Select(r => r.TopicPartitionOffset).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, Messages), read.Select(r => r.Message.Value).Order());
        foreach (var partition in read.GroupBy(r => r.Partition))
        {
            Assert.Equal(partition.Select(r => r.Offset.Value).Order(), partition.Select(r => r.Offset.Value)); // in order per partition
        }
    }

    [Fact]
    public async Task Commit_from_other_threads_while_the_stream_runs_never_commits_past_a_returned_record()
    {
        const int Messages = 3000;
        var topic = await TopicWithAsync("commit-race", partitions: 3, messages: Messages);
        var group = KafkaFixture.Unique("commit-race");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;
        var returned = new ConcurrentDictionary<TopicPartition, long>();
        var violations = new ConcurrentQueue<string>();
        await using (var consumer = new DeserializingConsumerBuilder<string, int>(config).SetFetchBufferSize(32).Build())
        {
            consumer.Subscribe(topic);
            using var stop = new CancellationTokenSource();
            var committers = Enumerable.Range(0, 2).Select(i => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var committed = i == 0 ? consumer.Commit() : await consumer.CommitAsync();
                    foreach (var c in committed)
                    {
                        // A commit may lag behind what was returned, never run ahead of it (the offset is stored just before the record is handed over: one record of slack).
                        if (c.Offset.Value > returned.GetValueOrDefault(c.TopicPartition, 0) + 1)
                        {
                            violations.Enqueue($"{c} committed although only up to {returned.GetValueOrDefault(c.TopicPartition, 0)} was returned");
                        }
                    }

                    await Task.Delay(1);
                }
            })).ToList();

            var count = 0;
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await foreach (var record in consumer.ConsumeAsync(limit.Token))
            {
                returned[record.TopicPartition] = record.Offset.Value + 1;
                if (++count == Messages)
                {
                    break;
                }
            }

            await stop.CancelAsync();
            await Task.WhenAll(committers).WaitAsync(Guard);
            Assert.Equal(Messages, count);
            await consumer.CommitAsync();
        }

        Assert.Empty(violations);
        using var check = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        var committedNow = check.Committed(Enumerable.Range(0, 3).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        Assert.Equal(Messages, committedNow.Sum(c => c.Offset.Value));
    }

    [Theory]
    [InlineData("range")]
    [InlineData("cooperative-sticky")]
    public async Task Members_joining_and_leaving_mid_stream_lose_nothing_with_records_fetched_ahead(string strategy)
    {
        const int Partitions = 6;
        var topic = KafkaFixture.Unique("churn");
        await kafka.CreateTopicAsync(topic, Partitions);
        var group = KafkaFixture.Unique("churn");
        var config = kafka.Consumer(group);
        config.Set("partition.assignment.strategy", strategy);
        config.AutoCommitIntervalMs = 200;

        var read = new ConcurrentBag<(int Value, string Member, TopicPartitionOffset At)>();
        var produced = 0;
        using var stopProducing = new CancellationTokenSource();
        var producing = Task.Run(async () =>
        {
            await using var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).Build();
            while (!stopProducing.IsCancellationRequested)
            {
                for (var i = 0; i < 50; i++)
                {
                    producer.Produce(topic, $"k{produced}", produced);
                    produced++;
                }

                await Task.Delay(20);
            }

            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
        });

        async Task RunMember(string name, CancellationToken leave)
        {
            await using var member = new DeserializingConsumerBuilder<string, int>(config).SetFetchBufferSize(64).Build();
            member.Subscribe(topic);
            try
            {
                await foreach (var record in member.ConsumeAsync(leave))
                {
                    read.Add((record.Message.Value, name, record.TopicPartitionOffset));
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        using var leaveA = new CancellationTokenSource();
        using var leaveB = new CancellationTokenSource();
        using var leaveC = new CancellationTokenSource();
        var a = Task.Run(() => RunMember("a", leaveA.Token));
        await Task.Delay(TimeSpan.FromSeconds(4));
        var b = Task.Run(() => RunMember("b", leaveB.Token)); // joins mid-stream
        await Task.Delay(TimeSpan.FromSeconds(10));
        await leaveA.CancelAsync(); // leaves mid-stream
        await a.WaitAsync(Guard);
        await Task.Delay(TimeSpan.FromSeconds(8));
        var c = Task.Run(() => RunMember("c", leaveC.Token)); // joins again
        await Task.Delay(TimeSpan.FromSeconds(10));
        await stopProducing.CancelAsync();
        await producing.WaitAsync(Guard);
        var total = produced;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (read.Select(r => r.Value).Distinct().Count() < total && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        // Leave one at a time: the embedded cluster refuses commits while a rebalance is joining, so the last
        // member (c) takes over b's partitions (the rejoin waits session.timeout.ms - 1 s, hence 9 s of quiet),
        // reads them to the end and commits everything when it closes.
        await leaveB.CancelAsync();
        await b.WaitAsync(Guard);
        var quietSince = DateTime.UtcNow;
        var seen = read.Count;
        while (DateTime.UtcNow - quietSince < TimeSpan.FromSeconds(9) && DateTime.UtcNow < deadline.AddSeconds(60))
        {
            await Task.Delay(200);
            if (read.Count != seen)
            {
                seen = read.Count;
                quietSince = DateTime.UtcNow;
            }
        }

        await leaveC.CancelAsync();
        await c.WaitAsync(Guard);

        Assert.All(new[] { "a", "b", "c" }, m => Assert.Contains(read, r => r.Member == m)); // every member took part
        var values = read.Select(r => r.Value).ToHashSet();
        var missing = Enumerable.Range(0, total).Where(v => !values.Contains(v)).Take(20).ToList();
        Assert.True(missing.Count == 0, $"{total - values.Count} of {total} never read, e.g. {string.Join(", ", missing)}");

        // Committed offsets cover exactly what was produced: nothing skipped, nothing beyond the end.
        using var check = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        var committed = check.Committed(Enumerable.Range(0, Partitions).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        Assert.Equal(total, committed.Sum(x => x.Offset.Value));
    }
}

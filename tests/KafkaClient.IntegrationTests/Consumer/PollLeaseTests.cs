using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Consumer;

/// <summary>
/// The poll lease against a real cluster: a reader that polls librdkafka itself whenever its buffer is empty, with
/// commands, seeks, rebalances, handlers, cancellation, closing and dead letters happening meanwhile.
/// </summary>
/// <remarks>
/// A reader calling <c>Poll(TimeSpan.Zero)</c> in a loop never waits, so it polls librdkafka itself nearly always and
/// the owner thread stands aside: that is where most of these tests read. Which thread runs a given callback is not
/// asserted (both are correct); what is asserted is what the application sees.
/// </remarks>
[Collection(KafkaCollection.Name)]
public class PollLeaseTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private async Task<string> TopicWithAsync(string prefix, int partitions, int messages)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, partitions);
        await ProduceAsync(topic, 0, messages);
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

    /// <summary>Reads <paramref name="count"/> records on a thread of its own with polls that never wait (a hang guard, not a speed check).</summary>
    private static Task<List<ConsumeResult<string, int>>> ReadWithoutWaitingAsync(DeserializingConsumer<string, int> consumer, int count) =>
        Task.Factory.StartNew(
            () =>
            {
                var records = new List<ConsumeResult<string, int>>(count);
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
                while (records.Count < count && DateTime.UtcNow < deadline)
                {
                    if (consumer.Poll(TimeSpan.Zero) is { } record)
                    {
                        records.Add(record);
                    }
                }

                return records;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    private static void AssertEachOnceInOrder(IReadOnlyCollection<ConsumeResult<string, int>> read, int messages)
    {
        Assert.Equal(read.Count, read.Select(r => r.TopicPartitionOffset).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, messages), read.Select(r => r.Message.Value).Order());
        foreach (var partition in read.GroupBy(r => r.Partition))
        {
            Assert.Equal(partition.Select(r => r.Offset.Value).Order(), partition.Select(r => r.Offset.Value));
        }
    }

    [Fact]
    public async Task Commands_from_another_thread_during_a_busy_stream_all_complete_and_nothing_is_lost_or_repeated()
    {
        const int Messages = 3000;
        var topic = await TopicWithAsync("lease-commands", partitions: 3, Messages);
        var group = KafkaFixture.Unique("lease-commands");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;
        var read = new List<ConsumeResult<string, int>>();
        var returned = new ConcurrentDictionary<TopicPartition, long>();
        var violations = new ConcurrentQueue<string>();
        var commands = 0;
        await using (var consumer = new DeserializingConsumerBuilder<string, int>(config).SetFetchBufferSize(64).Build())
        {
            consumer.Subscribe(topic);
            using var stop = new CancellationTokenSource();
            var commanding = Task.Factory.StartNew(
                async () =>
                {
                    var random = new Random(17);
                    while (!stop.IsCancellationRequested)
                    {
                        var assignment = consumer.Assignment;
                        if (assignment.Count == 0)
                        {
                            await Task.Delay(10);
                            continue;
                        }

                        var partition = assignment[random.Next(assignment.Count)];
                        switch (random.Next(4))
                        {
                            case 0:
                                consumer.Commit();
                                break;
                            case 1:
                                await consumer.CommitAsync();
                                break;
                            case 2:
                                // The next offset to be handed out: never behind what was handed out before the call.
                                var before = returned.GetValueOrDefault(partition, 0);
                                var position = consumer.Position(partition);
                                if (position != Offset.Unset && (position.Value < before || position.Value > Messages))
                                {
                                    violations.Enqueue($"Position of {partition} was {position} after {before} had been handed out");
                                }

                                break;
                            default:
                                consumer.Pause([partition]);
                                await Task.Delay(random.Next(5));
                                consumer.Resume([partition]);
                                break;
                        }

                        Interlocked.Increment(ref commands);
                        await Task.Delay(random.Next(3));
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap();

            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await foreach (var record in consumer.ConsumeAsync(limit.Token))
            {
                read.Add(record);
                returned[record.TopicPartition] = record.Offset.Value + 1;
                if (read.Count == Messages)
                {
                    break;
                }
            }

            await stop.CancelAsync();
            await commanding.WaitAsync(Guard); // every command came back
            await consumer.CommitAsync();
        }

        Assert.Empty(violations);
        Assert.True(commands > 0);
        AssertEachOnceInOrder(read, Messages);
        using var check = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        var committed = check.Committed(Enumerable.Range(0, 3).Select(p => new TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        Assert.Equal(Messages, committed.Sum(c => c.Offset.Value));
    }

    [Fact]
    public async Task Seeks_and_positions_from_a_reader_polling_without_waiting_are_exact()
    {
        const int Messages = 250;
        var topic = await TopicWithAsync("lease-seek", partitions: 1, Messages);
        var tp = new TopicPartition(topic, 0);
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("lease-seek"))).SetFetchBufferSize(32).Build();
        consumer.Assign([new TopicPartitionOffset(tp, Offset.Beginning)]);

        var outcome = await Task.Factory.StartNew(
            () =>
            {
                var random = new Random(23);
                var expected = 0L;
                var seeks = 0;
                var wrong = new List<string>();
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
                while (expected < Messages && DateTime.UtcNow < deadline && wrong.Count < 10)
                {
                    if (consumer.Poll(TimeSpan.Zero) is not { } record)
                    {
                        continue;
                    }

                    if (record.Offset.Value != expected)
                    {
                        wrong.Add($"offset {record.Offset} came where {expected} was due");
                    }

                    expected = record.Offset.Value + 1;
                    var target = random.Next(20) switch
                    {
                        0 => Math.Max(0, expected - random.Next(1, 8)), // back
                        1 => expected, // where it is
                        2 => Math.Min(Messages - 1, expected + random.Next(1, 8)), // ahead
                        _ => -1L,
                    };
                    if (target >= 0)
                    {
                        consumer.Seek(new TopicPartitionOffset(tp, target));
                        expected = target;
                        seeks++;
                    }

                    if (target >= 0 || random.Next(5) == 0)
                    {
                        var position = consumer.Position(tp);
                        if (position.Value != expected)
                        {
                            wrong.Add($"position {position} where {expected} is next");
                        }
                    }
                }

                return (expected, seeks, wrong);
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        Assert.Empty(outcome.wrong);
        Assert.Equal(Messages, outcome.expected);
        Assert.True(outcome.seeks > 0);
        Assert.Null(consumer.Poll(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task A_member_joining_while_the_reader_polls_without_waiting_runs_its_handlers_and_a_throwing_one_surfaces_once()
    {
        const int Messages = 200;
        var topic = await TopicWithAsync("lease-join", partitions: 2, Messages);
        var group = KafkaFixture.Unique("lease-join");
        var config = kafka.Consumer(group);
        var assignments = 0;
        var revocations = 0;
        DeserializingConsumer<string, int>? a = null;
        a = new DeserializingConsumerBuilder<string, int>(config)
            .SetPartitionsAssignedHandler(_ =>
            {
                if (Interlocked.Increment(ref assignments) == 2)
                {
                    throw new InvalidOperationException("the second assignment's handler failed");
                }
            })
            .SetPartitionsRevokedHandler(_ =>
            {
                // Runs inline on whichever thread polls; posted to the owner thread while the reader holds the
                // poll, it would wait forever.
                try
                {
                    a!.Commit();
                }
                catch (KafkaOperationException)
                {
                    // The embedded cluster refuses commits once a rebalance started.
                }

                Interlocked.Increment(ref revocations);
            })
            .Build();
        a.Subscribe(topic);

        var seen = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<Exception>();
        using var stopA = new CancellationTokenSource();
        var readerA = Task.Factory.StartNew(
            () =>
            {
                while (!stopA.IsCancellationRequested)
                {
                    try
                    {
                        if (a.Poll(TimeSpan.Zero) is { } record)
                        {
                            seen.AddOrUpdate(record.Message.Value, 1, (_, n) => n + 1);
                        }
                    }
                    catch (InvalidOperationException ex)
                    {
                        failures.Enqueue(ex);
                    }
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        var deadline = DateTime.UtcNow + Guard;
        while (seen.Count < Messages && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(Messages, seen.Count);

        var b = new DeserializingConsumerBuilder<string, int>(config).Build();
        b.Subscribe(topic);
        using var stopB = new CancellationTokenSource();
        var readerB = Task.Run(async () =>
        {
            while (!stopB.IsCancellationRequested)
            {
                if (await b.PollAsync(TimeSpan.FromMilliseconds(100)) is { } record)
                {
                    seen.AddOrUpdate(record.Message.Value, 1, (_, n) => n + 1);
                }
            }
        });
        while ((b.Assignment.Count != 1 || a.Assignment.Count != 1) && DateTime.UtcNow < deadline + Guard)
        {
            await Task.Delay(50);
        }

        Assert.Single(b.Assignment);
        await ProduceAsync(topic, Messages, Messages); // split between the two members now
        while (seen.Count < 2 * Messages && DateTime.UtcNow < deadline + 2 * Guard)
        {
            await Task.Delay(20);
        }

        await stopB.CancelAsync();
        await readerB.WaitAsync(Guard);
        await stopA.CancelAsync();
        await readerA.WaitAsync(Guard);
        await b.DisposeAsync().AsTask().WaitAsync(Guard);
        await a.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.Equal(2 * Messages, seen.Count); // every record came to one of them (a refused commit may repeat some)
        Assert.True(Volatile.Read(ref revocations) >= 1);
        Assert.Equal("the second assignment's handler failed", Assert.Single(failures).Message);
    }

    [Fact]
    public async Task Close_and_dispose_from_a_handler_of_a_reader_polling_without_waiting_throw_InvalidOperationException()
    {
        var topic = await TopicWithAsync("lease-handler-close", partitions: 1, messages: 5);
        DeserializingConsumer<string, int>? consumer = null;
        var refused = new ConcurrentQueue<Exception>();
        consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("lease-handler-close")))
            .SetPartitionsAssignedHandler(_ =>
            {
                foreach (var attempt in new Action[] { consumer!.Close, consumer.Dispose, () => consumer.DisposeAsync().AsTask().GetAwaiter().GetResult() })
                {
                    try
                    {
                        attempt();
                    }
                    catch (Exception ex)
                    {
                        refused.Enqueue(ex);
                    }
                }
            })
            .Build();
        consumer.Subscribe(topic);

        var read = await ReadWithoutWaitingAsync(consumer, 5).WaitAsync(TimeSpan.FromSeconds(150));

        Assert.Equal([0, 1, 2, 3, 4], read.Select(r => r.Message.Value));
        Assert.Equal(3, refused.Count);
        Assert.All(refused, ex => Assert.IsType<InvalidOperationException>(ex));
        await consumer.DisposeAsync().AsTask().WaitAsync(Guard);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Disposing_while_the_reader_polls_without_waiting_ends_it_with_ObjectDisposedException_and_commits_what_it_returned(bool async)
    {
        const int Messages = 5000;
        var topic = await TopicWithAsync("lease-dispose", partitions: 1, Messages);
        var group = KafkaFixture.Unique("lease-dispose");
        var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).SetFetchBufferSize(64).Build();
        consumer.Subscribe(topic);
        var returned = 0;
        Exception? ended = null;
        var reader = Task.Factory.StartNew(
            () =>
            {
                try
                {
                    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(150);
                    while (DateTime.UtcNow < deadline)
                    {
                        if (consumer.Poll(TimeSpan.Zero) is { } record)
                        {
                            Assert.Equal(Volatile.Read(ref returned), record.Offset.Value);
                            Interlocked.Increment(ref returned);
                        }
                    }
                }
                catch (Exception ex)
                {
                    ended = ex;
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        var deadline = DateTime.UtcNow + Guard;
        while (Volatile.Read(ref returned) < 100 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1);
        }

        if (async)
        {
            await consumer.DisposeAsync().AsTask().WaitAsync(Guard);
        }
        else
        {
            await Task.Run(consumer.Dispose).WaitAsync(Guard);
        }

        await reader.WaitAsync(Guard);
        Assert.IsType<ObjectDisposedException>(ended);

        // The close commits what the reader finished with: every record returned, except at most the one a poll
        // begun before the close was handing over when the close stored the offsets; never one not returned.
        var committed = PoisonTopics.Committed(kafka, group, topic);
        Assert.InRange(committed, returned - 1, returned);
    }

    /// <summary>
    /// Two threads disposing at once: the second used to return at once and release librdkafka's consumer under the
    /// first one's close, which then failed with ObjectDisposedException ("handle is destroyed") without committing,
    /// or ended the process (Confluent.Kafka's rebalance callback throwing on the destroyed handle).
    /// </summary>
    [Fact]
    public async Task Two_threads_disposing_while_the_reader_polls_without_waiting_both_return_and_the_close_commits()
    {
        var topic = await TopicWithAsync("lease-dispose-twice", partitions: 1, messages: 5000);
        for (var round = 0; round < 3; round++)
        {
            var group = KafkaFixture.Unique("lease-dispose-twice");
            var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).SetFetchBufferSize(64).Build();
            consumer.Subscribe(topic);
            var returned = 0;
            Exception? ended = null;
            var reader = Task.Factory.StartNew(
                () =>
                {
                    try
                    {
                        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(150);
                        while (DateTime.UtcNow < deadline)
                        {
                            if (consumer.Poll(TimeSpan.Zero) is not null)
                            {
                                Interlocked.Increment(ref returned);
                            }
                        }
                    }
                    catch (Exception ex)
                    {
                        ended = ex;
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            var deadline = DateTime.UtcNow + Guard;
            while (Volatile.Read(ref returned) < 100 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1);
            }

            using var go = new ManualResetEventSlim();
            var disposers = new[]
            {
                Task.Factory.StartNew(() => { go.Wait(); consumer.Dispose(); }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default),
                Task.Run(async () => { go.Wait(); await consumer.DisposeAsync(); }),
            };
            go.Set();
            await Task.WhenAll(disposers).WaitAsync(Guard); // neither throws
            await reader.WaitAsync(Guard);
            Assert.IsType<ObjectDisposedException>(ended);
            Assert.InRange(PoisonTopics.Committed(kafka, group, topic), returned - 1, returned);
        }
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(64, true)]
    [InlineData(65, false)]
    [InlineData(250, true)]
    public async Task Offsets_committed_on_close_cover_exactly_the_records_handed_out(int count, bool async)
    {
        var topic = await TopicWithAsync("lease-close-commit", partitions: 1, messages: 300);
        var group = KafkaFixture.Unique("lease-close-commit");
        var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        consumer.Subscribe(topic);

        var read = await ReadWithoutWaitingAsync(consumer, count).WaitAsync(TimeSpan.FromSeconds(150));
        await Task.Delay(200); // more is fetched ahead meanwhile, and must not be committed
        if (async)
        {
            await consumer.DisposeAsync().AsTask().WaitAsync(Guard);
        }
        else
        {
            await Task.Run(consumer.Dispose).WaitAsync(Guard);
        }

        Assert.Equal(Enumerable.Range(0, count), read.Select(r => r.Message.Value));
        Assert.Equal(count, PoisonTopics.Committed(kafka, group, topic));
    }

    [Fact]
    public async Task A_reader_away_longer_than_the_max_poll_interval_keeps_its_membership_and_finds_its_records()
    {
        var topic = await TopicWithAsync("lease-away", partitions: 1, messages: 10);
        var config = kafka.Consumer(KafkaFixture.Unique("lease-away"));
        config.MaxPollIntervalMs = 6000; // the least librdkafka allows with a 6 s session timeout
        var assigned = 0;
        var taken = 0;
        await using var consumer = new DeserializingConsumerBuilder<string, int>(config)
            .SetPartitionsAssignedHandler(_ => Interlocked.Increment(ref assigned))
            .SetPartitionsRevokedHandler(_ => Interlocked.Increment(ref taken))
            .SetPartitionsLostHandler(_ => Interlocked.Increment(ref taken))
            .Build();
        consumer.Subscribe(topic);
        var first = await ReadWithoutWaitingAsync(consumer, 10).WaitAsync(TimeSpan.FromSeconds(150));
        Assert.Equal(Enumerable.Range(0, 10), first.Select(r => r.Message.Value));

        // The reader polled librdkafka itself until now; while it is away the owner thread must poll in its stead,
        // or librdkafka leaves the group after max.poll.interval.ms (and the next poll raises MaxPollExceeded).
        await ProduceAsync(topic, 10, 10);
        await Task.Delay(TimeSpan.FromSeconds(9));

        var rest = await ReadWithoutWaitingAsync(consumer, 10).WaitAsync(TimeSpan.FromSeconds(150));
        Assert.Equal(Enumerable.Range(10, 10), rest.Select(r => r.Message.Value));
        Assert.Null(consumer.Poll(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(1, Volatile.Read(ref assigned));
        Assert.Equal(0, Volatile.Read(ref taken));
    }

    [Fact]
    public async Task Cancelling_a_busy_stream_again_and_again_loses_and_repeats_nothing()
    {
        const int Messages = 2000;
        var topic = await TopicWithAsync("lease-cancel", partitions: 2, Messages);
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("lease-cancel"))).SetFetchBufferSize(64).Build();
        consumer.Subscribe(topic);
        var read = new List<ConsumeResult<string, int>>();
        var random = new Random(29);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        for (var round = 0; read.Count < Messages && DateTime.UtcNow < deadline; round++)
        {
            // Every other round at a random moment (in a poll of the reader's own, a wait, a hand-over), the others
            // after a random number of records; any of them once everything was read.
            using var cancel = new CancellationTokenSource(round % 2 == 0 ? TimeSpan.FromMilliseconds(random.Next(1, 30)) : Guard);

            var stopAt = random.Next(1, 200);
            var inRound = 0;
            try
            {
                await foreach (var record in consumer.ConsumeAsync(cancel.Token))
                {
                    read.Add(record);
                    if (++inRound == stopAt || read.Count == Messages)
                    {
                        await cancel.CancelAsync();
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        AssertEachOnceInOrder(read, Messages);
    }

    [Fact]
    public async Task Poison_records_are_dead_lettered_and_committed_past_while_a_member_joins_a_busy_stream()
    {
        const int Pairs = 2000;
        var topic = KafkaFixture.Unique("lease-dlq");
        await kafka.CreateTopicAsync(topic, 2);
        var deadLetters = topic + ".dlq";
        await kafka.CreateTopicAsync(deadLetters, 1);

        // Written while the members read, a little at a time, so the second member joins a stream still flowing.
        async Task Write(TaskCompletionSource begun)
        {
            await using var producer = new SerializingProducerBuilder<string, byte[]>(kafka.Producer()).Build();
            for (var i = 0; i < Pairs; i++)
            {
                var partition = new TopicPartition(topic, i % 2);
                producer.Produce(partition, new Message<string, byte[]> { Key = "poison", Value = PoisonTopics.Poison });
                producer.Produce(partition, new Message<string, byte[]> { Key = "good", Value = Serdes.Int32.Serialize(i, default) });
                if (i % 20 == 19)
                {
                    begun.TrySetResult();
                    await Task.Delay(20);
                }
            }

            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
        }

        var group = KafkaFixture.Unique("lease-dlq");
        var config = kafka.Consumer(group);
        var seen = new ConcurrentDictionary<int, int>();
        DeserializingConsumer<string, int> Member() => new DeserializingConsumerBuilder<string, int>(config)
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters))
            .SetFetchBufferSize(16)
            .Build();
        async Task Run(DeserializingConsumer<string, int> member, CancellationToken leave)
        {
            await using (member)
            {
                member.Subscribe(topic);
                await foreach (var record in member.ConsumeAsync(leave))
                {
                    seen.AddOrUpdate(record.Message.Value, 1, (_, n) => n + 1);
                }
            }
        }

        using var leaveA = new CancellationTokenSource();
        using var leaveB = new CancellationTokenSource();
        var memberA = Member();
        var a = Task.Run(() => Run(memberA, leaveA.Token));
        var begun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writing = Task.Run(() => Write(begun));
        await begun.Task.WaitAsync(Guard);
        var deadline = DateTime.UtcNow + 3 * Guard;
        while (seen.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var b = Task.Run(() => Run(Member(), leaveB.Token)); // joins mid-stream: a's revocation waits for its dead letters on their way
        while (seen.Count < Pairs && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await writing.WaitAsync(Guard);

        // One at a time (the embedded cluster refuses commits while a rebalance is joining): b commits and leaves,
        // a takes every partition again and reads to the end, then commits and leaves.
        await leaveB.CancelAsync();
        await b.WaitAsync(Guard);
        var partitions = new[] { new TopicPartition(topic, 0), new TopicPartition(topic, 1) };
        bool ReadToTheEnd(TopicPartition partition) => memberA.Position(partition) is var position && position == Offset.Unset
            ? memberA.Committed([partition], TimeSpan.FromSeconds(10))[0].Offset.Value == Pairs // nothing left to read after b's commit
            : position.Value == Pairs;
        while ((memberA.Assignment.Count != 2 || !partitions.All(ReadToTheEnd)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        await leaveA.CancelAsync();
        await a.WaitAsync(Guard);

        Assert.Equal(Enumerable.Range(0, Pairs), seen.Keys.Order());
        // Each poison record at least once (one a rebalance caught on its way may be forwarded again).
        var sources = new HashSet<(string Partition, string Offset)>();
        using (var parked = new DeserializingConsumerBuilder<string, byte[]>(kafka.Consumer(KafkaFixture.Unique("lease-dlq-check"))).Build())
        {
            parked.Subscribe(deadLetters);
            var until = DateTime.UtcNow + Guard;
            while (sources.Count < Pairs && DateTime.UtcNow < until)
            {
                if (parked.Poll(TimeSpan.FromMilliseconds(200)) is { } letter)
                {
                    sources.Add((
                        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(DeadLetterPolicy.HeaderSourcePartition)),
                        Encoding.UTF8.GetString(letter.Message.Headers.GetLastBytes(DeadLetterPolicy.HeaderSourceOffset))));
                }
            }
        }

        Assert.Equal(Pairs, sources.Count);
        using var check = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        var committed = check.Committed(partitions, TimeSpan.FromSeconds(10));
        Assert.Equal(2 * Pairs, committed.Sum(c => c.Offset.Value));
    }
}

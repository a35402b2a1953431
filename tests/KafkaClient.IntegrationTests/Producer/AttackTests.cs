using System.Collections.Concurrent;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Producer;

/// <summary>The producer pipeline attacked as a demanding user would: cancellation in a full queue, serializers that never finish, many threads, callbacks that throw, dispose under load.</summary>
[Collection(KafkaCollection.Name)]
public class AttackTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_ProduceAsync_cancelled_while_waiting_for_room_is_not_sent_and_the_later_ones_keep_their_order()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 2);
        var topic = KafkaFixture.Unique("cancel-room");
        cluster.CreateTopic(topic);
        cluster.SetPartitionLeader(topic, 0, 2);
        var config = kafka.Producer();
        config.BootstrapServers = cluster.BootstrapServers;
        config.QueueBufferingMaxMessages = 2;
        config.MessageTimeoutMs = 120_000;
        await using var producer = new SerializingProducerBuilder<Null, int>(config).Build();
        await producer.ProduceAsync(topic, null!, 0); // metadata known
        cluster.SetBrokerDown(2); // nothing leaves the queue now

        var first = producer.ProduceAsync(topic, null!, 1);
        var second = producer.ProduceAsync(topic, null!, 2);
        using var cancel = new CancellationTokenSource();
        var cancelled = producer.ProduceAsync(topic, null!, 3, cancellationToken: cancel.Token); // the queue is full: waits
        var later = Enumerable.Range(4, 5).Select(i => producer.ProduceAsync(topic, null!, i)).ToList();
        await Task.Delay(500);
        Assert.False(cancelled.IsCompleted);
        Assert.Equal(8, producer.InFlight);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TimeSpan.FromSeconds(10)));

        cluster.SetBrokerUp(2);
        await Task.WhenAll(later.Append(first).Append(second)).WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, producer.InFlight);

        var config2 = kafka.Consumer(KafkaFixture.Unique("cancel-room")).On(cluster);
        using var consumer = new DeserializingConsumerBuilder<Ignore, int>(config2).Build();
        consumer.Subscribe(topic);
        var stored = Records.PollMany(consumer, 8, TimeSpan.FromSeconds(60)).Select(r => r.Message.Value).ToList();
        Assert.Null(consumer.Poll(TimeSpan.FromSeconds(1)));
        Assert.Equal([0, 1, 2, 4, 5, 6, 7, 8], stored);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_serializer_that_never_finishes_bounds_dispose_and_fails_it_and_everything_behind_it(bool async)
    {
        var topic = KafkaFixture.Unique("never");
        await kafka.CreateTopicAsync(topic, 1);
        var reports = new ConcurrentDictionary<int, DeliveryReport<Null, int>>();
        var producer = new SerializingProducerBuilder<Null, int>(kafka.Producer())
            .SetValueSerializer(new StuckOn(2))
            .SetDisposeTimeout(TimeSpan.FromSeconds(3))
            .Build();
        await producer.ProduceAsync(topic, null!, 0);
        for (var i = 1; i <= 4; i++)
        {
            var value = i;
            producer.Produce(topic, null!, i, onDelivery: r => Assert.True(reports.TryAdd(value, r), $"second report for {value}"));
        }

        var awaited = producer.ProduceAsync(topic, null!, 5);
        await Task.Delay(300);
        Assert.Equal(4, producer.InFlight); // 2 stuck, 3 and 4 and 5 behind it

        var started = DateTime.UtcNow;
        if (async)
        {
            await producer.DisposeAsync().AsTask().WaitAsync(Guard);
        }
        else
        {
            await Task.Run(producer.Dispose).WaitAsync(Guard);
        }

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), $"dispose took {DateTime.UtcNow - started}");
        var failure = await Assert.ThrowsAsync<DeliveryFailedException>(() => awaited.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(ErrorCode.Local_PurgeQueue, failure.Error.Code);
        Assert.False(reports[1].Error.IsError);
        Assert.All([2, 3, 4], v => Assert.Equal(ErrorCode.Local_PurgeQueue, reports[v].Error.Code));
        Assert.Equal(4, reports.Count);
    }

    [Fact]
    public async Task Many_threads_with_an_async_serializer_flushing_meanwhile_get_one_report_each_in_per_thread_order()
    {
        const int Threads = 8;
        const int PerThread = 2000;
        var topic = KafkaFixture.Unique("threads");
        await kafka.CreateTopicAsync(topic, 1);
        var reports = new ConcurrentDictionary<int, int>();
        var failures = new ConcurrentQueue<Error>();
        var offsets = new ConcurrentDictionary<int, long>();
        var producer = new SerializingProducerBuilder<Null, int>(kafka.Producer()).SetValueSerializer(new SometimesYielding()).Build();
        using var stopFlushing = new CancellationTokenSource();
        var flusher = Task.Run(async () =>
        {
            while (!stopFlushing.IsCancellationRequested)
            {
                await producer.FlushAsync(TimeSpan.FromMilliseconds(50));
                producer.Flush(TimeSpan.FromMilliseconds(20));
            }
        });

        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                var value = (t * PerThread) + i;
                if (i % 5 == 0)
                {
                    _ = producer.ProduceAsync(topic, null!, value).ContinueWith(
                        task =>
                        {
                            reports.AddOrUpdate(value, 1, (_, n) => n + 1);
                            if (task.IsCompletedSuccessfully)
                            {
                                offsets[value] = task.Result.Offset.Value;
                            }
                            else
                            {
                                failures.Enqueue(new Error(ErrorCode.Local_Fail, task.Exception?.InnerException?.Message));
                            }
                        },
                        TaskScheduler.Default);
                }
                else
                {
                    producer.Produce(topic, null!, value, onDelivery: r =>
                    {
                        reports.AddOrUpdate(value, 1, (_, n) => n + 1);
                        if (r.Error.IsError)
                        {
                            failures.Enqueue(r.Error);
                        }
                        else
                        {
                            offsets[value] = r.Offset.Value;
                        }
                    });
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        foreach (var thread in threads)
        {
            Assert.True(thread.Join(Guard), "a producing thread hung");
        }

        Assert.Equal(0, await producer.FlushAsync(Guard));
        Assert.Equal(0, producer.InFlight);
        await stopFlushing.CancelAsync();
        await flusher.WaitAsync(Guard);
        await producer.DisposeAsync();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (reports.Count < Threads * PerThread && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50); // task continuations run after the flush saw the deliveries
        }

        Assert.Empty(failures);
        Assert.Equal(Threads * PerThread, reports.Count);
        Assert.All(reports, r => Assert.Equal(1, r.Value));
        for (var t = 0; t < Threads; t++)
        {
            var mine = Enumerable.Range(t * PerThread, PerThread).Select(v => offsets[v]).ToList();
            Assert.Equal(mine.Order(), mine); // one thread's calls land in call order
        }
    }

    [Fact]
    public async Task A_delivery_callback_that_throws_is_reported_and_hurts_nothing_else()
    {
        var topic = KafkaFixture.Unique("callback-throws");
        await kafka.CreateTopicAsync(topic, 1);
        var errors = new ConcurrentQueue<Error>();
        var delivered = 0;
        await using var producer = new SerializingProducerBuilder<Null, int>(kafka.Producer())
            .SetErrorHandler(errors.Enqueue)
            .Build();
        for (var i = 0; i < 100; i++)
        {
            producer.Produce(topic, null!, i, onDelivery: r =>
            {
                Interlocked.Increment(ref delivered);
                if (r.Message.Value % 10 == 0)
                {
                    throw new InvalidOperationException("the application's callback failed");
                }
            });
        }

        Assert.Equal(0, await producer.FlushAsync(Guard));
        Assert.Equal(0, producer.InFlight);
        Assert.Equal(100, delivered);
        Assert.Equal(10, errors.Count(e => e.Reason.Contains("callback threw", StringComparison.Ordinal)));
        var result = await producer.ProduceAsync(topic, null!, 100);
        Assert.Equal(100, result.Offset.Value);
    }

    [Fact]
    public async Task Producing_from_many_threads_while_disposing_reports_each_accepted_message_once_and_never_hangs()
    {
        var topic = KafkaFixture.Unique("dispose-race");
        await kafka.CreateTopicAsync(topic, 1);
        var reports = new ConcurrentDictionary<int, int>();
        var refused = 0;
        var producer = new SerializingProducerBuilder<Null, int>(kafka.Producer())
            .SetValueSerializer(new SometimesYielding())
            .SetDisposeTimeout(TimeSpan.FromSeconds(10))
            .Build();
        var next = -1;
        using var go = new ManualResetEventSlim();
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            go.Wait();
            while (true)
            {
                var value = Interlocked.Increment(ref next);
                try
                {
                    producer.Produce(topic, null!, value, onDelivery: r => reports.AddOrUpdate(value, 1, (_, n) => n + 1));
                }
                catch (Exception ex) when (ex is ObjectDisposedException or DeliveryFailedException)
                {
                    Interlocked.Increment(ref refused);
                    return;
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        go.Set();
        await Task.Delay(300);
        await producer.DisposeAsync().AsTask().WaitAsync(Guard);
        foreach (var thread in threads)
        {
            Assert.True(thread.Join(Guard), "a producing thread hung");
        }

        var accepted = Volatile.Read(ref next) + 1 - refused;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (reports.Count < accepted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.All(reports, r => Assert.Equal(1, r.Value));
        Assert.Equal(accepted, reports.Count);
    }

    /// <summary>Completes at once, except for one value whose task never completes.</summary>
    private sealed class StuckOn(int stuck) : IAsyncSerializer<int>
    {
        public Task<byte[]> SerializeAsync(int data, SerializationContext context) =>
            data == stuck ? new TaskCompletionSource<byte[]>().Task : Task.FromResult(Serdes.Int32.Serialize(data, context));
    }

    /// <summary>Completes on the thread pool one time in four, at once otherwise.</summary>
    private sealed class SometimesYielding : IAsyncSerializer<int>
    {
        public async Task<byte[]> SerializeAsync(int data, SerializationContext context)
        {
            if (data % 4 == 0)
            {
                await Task.Yield();
            }

            return Serdes.Int32.Serialize(data, context);
        }
    }
}

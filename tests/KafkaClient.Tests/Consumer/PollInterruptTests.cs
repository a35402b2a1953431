using System.Diagnostics;
using Confluent.Kafka;
using KafkaClient.Consumer;

namespace KafkaClient.Tests.Consumer;

/// <summary>A command posted to the poll thread interrupts its blocking poll instead of waiting out the poll's slice.</summary>
public class PollInterruptTests
{
    [Fact]
    public void This_Confluent_Kafka_allows_interrupting_a_poll()
    {
        // Null would mean Confluent.Kafka no longer has the internal handle or librdkafka the function: commands
        // would still work, but each would wait up to one poll slice. An upgrade that does this should be noticed.
        using var consumer = Unconnected();

        Assert.NotNull(PollInterrupt.Create(consumer));
    }

    [Fact]
    public async Task An_interrupted_poll_returns_long_before_its_timeout()
    {
        using var consumer = Unconnected();
        consumer.Assign(new TopicPartitionOffset("t", 0, Offset.End));
        var interrupt = PollInterrupt.Create(consumer)!;
        var clock = Stopwatch.StartNew();

        var poll = Task.Factory.StartNew(() => consumer.Consume(TimeSpan.FromSeconds(60)), TaskCreationOptions.LongRunning);
        await Task.Delay(200);
        Assert.False(poll.IsCompleted);
        interrupt.Interrupt();

        Assert.Null(await poll.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"The poll returned after {clock.Elapsed}.");
    }

    [Fact]
    public void Interrupting_a_disposed_consumer_does_nothing()
    {
        var consumer = Unconnected();
        var interrupt = PollInterrupt.Create(consumer)!;
        consumer.Dispose();

        interrupt.Interrupt();
    }

    [Fact]
    public async Task A_disabled_interrupt_leaves_librdkafkas_close_alone()
    {
        await using var cluster = KafkaClient.Testing.EmbeddedKafkaCluster.Start(1);
        PollInterrupt? interrupt = null;
        var revoked = 0;
        using var consumer = Assigned(cluster, "disabled", () =>
        {
            interrupt!.Interrupt();
            revoked++;
        });
        interrupt = PollInterrupt.Create(consumer)!;

        interrupt.Disable();
        consumer.Close();

        Assert.Equal(1, revoked);
    }

    [Fact]
    public void Interrupts_racing_the_disposal_of_the_consumer_do_nothing_harmful()
    {
        for (var round = 0; round < 5; round++)
        {
            var consumer = Unconnected();
            var interrupt = PollInterrupt.Create(consumer)!;
            using var stop = new CancellationTokenSource();
            var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    interrupt.Interrupt();
                }
            }) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            Thread.Sleep(20);
            consumer.Dispose();
            Thread.Sleep(20);
            stop.Cancel();
            Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));
        }
    }

    /// <summary>A consumer of a one-partition topic that has its partition, so that closing it runs <paramref name="onRevoked"/> inside librdkafka's close.</summary>
    private static IConsumer<byte[], byte[]> Assigned(KafkaClient.Testing.EmbeddedKafkaCluster cluster, string topic, Action onRevoked)
    {
        cluster.CreateTopic(topic, 1);
        var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = topic,
            SessionTimeoutMs = 6000,
        })
        .SetLogHandler((_, _) => { })
        .SetErrorHandler((_, _) => { })
        .SetPartitionsRevokedHandler((_, _) => onRevoked())
        .Build();
        consumer.Subscribe(topic);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (consumer.Assignment.Count == 0 && DateTime.UtcNow < deadline)
        {
            consumer.Consume(TimeSpan.FromMilliseconds(100));
        }

        Assert.Single(consumer.Assignment);
        return consumer;
    }

    private static IConsumer<byte[], byte[]> Unconnected() =>
        new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            // Nothing listens there: the consumer only has to exist and block in its poll.
            BootstrapServers = "127.0.0.1:1",
            GroupId = "poll-interrupt",
            LogConnectionClose = false,
        })
        .SetLogHandler((_, _) => { })
        .SetErrorHandler((_, _) => { })
        .Build();
}

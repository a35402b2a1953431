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

using System.Collections.Concurrent;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Consumer;

/// <summary>
/// Offsets are noted by the reader and handed to librdkafka in batches by the poll thread: a commit the reader asks
/// for after a record was returned must still cover it, whatever else the poll thread is doing at that moment.
/// </summary>
[Collection(KafkaCollection.Name)]
public class NotedOffsetTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_readers_own_commit_covers_what_it_returned_while_other_threads_commit(bool async)
    {
        const int Messages = 300;
        var topic = KafkaFixture.Unique("own-commit");
        await kafka.CreateTopicAsync(topic, 1);
        await using (var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).Build())
        {
            for (var i = 0; i < Messages; i++)
            {
                producer.Produce(topic, $"k{i}", i);
            }

            Assert.Equal(0, await producer.FlushAsync(Guard));
        }

        var group = KafkaFixture.Unique("own-commit");
        var config = kafka.Consumer(group);
        config.EnableAutoCommit = false;
        var partition = new TopicPartition(topic, 0);
        var misses = new ConcurrentQueue<string>();
        await using var consumer = new DeserializingConsumerBuilder<string, int>(config).SetFetchBufferSize(32).Build();
        consumer.Subscribe(topic);

        // Another thread keeps the poll thread busy with commits of its own (each one a round trip to the broker).
        using var stop = new CancellationTokenSource();
        var other = Task.Factory.StartNew(
            () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    consumer.Commit();
                }
            },
            TaskCreationOptions.LongRunning);

        var read = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (read < Messages && DateTime.UtcNow < deadline)
        {
            var record = async ? await consumer.PollAsync(TimeSpan.FromMilliseconds(200)) : consumer.Poll(TimeSpan.FromMilliseconds(200));
            if (record is null)
            {
                continue;
            }

            Assert.Equal(read++, record.Message.Value);
            if (read % 5 != 0)
            {
                continue;
            }

            // Returned, then committed: the commit must cover it, although it may wait behind the other thread's.
            if (async)
            {
                await consumer.CommitAsync();
            }
            else
            {
                consumer.Commit();
            }

            var committed = consumer.Committed([partition], TimeSpan.FromSeconds(10))[0].Offset.Value;
            if (committed < record.Offset.Value + 1)
            {
                misses.Enqueue($"returned {record.Offset.Value}, committed {committed} after the reader's commit");
            }
        }

        await stop.CancelAsync();
        await other.WaitAsync(Guard);
        Assert.Equal(Messages, read);
        Assert.True(misses.IsEmpty, $"{misses.Count} of {Messages / 5} commits missed records returned before them, e.g. {string.Join("; ", misses.Take(5))}");
    }
}

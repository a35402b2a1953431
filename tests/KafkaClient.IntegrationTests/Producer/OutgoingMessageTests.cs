using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Producer;

/// <summary>The message handed to librdkafka is the producer's own record: every shape of message still arrives as sent, and every outcome carries the caller's message, once.</summary>
[Collection(KafkaCollection.Name)]
public class OutgoingMessageTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Null_keys_tombstones_partitions_headers_and_timestamps_arrive_as_sent_through_every_produce_call()
    {
        var topic = KafkaFixture.Unique("shapes");
        await kafka.CreateTopicAsync(topic, 3);
        var at = new Timestamp(1_600_000_000_123, TimestampType.CreateTime);
        var sent = new Dictionary<string, (byte[]? Key, byte[]? Value, int? Partition, Timestamp Timestamp)>();
        Headers With(string id) => new() { { "id", Encoding.UTF8.GetBytes(id) }, { "extra", null } };

        await using (var producer = new SerializingProducerBuilder<byte[]?, byte[]?>(kafka.Producer()).Build())
        {
            var reports = new ConcurrentBag<(Message<byte[]?, byte[]?> Sent, DeliveryReport<byte[]?, byte[]?> Report)>();
            var results = new List<(Message<byte[]?, byte[]?> Sent, Task<DeliveryResult<byte[]?, byte[]?>> Result)>();
            var i = 0;
            foreach (var key in new[] { null, Array.Empty<byte>(), "k"u8.ToArray() })
            {
                foreach (var value in new[] { null, Array.Empty<byte>(), "v"u8.ToArray() })
                {
                    foreach (var partition in new int?[] { null, 2 })
                    {
                        foreach (var timestamp in new[] { Timestamp.Default, at })
                        {
                            for (var call = 0; call < 4; call++)
                            {
                                var id = $"m{i++}";
                                var message = new Message<byte[]?, byte[]?> { Key = key, Value = value, Headers = With(id), Timestamp = timestamp };
                                sent[id] = (key, value, partition, timestamp);
                                switch (call)
                                {
                                    case 0:
                                        producer.Produce(topic, key, value, message.Headers, partition is { } p0 ? new Partition(p0) : null, timestamp.Type == TimestampType.CreateTime ? timestamp : null);
                                        break;
                                    case 1:
                                        producer.Produce(topic, key, value, message.Headers, partition is { } p1 ? new Partition(p1) : null, timestamp, r => reports.Add((message, r)));
                                        break;
                                    case 2 when partition is { } p2:
                                        producer.Produce(new TopicPartition(topic, p2), message, r => reports.Add((message, r)));
                                        break;
                                    case 2:
                                        producer.Produce(topic, message, r => reports.Add((message, r)));
                                        break;
                                    default:
                                        results.Add((message, partition is { } p3 ? producer.ProduceAsync(new TopicPartition(topic, p3), message) : producer.ProduceAsync(topic, message)));
                                        break;
                                }
                            }
                        }
                    }
                }
            }

            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(30)));
            await Task.WhenAll(results.Select(r => r.Result)).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(sent.Count / 4, results.Count);
            Assert.Equal(sent.Count / 2, reports.Count);
            foreach (var (message, report) in reports)
            {
                Assert.False(report.Error.IsError, report.Error.Reason);
                Assert.Equal(PersistenceStatus.Persisted, report.Status);
                Assert.Same(message.Headers, report.Message.Headers);
                Assert.Same(message.Key, report.Message.Key);
                Assert.Same(message.Value, report.Message.Value);
                Assert.Equal(report.Topic, topic);
                if (sent[Encoding.UTF8.GetString(message.Headers.GetLastBytes("id"))].Partition is { } partition)
                {
                    Assert.Equal(partition, report.Partition.Value);
                }
            }

            foreach (var (message, task) in results)
            {
                var result = await task;
                Assert.Same(message.Headers, result.Message.Headers);
                Assert.Same(message.Key, result.Message.Key);
                Assert.Same(message.Value, result.Message.Value);
                if (sent[Encoding.UTF8.GetString(message.Headers.GetLastBytes("id"))].Partition is { } partition)
                {
                    Assert.Equal(partition, result.Partition.Value);
                }
            }
        }

        using var consumer = new DeserializingConsumerBuilder<byte[]?, byte[]?>(kafka.Consumer(KafkaFixture.Unique("shapes"))).Build();
        consumer.Subscribe(topic);
        var records = Records.PollMany(consumer, sent.Count, TimeSpan.FromSeconds(60));
        Assert.Null(consumer.Poll(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(sent.Count, records.Count);
        foreach (var record in records)
        {
            var id = Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes("id"));
            var (key, value, partition, timestamp) = sent[id];
            Assert.Equal(key, record.Message.Key);
            Assert.Equal(value, record.Message.Value);
            Assert.Equal(["id", "extra"], record.Message.Headers.Select(h => h.Key));
            Assert.Null(record.Message.Headers[1].GetValueBytes());
            if (partition is { } p)
            {
                Assert.Equal(p, record.Partition.Value);
            }

            if (record.Message.Timestamp.Type == TimestampType.CreateTime && timestamp.Type == TimestampType.CreateTime)
            {
                Assert.Equal(timestamp.UnixTimestampMs, record.Message.Timestamp.UnixTimestampMs);
            }
        }
    }

    [Fact]
    public async Task Many_threads_mixing_every_produce_call_get_each_message_stored_and_reported_exactly_once()
    {
        const int Threads = 8, PerThread = 4_000;
        var topic = KafkaFixture.Unique("mixed");
        await kafka.CreateTopicAsync(topic, 4);
        var config = kafka.Producer();
        config.QueueBufferingMaxMessages = 1_000; // a full local queue now and then: ProduceAsync waits, Produce is refused (at once, or in its report when queued behind a waiting one)
        var outcomes = new int[Threads * PerThread];
        var fireAndForget = new ConcurrentBag<int>();
        var refused = new ConcurrentBag<int>();
        var failedReports = 0;
        var errors = new ConcurrentBag<string>();
        await using var producer = new SerializingProducerBuilder<int, int>(config).SetErrorHandler(e => errors.Add(e.Reason)).Build();
        var tasks = new ConcurrentBag<Task>();
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var n = 0; n < PerThread; n++)
            {
                var id = (t * PerThread) + n;
                try
                {
                    switch (id % 3)
                    {
                        case 0:
                            producer.Produce(topic, id, id);
                            fireAndForget.Add(id);
                            break;
                        case 1:
                            producer.Produce(topic, id, id, onDelivery: r =>
                            {
                                Assert.Equal((id, id), (r.Message.Key, r.Message.Value));
                                if (r.Error.IsError)
                                {
                                    Assert.Equal(ErrorCode.Local_QueueFull, r.Error.Code);
                                    Interlocked.Increment(ref failedReports);
                                }

                                Interlocked.Increment(ref outcomes[id]);
                            });
                            break;
                        default:
                            tasks.Add(producer.ProduceAsync(topic, id, id).ContinueWith(
                                task =>
                                {
                                    Assert.Equal((id, id), (task.Result.Message.Key, task.Result.Message.Value));
                                    Interlocked.Increment(ref outcomes[id]);
                                },
                                TaskScheduler.Default));
                            break;
                    }
                }
                catch (DeliveryFailedException ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    refused.Add(id); // Produce refuses at once when the local queue is full: never sent
                    Thread.Sleep(1);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, producer.InFlight);
        var fireAndForgetFailed = errors.Count(e => e.EndsWith("Queue full (Local_QueueFull)", StringComparison.Ordinal));
        Assert.True(errors.Count == fireAndForgetFailed, string.Join("\n", errors.Take(5)));

        var refusedIds = refused.ToHashSet();
        for (var id = 0; id < outcomes.Length; id++)
        {
            var expected = id % 3 == 0 || refusedIds.Contains(id) ? 0 : 1;
            Assert.True(expected == outcomes[id], $"message {id}: {outcomes[id]} outcomes");
        }

        using var consumer = new DeserializingConsumerBuilder<int, int>(kafka.Consumer(KafkaFixture.Unique("mixed"))).Build();
        var stored = Enumerable.Range(0, 4).Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(30)).High.Value);
        Assert.Equal(outcomes.Length - refusedIds.Count - failedReports - fireAndForgetFailed, stored);
    }
    [Fact]
    public async Task A_partition_the_topic_lacks_fails_each_call_once_and_leaves_nothing_in_flight()
    {
        var topic = KafkaFixture.Unique("no-partition");
        await kafka.CreateTopicAsync(topic, 1);
        var errors = new ConcurrentBag<string>();
        await using var producer = new SerializingProducerBuilder<Null, string?>(kafka.Producer()).SetErrorHandler(e => errors.Add(e.Reason)).Build();
        var tombstone = await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<Null, string?> { Value = null }); // metadata known; a Null key and a tombstone
        Assert.Null(tombstone.Message.Value);

        var reports = new ConcurrentBag<DeliveryReport<Null, string?>>();
        var outcomes = 0;
        var wrong = new TopicPartition(topic, 7);
        var async = producer.ProduceAsync(wrong, new Message<Null, string?> { Value = "a" });
        try
        {
            producer.Produce(wrong, new Message<Null, string?> { Value = "b" }, r => reports.Add(r));
        }
        catch (DeliveryFailedException ex)
        {
            Assert.Equal(ErrorCode.Local_UnknownPartition, ex.Error.Code);
            Interlocked.Increment(ref outcomes);
        }

        var failed = await Assert.ThrowsAsync<DeliveryFailedException>(() => async.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(ErrorCode.Local_UnknownPartition, failed.Error.Code);
        Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, producer.InFlight);
        Assert.All(reports, r => Assert.Equal(ErrorCode.Local_UnknownPartition, r.Error.Code));
        Assert.Equal(1, outcomes + reports.Count);
        Assert.Empty(errors);
    }
}

using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Time.Testing;

namespace KafkaClient.IntegrationTests.Producer;

/// <summary>The producer pipeline: nothing lost on either dispose, one order for every send path, the caller's headers untouched, deadlines on the injected clock.</summary>
[Collection(KafkaCollection.Name)]
public class ProducerPipelineTests(KafkaFixture kafka)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Dispose_and_DisposeAsync_both_deliver_every_fire_and_forget_message_behind_an_async_serializer(bool async)
    {
        const int Messages = 50_000;
        var topic = KafkaFixture.Unique("dispose-" + (async ? "async" : "sync"));
        await kafka.CreateTopicAsync(topic, 1);
        var delivered = 0;
        var failed = 0;
        var producer = new SerializingProducerBuilder<Null, int>(kafka.Producer()).SetValueSerializer(new YieldingSerializer()).Build();
        for (var i = 0; i < Messages; i++)
        {
            producer.Produce(topic, null!, i, onDelivery: r =>
            {
                if (r.Error.IsError)
                {
                    Interlocked.Increment(ref failed);
                }
                else
                {
                    Interlocked.Increment(ref delivered);
                }
            });
        }

        if (async)
        {
            await producer.DisposeAsync();
        }
        else
        {
            producer.Dispose(); // what `using var producer` does
        }

        Assert.Equal(0, failed);
        Assert.Equal(Messages, delivered);
        Assert.Equal(Messages, HighWatermark(topic));
    }

    [Fact]
    public async Task Produce_and_ProduceAsync_keep_one_call_order_under_a_full_queue()
    {
        var topic = KafkaFixture.Unique("order-full");
        await kafka.CreateTopicAsync(topic, 1);
        var config = kafka.Producer();
        config.QueueBufferingMaxMessages = 4;
        config.LingerMs = 50;
        var produced = new List<int>();
        var refusals = new List<ErrorCode>();
        var tasks = new List<Task>();
        await using (var producer = new SerializingProducerBuilder<Null, int>(config).Build())
        {
            for (var i = 0; i < 200; i++)
            {
                if (i % 3 == 0)
                {
                    lock (produced)
                    {
                        produced.Add(i);
                    }

                    tasks.Add(producer.ProduceAsync(topic, null!, i)); // waits out a full queue
                    continue;
                }

                var value = i;
                lock (produced)
                {
                    produced.Add(value);
                }

                try
                {
                    producer.Produce(topic, null!, value, onDelivery: r =>
                    {
                        if (r.Error.IsError)
                        {
                            lock (produced)
                            {
                                produced.Remove(value);
                                refusals.Add(r.Error.Code);
                            }
                        }
                    });
                }
                catch (DeliveryFailedException ex) when (ex.Error.Code == ErrorCode.Local_QueueFull && ex.IsRetriable)
                {
                    lock (produced)
                    {
                        produced.Remove(value);
                    }
                }
            }

            await Task.WhenAll(tasks);
            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(60)));
        }

        // Every message that was delivered sits in the partition in call order; none overtook an earlier one.
        Assert.All(refusals, code => Assert.Equal(ErrorCode.Local_QueueFull, code));
        var stored = ReadAll(topic, produced.Count);
        Assert.Equal(produced.Order(), stored);
        Assert.True(produced.Count > 67, $"only {produced.Count} messages were delivered");
    }

    [Fact]
    public async Task Headers_a_serializer_adds_are_sent_without_changing_the_callers_headers_object()
    {
        var topic = KafkaFixture.Unique("headers");
        await kafka.CreateTopicAsync(topic, 1);
        var mine = new Headers { { "trace", "t-1"u8.ToArray() } };
        await using (var producer = new SerializingProducerBuilder<Null, string>(kafka.Producer()).SetValueSerializer(new HeaderWritingSerializer()).Build())
        {
            var result = await producer.ProduceAsync(topic, null!, "v", mine);
            Assert.Same(mine, result.Message.Headers);
            producer.Produce(topic, null!, "w", mine);
            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Single(mine);
        using var consumer = new DeserializingConsumerBuilder<Ignore, string>(kafka.Consumer(KafkaFixture.Unique("headers"))).Build();
        consumer.Subscribe(topic);
        foreach (var record in Records.PollMany(consumer, 2))
        {
            Assert.Equal(["trace", "schema"], record.Message.Headers.Select(h => h.Key));
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("none")]
    [InlineData("all")]
    [InlineData("value,headers")]
    public async Task Delivery_reports_carry_the_callers_message_and_librdkafkas_timestamp_and_status_whatever_report_fields_say(string? fields)
    {
        var topic = KafkaFixture.Unique("report-fields");
        await kafka.CreateTopicAsync(topic, 1);
        var config = kafka.Producer();
        if (fields is not null)
        {
            config.Set("dotnet.producer.delivery.report.fields", fields);
        }

        var headers = new Headers { { "h", "1"u8.ToArray() } };
        var reported = new TaskCompletionSource<DeliveryReport<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var producer = new SerializingProducerBuilder<string, string>(config).Build();
        var result = await producer.ProduceAsync(topic, "k", "v", headers);
        producer.Produce(topic, "k2", "v2", headers, onDelivery: r => reported.TrySetResult(r));
        var report = await reported.Task.WaitAsync(TimeSpan.FromSeconds(30));

        foreach (var (message, status, offset) in new[] { (result.Message, result.Status, result.Offset), (report.Message, report.Status, report.Offset) })
        {
            Assert.Same(headers, message.Headers);
            Assert.NotEqual(TimestampType.NotAvailable, message.Timestamp.Type); // the embedded broker stamps LogAppendTime
            Assert.True(message.Timestamp.UnixTimestampMs > 0);
            Assert.Equal(PersistenceStatus.Persisted, status);
        }

        Assert.Equal(("k", "v", 0L), (result.Message.Key, result.Message.Value, result.Offset.Value));
        Assert.Equal(("k2", "v2", 1L), (report.Message.Key, report.Message.Value, report.Offset.Value));
        Assert.False(report.Error.IsError);
    }

    [Fact]
    public async Task FlushAsync_and_DisposeAsync_deadlines_follow_the_injected_clock()
    {
        var time = new FakeTimeProvider();
        var failures = new List<Error>();
        var producer = new SerializingProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = "127.0.0.1:1", MessageTimeoutMs = 600_000 })
            .SetTimeProvider(time)
            .SetDisposeTimeout(TimeSpan.FromMinutes(5))
            .Build();
        producer.Produce("nowhere", null!, "lost?", onDelivery: r => { lock (failures) { failures.Add(r.Error); } });

        var flush = producer.FlushAsync(TimeSpan.FromMinutes(10));
        await Task.Delay(200);
        Assert.False(flush.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, await flush.WaitAsync(TimeSpan.FromSeconds(30)));

        var dispose = producer.DisposeAsync().AsTask();
        await Task.Delay(200);
        Assert.False(dispose.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(5));
        await dispose.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorCode.Local_PurgeQueue, Assert.Single(failures).Code);
    }

    private long HighWatermark(string topic)
    {
        using var consumer = new DeserializingConsumerBuilder<Ignore, Ignore>(kafka.Consumer(KafkaFixture.Unique("hwm"))).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(30)).High.Value;
    }

    private List<int> ReadAll(string topic, int count)
    {
        using var consumer = new DeserializingConsumerBuilder<Ignore, int>(kafka.Consumer(KafkaFixture.Unique("read"))).Build();
        consumer.Subscribe(topic);
        return Records.PollMany(consumer, count).Select(r => r.Message.Value).ToList();
    }

    /// <summary>Completes on the thread pool, as a schema-registry serializer does on a cache miss.</summary>
    private sealed class YieldingSerializer : IAsyncSerializer<int>
    {
        public async Task<byte[]> SerializeAsync(int data, SerializationContext context)
        {
            await Task.Yield();
            return Serdes.Int32.Serialize(data, context);
        }
    }

    /// <summary>Adds a header, as Schema Registry 8 serializers that put schema ids in headers will.</summary>
    private sealed class HeaderWritingSerializer : ISerializer<string>
    {
        public byte[] Serialize(string data, SerializationContext context)
        {
            context.Headers.Add("schema", "1"u8.ToArray());
            return Encoding.UTF8.GetBytes(data);
        }
    }
}

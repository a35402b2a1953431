using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Producer;

/// <summary>Asynchronous serializers (as schema-registry serializers are) with both produce styles: no blocking, order kept.</summary>
[Collection(KafkaCollection.Name)]
public class AsyncSerializerTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Callback_produce_with_a_slow_async_serializer_keeps_the_call_order()
    {
        const int Messages = 300;
        var topic = KafkaFixture.Unique("async-order");
        await kafka.CreateTopicAsync(topic, 1);
        var reports = new List<DeliveryReport<string, int>>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await using (var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).SetValueSerializer(new JitterySerializer()).Build())
        {
            for (var i = 0; i < Messages; i++)
            {
                producer.Produce(topic, "same-key", i, onDelivery: r =>
                {
                    lock (reports)
                    {
                        reports.Add(r);
                        if (reports.Count == Messages)
                        {
                            all.TrySetResult();
                        }
                    }
                });
            }

            await all.Task.WaitAsync(TimeSpan.FromSeconds(120));
        }

        Assert.All(reports, r => Assert.False(r.Error.IsError));
        Assert.Equal(Enumerable.Range(0, Messages), reports.OrderBy(r => r.Offset.Value).Select(r => r.Message.Value));
    }

    [Fact]
    public async Task Unawaited_ProduceAsync_calls_with_an_async_serializer_keep_the_call_order()
    {
        const int Messages = 300;
        var topic = KafkaFixture.Unique("async-order2");
        await kafka.CreateTopicAsync(topic, 1);
        await using var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).SetValueSerializer(new JitterySerializer()).Build();

        var tasks = Enumerable.Range(0, Messages).Select(i => producer.ProduceAsync(topic, "same-key", i)).ToList();
        var results = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(0, Messages), results.OrderBy(r => r.Offset.Value).Select(r => r.Message.Value));
    }

    [Fact]
    public async Task Async_serializer_works_from_a_single_threaded_synchronization_context_without_deadlock()
    {
        var topic = KafkaFixture.Unique("async-ctx");
        await kafka.CreateTopicAsync(topic, 1);
        await using var producer = new SerializingProducerBuilder<string, int>(kafka.Producer()).SetValueSerializer(new JitterySerializer()).Build();

        // A UI-like context: one thread. Produce (not awaited) must not block it waiting for the serializer.
        var delivered = new TaskCompletionSource<DeliveryReport<string, int>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new SynchronizationContext());
            producer.Produce(topic, "k", 42, onDelivery: r => delivered.TrySetResult(r));
        });
        thread.Start();
        thread.Join();

        var report = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.False(report.Error.IsError);
        Assert.Equal(42, report.Message.Value);
    }

    /// <summary>Serializes an int after a random delay, so later calls often finish first.</summary>
    private sealed class JitterySerializer : IAsyncSerializer<int>
    {
        public async Task<byte[]> SerializeAsync(int data, SerializationContext context)
        {
            if (Random.Shared.Next(3) != 0)
            {
                await Task.Delay(Random.Shared.Next(1, 4));
            }

            return Serdes.Int32.Serialize(data, context);
        }
    }
}

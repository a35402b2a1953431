using System.Collections.Concurrent;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Producer;

/// <summary>With background polling turned off, reports come from the caller's Poll and Flush, and dispose still learns every outcome.</summary>
[Collection(KafkaCollection.Name)]
public class ManualPollTests(KafkaFixture kafka)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reports_are_served_by_Poll_and_dispose_reports_every_message_delivered(bool async)
    {
        var topic = KafkaFixture.Unique("manual-poll");
        await kafka.CreateTopicAsync(topic, 1);
        var config = kafka.Producer();
        config.Set("dotnet.producer.enable.background.poll", "false");
        var reports = new ConcurrentDictionary<int, DeliveryReport<Null, int>>();
        var producer = new SerializingProducerBuilder<Null, int>(config).SetDisposeTimeout(TimeSpan.FromSeconds(10)).Build();

        var first = producer.ProduceAsync(topic, null!, 0);
        producer.Produce(topic, null!, 1, onDelivery: r => Assert.True(reports.TryAdd(r.Message.Value, r)));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((!first.IsCompleted || reports.IsEmpty) && DateTime.UtcNow < deadline)
        {
            producer.Poll(TimeSpan.FromMilliseconds(50)); // nothing else serves the reports
        }

        Assert.Equal(0L, (await first).Offset.Value);
        Assert.Equal(1L, reports[1].Offset.Value);

        var last = producer.ProduceAsync(topic, null!, 2);
        producer.Produce(topic, null!, 3, onDelivery: r => Assert.True(reports.TryAdd(r.Message.Value, r)));
        var started = DateTime.UtcNow;
        if (async)
        {
            await producer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        else
        {
            producer.Dispose();
        }

        Assert.Equal(2L, (await last.WaitAsync(TimeSpan.FromSeconds(5))).Offset.Value);
        Assert.False(reports[3].Error.IsError, reports[3].Error.Reason);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), $"dispose took {DateTime.UtcNow - started}");
    }
}

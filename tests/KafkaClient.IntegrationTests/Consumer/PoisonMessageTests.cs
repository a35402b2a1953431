using System.Text;
using Confluent.Kafka;
using KafkaClient.Testing;

namespace KafkaClient.IntegrationTests.Consumer;

[Collection(KafkaCollection.Name)]
public class PoisonMessageTests(KafkaFixture kafka)
{
    private static readonly byte[] Poison = [0xBA, 0xD0, 0x01]; // 3 bytes: not an Int32

    /// <summary>Writes 1, 2, poison, 4, 5 to one partition, as raw bytes.</summary>
    private async Task<string> TopicWithPoisonAsync(string prefix, EmbeddedKafkaCluster? cluster = null)
    {
        var topic = KafkaFixture.Unique(prefix);
        if (cluster is not null)
        {
            cluster.CreateTopic(topic);
        }
        else
        {
            await kafka.CreateTopicAsync(topic, 1);
        }

        var config = kafka.Producer();
        config.BootstrapServers = cluster?.BootstrapServers ?? kafka.BootstrapServers;
        await using var producer = new SerializingProducerBuilder<string, byte[]>(config).Build();
        var headers = new Headers { { "trace-id", Encoding.UTF8.GetBytes("abc-123") } };
        foreach (var (key, value) in new[] { ("a", Serdes.Int32.Serialize(1, default)), ("b", Serdes.Int32.Serialize(2, default)), ("poison", Poison), ("d", Serdes.Int32.Serialize(4, default)), ("e", Serdes.Int32.Serialize(5, default)) })
        {
            await producer.ProduceAsync(topic, key, value, key == "poison" ? headers : null);
        }

        return topic;
    }

    [Fact]
    public async Task Poison_record_raises_a_typed_exception_with_its_bytes_and_the_next_poll_goes_on()
    {
        var topic = await TopicWithPoisonAsync("poison");
        var group = KafkaFixture.Unique("poison");
        using (var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build())
        {
            consumer.Subscribe(topic);
            Assert.Equal([1, 2], Records.PollMany(consumer, 2).Select(r => r.Message.Value));

            var ex = Assert.Throws<ValueDeserializationException>(() =>
            {
                while (consumer.Poll(TimeSpan.FromMilliseconds(200)) is null)
                {
                }
            });

            Assert.Equal(topic, ex.Topic);
            Assert.Equal(0, ex.Partition!.Value.Value);
            Assert.Equal(2, ex.Offset!.Value.Value);
            Assert.Equal(Poison, ex.RawValue);
            Assert.Equal("poison", Encoding.UTF8.GetString(ex.RawKey!));
            Assert.Equal("abc-123", Encoding.UTF8.GetString(ex.Headers!.GetLastBytes("trace-id")));
            Assert.Equal(3, consumer.Position(new TopicPartition(topic, 0)).Value);

            // The partition is not stalled.
            Assert.Equal([4, 5], Records.PollMany(consumer, 2).Select(r => r.Message.Value));
            consumer.Close();
        }

        // The group's committed offset is past everything that was handed out, the poison record included.
        using var again = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        Assert.Equal(5, again.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10))[0].Offset.Value);
    }

    [Fact]
    public async Task Poison_record_ends_the_async_stream_and_a_new_stream_continues_after_it()
    {
        var topic = await TopicWithPoisonAsync("poison-stream");
        await using var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("poison-stream"))).Build();
        consumer.Subscribe(topic);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var values = new List<int>();

        var ex = await Assert.ThrowsAsync<ValueDeserializationException>(async () =>
        {
            await foreach (var record in consumer.ConsumeAsync(limit.Token))
            {
                values.Add(record.Message.Value);
            }
        });
        Assert.Equal(2, ex.Offset!.Value.Value);

        await foreach (var record in consumer.ConsumeAsync(limit.Token))
        {
            values.Add(record.Message.Value);
            if (values.Count == 4)
            {
                break;
            }
        }

        Assert.Equal([1, 2, 4, 5], values);
    }

    [Fact]
    public async Task Dead_letter_policy_forwards_the_raw_record_with_its_context_and_goes_on()
    {
        var topic = await TopicWithPoisonAsync("dlq-source");
        var deadLetters = topic + ".dlq";
        await kafka.CreateTopicAsync(deadLetters, 1);
        var group = KafkaFixture.Unique("dlq");

        using (var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group))
            .SetDeadLetterPolicy(new DeadLetterPolicy(source => source + ".dlq"))
            .Build())
        {
            consumer.Subscribe(topic);
            Assert.Equal([1, 2, 4, 5], Records.PollMany(consumer, 4).Select(r => r.Message.Value));
            consumer.Close();
        }

        using var reader = new DeserializingConsumerBuilder<string, byte[]>(kafka.Consumer(KafkaFixture.Unique("dlq-reader"))).Build();
        reader.Subscribe(deadLetters);
        var parked = Records.PollMany(reader, 1).Single();

        Assert.Equal("poison", parked.Message.Key);
        Assert.Equal(Poison, parked.Message.Value);
        string Header(string name) => Encoding.UTF8.GetString(parked.Message.Headers.GetLastBytes(name));
        Assert.Equal("abc-123", Header("trace-id"));
        Assert.Equal(topic, Header(DeadLetterPolicy.HeaderSourceTopic));
        Assert.Equal("0", Header(DeadLetterPolicy.HeaderSourcePartition));
        Assert.Equal("2", Header(DeadLetterPolicy.HeaderSourceOffset));
        Assert.Equal("value", Header(DeadLetterPolicy.HeaderComponent));
        Assert.False(string.IsNullOrEmpty(Header(DeadLetterPolicy.HeaderError)));
        Assert.False(string.IsNullOrEmpty(Header(DeadLetterPolicy.HeaderErrorType)));

        using var again = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(group)).Build();
        Assert.Equal(5, again.Committed([new TopicPartition(topic, 0)], TimeSpan.FromSeconds(10))[0].Offset.Value);
    }

    [Fact]
    public async Task A_dead_letter_topic_that_refuses_for_good_raises_once_and_the_consumer_moves_on()
    {
        await using var cluster = KafkaFixture.StartFaultCluster(brokerCount: 1);
        var topic = await TopicWithPoisonAsync("dlq-refused", cluster: cluster);
        var deadLetters = topic + ".dlq";
        cluster.CreateTopic(deadLetters);
        cluster.SetTopicError(deadLetters, ErrorCode.TopicAuthorizationFailed);

        var config = kafka.Consumer(KafkaFixture.Unique("dlq-refused"));
        config.BootstrapServers = cluster.BootstrapServers;
        using var consumer = new DeserializingConsumerBuilder<string, int>(config)
            .SetDeadLetterPolicy(new DeadLetterPolicy(deadLetters) { DeliveryTimeout = TimeSpan.FromSeconds(20) })
            .Build();
        consumer.Subscribe(topic);

        var values = new List<int>();
        DeadLetterException? refused = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((values.Count < 4 || refused is null) && DateTime.UtcNow < deadline)
        {
            try
            {
                if (consumer.Poll(TimeSpan.FromMilliseconds(200)) is { } record)
                {
                    values.Add(record.Message.Value);
                }
            }
            catch (DeadLetterException ex)
            {
                Assert.Null(refused); // raised once, not in a loop
                refused = ex;
            }
        }

        Assert.Equal([1, 2, 4, 5], values);
        Assert.NotNull(refused);
        Assert.False(refused.IsRetriable);
        Assert.Equal(deadLetters, refused.DeadLetterTopic);
        Assert.Equal(2, refused.Offset!.Value.Value);
        Assert.Equal(Poison, Assert.IsType<ValueDeserializationException>(refused.InnerException).RawValue);
        Assert.Null(consumer.Poll(TimeSpan.FromSeconds(1)));
    }
}

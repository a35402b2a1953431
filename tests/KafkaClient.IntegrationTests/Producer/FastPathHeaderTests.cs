using System.Text;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Producer;

/// <summary>A fast-path serializer that says it may write headers gets a copy, on the fast path and on the task path, with or without the caller's headers.</summary>
[Collection(KafkaCollection.Name)]
public class FastPathHeaderTests(KafkaFixture kafka)
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task Headers_a_fast_path_serializer_adds_are_sent_without_changing_the_callers_headers(bool warm, bool withHeaders)
    {
        var topic = KafkaFixture.Unique("fast-headers");
        await kafka.CreateTopicAsync(topic, 1);
        var mine = withHeaders ? new Headers { { "trace", "t-1"u8.ToArray() } } : null;
        var serializer = new HeaderWritingFastSerializer { Warm = warm };
        await using (var producer = new SerializingProducerBuilder<Null, string>(kafka.Producer()).SetValueSerializer(serializer).Build())
        {
            await producer.ProduceAsync(topic, null!, "v", mine);
            producer.Produce(topic, null!, "w", mine);
            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(warm ? (2, 0) : (2, 2), (serializer.Tries, serializer.Tasks));
        Assert.Equal(withHeaders ? ["trace"] : null, mine?.Select(h => h.Key));
        using var consumer = new DeserializingConsumerBuilder<Ignore, string>(kafka.Consumer(KafkaFixture.Unique("fast-headers"))).Build();
        consumer.Subscribe(topic);
        foreach (var record in Records.PollMany(consumer, 2))
        {
            Assert.Equal(withHeaders ? ["trace", "schema"] : ["schema"], record.Message.Headers.Select(h => h.Key));
        }
    }

    /// <summary>Writes a header on either path, and says so.</summary>
    private sealed class HeaderWritingFastSerializer : IFastPathSerializer<string>
    {
        private int _tries;
        private int _tasks;

        public bool Warm { get; init; }

        public int Tries => Volatile.Read(ref _tries);

        public int Tasks => Volatile.Read(ref _tasks);

        public bool MayWriteHeaders => true;

        public bool TrySerialize(string data, SerializationContext context, out byte[]? serialized)
        {
            Interlocked.Increment(ref _tries);
            serialized = null;
            if (!Warm)
            {
                return false;
            }

            serialized = Write(data, context);
            return true;
        }

        public async Task<byte[]> SerializeAsync(string data, SerializationContext context)
        {
            Interlocked.Increment(ref _tasks);
            await Task.Yield();
            return Write(data, context);
        }

        private static byte[] Write(string data, SerializationContext context)
        {
            context.Headers.Add("schema", "1"u8.ToArray());
            return Encoding.UTF8.GetBytes(data);
        }
    }
}

using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;

namespace KafkaClient.IntegrationTests.Producer;

[Collection(KafkaCollection.Name)]
public class PartitioningTests(KafkaFixture kafka)
{
    [Fact]
    public async Task Hundred_thousand_keyed_messages_are_all_consumed_in_order_in_javas_partitions()
    {
        const int Messages = 100_000;
        const int Keys = 1_000;
        const int Partitions = 12;
        var topic = KafkaFixture.Unique("keyed");
        await kafka.CreateTopicAsync(topic, Partitions);

        var partitionOfKey = new ConcurrentDictionary<string, int>();
        var moved = 0;
        var failed = 0;
        await using (var producer = new SerializingProducerBuilder<string, long>(kafka.Producer()).Build())
        {
            for (long i = 0; i < Messages; i++)
            {
                var key = $"key-{i % Keys}";
                while (true)
                {
                    try
                    {
                        producer.Produce(topic, key, i, onDelivery: report =>
                        {
                            if (report.Error.IsError)
                            {
                                Interlocked.Increment(ref failed);
                            }
                            else if (partitionOfKey.GetOrAdd(report.Message.Key, report.Partition.Value) != report.Partition.Value)
                            {
                                Interlocked.Increment(ref moved);
                            }
                        });
                        break;
                    }
                    catch (DeliveryFailedException ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        Assert.True(ex.IsRetriable);
                        await Task.Delay(1); // back-pressure: let the queue drain
                    }
                }
            }

            Assert.Equal(0, await producer.FlushAsync(TimeSpan.FromSeconds(120)));
        }

        Assert.Equal(0, failed);
        Assert.Equal(0, moved);
        Assert.Equal(Keys, partitionOfKey.Count);
        foreach (var (key, partition) in partitionOfKey)
        {
            Assert.Equal(KafkaPartitioner.PartitionFor(Encoding.UTF8.GetBytes(key), Partitions), partition);
        }

        using var consumer = new DeserializingConsumerBuilder<string, long>(kafka.Consumer(KafkaFixture.Unique("keyed"))).Build();
        consumer.Subscribe(topic);
        var records = Records.PollMany(consumer, Messages);

        Assert.Equal(Messages, records.Count);
        Assert.Equal(Messages, records.Select(r => r.Message.Value).Distinct().Count());
        var lastOffset = new Dictionary<int, long>();
        var lastValue = new Dictionary<string, long>();
        foreach (var record in records)
        {
            Assert.Equal(partitionOfKey[record.Message.Key], record.Partition.Value);
            Assert.True(lastOffset.GetValueOrDefault(record.Partition.Value, -1) < record.Offset.Value, "offsets go up within a partition");
            Assert.True(lastValue.GetValueOrDefault(record.Message.Key, -1) < record.Message.Value, "each key's messages arrive in the order produced");
            lastOffset[record.Partition.Value] = record.Offset.Value;
            lastValue[record.Message.Key] = record.Message.Value;
        }
    }

    // Hashes from Apache Kafka's UtilsTest.testMurmur2: the Java client puts key k in (hash & 0x7fffffff) % n.
    public static TheoryData<string, int> JavaGoldenKeys => new()
    {
        { "21", -973932308 },
        { "foobar", -790332482 },
        { "a-little-bit-long-string", -985981536 },
        { "a-little-bit-longer-string", -1486304829 },
        { "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
        { "abc", 479470107 },
    };

    [Theory]
    [MemberData(nameof(JavaGoldenKeys))]
    public async Task Keyed_messages_land_where_the_java_client_puts_them(string key, int javaMurmur2)
    {
        const int Partitions = 7;
        var topic = KafkaFixture.Unique("java-partition");
        await kafka.CreateTopicAsync(topic, Partitions);
        await using var producer = new SerializingProducerBuilder<string, string>(kafka.Producer()).Build();

        var result = await producer.ProduceAsync(topic, key, "v");

        Assert.Equal((javaMurmur2 & 0x7fffffff) % Partitions, result.Partition.Value);
    }

    [Fact]
    public async Task Another_partitioner_can_be_chosen()
    {
        const int Partitions = 7;
        var topic = KafkaFixture.Unique("crc32");
        await kafka.CreateTopicAsync(topic, Partitions);
        var config = kafka.Producer();
        config.Partitioner = Confluent.Kafka.Partitioner.Consistent; // librdkafka's CRC32
        await using var producer = new SerializingProducerBuilder<string, string>(config).Build();

        foreach (var key in JavaGoldenKeys.Select(row => (string)row[0]))
        {
            var result = await producer.ProduceAsync(topic, key, "v");
            Assert.Equal((int)(Crc32(Encoding.UTF8.GetBytes(key)) % Partitions), result.Partition.Value);
        }
    }

    // Plain CRC-32 (IEEE 802.3), as librdkafka's consistent partitioner computes it.
    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}

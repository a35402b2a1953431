using System.Text;

namespace KafkaClient.Tests.Producer;

public class KafkaPartitionerTests
{
    // The expected hashes are those of Apache Kafka's own UtilsTest.testMurmur2 (Java).
    public static TheoryData<byte[], int> JavaMurmur2 => new()
    {
        { Encoding.ASCII.GetBytes("21"), -973932308 },
        { Encoding.ASCII.GetBytes("foobar"), -790332482 },
        { Encoding.ASCII.GetBytes("a-little-bit-long-string"), -985981536 },
        { Encoding.ASCII.GetBytes("a-little-bit-longer-string"), -1486304829 },
        { Encoding.ASCII.GetBytes("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971 },
        { new byte[] { (byte)'a', (byte)'b', (byte)'c' }, 479470107 },
    };

    [Theory]
    [MemberData(nameof(JavaMurmur2))]
    public void Murmur2_equals_java(byte[] key, int javaHash) => Assert.Equal(javaHash, KafkaPartitioner.Murmur2(key));

    [Theory]
    [MemberData(nameof(JavaMurmur2))]
    public void Partition_is_javas_positive_hash_modulo_count(byte[] key, int javaHash)
    {
        foreach (var count in new[] { 1, 3, 6, 7, 12, 100 })
        {
            Assert.Equal((javaHash & 0x7fffffff) % count, KafkaPartitioner.PartitionFor(key, count));
        }
    }

    [Fact]
    public void Partition_count_must_be_positive() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => KafkaPartitioner.PartitionFor([1], 0));
}

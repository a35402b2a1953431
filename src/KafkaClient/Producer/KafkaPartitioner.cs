namespace KafkaClient;

/// <summary>The Java client's default key partitioning, to predict where a keyed message lands.</summary>
/// <remarks>
/// Producers built by <see cref="SerializingProducerBuilder{TKey, TValue}"/> use librdkafka's
/// <c>murmur2_random</c> partitioner, which computes the same function; this class lets code choose or check a
/// partition without producing. Stateless and thread-safe.
/// </remarks>
public static class KafkaPartitioner
{
    private const uint Seed = 0x9747b28c;
    private const uint M = 0x5bd1e995;
    private const int R = 24;

    /// <summary>Computes Kafka's murmur2 hash of the key bytes, exactly as Java's <c>Utils.murmur2</c>.</summary>
    /// <param name="key">The serialized key.</param>
    /// <returns>The 32-bit hash, as a signed int like Java's.</returns>
    public static int Murmur2(ReadOnlySpan<byte> key)
    {
        var length = key.Length;
        var h = Seed ^ (uint)length;
        var blocks = length / 4;
        for (var i = 0; i < blocks; i++)
        {
            // Java reads each 4-byte block little-endian.
            var k = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(i * 4, 4));
            k *= M;
            k ^= k >> R;
            k *= M;
            h *= M;
            h ^= k;
        }

        var tail = blocks * 4;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)key[tail + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)key[tail + 1] << 8;
                goto case 1;
            case 1:
                h ^= key[tail];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return unchecked((int)h);
    }

    /// <summary>Gets the partition the Java client (and this library's default) chooses for a non-null key.</summary>
    /// <param name="key">The serialized key.</param>
    /// <param name="partitionCount">The topic's partition count, 1 or more.</param>
    /// <returns><c>(murmur2(key) &amp; 0x7fffffff) % partitionCount</c>.</returns>
    public static int PartitionFor(ReadOnlySpan<byte> key, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        return (Murmur2(key) & 0x7fffffff) % partitionCount;
    }
}

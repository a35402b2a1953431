using Confluent.Kafka;

namespace KafkaClient;

/// <summary>The base of every exception this library raises for a Kafka operation that failed.</summary>
/// <remarks>
/// Context properties (<see cref="Topic"/>, <see cref="Partition"/>, <see cref="Offset"/>) are filled in when
/// they are known and null otherwise. Instances are immutable and safe to share between threads.
/// </remarks>
public abstract class KafkaClientException : Exception
{
    private protected KafkaClientException(string message, Exception? innerException, string? topic, Partition? partition, Offset? offset)
        : base(message, innerException)
    {
        Topic = topic;
        Partition = partition;
        Offset = offset;
    }

    /// <summary>Gets the topic the failed operation was about, if known.</summary>
    public string? Topic { get; }

    /// <summary>Gets the partition the failed operation was about, if known.</summary>
    public Partition? Partition { get; }

    /// <summary>Gets the offset of the record the failed operation was about, if known.</summary>
    public Offset? Offset { get; }

    /// <summary>Gets a value indicating whether repeating the same operation unchanged may succeed.</summary>
    public abstract bool IsRetriable { get; }
}

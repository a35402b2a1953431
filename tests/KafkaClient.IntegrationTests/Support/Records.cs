namespace KafkaClient.IntegrationTests;

internal static class Records
{
    /// <summary>Polls until <paramref name="count"/> records arrived or a generous safety limit passed (a hang guard, not a speed check).</summary>
    public static List<Confluent.Kafka.ConsumeResult<TKey, TValue>> PollMany<TKey, TValue>(
        DeserializingConsumer<TKey, TValue> consumer, int count, TimeSpan? limit = null)
    {
        var records = new List<Confluent.Kafka.ConsumeResult<TKey, TValue>>(count);
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(120));
        while (records.Count < count && DateTime.UtcNow < deadline)
        {
            var record = consumer.Poll(TimeSpan.FromMilliseconds(200));
            if (record is not null && !record.IsPartitionEOF)
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>Polls asynchronously (for async deserializers) until <paramref name="count"/> records arrived or a generous safety limit passed.</summary>
    public static async Task<List<Confluent.Kafka.ConsumeResult<TKey, TValue>>> PollManyAsync<TKey, TValue>(
        DeserializingConsumer<TKey, TValue> consumer, int count, TimeSpan? limit = null)
    {
        var records = new List<Confluent.Kafka.ConsumeResult<TKey, TValue>>(count);
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(120));
        while (records.Count < count && DateTime.UtcNow < deadline)
        {
            var record = await consumer.PollAsync(TimeSpan.FromMilliseconds(200));
            if (record is not null && !record.IsPartitionEOF)
            {
                records.Add(record);
            }
        }

        return records;
    }
}

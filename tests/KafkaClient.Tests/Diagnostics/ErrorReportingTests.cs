using Confluent.Kafka;

namespace KafkaClient.Tests.Diagnostics;

/// <summary>A wrong bootstrap server is reported once per outage, and librdkafka writes nothing to standard error by default.</summary>
[Collection(StandardErrorCollection.Name)]
public class ErrorReportingTests
{
    [Fact]
    public async Task An_unreachable_cluster_is_reported_once_and_nothing_reaches_standard_error()
    {
        var captured = new StringWriter();
        var original = Console.Error;
        Console.SetError(captured);
        var producerErrors = new List<Error>();
        var consumerErrors = new List<Error>();
        try
        {
            // 127.0.0.1:1 refuses at once, so librdkafka retries (and used to complain) many times a second.
            var producer = new SerializingProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = "127.0.0.1:1", ReconnectBackoffMs = 10, ReconnectBackoffMaxMs = 50 })
                .SetErrorHandler(e => { lock (producerErrors) { producerErrors.Add(e); } })
                .SetDisposeTimeout(TimeSpan.Zero)
                .Build();
            await using var consumer = new DeserializingConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = "127.0.0.1:1", GroupId = "g", ReconnectBackoffMs = 10, ReconnectBackoffMaxMs = 50 })
                .SetErrorHandler(e => { lock (consumerErrors) { consumerErrors.Add(e); } })
                .Build();
            consumer.Subscribe("t");
            Assert.Null(await consumer.PollAsync(TimeSpan.FromSeconds(4)));
            await producer.DisposeAsync();
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Single(producerErrors);
        Assert.Single(consumerErrors);
        Assert.DoesNotContain("127.0.0.1:1", captured.ToString(), StringComparison.Ordinal);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StandardErrorCollection
{
    public const string Name = "standard error";
}

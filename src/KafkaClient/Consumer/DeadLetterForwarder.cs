using System.Globalization;
using System.Text;
using Confluent.Kafka;

namespace KafkaClient.Consumer;

/// <summary>Writes poison records, raw, to the dead-letter topic and reports whether it acknowledged them.</summary>
internal sealed class DeadLetterForwarder : IDisposable
{
    private static readonly string[] InheritedPrefixes = ["bootstrap.servers", "client.id", "security.protocol", "sasl.", "ssl.", "socket.", "broker.address.family"];

    private readonly DeadLetterPolicy _policy;
    private readonly IProducer<byte[], byte[]> _producer;

    public DeadLetterForwarder(DeadLetterPolicy policy, IReadOnlyDictionary<string, string> consumerProperties)
    {
        _policy = policy;
        var properties = policy.ProducerConfig?.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)
            ?? DeriveProducerProperties(consumerProperties);
        try
        {
            _producer = new ProducerBuilder<byte[], byte[]>(properties).Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or KafkaException)
        {
            throw new ArgumentException($"Invalid dead-letter producer configuration: {ex.Message}", "config", ex);
        }
    }

    public Error Forward(ConsumeResult<byte[], byte[]> record, DeserializationException failure, out string topic)
    {
        if (!TryChooseTopic(record, out topic, out var refused))
        {
            return refused;
        }

        Error? outcome = null;
        // Not disposed: a report that arrives after the timeout must still find it usable.
        var done = new ManualResetEventSlim();
        try
        {
            _producer.Produce(topic, ToDeadLetter(record, failure), report =>
            {
                outcome = report.Error;
                done.Set();
            });
        }
        catch (ProduceException<byte[], byte[]> ex)
        {
            // Refused before queuing (for example the topic is known to be unwritable).
            return ex.Error;
        }
        return done.Wait(_policy.DeliveryTimeout)
            ? outcome!
            : new Error(ErrorCode.Local_TimedOut, $"The dead-letter topic did not acknowledge within {_policy.DeliveryTimeout.TotalSeconds:0.###} s.");
    }

    public async Task<(Error Error, string Topic)> ForwardAsync(ConsumeResult<byte[], byte[]> record, DeserializationException failure, CancellationToken cancellationToken)
    {
        if (!TryChooseTopic(record, out var topic, out var refused))
        {
            return (refused, topic);
        }

        try
        {
            await _producer.ProduceAsync(topic, ToDeadLetter(record, failure), cancellationToken)
                .WaitAsync(_policy.DeliveryTimeout, cancellationToken)
                .ConfigureAwait(false);
            return (new Error(ErrorCode.NoError), topic);
        }
        catch (ProduceException<byte[], byte[]> ex)
        {
            return (ex.Error, topic);
        }
        catch (TimeoutException)
        {
            return (new Error(ErrorCode.Local_TimedOut, $"The dead-letter topic did not acknowledge within {_policy.DeliveryTimeout.TotalSeconds:0.###} s."), topic);
        }
    }

    private bool TryChooseTopic(ConsumeResult<byte[], byte[]> record, out string topic, out Error refused)
    {
        try
        {
            topic = _policy.TopicFor(record.Topic);
            refused = new Error(ErrorCode.NoError);
            return true;
        }
        catch (Exception ex)
        {
            // A topic selector that fails must not lose the record: it is reported like a failed forward.
            topic = "(none)";
            refused = new Error(ErrorCode.Local_Fail, $"The dead-letter policy could not choose a topic: {ex.Message}");
            return false;
        }
    }

    public void Dispose()
    {
        _producer.Flush(_policy.DeliveryTimeout);
        _producer.Dispose();
    }

    private static Message<byte[], byte[]> ToDeadLetter(ConsumeResult<byte[], byte[]> record, DeserializationException failure)
    {
        var headers = new Headers();
        if (record.Message.Headers is { } original)
        {
            foreach (var header in original)
            {
                headers.Add(header.Key, header.GetValueBytes());
            }
        }

        headers.Add(DeadLetterPolicy.HeaderError, Encoding.UTF8.GetBytes(failure.InnerException?.Message ?? failure.Message));
        headers.Add(DeadLetterPolicy.HeaderErrorType, Encoding.UTF8.GetBytes((failure.InnerException ?? failure).GetType().FullName!));
        headers.Add(DeadLetterPolicy.HeaderComponent, Encoding.UTF8.GetBytes(failure.Component == MessageComponentType.Key ? "key" : "value"));
        headers.Add(DeadLetterPolicy.HeaderSourceTopic, Encoding.UTF8.GetBytes(record.Topic));
        headers.Add(DeadLetterPolicy.HeaderSourcePartition, Encoding.UTF8.GetBytes(record.Partition.Value.ToString(CultureInfo.InvariantCulture)));
        headers.Add(DeadLetterPolicy.HeaderSourceOffset, Encoding.UTF8.GetBytes(record.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        return new Message<byte[], byte[]>
        {
            Key = record.Message.Key,
            Value = record.Message.Value,
            Timestamp = record.Message.Timestamp,
            Headers = headers,
        };
    }

    private static Dictionary<string, string> DeriveProducerProperties(IReadOnlyDictionary<string, string> consumer)
    {
        var properties = consumer
            .Where(p => InheritedPrefixes.Any(prefix => p.Key.StartsWith(prefix, StringComparison.Ordinal)))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        properties["acks"] = "all";
        properties["enable.idempotence"] = "true";
        return properties;
    }
}

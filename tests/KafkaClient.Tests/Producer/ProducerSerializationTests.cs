using Confluent.Kafka;

namespace KafkaClient.Tests.Producer;

/// <summary>Serializer failures, sync and async, and what happens to messages a disposed producer never delivered.</summary>
public class ProducerSerializationTests
{
    private static SerializingProducerBuilder<string, string> Builder() =>
        new(new ProducerConfig { BootstrapServers = ProducerConfigurationTests.Nowhere });

    [Fact]
    public void Failing_sync_serializer_throws_before_anything_is_queued()
    {
        using var producer = Builder().SetValueSerializer(new Failing()).SetDisposeTimeout(TimeSpan.Zero).Build();

        var ex = Assert.Throws<ValueSerializationException>(() => producer.Produce("orders", "k", "v"));

        Assert.Equal("orders", ex.Topic);
        Assert.Equal(MessageComponentType.Value, ex.Component);
        Assert.IsType<FormatException>(ex.InnerException);
        Assert.False(ex.IsRetriable);
        Assert.Equal(0, producer.InFlight);
    }

    [Fact]
    public void Failing_key_serializer_throws_a_key_exception()
    {
        using var producer = Builder().SetKeySerializer(new Failing()).SetDisposeTimeout(TimeSpan.Zero).Build();

        var ex = Assert.Throws<KeySerializationException>(() => producer.Produce("orders", "k", "v"));
        Assert.Equal(MessageComponentType.Key, ex.Component);
        Assert.Equal(0, producer.InFlight);
    }

    [Fact]
    public async Task Failing_async_serializer_faults_ProduceAsync_with_a_typed_exception()
    {
        await using var producer = Builder().SetValueSerializer(new FailingLater()).SetDisposeTimeout(TimeSpan.Zero).Build();

        var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync("orders", "k", "v"));
        Assert.IsType<FormatException>(ex.InnerException);
        Assert.Equal(0, producer.InFlight);
    }

    [Fact]
    public async Task Failing_async_serializer_reports_through_the_delivery_callback()
    {
        await using var producer = Builder().SetValueSerializer(new FailingLater()).SetDisposeTimeout(TimeSpan.Zero).Build();
        var report = new TaskCompletionSource<DeliveryReport<string, string>>(TaskCreationOptions.RunContinuationsAsynchronously);

        producer.Produce("orders", "k", "v", onDelivery: r => report.TrySetResult(r));

        var received = await report.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorCode.Local_ValueSerialization, received.Error.Code);
        Assert.Contains("not JSON", received.Error.Reason, StringComparison.Ordinal);
        Assert.Equal("v", received.Message.Value);
    }

    [Fact]
    public async Task Failing_async_serializer_without_callback_goes_to_the_error_handler()
    {
        var errors = new TaskCompletionSource<Error>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var producer = Builder()
            .SetValueSerializer(new FailingLater())
            .SetErrorHandler(e =>
            {
                // Connection errors to the unreachable broker arrive here too.
                if (e.Code != ErrorCode.Local_Transport && e.Code != ErrorCode.Local_AllBrokersDown)
                {
                    errors.TrySetResult(e);
                }
            })
            .SetDisposeTimeout(TimeSpan.Zero)
            .Build();

        producer.Produce("orders", "k", "v");

        var error = await errors.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorCode.Local_ValueSerialization, error.Code);
    }

    [Fact]
    public async Task Dispose_reports_every_undelivered_message_as_failed()
    {
        var producer = Builder().SetDisposeTimeout(TimeSpan.FromMilliseconds(300)).Build();
        var reports = new List<DeliveryReport<string, string>>();
        for (var i = 0; i < 5; i++)
        {
            producer.Produce("orders", $"k{i}", "v", onDelivery: r => { lock (reports) { reports.Add(r); } });
        }

        var tasks = Enumerable.Range(0, 5).Select(i => producer.ProduceAsync("orders", $"a{i}", "v")).ToList();
        Assert.Equal(10, producer.InFlight);

        await producer.DisposeAsync();

        Assert.Equal(5, reports.Count);
        Assert.All(reports, r => Assert.Equal(ErrorCode.Local_PurgeQueue, r.Error.Code));
        foreach (var task in tasks)
        {
            var ex = await Assert.ThrowsAsync<DeliveryFailedException>(() => task);
            Assert.Equal(ErrorCode.Local_PurgeQueue, ex.Error.Code);
            Assert.True(ex.IsRetriable);
            Assert.Equal("orders", ex.Topic);
        }
    }

    [Fact]
    public void Sync_dispose_reports_undelivered_messages_too()
    {
        var producer = Builder().SetDisposeTimeout(TimeSpan.FromMilliseconds(200)).Build();
        Error? error = null;
        producer.Produce("orders", "k", "v", onDelivery: r => error = r.Error);

        producer.Dispose();

        Assert.Equal(ErrorCode.Local_PurgeQueue, error?.Code);
        Assert.Throws<ObjectDisposedException>(() => producer.Produce("orders", "k", "v"));
    }

    [Fact]
    public async Task A_message_waiting_for_its_report_holds_neither_its_bytes_nor_without_a_callback_the_callers_value()
    {
        // Nobody listens at the bootstrap address, so every message stays in flight until dispose purges it.
        var serializer = new Remembering();
        var producer = new SerializingProducerBuilder<string, Payload>(new ProducerConfig { BootstrapServers = ProducerConfigurationTests.Nowhere })
            .SetValueSerializer(serializer)
            .SetDisposeTimeout(TimeSpan.Zero)
            .Build();
        var reports = new List<DeliveryReport<string, Payload>>();
        var withCallback = ProduceSome(producer, serializer, reports);
        Assert.Equal(6, producer.InFlight);

        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);

        // librdkafka copied the bytes when it took each message: none survives while the messages are in flight.
        Assert.Equal(6, serializer.Written.Count);
        Assert.All(serializer.Written, bytes => Assert.False(bytes.IsAlive));

        // Fire-and-forget values are the caller's alone; a callback's message is kept for its report.
        Assert.All(serializer.Values.Take(3), value => Assert.False(value.IsAlive));
        Assert.All(serializer.Values.Skip(3), value => Assert.True(value.IsAlive));

        await producer.DisposeAsync();
        Assert.Equal(3, reports.Count);
        Assert.Equal(withCallback, reports.Select(r => r.Message.Value.Text).Order());
        Assert.All(reports, r => Assert.Equal(ErrorCode.Local_PurgeQueue, r.Error.Code));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static string[] ProduceSome(SerializingProducer<string, Payload> producer, Remembering serializer, List<DeliveryReport<string, Payload>> reports)
    {
        for (var i = 0; i < 3; i++)
        {
            var value = new Payload($"forgotten {i}");
            serializer.Values.Add(new WeakReference(value));
            producer.Produce("orders", $"k{i}", value);
        }

        for (var i = 0; i < 3; i++)
        {
            var value = new Payload($"reported {i}");
            serializer.Values.Add(new WeakReference(value));
            producer.Produce("orders", $"r{i}", value, onDelivery: r => { lock (reports) { reports.Add(r); } });
        }

        return ["reported 0", "reported 1", "reported 2"];
    }

    [Fact]
    public async Task Cancelled_ProduceAsync_never_queues()
    {
        await using var producer = Builder().SetDisposeTimeout(TimeSpan.Zero).Build();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => producer.ProduceAsync("orders", "k", "v", cancellationToken: cancelled.Token));
        Assert.Equal(0, producer.InFlight);
    }

    private sealed record Payload(string Text);

    private sealed class Remembering : ISerializer<Payload>
    {
        public List<WeakReference> Written { get; } = [];

        public List<WeakReference> Values { get; } = [];

        public byte[] Serialize(Payload data, SerializationContext context)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(data.Text);
            Written.Add(new WeakReference(bytes));
            return bytes;
        }
    }

    private sealed class Failing : ISerializer<string>
    {
        public byte[] Serialize(string data, SerializationContext context) => throw new FormatException("not JSON");
    }

    private sealed class FailingLater : IAsyncSerializer<string>
    {
        public async Task<byte[]> SerializeAsync(string data, SerializationContext context)
        {
            await Task.Delay(20);
            throw new FormatException("not JSON");
        }
    }
}

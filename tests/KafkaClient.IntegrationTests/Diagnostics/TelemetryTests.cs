using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using User = KafkaClient.IntegrationTests.SchemaRegistry.User;

namespace KafkaClient.IntegrationTests.Diagnostics;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection : ICollectionFixture<KafkaFixture>
{
    // A listener sees every client of the process: alone, so that no other test's records carry trace headers.
    public const string Name = "Telemetry";
}

/// <summary>Traces and metrics through real clients on the embedded cluster: one trace crosses the topic, and the instruments count what happened.</summary>
[Collection(TelemetryCollection.Name)]
public class TelemetryTests(KafkaFixture kafka)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_trace_context_of_a_send_crosses_the_topic_into_receive_and_process_and_the_callers_headers_stay_untouched()
    {
        var topic = KafkaFixture.Unique("traced");
        await kafka.CreateTopicAsync(topic, 1);
        using var activities = new Recorder(topic);
        using var parent = new Activity("caller").Start();
        var headers = new Headers { { "app", "x"u8.ToArray() } };
        await using (var producer = new SerializingProducerBuilder<string, string>(kafka.Producer()).Build())
        {
            await producer.ProduceAsync(topic, new Message<string, string> { Key = "k1", Value = "v1", Headers = headers });
            Assert.Same(parent, Activity.Current); // the send activity never became the caller's current one
        }

        parent.Stop();
        Assert.Single(headers); // the caller's object: no trace header added to it
        var send = Assert.Single(activities.Named("send " + topic));
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(parent.TraceId, send.TraceId);
        Assert.Equal(parent.SpanId, send.ParentSpanId);
        Assert.Equal("kafka", send.GetTagItem("messaging.system"));
        Assert.Equal(topic, send.GetTagItem("messaging.destination.name"));
        Assert.Equal("0", send.GetTagItem("messaging.destination.partition.id"));
        Assert.Equal(0L, send.GetTagItem("messaging.kafka.offset"));
        Assert.Equal("k1", send.GetTagItem("messaging.kafka.message.key"));
        Assert.Equal(ActivityStatusCode.Unset, send.Status);
        Assert.True(send.Duration > TimeSpan.Zero);

        var group = KafkaFixture.Unique("traced");
        await using var consumer = new DeserializingConsumerBuilder<string, string>(kafka.Consumer(group)).Build();
        consumer.Subscribe(topic);
        var record = await consumer.PollAsync(Patience);
        Assert.NotNull(record);
        Assert.Equal("x"u8.ToArray(), record.Message.Headers.GetLastBytes("app"));
        Assert.Equal($"00-{send.TraceId}-{send.SpanId}-01", Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes("traceparent")));
        Assert.True(KafkaClientTelemetry.TryGetTraceContext(record.Message.Headers, out var context));
        Assert.Equal(send.TraceId, context.TraceId);

        var receive = Assert.Single(activities.Named("receive " + topic));
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        Assert.Equal(send.SpanId, Assert.Single(receive.Links).Context.SpanId);
        Assert.Equal(group, receive.GetTagItem("messaging.consumer.group.name"));
        Assert.Equal(0L, receive.GetTagItem("messaging.kafka.offset"));

        using (var process = KafkaClientTelemetry.StartProcessActivity(record, group))
        {
            Assert.NotNull(process);
            Assert.Same(process, Activity.Current);
            Assert.Equal(send.TraceId, process.TraceId);
            Assert.Equal(send.SpanId, process.ParentSpanId);
            Assert.Equal("process", process.GetTagItem("messaging.operation.type"));
        }
    }

    [Fact]
    public async Task While_nobody_listens_no_trace_header_is_written()
    {
        var topic = KafkaFixture.Unique("untraced");
        await kafka.CreateTopicAsync(topic, 1);
        await using (var producer = new SerializingProducerBuilder<string, string>(kafka.Producer()).Build())
        {
            await producer.ProduceAsync(topic, "k", "v");
        }

        await using var consumer = new DeserializingConsumerBuilder<string, string>(kafka.Consumer(KafkaFixture.Unique("untraced"))).Build();
        consumer.Subscribe(topic);
        var record = await consumer.PollAsync(Patience);
        Assert.NotNull(record);
        Assert.False(record.Message.Headers?.TryGetLastBytes("traceparent", out _) ?? false);
        Assert.Null(KafkaClientTelemetry.StartProcessActivity(record));
    }

    [Fact]
    public async Task A_failed_send_ends_its_activity_in_error_and_a_serializer_failure_is_counted_not_sent()
    {
        var topic = KafkaFixture.Unique("refused");
        await kafka.CreateTopicAsync(topic, 1);
        using var activities = new Recorder(topic);
        using var metrics = new Metrics(topic);
        await using var producer = new SerializingProducerBuilder<string, string>(kafka.Producer())
            .SetValueSerializer(new Refusing())
            .Build();
        await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync(topic, "k", "v"));
        Assert.Throws<ValueSerializationException>(() => producer.Produce(topic, "k", "v"));

        Assert.All(activities.Named("send " + topic), send =>
        {
            Assert.Equal(ActivityStatusCode.Error, send.Status);
            Assert.Equal("Local_Fail", send.GetTagItem("error.type"));
        });
        Assert.Equal(2, activities.Named("send " + topic).Count);
        Assert.Equal(2, metrics.Sum("kafkaclient.serialization.failures"));
        Assert.Equal(0, metrics.Sum("messaging.client.sent.messages"));
    }

    [Fact]
    public async Task Counters_and_the_duration_histogram_count_every_message_produced_and_consumed_and_every_poison_record()
    {
        const int Count = 20;
        var topic = KafkaFixture.Unique("metered");
        await kafka.CreateTopicAsync(topic, 2);
        using var metrics = new Metrics(topic);
        await using (var producer = new SerializingProducerBuilder<string, string>(kafka.Producer()).Build())
        {
            for (var i = 0; i < Count; i++)
            {
                producer.Produce(topic, $"k{i}", i % 5 == 0 ? "poison" : $"{i}");
            }

            Assert.Equal(0, await producer.FlushAsync(Patience));
        }

        Assert.Equal(Count, metrics.Sum("messaging.client.sent.messages"));
        Assert.Equal(Count, metrics.Count("messaging.client.operation.duration"));
        Assert.True(metrics.Sum("kafkaclient.client.sent.bytes") >= Count * 3);

        var skipped = 0;
        await using (var consumer = new DeserializingConsumerBuilder<string, int>(kafka.Consumer(KafkaFixture.Unique("metered")))
            .SetValueDeserializer(new Digits())
            .SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(_ => Interlocked.Increment(ref skipped)))
            .Build())
        {
            consumer.Subscribe(topic);
            var good = 0;
            using var limit = new CancellationTokenSource(Patience);
            await foreach (var record in consumer.ConsumeAsync(limit.Token))
            {
                if (++good == Count - (Count / 5))
                {
                    break;
                }
            }
        }

        Assert.Equal(Count / 5, skipped);
        Assert.Equal(Count - (Count / 5), metrics.Sum("messaging.client.consumed.messages"));
        Assert.Equal(Count / 5, metrics.Sum("kafkaclient.deserialization.failures", ("kafkaclient.outcome", "skipped")));
    }

    [Fact]
    public async Task Consumer_lag_per_partition_comes_from_librdkafkas_statistics()
    {
        const int Count = 10;
        var topic = KafkaFixture.Unique("lagging");
        await kafka.CreateTopicAsync(topic, 1);
        await using (var producer = new SerializingProducerBuilder<string, string>(kafka.Producer()).Build())
        {
            for (var i = 0; i < Count; i++)
            {
                producer.Produce(topic, $"k{i}", $"v{i}");
            }

            Assert.Equal(0, await producer.FlushAsync(Patience));
        }

        using var metrics = new Metrics(topic);
        var statistics = 0;
        var config = kafka.Consumer(KafkaFixture.Unique("lagging"));
        config.StatisticsIntervalMs = 100;
        config.EnableAutoCommit = false;
        await using var consumer = new DeserializingConsumerBuilder<string, string>(config)
            .SetFetchBufferSize(1)
            .SetStatisticsHandler(_ => Interlocked.Increment(ref statistics))
            .Build();
        consumer.Assign([new TopicPartitionOffset(topic, 0, Offset.Beginning)]);

        // Read slowly, a statistics report or two per record: the lag seen falls from what is left to read to none.
        var seen = new List<long>();
        for (var read = 0; read < Count; read++)
        {
            Assert.NotNull(await consumer.PollAsync(Patience));
            await Task.Delay(250);
            if (metrics.Observe("kafkaclient.consumer.lag", ("messaging.destination.partition.id", "0")) is { } lag)
            {
                seen.Add(lag);
            }
        }

        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline && seen.LastOrDefault(-1) != 0)
        {
            _ = await consumer.PollAsync(TimeSpan.FromMilliseconds(200));
            seen.Add(metrics.Observe("kafkaclient.consumer.lag", ("messaging.destination.partition.id", "0")) ?? -1);
        }

        Assert.True(statistics > 0, "the application's own statistics handler still runs");
        Assert.True(seen.Any(lag => lag is > 0 and < Count), string.Join(",", seen) + " stats " + statistics);
        Assert.All(seen.Where(lag => lag >= 0), lag => Assert.InRange(lag, 0, Count));
        Assert.Equal(0, seen[^1]);
    }

    [Fact]
    public async Task Registry_calls_are_counted_once_per_schema_and_every_later_message_is_a_cache_hit()
    {
        const int Count = 50;
        var topic = KafkaFixture.Unique("registry-metered");
        await kafka.CreateTopicAsync(topic, 1);
        await using var embedded = await KafkaClient.Testing.EmbeddedSchemaRegistry.StartAsync();
        using var registry = new Confluent.SchemaRegistry.CachedSchemaRegistryClient(new Confluent.SchemaRegistry.SchemaRegistryConfig { Url = embedded.Url });
        using var metrics = new Metrics(topic, everything: true);
        await using (var producer = new SerializingProducerBuilder<string, User>(kafka.Producer())
            .SetValueSerializer(new KafkaClient.SchemaRegistry.Json.JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json))
            .Build())
        {
            await producer.ProduceAsync(topic, "k0", new User("user-0", 1, "blue", null)); // learns the schema id
            for (var i = 1; i < Count; i++)
            {
                producer.Produce(topic, $"k{i}", new User($"user-{i}", i + 1, "blue", null));
            }

            Assert.Equal(0, await producer.FlushAsync(Patience));
        }

        // Registering the schema (register, then the version): a handful of calls, none per message.
        var calls = metrics.Sum("kafkaclient.schema_registry.calls");
        Assert.InRange(calls, 1, 5);
        Assert.True(metrics.Sum("kafkaclient.schema_registry.cache.hits") >= Count - 1, $"hits {metrics.Sum("kafkaclient.schema_registry.cache.hits")} calls {calls}");

        await embedded.DisposeAsync();
        using var unreachable = new Confluent.SchemaRegistry.CachedSchemaRegistryClient(new Confluent.SchemaRegistry.SchemaRegistryConfig { Url = embedded.Url, RequestTimeoutMs = 2000, MaxRetries = 1 });
        await using var refused = new SerializingProducerBuilder<string, User>(kafka.Producer())
            .SetValueSerializer(new KafkaClient.SchemaRegistry.Json.JsonSchemaSerializer<User>(unreachable, User.Schema, jsonOptions: User.Json))
            .Build();
        await Assert.ThrowsAsync<ValueSerializationException>(() => refused.ProduceAsync(topic, "k", new User("x", 1, "blue", null)));
        Assert.True(metrics.Sum("kafkaclient.schema_registry.calls", ("error.type", null)) == calls, "a failed call carries its error type");
        Assert.Contains(metrics.All("kafkaclient.schema_registry.calls"), m => m.Tags.Any(t => t.Key == "error.type" && t.Value is string));
    }

    private sealed class Refusing : ISerializer<string>
    {
        public byte[] Serialize(string data, SerializationContext context) => throw new FormatException("refused");
    }

    private sealed class Digits : IDeserializer<int>
    {
        public int Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) =>
            int.Parse(Encoding.UTF8.GetString(data), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Records the stopped activities of this library that concern one topic.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ActivityListener _listener;

        public Recorder(string topic)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == KafkaClientTelemetry.Name,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (activity.DisplayName.EndsWith(" " + topic, StringComparison.Ordinal))
                    {
                        _stopped.Enqueue(activity);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<Activity> Named(string name) => _stopped.Where(a => a.DisplayName == name).ToList();

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Collects this library's measurements that concern one topic.</summary>
    private sealed class Metrics : IDisposable
    {
        private readonly string _topic;
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

        private readonly bool _everything;

        public Metrics(string topic, bool everything = false)
        {
            _topic = topic;
            _everything = everything;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == KafkaClientTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.Start();
        }

        public List<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> All(string instrument) => Matching(instrument, []).ToList();

        public long Sum(string instrument, params (string Key, string? Value)[] filter) =>
            (long)Matching(instrument, filter).Sum(m => m.Value);

        public int Count(string instrument) => Matching(instrument, []).Count();

        public long? Observe(string instrument, params (string Key, string? Value)[] filter)
        {
            _listener.RecordObservableInstruments();
            return Matching(instrument, filter).Select(m => (long?)m.Value).LastOrDefault();
        }

        public void Dispose() => _listener.Dispose();

        private IEnumerable<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Matching(string instrument, (string Key, string? Value)[] filter) =>
            _measurements.Where(m => m.Instrument == instrument && filter.All(f => m.Tags.Any(t => t.Key == f.Key && Equals(t.Value, f.Value))));

        private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var array = tags.ToArray();
            if (_everything || array.Any(t => t.Key == "messaging.destination.name" && Equals(t.Value, _topic)))
            {
                _measurements.Enqueue((instrument.Name, value, array));
            }
        }
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.Hosting.Tests.Consuming;
using KafkaClient.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace KafkaClient.Hosting.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HealthAndTracingCollection : ICollectionFixture<HostedConsumerFixture>
{
    // An activity listener sees every client of the process, and a broker taken down every client of its cluster: alone.
    public const string Name = "health-and-tracing";
}

/// <summary>Health checks that follow the broker, the registry and a consumer; and one trace from a producer into a hosted consumer's handler.</summary>
[Collection(HealthAndTracingCollection.Name)]
public sealed class HealthAndTracingTests(HostedConsumerFixture kafka)
{
    [Fact]
    public async Task The_trace_id_produced_is_the_one_the_hosted_handler_sees_inside_its_process_activity()
    {
        var topic = HostedConsumerFixture.Unique("traced");
        kafka.Cluster.CreateTopic(topic, 1);
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(stopped);

        ActivityTraceId produced;
        using (var request = new Activity("request").Start())
        {
            produced = request.TraceId;
            await using var producer = new SerializingProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.Cluster.BootstrapServers }).Build();
            await producer.ProduceAsync(topic, "k", "v");
        }

        var seen = new TaskCompletionSource<(ActivityTraceId Trace, ActivitySpanId Parent, string Name)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var behavior = new Behavior
        {
            Handle = (_, _) =>
            {
                var current = Activity.Current!;
                seen.TrySetResult((current.TraceId, current.ParentSpanId, current.DisplayName));
                return ValueTask.CompletedTask;
            },
        };
        var group = HostedConsumerFixture.Unique("traced");
        using var host = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
        {
            kafka.Configure(o, topic, group);
        }));
        await host.StartAsync();
        var (trace, parent, name) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Hosts.StopAsync(host);

        var send = Assert.Single(stopped, a => a.DisplayName == "send " + topic);
        Assert.Equal(produced, trace);
        Assert.Equal(send.SpanId, parent);
        Assert.Equal("process " + topic, name);
        var process = Assert.Single(stopped, a => a.DisplayName == "process " + topic);
        Assert.Equal(group, process.GetTagItem("messaging.consumer.group.name"));
    }

    [Fact]
    public async Task A_batch_handler_runs_inside_one_process_activity_linked_to_each_records_producer()
    {
        var topic = HostedConsumerFixture.Unique("traced-batch");
        kafka.Cluster.CreateTopic(topic, 2);
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = Listen(stopped);

        // Each record is produced in a trace of its own.
        var traces = new Dictionary<string, ActivityTraceId>();
        await using (var producer = new SerializingProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.Cluster.BootstrapServers }).Build())
        {
            for (var i = 0; i < 6; i++)
            {
                using var request = new Activity("request").Start();
                traces[$"v{i}"] = request.TraceId;
                await producer.ProduceAsync(new TopicPartition(topic, i % 2), new Message<string, string> { Key = $"k{i}", Value = $"v{i}" });
            }
        }

        var sends = stopped.Where(a => a.DisplayName == "send " + topic).ToDictionary(a => a.TraceId, a => a.Context.SpanId);
        var seen = new ConcurrentQueue<(string[] Values, Activity? Current, ActivityLink[] Links)>();
        var calls = 0;
        var behavior = new Behavior
        {
            HandleBatch = (records, _) =>
            {
                var current = Activity.Current;
                seen.Enqueue(([.. records.Select(r => r.Message.Value)], current, [.. current?.Links ?? []]));
                return Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("first attempt fails") : ValueTask.CompletedTask;
            },
        };
        var group = HostedConsumerFixture.Unique("traced-batch");
        using var host = Hosts.Build(behavior, services => services.AddKafkaBatchConsumerService<string, string, TestBatchHandler>(o =>
        {
            kafka.Configure(o, topic, group);
            o.MaxBatchSize = 6;
            o.MaxBatchWait = TimeSpan.FromSeconds(2);
            o.MaxAttempts = 2;
            o.RetryBackoff = TimeSpan.FromMilliseconds(10);
        }));
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => kafka.Committed(group, topic, 2).Sum() == 6), "the batches were not all handled");
        await Hosts.StopAsync(host);

        var processes = stopped.Where(a => a.DisplayName == "process " + topic).ToList();
        Assert.Equal(seen.Count, processes.Count); // one activity per attempt, each ended
        Assert.Equal(6, seen.Skip(1).Sum(s => s.Values.Length)); // after the failed first attempt, each record once
        foreach (var (values, current, links) in seen)
        {
            Assert.NotNull(current);
            Assert.Equal("process " + topic, current.DisplayName);
            Assert.Equal(ActivityKind.Consumer, current.Kind);
            Assert.Equal(KafkaClientTelemetry.Name, current.Source.Name);
            Assert.Equal(group, current.GetTagItem("messaging.consumer.group.name"));
            Assert.Equal("process", current.GetTagItem("messaging.operation.type"));
            Assert.Equal(topic, current.GetTagItem("messaging.destination.name"));
            Assert.Equal(values.Length > 1 ? values.Length : null, current.GetTagItem("messaging.batch.message_count"));

            // One link per record, in the batch's order, to its producer's send span; the batch belongs to none of their traces.
            Assert.Equal(values.Select(v => $"{traces[v]}-{sends[traces[v]]}"), links.Select(l => $"{l.Context.TraceId}-{l.Context.SpanId}"));
            Assert.DoesNotContain(current.TraceId, traces.Values);
        }

        var failed = processes.Single(a => a.Status == ActivityStatusCode.Error);
        Assert.Equal(typeof(InvalidOperationException).FullName, failed.GetTagItem("error.type"));
        Assert.Same(seen.First().Current, failed);
    }

    [Fact]
    public void A_batch_from_several_topics_is_one_process_activity_without_a_destination()
    {
        using var listener = Listen(new ConcurrentQueue<Activity>());
        static ConsumeResult<string, string> Record(string topic, int partition, ActivityContext? producer)
        {
            var headers = new Headers();
            if (producer is { } context)
            {
                headers.Add("traceparent", System.Text.Encoding.UTF8.GetBytes($"00-{context.TraceId}-{context.SpanId}-01"));
            }

            return new ConsumeResult<string, string> { Topic = topic, Partition = partition, Offset = 7, Message = new Message<string, string> { Key = "k", Value = "v", Headers = headers } };
        }

        var a = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        var b = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        using var parent = new Activity("poll loop").Start();
        using (var batch = KafkaClientTelemetry.StartBatchProcessActivity([Record("orders", 0, a), Record("payments", 0, null), Record("orders", 1, b)], "g"))
        {
            Assert.NotNull(batch);
            Assert.Equal("process", batch.DisplayName);
            Assert.Null(batch.GetTagItem("messaging.destination.name"));
            Assert.Null(batch.GetTagItem("messaging.destination.partition.id"));
            Assert.Null(batch.GetTagItem("messaging.kafka.offset"));
            Assert.Equal(3, batch.GetTagItem("messaging.batch.message_count"));
            Assert.Equal(parent.SpanId, batch.ParentSpanId); // the current activity, not a producer, is the parent
            Assert.Equal([a.SpanId, b.SpanId], batch.Links.Select(l => l.Context.SpanId));
        }

        // One topic and one partition: named after the topic, with the partition.
        using (var batch = KafkaClientTelemetry.StartBatchProcessActivity([Record("orders", 1, a), Record("orders", 1, b)]))
        {
            Assert.Equal("process orders", batch!.DisplayName);
            Assert.Equal("orders", batch.GetTagItem("messaging.destination.name"));
            Assert.Equal("1", batch.GetTagItem("messaging.destination.partition.id"));
        }

        Assert.Throws<ArgumentException>(() => KafkaClientTelemetry.StartBatchProcessActivity(Array.Empty<ConsumeResult<string, string>>()));
    }

    [Fact]
    public async Task The_broker_check_turns_unhealthy_when_the_broker_goes_down_and_healthy_when_it_returns()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var services = new ServiceCollection().AddLogging();
        services.AddHealthChecks().AddKafkaBroker([new("bootstrap.servers", cluster.BootstrapServers), new("sasl.password", "hunter2")], timeout: TimeSpan.FromSeconds(2));
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();

        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);

        cluster.SetBrokerDown(1);
        var down = await Until(health, HealthStatus.Unhealthy);
        Assert.DoesNotContain("hunter2", down.Entries["kafka"].Description, StringComparison.Ordinal);

        cluster.SetBrokerUp(1);
        await Until(health, HealthStatus.Healthy);
    }

    [Fact]
    public async Task The_registry_check_follows_the_registry_and_a_missing_bootstrap_is_a_caller_mistake()
    {
        var registry = await EmbeddedSchemaRegistry.StartAsync();
        var services = new ServiceCollection().AddLogging();
        services.AddSchemaRegistryClient(config =>
        {
            config.Url = registry.Url;
            config.RequestTimeoutMs = 2000;
            config.MaxRetries = 1;
        });
        services.AddHealthChecks().AddSchemaRegistry(timeout: TimeSpan.FromSeconds(3));
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();

        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync()).Status);
        await registry.DisposeAsync();
        var report = await Until(health, HealthStatus.Unhealthy);
        Assert.Contains("Schema Registry is unreachable", report.Entries["schema-registry"].Description, StringComparison.Ordinal);

        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddHealthChecks().AddKafkaBroker([new("group.id", "x")]));
    }

    [Fact]
    public async Task The_consumer_check_is_degraded_without_partitions_unhealthy_when_a_partition_stalls_and_healthy_once_read()
    {
        var topic = HostedConsumerFixture.Unique("stall");
        kafka.Cluster.CreateTopic(topic, 1);
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 10).Select(i => (0, (string?)$"k{i}", $"v{i}")));
        var services = new ServiceCollection().AddLogging();
        services.AddKafkaConsumer<string, string>(options =>
        {
            foreach (var (key, value) in kafka.ConsumerConfig())
            {
                options.Config[key] = value;
            }

            options.Config["group.id"] = HostedConsumerFixture.Unique("stall");
        });
        services.AddHealthChecks().AddKafkaConsumer<string, string>(stalledAfter: TimeSpan.FromSeconds(1));
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();
        var consumer = provider.GetRequiredService<IDeserializingConsumer<string, string>>();

        Assert.Equal(HealthStatus.Degraded, (await health.CheckHealthAsync()).Status);

        consumer.Assign([new TopicPartitionOffset(topic, 0, Offset.Beginning)]);
        Assert.NotNull(await consumer.PollAsync(TimeSpan.FromSeconds(30))); // one read, nine left, then nothing more
        var stalled = await Until(health, HealthStatus.Unhealthy);
        Assert.Contains($"{topic} [0] at offset 1", stalled.Entries["kafka-consumer"].Description, StringComparison.Ordinal);

        for (var read = 1; read < 10; read++)
        {
            Assert.NotNull(await consumer.PollAsync(TimeSpan.FromSeconds(30)));
        }

        await Until(health, HealthStatus.Healthy);
    }

    [Fact]
    public async Task The_hosted_consumer_check_follows_the_service_and_turns_unhealthy_while_a_handler_hangs()
    {
        var topic = HostedConsumerFixture.Unique("service-health");
        var group = HostedConsumerFixture.Unique("service-health");
        kafka.Cluster.CreateTopic(topic, 1);
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 10).Select(i => (0, (string?)$"k{i}", $"v{i}")));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var behavior = new Behavior
        {
            // The fourth record hangs until the test lets it go: the six behind it wait, taken in or not read yet.
            Handle = async (record, _) =>
            {
                if (record.Message.Value == "v3")
                {
                    await release.Task.WaitAsync(TimeSpan.FromSeconds(60));
                }
            },
        };
        using var host = Hosts.Build(behavior, services =>
        {
            services.AddKafkaConsumerService<string, string, TestHandler>(o =>
            {
                kafka.Configure(o, topic, group);
            });
            services.AddHealthChecks().AddKafkaConsumerService<TestHandler>(stalledAfter: TimeSpan.FromSeconds(1));
        });
        var health = host.Services.GetRequiredService<HealthCheckService>();
        const string Check = "kafka-consumer-service-TestHandler";

        var before = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal("TestHandler is not running.", before.Entries[Check].Description);

        await host.StartAsync();
        var stalled = await Until(health, HealthStatus.Unhealthy, report => report.Entries[Check].Description!.Contains("stalled", StringComparison.Ordinal));
        Assert.Contains($"is stalled: {topic} [0] at offset ", stalled.Entries[Check].Description, StringComparison.Ordinal);
        Assert.Equal(["v0", "v1", "v2", "v3"], behavior.Journal.Select(s => s.Value));

        release.SetResult();
        var healthy = await Until(health, HealthStatus.Healthy);
        Assert.Contains("has 1 partition(s), none stalled", healthy.Entries[Check].Description, StringComparison.Ordinal);
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count == 10));

        await Hosts.StopAsync(host);
        var after = await health.CheckHealthAsync();
        Assert.Equal(HealthStatus.Unhealthy, after.Status);
        Assert.Equal("TestHandler is not running.", after.Entries[Check].Description);
    }

    [Fact]
    public async Task A_retry_partition_waiting_for_its_due_time_is_not_stalled()
    {
        var topic = HostedConsumerFixture.Unique("service-deferred");
        var group = HostedConsumerFixture.Unique("service-deferred");
        kafka.Cluster.CreateTopic(topic, 1);
        kafka.Cluster.CreateTopic($"{topic}-retry-2m", 1);
        await kafka.ProduceAsync(topic, [(0, "a", "poison")]);
        var logs = new MemoryLoggerProvider();
        var behavior = new Behavior { Handle = (_, _) => throw new InvalidOperationException("no") };
        using var host = Hosts.Build(
            behavior,
            services =>
            {
                services.AddKafkaConsumerService<string, string, TestHandler>(o =>
                {
                    kafka.Configure(o, topic, group);
                    o.MaxAttempts = 1;
                    o.RetryTopicDelays.Add(TimeSpan.FromMinutes(2));
                });
                services.AddHealthChecks().AddKafkaConsumerService<TestHandler>(stalledAfter: TimeSpan.FromMilliseconds(500));
            },
            logs);
        var health = host.Services.GetRequiredService<HealthCheckService>();
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => logs.Records.Any(r => r.EventId.Name == "RecordDeferred")), "the retry record was not deferred");

        // The retry partition has a record to read and does not move for two minutes: it waits, it is not stalled.
        var reports = new List<HealthReport>();
        for (var i = 0; i < 10; i++)
        {
            reports.Add(await health.CheckHealthAsync());
            await Task.Delay(200);
        }

        await Hosts.StopAsync(host);
        Assert.All(reports, r => Assert.True(r.Status == HealthStatus.Healthy, r.Entries.Single().Value.Description));
        Assert.Equal(1, kafka.Count($"{topic}-retry-2m"));
    }

    [Fact]
    public async Task The_hosted_consumer_check_is_degraded_for_a_member_left_without_partitions()
    {
        var topic = HostedConsumerFixture.Unique("service-idle");
        var group = HostedConsumerFixture.Unique("service-idle");
        kafka.Cluster.CreateTopic(topic, 1);
        void Register(IServiceCollection services)
        {
            services.AddKafkaConsumerService<string, string, TestHandler>(o =>
            {
                kafka.Configure(o, topic, group);
            });
            services.AddHealthChecks().AddKafkaConsumerService<TestHandler>("orders");
        }

        // Two members of one group, one partition: one of them reads it, the other has nothing.
        using var first = Hosts.Build(new Behavior(), Register);
        using var second = Hosts.Build(new Behavior(), Register);
        await first.StartAsync();
        await second.StartAsync();
        var checks = new[] { first, second }.Select(h => h.Services.GetRequiredService<HealthCheckService>()).ToArray();
        HealthStatus[] statuses = [];
        string[] descriptions = [];
        var settled = await Hosts.Eventually(() =>
        {
            var reports = checks.Select(c => c.CheckHealthAsync().GetAwaiter().GetResult()).ToArray();
            statuses = [.. reports.Select(r => r.Status).Order()];
            descriptions = [.. reports.Select(r => r.Entries["orders"].Description ?? string.Empty)];
            return statuses.SequenceEqual([HealthStatus.Degraded, HealthStatus.Healthy]);
        });
        await Task.WhenAll(Hosts.StopAsync(first), Hosts.StopAsync(second));

        Assert.True(settled, $"statuses [{string.Join(", ", statuses)}]: {string.Join(" | ", descriptions)}");
        Assert.Contains(descriptions, d => d.StartsWith("TestHandler (consumer ", StringComparison.Ordinal) && d.EndsWith(") has no partitions assigned.", StringComparison.Ordinal));
        Assert.Contains(descriptions, d => d.EndsWith("has 1 partition(s), none stalled.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_real_registry_outage_holds_the_hosted_consumer_on_its_record_and_nothing_is_dead_lettered()
    {
        var topic = HostedConsumerFixture.Unique("registry-outage");
        var group = HostedConsumerFixture.Unique("registry-outage");
        kafka.Cluster.CreateTopic(topic);
        kafka.Cluster.CreateTopic($"{topic}-dlt");
        using (var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = kafka.Registry.Url }))
        {
            await using var producer = new SerializingProducerBuilder<string, User>(new ProducerConfig { BootstrapServers = kafka.Cluster.BootstrapServers })
                .SetValueSerializer(new KafkaClient.SchemaRegistry.Json.JsonSchemaSerializer<User>(registry))
                .Build();
            await producer.ProduceAsync(topic, "a", new User("first", 1));
            await producer.ProduceAsync(topic, "b", new User("second", 2));
        }

        // The consumer's registry is reached through a port nobody listens on yet: the registry is down.
        int port;
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        var handled = new ConcurrentQueue<string>();
        var transient = 0;
        using var host = Hosts.Build(new Behavior(), services =>
        {
            services.AddSingleton(handled);
            services.AddSchemaRegistryClient(config =>
            {
                config.Url = $"http://127.0.0.1:{port}";
                config.RequestTimeoutMs = 1000;
                config.MaxRetries = 1;
            });
            services.AddSingleton<IAsyncDeserializer<User>>(sp => new KafkaClient.SchemaRegistry.Json.JsonSchemaDeserializer<User>(sp.GetRequiredService<ISchemaRegistryClient>()));
            services.AddKafkaConsumerService<string, User, UserHandler>(o =>
            {
                kafka.Configure(o, topic, group);
                o.DeadLetterTopic = "{topic}-dlt";
                o.Consumer.ConfigureBuilder = (_, builder) => builder
                    .SetRetryBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200))
                    .SetTransientErrorHandler(_ => Interlocked.Increment(ref transient));
            });
        });
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => Volatile.Read(ref transient) >= 3), "the outage was never met");
        Assert.Empty(handled);

        await using (TcpForwarder.Start(port, new Uri(kafka.Registry.Url).Authority))
        {
            Assert.True(await Hosts.Eventually(() => handled.Count == 2), "the records were not handled once the registry came back");
            await Hosts.StopAsync(host);
        }

        Assert.Equal(["first", "second"], handled);
        Assert.Equal(0, kafka.Count($"{topic}-dlt"));
        Assert.Equal([2L], kafka.Committed(group, topic, 1));
    }

    /// <summary>Starts listening to the library's activities, every one sampled and recorded; each stopped one goes to <paramref name="stopped"/>.</summary>
    private static ActivityListener Listen(ConcurrentQueue<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KafkaClientTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>Runs the checks until they report <paramref name="status"/> (and <paramref name="also"/> holds), for at most a minute.</summary>
    private static async Task<HealthReport> Until(HealthCheckService health, HealthStatus status, Func<HealthReport, bool>? also = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HealthReport report;
        do
        {
            report = await health.CheckHealthAsync();
            if (report.Status == status && (also is null || also(report)))
            {
                return report;
            }

            await Task.Delay(200);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"Health stayed {report.Status}, not {status}: {string.Join("; ", report.Entries.Select(e => $"{e.Key}: {e.Value.Status} {e.Value.Description}"))}");
        return report;
    }
}

public sealed class UserHandler(ConcurrentQueue<string> handled) : IKafkaRecordHandler<string, User>
{
    public ValueTask HandleAsync(ConsumeResult<string, User> record, CancellationToken cancellationToken = default)
    {
        handled.Enqueue(record.Message.Value.Name);
        return ValueTask.CompletedTask;
    }
}

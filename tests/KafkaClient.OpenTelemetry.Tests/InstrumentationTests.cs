using System.Diagnostics;
using Confluent.Kafka;
using KafkaClient.OpenTelemetry;
using KafkaClient.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace KafkaClient.OpenTelemetry.Tests;

/// <summary>The OpenTelemetry SDK, registered with AddKafkaClientInstrumentation, exports one trace from produce to process and the library's metrics.</summary>
public class InstrumentationTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task One_trace_runs_from_the_send_through_the_topic_into_the_process_activity_and_the_metrics_are_exported()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var topic = "orders-" + Guid.NewGuid().ToString("N");
        cluster.CreateTopic(topic, 1);
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddKafkaClientInstrumentation().AddSource("test").AddInMemoryExporter(spans).Build();
        using var metering = Sdk.CreateMeterProviderBuilder().AddKafkaClientInstrumentation().AddInMemoryExporter(metrics).Build();
        using var test = new ActivitySource("test");

        ActivityTraceId produced;
        await using (var producer = new SerializingProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            using var request = test.StartActivity("request");
            produced = request!.TraceId;
            await producer.ProduceAsync(topic, "order-1", "{}");
        }

        var group = "billing-" + Guid.NewGuid().ToString("N");
        await using var consumer = new DeserializingConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var record = await consumer.PollAsync(Patience);
        Assert.NotNull(record);
        ActivityTraceId seenByHandler;
        using (KafkaClientTelemetry.StartProcessActivity(record, group))
        {
            seenByHandler = Activity.Current!.TraceId; // what a handler running here sees
        }

        Assert.Equal(produced, seenByHandler);
        tracing!.ForceFlush();
        var send = Assert.Single(spans, s => s.DisplayName == "send " + topic);
        var process = Assert.Single(spans, s => s.DisplayName == "process " + topic);
        Assert.Equal(produced, send.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);
        Assert.Contains(spans, s => s.DisplayName == "receive " + topic && s.Links.Single().Context.SpanId == send.SpanId);

        metering!.ForceFlush();
        Assert.Contains(metrics, m => m.Name == "messaging.client.sent.messages");
        Assert.Contains(metrics, m => m.Name == "messaging.client.consumed.messages");
        Assert.Contains(metrics, m => m.Name == "messaging.client.operation.duration" && m.MetricType == MetricType.Histogram);
    }

    [Fact]
    public void A_null_builder_is_a_caller_mistake()
    {
        Assert.Throws<ArgumentNullException>(() => ((TracerProviderBuilder)null!).AddKafkaClientInstrumentation());
        Assert.Throws<ArgumentNullException>(() => ((MeterProviderBuilder)null!).AddKafkaClientInstrumentation());
    }
}

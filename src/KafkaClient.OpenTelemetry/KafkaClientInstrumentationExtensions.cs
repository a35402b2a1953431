using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace KafkaClient.OpenTelemetry;

/// <summary>Registers this library's activity source and meter with OpenTelemetry.</summary>
/// <remarks>
/// Traces: <c>send</c>, <c>receive</c> and <c>process</c> activities following OpenTelemetry's messaging conventions,
/// with the W3C trace context carried in Kafka headers. Metrics: messages and bytes sent and consumed, produce
/// latency, serializer and deserializer failures, dead-lettered records and consumer lag (which needs
/// <c>statistics.interval.ms</c>). See <see cref="KafkaClientTelemetry"/>.
/// </remarks>
public static class KafkaClientInstrumentationExtensions
{
    /// <summary>Adds the traces of every KafkaClient producer and consumer in the process.</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddKafkaClientInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(KafkaClientTelemetry.Name);
    }

    /// <summary>Adds the metrics of every KafkaClient producer and consumer in the process.</summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder.</returns>
    public static MeterProviderBuilder AddKafkaClientInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(KafkaClientTelemetry.Name);
    }
}

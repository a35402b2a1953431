using Confluent.Kafka;

namespace KafkaClient.Serialization;

internal static class DefaultSerdes
{
    /// <summary>Returns the built-in serde for a primitive type, or throws naming how to supply one.</summary>
    public static object For<T>(string component, string builderMethod, string configKey)
    {
        object? serde = typeof(T) switch
        {
            var t when t == typeof(string) => Serdes.Utf8,
            var t when t == typeof(int) => Serdes.Int32,
            var t when t == typeof(long) => Serdes.Int64,
            var t when t == typeof(float) => Serdes.Single,
            var t when t == typeof(double) => Serdes.Double,
            var t when t == typeof(byte[]) => Serdes.ByteArray,
            var t when t == typeof(Null) => Serdes.Null,
            var t when t == typeof(Ignore) => Serdes.Ignore,
            _ => null,
        };
        return serde ?? throw new ArgumentException(
            $"No {component} serde is built in for type {typeof(T).Name}: call {builderMethod} or set the '{configKey}' configuration entry.");
    }
}

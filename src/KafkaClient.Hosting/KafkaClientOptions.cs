namespace KafkaClient.Hosting;

/// <summary>Settings of a producer that <see cref="KafkaServiceCollectionExtensions"/> registers.</summary>
/// <typeparam name="TKey">The message key type.</typeparam>
/// <typeparam name="TValue">The message value type.</typeparam>
public sealed class KafkaProducerOptions<TKey, TValue>
{
    /// <summary>Gets the librdkafka properties by their librdkafka names, such as <c>bootstrap.servers</c>.</summary>
    public IDictionary<string, string> Config { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Gets or sets a callback that configures the builder (serializers, handlers) after the serializers found in the container were set.</summary>
    public Action<IServiceProvider, SerializingProducerBuilder<TKey, TValue>>? ConfigureBuilder { get; set; }

    /// <summary>Returns the properties with the values of secret keys replaced by <c>***</c>.</summary>
    /// <returns>The properties, secrets hidden.</returns>
    public override string ToString() => Secrets.Describe("producer", Config);
}

/// <summary>Settings of a consumer that <see cref="KafkaServiceCollectionExtensions"/> registers.</summary>
/// <typeparam name="TKey">The message key type.</typeparam>
/// <typeparam name="TValue">The message value type.</typeparam>
public sealed class KafkaConsumerOptions<TKey, TValue>
{
    /// <summary>Gets the librdkafka properties by their librdkafka names, such as <c>group.id</c>.</summary>
    public IDictionary<string, string> Config { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Gets or sets a callback that configures the builder (deserializers, poison-record policy, handlers) after the deserializers found in the container were set.</summary>
    public Action<IServiceProvider, DeserializingConsumerBuilder<TKey, TValue>>? ConfigureBuilder { get; set; }

    /// <summary>Returns the properties with the values of secret keys replaced by <c>***</c>.</summary>
    /// <returns>The properties, secrets hidden.</returns>
    public override string ToString() => Secrets.Describe("consumer", Config);
}

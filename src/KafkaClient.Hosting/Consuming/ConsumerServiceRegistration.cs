using Confluent.Kafka;
using Microsoft.Extensions.Configuration;

namespace KafkaClient.Hosting;

/// <summary>One hosted consumer's registration: its options (made once, on first use), its handler calls, its current run, the consumer each run makes, and the service key of its forwarding producer.</summary>
/// <remarks>Thread-safe. The instance itself is the service key, so registrations never share clients.</remarks>
internal sealed class ConsumerServiceRegistration<TKey, TValue> : IHostedConsumerProbe
{
    private const string GroupIdKey = "group.id";
    private static readonly string[] InheritedPrefixes = ["bootstrap.servers", "client.id", "security.protocol", "sasl.", "ssl.", "socket.", "broker.address.family"];

    private readonly Lazy<KafkaConsumerServiceOptions<TKey, TValue>> _options;
    private readonly Lazy<RetryTopology> _topology;
    private ConsumerRun<TKey, TValue>? _run;

    public ConsumerServiceRegistration(
        string name,
        Type handlerType,
        IConfiguration? section,
        Action<KafkaConsumerServiceOptions<TKey, TValue>>? configure,
        Func<IServiceProvider, ConsumeResult<TKey, TValue>, CancellationToken, ValueTask>? handle,
        Func<IServiceProvider, IReadOnlyList<ConsumeResult<TKey, TValue>>, CancellationToken, ValueTask>? handleBatch,
        Func<IServiceProvider, object> resolveHandler)
    {
        Name = name;
        HandlerType = handlerType;
        Handle = handle;
        HandleBatch = handleBatch;
        ResolveHandler = resolveHandler;
        _options = new(() =>
        {
            var options = new KafkaConsumerServiceOptions<TKey, TValue>();
            if (section is not null)
            {
                ConfigurationReader.ReadInto(section, options.Consumer.Config, "consumer");
            }

            configure?.Invoke(options);
            return options;
        });
        _topology = new(() => new RetryTopology(Options.Topics, Options.RetryTopicDelays, Options.RetryTopicFormat, Options.DeadLetterTopic));
    }

    public string Name { get; }

    public Type HandlerType { get; }

    public Func<IServiceProvider, ConsumeResult<TKey, TValue>, CancellationToken, ValueTask>? Handle { get; }

    public Func<IServiceProvider, IReadOnlyList<ConsumeResult<TKey, TValue>>, CancellationToken, ValueTask>? HandleBatch { get; }

    /// <summary>Gets a call that resolves the handler once, so that a handler the container cannot make fails the start instead of every record.</summary>
    public Func<IServiceProvider, object> ResolveHandler { get; }

    /// <summary>Gets the options, made on first use: the configuration section read, then the registration's callback run.</summary>
    public KafkaConsumerServiceOptions<TKey, TValue> Options => _options.Value;

    public RetryTopology Topology => _topology.Value;

    /// <summary>Gets or sets the service's current run, which health checks look at; null while the service is not started or stopped.</summary>
    public ConsumerRun<TKey, TValue>? Run
    {
        get => Volatile.Read(ref _run);
        set => Volatile.Write(ref _run, value);
    }

    public HostedConsumerSnapshot Snapshot() => Run?.Snapshot() ?? HostedConsumerSnapshot.NotRunning;

    /// <summary>Builds a consumer for one run (or, with no run, to check the configuration), which the caller disposes.</summary>
    /// <param name="provider">The container, for deserializers and logging.</param>
    /// <param name="run">The run that receives its rebalance events, or null.</param>
    /// <returns>The consumer, not subscribed.</returns>
    public DeserializingConsumer<TKey, TValue> CreateConsumer(IServiceProvider provider, ConsumerRun<TKey, TValue>? run)
    {
        var options = new KafkaConsumerOptions<TKey, TValue>();
        ConfigureConsumer(options, run);
        return KafkaServiceCollectionExtensions.BuildConsumer(provider, this, options);
    }

    /// <summary>Makes the consumer's options: the service's consumer configuration, its group, its poison policy and the run's rebalance handlers and offset storing.</summary>
    private void ConfigureConsumer(KafkaConsumerOptions<TKey, TValue> target, ConsumerRun<TKey, TValue>? run)
    {
        var options = Options;
        foreach (var (key, value) in options.Consumer.Config)
        {
            target.Config[key] = value;
        }

        if (!string.IsNullOrWhiteSpace(options.GroupId))
        {
            target.Config[GroupIdKey] = options.GroupId;
        }

        var topology = Topology;
        var user = options.Consumer.ConfigureBuilder;
        var producerConfig = options.Producer.Config.Count > 0 ? options.Producer.Config.ToList() : null;
        target.ConfigureBuilder = (provider, builder) =>
        {
            if (options.DeadLetterTopic is not null)
            {
                builder.SetDeadLetterPolicy(new DeadLetterPolicy(topic => topology.DeadLetterTopicFor(topic)!) { ProducerConfig = producerConfig });
            }

            user?.Invoke(provider, builder);
            builder
                .SetPartitionsAssignedHandler(partitions => run?.OnAssigned(partitions))
                .SetPartitionsRevokedHandler(partitions => run?.OnRevoked(partitions))
                .SetPartitionsLostHandler(partitions => run?.OnLost(partitions))
                .SetAcknowledgedOffsets();
        };
    }

    /// <summary>Makes the forwarding producer's options: the service's producer configuration, else the consumer's connection keys with <c>acks=all</c> and idempotence.</summary>
    public void ConfigureProducer(KafkaProducerOptions<byte[], byte[]> target)
    {
        var options = Options;
        if (options.Producer.Config.Count > 0)
        {
            foreach (var (key, value) in options.Producer.Config)
            {
                target.Config[key] = value;
            }
        }
        else
        {
            foreach (var (key, value) in ConnectionConfig())
            {
                target.Config[key] = value;
            }

            target.Config["acks"] = "all";
            target.Config["enable.idempotence"] = "true";
        }

        target.ConfigureBuilder = options.Producer.ConfigureBuilder;
    }

    /// <summary>Gets the consumer's connection keys: <c>bootstrap.servers</c>, <c>client.id</c>, <c>security.protocol</c>, <c>sasl.*</c>, <c>ssl.*</c>, <c>socket.*</c> and <c>broker.address.family</c>.</summary>
    public List<KeyValuePair<string, string>> ConnectionConfig() =>
        [.. Options.Consumer.Config.Where(e => InheritedPrefixes.Any(prefix => e.Key.StartsWith(prefix, StringComparison.Ordinal)))];

    public override string ToString() => $"consumer service {Name}";
}

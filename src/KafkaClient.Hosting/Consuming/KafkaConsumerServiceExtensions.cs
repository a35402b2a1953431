using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace KafkaClient.Hosting;

/// <summary>Registers hosted consumers: background services that read topics and run a handler per record, or per batch, from dependency injection.</summary>
/// <remarks>
/// <para>
/// Each registration adds its own <see cref="IHostedService"/> and (with retry or dead-letter topics) forwarding
/// producer, and each start of the service makes its own consumer, so it may be stopped and started again in one host;
/// several may run in one host, with the same or different types. The handler type is added as a
/// scoped service unless it is registered already, and is resolved from a new scope for each attempt. The consumer
/// gets deserializers, logging and <see cref="KafkaConsumerOptions{TKey, TValue}.ConfigureBuilder"/> as
/// <see cref="KafkaServiceCollectionExtensions.AddKafkaConsumer{TKey, TValue}(IServiceCollection, Action{KafkaConsumerOptions{TKey, TValue}})"/>
/// gives them.
/// </para>
/// <para>
/// Starting does not wait for Kafka: the options are checked (an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>
/// naming each wrong option fails the host's start), and the consumer is created, subscribed and read on the
/// background loop. A configuration the consumer refuses, or a handler the container cannot make, stops the service
/// there (and, by the host's default <c>BackgroundServiceExceptionBehavior</c>, the host), logged as critical.
/// </para>
/// <para>
/// Stopping: fetching stops; records not started are left; running handlers may finish until the shutdown timeout is
/// close, when their token fires; then the offsets of the records handled (each partition up to its first record not
/// finished) are committed synchronously and the consumer leaves its group, all within
/// <see cref="KafkaConsumerServiceOptions{TKey, TValue}.ShutdownTimeout"/>. A handler that outlives it is not waited
/// for: its record's offset is not committed, and the record is read again after a restart, as are records of its
/// partition after it.
/// </para>
/// </remarks>
public static class KafkaConsumerServiceExtensions
{
    /// <summary>The logger category of the hosted consumers' own log records.</summary>
    public const string ConsumerServiceLogCategory = "KafkaClient.ConsumerService";

    /// <summary>Registers a hosted consumer that runs <typeparamref name="THandler"/> for each record, configured in code.</summary>
    /// <typeparam name="TKey">The record key type.</typeparam>
    /// <typeparam name="TValue">The record value type.</typeparam>
    /// <typeparam name="THandler">The handler, resolved from a new DI scope for each attempt.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options: topics, group, consumer configuration, retries.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaConsumerService<TKey, TValue, THandler>(
        this IServiceCollection services, Action<KafkaConsumerServiceOptions<TKey, TValue>> configure)
        where THandler : class, IKafkaRecordHandler<TKey, TValue>
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddRecordService<TKey, TValue, THandler>(services, null, configure);
    }

    /// <summary>Registers a hosted consumer that runs <typeparamref name="THandler"/> for each record, its consumer configured from a section of librdkafka keys.</summary>
    /// <typeparam name="TKey">The record key type.</typeparam>
    /// <typeparam name="TValue">The record value type.</typeparam>
    /// <typeparam name="THandler">The handler, resolved from a new DI scope for each attempt.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section of librdkafka consumer keys, read into <see cref="KafkaConsumerServiceOptions{TKey, TValue}.Consumer"/> when the service starts.</param>
    /// <param name="configure">Sets the other options: topics, group, retries.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaConsumerService<TKey, TValue, THandler>(
        this IServiceCollection services, IConfiguration configuration, Action<KafkaConsumerServiceOptions<TKey, TValue>> configure)
        where THandler : class, IKafkaRecordHandler<TKey, TValue>
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(configure);
        return AddRecordService<TKey, TValue, THandler>(services, configuration, configure);
    }

    /// <summary>Registers a hosted consumer that runs <typeparamref name="THandler"/> for batches of records, configured in code.</summary>
    /// <typeparam name="TKey">The record key type.</typeparam>
    /// <typeparam name="TValue">The record value type.</typeparam>
    /// <typeparam name="THandler">The batch handler, resolved from a new DI scope for each attempt.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options: topics, group, consumer configuration, batch size, retries.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaBatchConsumerService<TKey, TValue, THandler>(
        this IServiceCollection services, Action<KafkaConsumerServiceOptions<TKey, TValue>> configure)
        where THandler : class, IKafkaBatchHandler<TKey, TValue>
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddBatchService<TKey, TValue, THandler>(services, null, configure);
    }

    /// <summary>Registers a hosted consumer that runs <typeparamref name="THandler"/> for batches of records, its consumer configured from a section of librdkafka keys.</summary>
    /// <typeparam name="TKey">The record key type.</typeparam>
    /// <typeparam name="TValue">The record value type.</typeparam>
    /// <typeparam name="THandler">The batch handler, resolved from a new DI scope for each attempt.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section of librdkafka consumer keys, read into <see cref="KafkaConsumerServiceOptions{TKey, TValue}.Consumer"/> when the service starts.</param>
    /// <param name="configure">Sets the other options: topics, group, batch size, retries.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaBatchConsumerService<TKey, TValue, THandler>(
        this IServiceCollection services, IConfiguration configuration, Action<KafkaConsumerServiceOptions<TKey, TValue>> configure)
        where THandler : class, IKafkaBatchHandler<TKey, TValue>
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(configure);
        return AddBatchService<TKey, TValue, THandler>(services, configuration, configure);
    }

    private static IServiceCollection AddRecordService<TKey, TValue, THandler>(
        IServiceCollection services, IConfiguration? configuration, Action<KafkaConsumerServiceOptions<TKey, TValue>> configure)
        where THandler : class, IKafkaRecordHandler<TKey, TValue> =>
        Add(services, new ConsumerServiceRegistration<TKey, TValue>(
            typeof(THandler).Name,
            typeof(THandler),
            configuration,
            configure,
            static (provider, record, cancellationToken) => provider.GetRequiredService<THandler>().HandleAsync(record, cancellationToken),
            null,
            static provider => provider.GetRequiredService<THandler>()));

    private static IServiceCollection AddBatchService<TKey, TValue, THandler>(
        IServiceCollection services, IConfiguration? configuration, Action<KafkaConsumerServiceOptions<TKey, TValue>> configure)
        where THandler : class, IKafkaBatchHandler<TKey, TValue> =>
        Add(services, new ConsumerServiceRegistration<TKey, TValue>(
            typeof(THandler).Name,
            typeof(THandler),
            configuration,
            configure,
            null,
            static (provider, records, cancellationToken) => provider.GetRequiredService<THandler>().HandleAsync(records, cancellationToken),
            static provider => provider.GetRequiredService<THandler>()));

    private static IServiceCollection Add<TKey, TValue>(IServiceCollection services, ConsumerServiceRegistration<TKey, TValue> registration)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAdd(ServiceDescriptor.Scoped(registration.HandlerType, registration.HandlerType));
        services.AddSingleton<IHostedConsumerProbe>(registration); // for KafkaHealthChecks.AddKafkaConsumerService

        // Each run makes its own consumer (a closed one cannot rejoin): ValidateKafkaClientsOnStart builds one to check it.
        ClientRegistrations.Of(services).Builds.Add((
            $"{ClientValidator.Describe(typeof(IDeserializingConsumer<TKey, TValue>))} (consumer service {registration.Name})",
            provider => registration.CreateConsumer(provider, null).Dispose()));
        services.AddKeyedKafkaProducer<byte[], byte[]>(registration, registration.ConfigureProducer);

        // Not AddHostedService: it registers one service per implementation type, and two consumers may share one.
        services.AddSingleton<IHostedService>(provider => new KafkaConsumerService<TKey, TValue>(provider, registration));
        return services;
    }
}

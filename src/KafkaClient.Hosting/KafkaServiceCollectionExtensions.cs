using Confluent.Kafka;
using Confluent.SchemaRegistry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting;

/// <summary>Registers KafkaClient producers, consumers and a shared Schema Registry client in an <see cref="IServiceCollection"/>.</summary>
/// <remarks>
/// <para>
/// Clients are singletons created on first resolve and disposed with the container. Configuration sections hold
/// librdkafka key names (<c>"bootstrap.servers": "..."</c>); the builders validate them when the client is
/// created, and an unknown key or an invalid value throws <see cref="ArgumentException"/> naming the key. Values of
/// secret keys (any key containing <c>password</c>, <c>secret</c>, <c>user.info</c> or <c>token</c>) never appear
/// in those exceptions or in the options' <see cref="object.ToString"/>.
/// </para>
/// <para>
/// Serdes come from the container when registered (for a keyed client the keyed registration first, then the
/// unkeyed one): <see cref="IAsyncSerializer{T}"/> before <see cref="ISerializer{T}"/>, <see cref="IAsyncDeserializer{T}"/>
/// before <see cref="IDeserializer{T}"/>. When the key and value types are the same, the one found serves both.
/// Otherwise the builders' defaults apply, and <c>ConfigureBuilder</c> overrides either. <c>AddKafkaSerde</c> registers
/// a serde whose settings (<c>auto.register.schemas</c>, <c>subject.name.strategy</c>, ...) come from a section.
/// </para>
/// <para>
/// When the container has an <see cref="ILoggerFactory"/>, each producer and consumer writes librdkafka's log lines
/// and its client-level errors to an <see cref="ILogger"/> of category <see cref="ProducerLogCategory"/> or
/// <see cref="ConsumerLogCategory"/> (secret values redacted); a handler set by <c>ConfigureBuilder</c> replaces it.
/// </para>
/// </remarks>
public static class KafkaServiceCollectionExtensions
{
    /// <summary>The logger category of the producers registered here.</summary>
    public const string ProducerLogCategory = "KafkaClient.Producer";

    /// <summary>The logger category of the consumers registered here.</summary>
    public const string ConsumerLogCategory = "KafkaClient.Consumer";

    /// <summary>Registers, once, an <see cref="IHostedService"/> that resolves every client and serde registered through these extensions when the host starts, so that a misconfigured one fails the start with an exception naming the key.</summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection ValidateKafkaClientsOnStart(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        ClientRegistrations.Of(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ClientValidator>());
        return services;
    }

    /// <summary>Registers one <see cref="ISchemaRegistryClient"/> (Confluent's <see cref="CachedSchemaRegistryClient"/>) configured from a section, unless one is registered already.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section of Schema Registry keys; <c>url</c> and <c>schema.registry.url</c> are the same key.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddSchemaRegistryClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        TrackRegistry(services);
        services.TryAddSingleton<ISchemaRegistryClient>(_ =>
        {
            var config = new Dictionary<string, string>(StringComparer.Ordinal);
            ConfigurationReader.ReadInto(configuration, config, "Schema Registry");
            return CreateRegistry(config);
        });
        return services;
    }

    /// <summary>Registers one <see cref="ISchemaRegistryClient"/> (Confluent's <see cref="CachedSchemaRegistryClient"/>) configured in code, unless one is registered already.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the registry configuration.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddSchemaRegistryClient(this IServiceCollection services, Action<SchemaRegistryConfig> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        TrackRegistry(services);
        services.TryAddSingleton<ISchemaRegistryClient>(_ =>
        {
            var config = new SchemaRegistryConfig();
            configure(config);
            return CreateRegistry(config.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal));
        });
        return services;
    }

    /// <summary>Registers an <see cref="ISchemaRegistryClient"/> under a service key (one registry per cluster, say), configured from a section, unless one is registered under that key already.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (<c>[FromKeyedServices(key)]</c>).</param>
    /// <param name="configuration">A section of Schema Registry keys; <c>url</c> and <c>schema.registry.url</c> are the same key.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedSchemaRegistryClient(this IServiceCollection services, object? serviceKey, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        TrackRegistry(services, serviceKey);
        services.TryAddKeyedSingleton<ISchemaRegistryClient>(serviceKey, (_, _) =>
        {
            var config = new Dictionary<string, string>(StringComparer.Ordinal);
            ConfigurationReader.ReadInto(configuration, config, "Schema Registry");
            return CreateRegistry(config);
        });
        return services;
    }

    /// <summary>Registers an <see cref="ISchemaRegistryClient"/> under a service key, configured in code, unless one is registered under that key already.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (<c>[FromKeyedServices(key)]</c>).</param>
    /// <param name="configure">Sets the registry configuration.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedSchemaRegistryClient(this IServiceCollection services, object? serviceKey, Action<SchemaRegistryConfig> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        TrackRegistry(services, serviceKey);
        services.TryAddKeyedSingleton<ISchemaRegistryClient>(serviceKey, (_, _) =>
        {
            var config = new SchemaRegistryConfig();
            configure(config);
            return CreateRegistry(config.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal));
        });
        return services;
    }

    /// <summary>Registers a singleton serde (serializer or deserializer) made from a section of its configuration keys, such as <c>auto.register.schemas</c> or <c>subject.name.strategy</c>.</summary>
    /// <typeparam name="TSerde">The service type the producers and consumers look for: <see cref="IAsyncSerializer{T}"/>, <see cref="ISerializer{T}"/>, <see cref="IAsyncDeserializer{T}"/> or <see cref="IDeserializer{T}"/>.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section of the serde's configuration keys (for this library's registry serdes, those of <c>JsonSchemaSerdeConfig</c> or <c>ProtobufSerdeConfig</c>).</param>
    /// <param name="create">Makes the serde from the container and the section's keys and values, for example <c>(sp, config) =&gt; new JsonSchemaSerializer&lt;Order&gt;(sp.GetRequiredService&lt;ISchemaRegistryClient&gt;(), config: new JsonSchemaSerdeConfig(config))</c>.</param>
    /// <returns>The service collection.</returns>
    /// <remarks>
    /// The section is read and <paramref name="create"/> called when the serde is first resolved: by a producer or
    /// consumer that uses it, or by <see cref="ValidateKafkaClientsOnStart"/> when the host starts. The serde's own
    /// validation applies then (this library's serde configs throw <see cref="ArgumentException"/> naming an unknown key
    /// or a bad value), a missing or empty section throws naming the section, and values of secret keys are replaced by
    /// <c>***</c> in what is thrown.
    /// </remarks>
    public static IServiceCollection AddKafkaSerde<TSerde>(
        this IServiceCollection services, IConfiguration configuration, Func<IServiceProvider, IReadOnlyDictionary<string, string>, TSerde> create)
        where TSerde : class =>
        AddKeyedKafkaSerde(services, null, configuration, create);

    /// <summary>Registers a singleton serde under a service key (for the keyed producers and consumers of one cluster), made from a section of its configuration keys.</summary>
    /// <typeparam name="TSerde">The service type the producers and consumers look for: <see cref="IAsyncSerializer{T}"/>, <see cref="ISerializer{T}"/>, <see cref="IAsyncDeserializer{T}"/> or <see cref="IDeserializer{T}"/>.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (null registers the unkeyed serde).</param>
    /// <param name="configuration">A section of the serde's configuration keys (for this library's registry serdes, those of <c>JsonSchemaSerdeConfig</c> or <c>ProtobufSerdeConfig</c>).</param>
    /// <param name="create">Makes the serde from the container and the section's keys and values.</param>
    /// <returns>The service collection.</returns>
    /// <remarks>Read, validated and guarded as <see cref="AddKafkaSerde{TSerde}(IServiceCollection, IConfiguration, Func{IServiceProvider, IReadOnlyDictionary{string, string}, TSerde})"/> says.</remarks>
    public static IServiceCollection AddKeyedKafkaSerde<TSerde>(
        this IServiceCollection services, object? serviceKey, IConfiguration configuration, Func<IServiceProvider, IReadOnlyDictionary<string, string>, TSerde> create)
        where TSerde : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(create);
        ClientRegistrations.Of(services).Clients.Add((typeof(TSerde), serviceKey));
        return services.AddKeyedSingleton<TSerde>(serviceKey, (provider, _) =>
        {
            var config = new Dictionary<string, string>(StringComparer.Ordinal);
            ConfigurationReader.ReadInto(configuration, config, "serde");
            return Secrets.Guard(config, () => create(provider, config.AsReadOnly()));
        });
    }

    /// <summary>Registers a singleton <see cref="ISerializingProducer{TKey, TValue}"/> configured from a section of librdkafka keys.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section of librdkafka producer keys.</param>
    /// <param name="configure">Changes the options after the section was read, or null.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaProducer<TKey, TValue>(
        this IServiceCollection services, IConfiguration configuration, Action<KafkaProducerOptions<TKey, TValue>>? configure = null) =>
        AddKeyedKafkaProducer(services, null, configuration, configure);

    /// <summary>Registers a singleton <see cref="ISerializingProducer{TKey, TValue}"/> configured in code.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaProducer<TKey, TValue>(
        this IServiceCollection services, Action<KafkaProducerOptions<TKey, TValue>> configure) =>
        AddKeyedKafkaProducer(services, null, configure);

    /// <summary>Registers a singleton <see cref="ISerializingProducer{TKey, TValue}"/> under a service key, configured from a section of librdkafka keys.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (null registers the unkeyed producer).</param>
    /// <param name="configuration">A section of librdkafka producer keys.</param>
    /// <param name="configure">Changes the options after the section was read, or null.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedKafkaProducer<TKey, TValue>(
        this IServiceCollection services, object? serviceKey, IConfiguration configuration, Action<KafkaProducerOptions<TKey, TValue>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return AddKeyedKafkaProducer<TKey, TValue>(services, serviceKey, options =>
        {
            ConfigurationReader.ReadInto(configuration, options.Config, "producer");
            configure?.Invoke(options);
        });
    }

    /// <summary>Registers a singleton <see cref="ISerializingProducer{TKey, TValue}"/> under a service key, configured in code.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (null registers the unkeyed producer).</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedKafkaProducer<TKey, TValue>(
        this IServiceCollection services, object? serviceKey, Action<KafkaProducerOptions<TKey, TValue>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        ClientRegistrations.Of(services).Clients.Add((typeof(ISerializingProducer<TKey, TValue>), serviceKey));
        return services.AddKeyedSingleton<ISerializingProducer<TKey, TValue>>(serviceKey, (provider, _) =>
        {
            var options = new KafkaProducerOptions<TKey, TValue>();
            configure(options);
            return Secrets.Guard(options.Config, () =>
            {
                var builder = new SerializingProducerBuilder<TKey, TValue>(options.Config);
                if (Find<IAsyncSerializer<TKey>>(provider, serviceKey) is { } asyncKey)
                {
                    builder.SetKeySerializer(asyncKey);
                }
                else if (Find<ISerializer<TKey>>(provider, serviceKey) is { } syncKey)
                {
                    builder.SetKeySerializer(syncKey);
                }

                if (Find<IAsyncSerializer<TValue>>(provider, serviceKey) is { } asyncValue)
                {
                    builder.SetValueSerializer(asyncValue);
                }
                else if (Find<ISerializer<TValue>>(provider, serviceKey) is { } syncValue)
                {
                    builder.SetValueSerializer(syncValue);
                }

                if (ClientLogger.Create(provider, ProducerLogCategory, options.Config) is { } logger)
                {
                    builder.SetLogHandler(logger.OnLog).SetErrorHandler(logger.OnError);
                }

                options.ConfigureBuilder?.Invoke(provider, builder);
                return builder.Build();
            });
        });
    }

    /// <summary>Registers a singleton <see cref="IDeserializingConsumer{TKey, TValue}"/> configured from a section of librdkafka keys.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">A section of librdkafka consumer keys.</param>
    /// <param name="configure">Changes the options after the section was read, or null.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaConsumer<TKey, TValue>(
        this IServiceCollection services, IConfiguration configuration, Action<KafkaConsumerOptions<TKey, TValue>>? configure = null) =>
        AddKeyedKafkaConsumer(services, null, configuration, configure);

    /// <summary>Registers a singleton <see cref="IDeserializingConsumer{TKey, TValue}"/> configured in code.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaConsumer<TKey, TValue>(
        this IServiceCollection services, Action<KafkaConsumerOptions<TKey, TValue>> configure) =>
        AddKeyedKafkaConsumer(services, null, configure);

    /// <summary>Registers a singleton <see cref="IDeserializingConsumer{TKey, TValue}"/> under a service key, configured from a section of librdkafka keys.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (null registers the unkeyed consumer).</param>
    /// <param name="configuration">A section of librdkafka consumer keys.</param>
    /// <param name="configure">Changes the options after the section was read, or null.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedKafkaConsumer<TKey, TValue>(
        this IServiceCollection services, object? serviceKey, IConfiguration configuration, Action<KafkaConsumerOptions<TKey, TValue>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return AddKeyedKafkaConsumer<TKey, TValue>(services, serviceKey, options =>
        {
            ConfigurationReader.ReadInto(configuration, options.Config, "consumer");
            configure?.Invoke(options);
        });
    }

    /// <summary>Registers a singleton <see cref="IDeserializingConsumer{TKey, TValue}"/> under a service key, configured in code.</summary>
    /// <typeparam name="TKey">The message key type.</typeparam>
    /// <typeparam name="TValue">The message value type.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The service key (null registers the unkeyed consumer).</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKeyedKafkaConsumer<TKey, TValue>(
        this IServiceCollection services, object? serviceKey, Action<KafkaConsumerOptions<TKey, TValue>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        ClientRegistrations.Of(services).Clients.Add((typeof(IDeserializingConsumer<TKey, TValue>), serviceKey));
        return services.AddKeyedSingleton<IDeserializingConsumer<TKey, TValue>>(serviceKey, (provider, _) =>
        {
            var options = new KafkaConsumerOptions<TKey, TValue>();
            configure(options);
            return BuildConsumer(provider, serviceKey, options);
        });
    }

    /// <summary>Builds a consumer as the registrations do: deserializers from the container, logging, then the options' callback; secret values kept out of what it throws.</summary>
    /// <param name="provider">The container.</param>
    /// <param name="serviceKey">The key to look deserializers up by first, or null.</param>
    /// <param name="options">The consumer's options.</param>
    /// <returns>The consumer, which the caller disposes.</returns>
    internal static DeserializingConsumer<TKey, TValue> BuildConsumer<TKey, TValue>(IServiceProvider provider, object? serviceKey, KafkaConsumerOptions<TKey, TValue> options) =>
        Secrets.Guard(options.Config, () =>
        {
            var builder = new DeserializingConsumerBuilder<TKey, TValue>(options.Config);
            if (Find<IAsyncDeserializer<TKey>>(provider, serviceKey) is { } asyncKey)
            {
                builder.SetKeyDeserializer(asyncKey);
            }
            else if (Find<IDeserializer<TKey>>(provider, serviceKey) is { } syncKey)
            {
                builder.SetKeyDeserializer(syncKey);
            }

            if (Find<IAsyncDeserializer<TValue>>(provider, serviceKey) is { } asyncValue)
            {
                builder.SetValueDeserializer(asyncValue);
            }
            else if (Find<IDeserializer<TValue>>(provider, serviceKey) is { } syncValue)
            {
                builder.SetValueDeserializer(syncValue);
            }

            if (ClientLogger.Create(provider, ConsumerLogCategory, options.Config) is { } logger)
            {
                builder.SetLogHandler(logger.OnLog).SetErrorHandler(logger.OnError);
            }

            options.ConfigureBuilder?.Invoke(provider, builder);
            return builder.Build();
        });

    private static void TrackRegistry(IServiceCollection services, object? serviceKey = null)
    {
        if (!services.Any(d => d.ServiceType == typeof(ISchemaRegistryClient) && Equals(d.ServiceKey, serviceKey)))
        {
            ClientRegistrations.Of(services).Clients.Add((typeof(ISchemaRegistryClient), serviceKey));
        }
    }

    private static T? Find<T>(IServiceProvider provider, object? serviceKey)
        where T : class =>
        (serviceKey is null ? null : provider.GetKeyedService<T>(serviceKey)) ?? provider.GetService<T>();

    private static CachedSchemaRegistryClient CreateRegistry(Dictionary<string, string> config)
    {
        // Confluent's client reads only schema.registry.* keys (and ignores others silently): a bare key is given the prefix.
        var prefixed = config.ToDictionary(
            e => e.Key.StartsWith("schema.registry.", StringComparison.Ordinal) ? e.Key : "schema.registry." + e.Key,
            e => e.Value,
            StringComparer.Ordinal);
        return Secrets.Guard(prefixed, () => new CachedSchemaRegistryClient(prefixed));
    }
}

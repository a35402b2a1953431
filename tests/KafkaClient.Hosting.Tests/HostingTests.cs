using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.Hosting;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace KafkaClient.Hosting.Tests;

public sealed record User(string Name, int FavoriteNumber);

/// <summary>Loopback addresses nothing listens on: the clients are created but never connect.</summary>
internal static class Unreachable
{
    public static readonly string Broker = $"{System.Net.IPAddress.Loopback}:9";
    public static readonly string Registry = $"http://{System.Net.IPAddress.Loopback}:9";
}

/// <summary>Producers, consumers and the registry client registered in DI and configured from IConfiguration.</summary>
public sealed class HostingTests
{
    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Fact]
    public async Task Producer_and_consumer_from_configuration_carry_a_record_with_serdes_from_the_container()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        await using var registry = await EmbeddedSchemaRegistry.StartAsync();
        cluster.CreateTopic("users");
        var configuration = Configuration(new()
        {
            ["Kafka:Producer:bootstrap.servers"] = cluster.BootstrapServers,
            ["Kafka:Producer:linger.ms"] = "5",
            ["Kafka:Consumer:bootstrap.servers"] = cluster.BootstrapServers,
            ["Kafka:Consumer:group.id"] = "hosting",
            ["Kafka:Consumer:auto.offset.reset"] = "earliest",
            ["Kafka:SchemaRegistry:url"] = registry.Url,
            ["Kafka:Serdes:User:subject.name.strategy"] = "topic_record",
        });

        // The README's "Dependency injection and configuration" sample.
        var services = new ServiceCollection();
        services.AddSchemaRegistryClient(configuration.GetSection("Kafka:SchemaRegistry"));
        services.AddKafkaSerde<IAsyncSerializer<User>>(configuration.GetSection("Kafka:Serdes:User"), (sp, config) =>
            new JsonSchemaSerializer<User>(sp.GetRequiredService<ISchemaRegistryClient>(), config: new JsonSchemaSerdeConfig(config)));
        services.AddKafkaSerde<IAsyncDeserializer<User>>(configuration.GetSection("Kafka:Serdes:User"), (sp, config) =>
            new JsonSchemaDeserializer<User>(sp.GetRequiredService<ISchemaRegistryClient>(), new JsonSchemaSerdeConfig(config)));
        services.AddKafkaProducer<string, User>(configuration.GetSection("Kafka:Producer"));
        services.AddKafkaConsumer<string, User>(configuration.GetSection("Kafka:Consumer"));
        await using var provider = services.BuildServiceProvider();

        var producer = provider.GetRequiredService<ISerializingProducer<string, User>>();
        await producer.ProduceAsync("users", "ada", new User("Ada", 7));

        var consumer = provider.GetRequiredService<IDeserializingConsumer<string, User>>();
        consumer.Subscribe("users");
        var record = await consumer.PollAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(record);
        Assert.Equal("ada", record.Message.Key);
        Assert.Equal(new User("Ada", 7), record.Message.Value);
        // subject.name.strategy=topic_record from the section: the subject is the topic and the schema's title, not users-value.
        Assert.Equal(["users-User"], await provider.GetRequiredService<ISchemaRegistryClient>().GetAllSubjectsAsync());
    }

    [Fact]
    public async Task Keyed_registrations_give_distinct_producers_and_consumers()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var services = new ServiceCollection();
        services.AddKeyedKafkaProducer<string, string>("a", options => options.Config["bootstrap.servers"] = cluster.BootstrapServers);
        services.AddKeyedKafkaProducer<string, string>("b", options => options.Config["bootstrap.servers"] = cluster.BootstrapServers);
        services.AddKeyedKafkaConsumer<string, string>("a", options =>
        {
            options.Config["bootstrap.servers"] = cluster.BootstrapServers;
            options.Config["group.id"] = "a";
        });
        await using var provider = services.BuildServiceProvider();

        var a = provider.GetRequiredKeyedService<ISerializingProducer<string, string>>("a");
        var b = provider.GetRequiredKeyedService<ISerializingProducer<string, string>>("b");
        Assert.NotSame(a, b);
        Assert.Same(a, provider.GetRequiredKeyedService<ISerializingProducer<string, string>>("a"));
        Assert.Null(provider.GetService<ISerializingProducer<string, string>>());
        Assert.NotNull(provider.GetRequiredKeyedService<IDeserializingConsumer<string, string>>("a"));
    }

    [Fact]
    public async Task The_registry_client_is_registered_once_and_shared()
    {
        var services = new ServiceCollection();
        services.AddSchemaRegistryClient(config => config.Url = Unreachable.Registry);
        services.AddSchemaRegistryClient(Configuration(new() { ["url"] = Unreachable.Registry }));
        Assert.Single(services, d => d.ServiceType == typeof(ISchemaRegistryClient));
        await using var provider = services.BuildServiceProvider();

        var registry = provider.GetRequiredService<ISchemaRegistryClient>();
        Assert.IsType<CachedSchemaRegistryClient>(registry);
        Assert.Same(registry, provider.GetRequiredService<ISchemaRegistryClient>());
    }

    [Fact]
    public async Task Keyed_registry_clients_reach_their_own_registries_and_serdes_take_the_keyed_one()
    {
        await using var eu = await EmbeddedSchemaRegistry.StartAsync();
        await using var us = await EmbeddedSchemaRegistry.StartAsync();
        var services = new ServiceCollection();
        services.AddKeyedSchemaRegistryClient("eu", Configuration(new() { ["url"] = eu.Url }));
        services.AddKeyedSchemaRegistryClient("us", config => config.Url = us.Url);
        services.AddKeyedSchemaRegistryClient("us", config => config.Url = Unreachable.Registry); // ignored: "us" is taken
        services.AddKeyedSingleton<IAsyncSerializer<User>>("eu", (sp, key) => new JsonSchemaSerializer<User>(sp.GetRequiredKeyedService<ISchemaRegistryClient>(key)));
        services.ValidateKafkaClientsOnStart();
        await using var provider = services.BuildServiceProvider();

        var euRegistry = provider.GetRequiredKeyedService<ISchemaRegistryClient>("eu");
        var usRegistry = provider.GetRequiredKeyedService<ISchemaRegistryClient>("us");
        Assert.NotSame(euRegistry, usRegistry);
        Assert.Null(provider.GetService<ISchemaRegistryClient>());

        var serializer = provider.GetRequiredKeyedService<IAsyncSerializer<User>>("eu");
        await serializer.SerializeAsync(new User("ada", 1), new SerializationContext(MessageComponentType.Value, "users"));
        Assert.Equal(["users-value"], await euRegistry.GetAllSubjectsAsync());
        Assert.Empty(await usRegistry.GetAllSubjectsAsync());
    }

    [Fact]
    public async Task An_unknown_key_fails_at_first_resolve_naming_it()
    {
        var services = new ServiceCollection();
        services.AddKafkaProducer<string, string>(Configuration(new()
        {
            ["Kafka:Producer:bootstrap.servers"] = Unreachable.Broker,
            ["Kafka:Producer:linger.msec"] = "5",
        }).GetSection("Kafka:Producer"));
        services.AddSchemaRegistryClient(Configuration(new() { ["url"] = Unreachable.Registry, ["no.such.key"] = "x" }));
        await using var provider = services.BuildServiceProvider();

        var producer = Assert.Throws<ArgumentException>(provider.GetRequiredService<ISerializingProducer<string, string>>);
        Assert.Contains("linger.msec", producer.Message, StringComparison.Ordinal);
        var registry = Assert.Throws<ArgumentException>(provider.GetRequiredService<ISchemaRegistryClient>);
        Assert.Contains("no.such.key", registry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_section_fails_naming_it()
    {
        var services = new ServiceCollection();
        services.AddKafkaConsumer<string, string>(Configuration([]).GetSection("Kafka:Consumer"));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<ArgumentException>(provider.GetRequiredService<IDeserializingConsumer<string, string>>);
        Assert.Contains("'Kafka:Consumer'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sasl.password")]
    [InlineData("ssl.key.password")]
    [InlineData("sasl.oauthbearer.client.secret")]
    public async Task A_secret_never_appears_in_an_exception_or_in_ToString(string secretKey)
    {
        const string Secret = "hunter2-do-not-leak";
        var services = new ServiceCollection();
        KafkaConsumerOptions<string, string>? seen = null;
        services.AddKafkaConsumer<string, string>(
            Configuration(new()
            {
                ["bootstrap.servers"] = Unreachable.Broker,
                ["group.id"] = "g",
                [secretKey] = Secret,
                // librdkafka quotes a refused enum value: here the secret itself, pasted under the wrong key.
                ["security.protocol"] = Secret,
            }),
            options => seen = options);
        await using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAny<Exception>(provider.GetRequiredService<IDeserializingConsumer<string, string>>);
        Assert.DoesNotContain(Secret, error.ToString(), StringComparison.Ordinal);
        Assert.Contains("security.protocol", error.Message, StringComparison.Ordinal);

        Assert.NotNull(seen);
        Assert.Contains($"{secretKey}=***", seen.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, seen.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registry_secret_never_appears_in_an_exception()
    {
        const string Secret = "user:hunter2-do-not-leak";
        var services = new ServiceCollection();
        services.AddSchemaRegistryClient(Configuration(new()
        {
            ["url"] = Unreachable.Registry,
            ["basic.auth.user.info"] = Secret,
            ["basic.auth.credentials.source"] = Secret,
        }));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.ThrowsAny<Exception>(provider.GetRequiredService<ISchemaRegistryClient>);
        Assert.DoesNotContain(Secret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disposing_the_provider_disposes_the_clients()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokerCount: 1);
        var services = new ServiceCollection();
        services.AddKafkaProducer<string, string>(options => options.Config["bootstrap.servers"] = cluster.BootstrapServers);
        services.AddKafkaConsumer<string, string>(options =>
        {
            options.Config["bootstrap.servers"] = cluster.BootstrapServers;
            options.Config["group.id"] = "disposed";
        });
        var provider = services.BuildServiceProvider();
        var producer = provider.GetRequiredService<ISerializingProducer<string, string>>();
        var consumer = provider.GetRequiredService<IDeserializingConsumer<string, string>>();

        await provider.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await producer.ProduceAsync("t", "k", "v"));
        Assert.Throws<ObjectDisposedException>(() => consumer.Subscribe("t"));
    }
}

using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace KafkaClient.Hosting.Tests;

/// <summary>Serde settings bound from IConfiguration: validated like producer and consumer sections, secrets kept out of what is thrown.</summary>
public sealed class SerdeConfigurationTests
{
    private static IConfiguration Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(e => $"Kafka:Serdes:User:{e.Key}", e => e.Value)).Build().GetSection("Kafka:Serdes:User");

    private static void AddJsonSerdes(IServiceCollection services, IConfiguration section, object? serviceKey = null)
    {
        services.AddKeyedKafkaSerde<IAsyncSerializer<User>>(serviceKey, section, (sp, config) =>
            new JsonSchemaSerializer<User>(sp.GetRequiredService<ISchemaRegistryClient>(), config: new JsonSchemaSerdeConfig(config)));
        services.AddKeyedKafkaSerde<IAsyncDeserializer<User>>(serviceKey, section, (sp, config) =>
            new JsonSchemaDeserializer<User>(sp.GetRequiredService<ISchemaRegistryClient>(), new JsonSchemaSerdeConfig(config)));
    }

    [Fact]
    public async Task Settings_from_a_section_reach_the_serde_registered_with_it_keyed_or_not()
    {
        await using var registry = await Testing.EmbeddedSchemaRegistry.StartAsync();
        var services = new ServiceCollection();
        services.AddSchemaRegistryClient(config => config.Url = registry.Url);

        // Unkeyed: auto.register.schemas=false, so the serializer refuses a subject the registry lacks.
        AddJsonSerdes(services, Section(new() { ["auto.register.schemas"] = "false", ["use.latest.version"] = "false" }));
        // Keyed "eu": the record strategy names the subject after the schema alone.
        AddJsonSerdes(services, Section(new() { ["subject.name.strategy"] = "record" }), "eu");
        await using var provider = services.BuildServiceProvider();

        var context = new SerializationContext(MessageComponentType.Value, "users");
        var unkeyed = provider.GetRequiredService<IAsyncSerializer<User>>();
        var refused = await Assert.ThrowsAsync<JsonSerdeException>(() => unkeyed.SerializeAsync(new User("ada", 1), context));
        Assert.Equal(JsonSerdeFailure.RegistryRefused, refused.Failure);
        Assert.Empty(await provider.GetRequiredService<ISchemaRegistryClient>().GetAllSubjectsAsync());

        var keyed = provider.GetRequiredKeyedService<IAsyncSerializer<User>>("eu");
        Assert.NotSame(unkeyed, keyed);
        var bytes = await keyed.SerializeAsync(new User("ada", 1), context);
        Assert.Equal(["User"], await provider.GetRequiredService<ISchemaRegistryClient>().GetAllSubjectsAsync());
        Assert.Equal(new User("ada", 1), await provider.GetRequiredKeyedService<IAsyncDeserializer<User>>("eu").DeserializeAsync(bytes, isNull: false, context));
    }

    [Fact]
    public async Task An_unknown_key_fails_at_first_resolve_naming_it()
    {
        var services = new ServiceCollection();
        services.AddSchemaRegistryClient(config => config.Url = Unreachable.Registry);
        AddJsonSerdes(services, Section(new() { ["auto.register.schemas"] = "true", ["auto.register.schema"] = "false" }));
        services.AddKafkaProducer<string, User>(options => options.Config["bootstrap.servers"] = Unreachable.Broker);
        await using var provider = services.BuildServiceProvider();

        var serializer = Assert.Throws<ArgumentException>(provider.GetRequiredService<IAsyncSerializer<User>>);
        Assert.Contains("'auto.register.schema'", serializer.Message, StringComparison.Ordinal);
        var deserializer = Assert.Throws<ArgumentException>(provider.GetRequiredService<IAsyncDeserializer<User>>);
        Assert.Contains("'auto.register.schema'", deserializer.Message, StringComparison.Ordinal);

        // The producer that would use the serializer fails the same way when it is made.
        var producer = Assert.Throws<ArgumentException>(provider.GetRequiredService<ISerializingProducer<string, User>>);
        Assert.Contains("'auto.register.schema'", producer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_validating_its_clients_fails_to_start_naming_the_serde_and_the_key()
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSchemaRegistryClient(config => config.Url = Unreachable.Registry);
        AddJsonSerdes(builder.Services, Section(new() { ["subject.name.strategy"] = "topic", ["no.such.serde.key"] = "1" }));
        builder.Services.ValidateKafkaClientsOnStart();
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("IAsyncSerializer<User>: Unknown JSON serde configuration key 'no.such.serde.key'", error.Message, StringComparison.Ordinal);
        Assert.Contains("IAsyncDeserializer<User>: Unknown JSON serde configuration key 'no.such.serde.key'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_secret_never_appears_in_what_a_bad_section_throws()
    {
        const string Secret = "hunter2-do-not-leak";
        var services = new ServiceCollection();
        services.AddSchemaRegistryClient(config => config.Url = Unreachable.Registry);

        // The secret under a secret key, and pasted under a key whose bad value the serde quotes (read first: a section lists its keys in reverse order).
        AddJsonSerdes(services, Section(new() { ["auto.register.schemas"] = Secret, ["access.token"] = Secret }));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<ArgumentException>(provider.GetRequiredService<IAsyncSerializer<User>>);
        Assert.Contains("'auto.register.schemas'", error.Message, StringComparison.Ordinal);
        Assert.Contains("***", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_section_fails_naming_it()
    {
        var services = new ServiceCollection();
        services.AddSchemaRegistryClient(config => config.Url = Unreachable.Registry);
        AddJsonSerdes(services, new ConfigurationBuilder().Build().GetSection("Kafka:Serdes:User"));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<ArgumentException>(provider.GetRequiredService<IAsyncSerializer<User>>);
        Assert.Contains("serde configuration section 'Kafka:Serdes:User'", error.Message, StringComparison.Ordinal);
    }
}

using System.Net.Http;
using System.Net.Sockets;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using KafkaClient.Testing;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using Testcontainers.Kafka;

namespace KafkaClient.IntegrationTests;

/// <summary>The one Kafka cluster the integration tests share.</summary>
/// <remarks>
/// Chosen once per run: <c>KAFKA_BOOTSTRAP_SERVERS</c> if set (an external cluster); else a Testcontainers
/// Kafka when a Docker engine answers; else the embedded cluster. Tests use unique topic and group names,
/// so the same tests run on all three. Fault-injection tests break brokers, which only the embedded
/// cluster allows, so they get a private embedded cluster from <see cref="StartFaultCluster"/>.
/// </remarks>
public sealed class KafkaFixture : IAsyncLifetime
{
    private EmbeddedKafkaCluster? _embedded;
    private EmbeddedSchemaRegistry? _registry;
    private KafkaContainer? _container;
    private IContainer? _registryContainer;
    private INetwork? _network;

    public string BootstrapServers { get; private set; } = string.Empty;

    public string Mode { get; private set; } = string.Empty;

    /// <summary>Gets the Schema Registry URL: <c>SCHEMA_REGISTRY_URL</c> if set, else the embedded registry's.</summary>
    public string SchemaRegistryUrl { get; private set; } = string.Empty;

    /// <summary>Gets the embedded registry, or null when an external one is used.</summary>
    public EmbeddedSchemaRegistry? EmbeddedRegistry => _registry;

    public Confluent.SchemaRegistry.CachedSchemaRegistryClient RegistryClient() =>
        new(new Confluent.SchemaRegistry.SchemaRegistryConfig { Url = SchemaRegistryUrl, RequestTimeoutMs = 5000, MaxRetries = 1 });

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {

        var external = Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS");
        if (!string.IsNullOrWhiteSpace(external))
        {
            BootstrapServers = external;
            Mode = "external";
        }
        else if (await DockerAnswersAsync())
        {
            _network = new NetworkBuilder().Build();
            _container = new KafkaBuilder("confluentinc/cp-kafka:7.6.1").WithNetwork(_network).WithNetworkAliases("kafka").WithListener("kafka:19092").Build();
            await _container.StartAsync();
            BootstrapServers = _container.GetBootstrapAddress();
            Mode = "testcontainers";
        }
        else
        {
            _embedded = EmbeddedKafkaCluster.Start(brokerCount: 3);
            BootstrapServers = _embedded.BootstrapServers;
            Mode = "embedded";
        }

        var registryUrl = Environment.GetEnvironmentVariable("SCHEMA_REGISTRY_URL");
        if (!string.IsNullOrWhiteSpace(registryUrl))
        {
            SchemaRegistryUrl = registryUrl;
        }
        else if (_network is not null)
        {
            // Beside the Kafka container, Confluent's own registry: the same tests then run against the real one.
            _registryContainer = new ContainerBuilder("confluentinc/cp-schema-registry:7.6.1")
                .WithNetwork(_network)
                .WithPortBinding(8081, assignRandomHostPort: true)
                .WithEnvironment("SCHEMA_REGISTRY_HOST_NAME", "schema-registry")
                .WithEnvironment("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
                .WithEnvironment("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:19092")
                .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(request => request.ForPath("/subjects").ForPort(8081)))
                .Build();
            await _registryContainer.StartAsync();
            SchemaRegistryUrl = $"http://{_registryContainer.Hostname}:{_registryContainer.GetMappedPublicPort(8081)}";
        }
        else
        {
            _registry = await EmbeddedSchemaRegistry.StartAsync();
            SchemaRegistryUrl = _registry.Url;
        }
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        if (_embedded is not null)
        {
            await _embedded.DisposeAsync();
        }

        if (_registryContainer is not null)
        {
            await _registryContainer.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_network is not null)
        {
            await _network.DisposeAsync();
        }
    }

    /// <summary>Starts a private embedded cluster that a test may break (brokers down, leaders moved, errors injected).</summary>
    public static EmbeddedKafkaCluster StartFaultCluster(int brokerCount = 3) => EmbeddedKafkaCluster.Start(brokerCount);

    public async Task CreateTopicAsync(string name, int partitions, int replicationFactor = 1)
    {
        if (_embedded is not null)
        {
            _embedded.CreateTopic(name, partitions, replicationFactor);
            return;
        }

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = (short)replicationFactor }]);
    }

    public ProducerConfig Producer() => new()
    {
        BootstrapServers = BootstrapServers,
        LingerMs = 5,
    };

    public ConsumerConfig Consumer(string groupId) => new()
    {
        BootstrapServers = BootstrapServers,
        GroupId = groupId,
        AutoOffsetReset = AutoOffsetReset.Earliest,

        // The lowest session timeout brokers accept by default. The embedded cluster also waits
        // (session timeout - 1 s) after a member leaves before it lets the next one join.
        SessionTimeoutMs = 6000,
        HeartbeatIntervalMs = 500,
    };

    private static async Task<bool> DockerAnswersAsync()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var socketPath = host is not null && host.StartsWith("unix://", StringComparison.Ordinal) ? host["unix://".Length..] : "/var/run/docker.sock";
        if (host is not null && !host.StartsWith("unix://", StringComparison.Ordinal))
        {
            return true; // A TCP Docker host was configured explicitly: let Testcontainers use it.
        }

        if (!File.Exists(socketPath))
        {
            return false;
        }

        try
        {
            using var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, token) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(3) };
            var answer = await http.GetStringAsync(new Uri("http://docker/_ping"));
            return answer.Trim() == "OK";
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or TaskCanceledException or IOException)
        {
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaFixture>
{
    public const string Name = "kafka";
}

using Confluent.SchemaRegistry;
using KafkaClient.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Streamiz.Kafka.Net;

namespace KafkaClient.Streams.Tests.Support;

/// <summary>One embedded Schema Registry per test class; tests use subjects of their own topics.</summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private EmbeddedSchemaRegistry? _registry;

    public EmbeddedSchemaRegistry Registry => _registry ?? throw new InvalidOperationException("not started");

    public string Url => Registry.Url;

    public CachedSchemaRegistryClient Client() => StreamsKit.RegistryClient(Url);

    public async Task InitializeAsync() => _registry = await EmbeddedSchemaRegistry.StartAsync();

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }
}

/// <summary>Names, configurations and bounded waits the streams tests share.</summary>
public static class StreamsKit
{
    /// <summary>The bound of every wait for something asynchronous to happen.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static CachedSchemaRegistryClient RegistryClient(string url) =>
        new(new SchemaRegistryConfig { Url = url, RequestTimeoutMs = 5000, MaxRetries = 1 });

    /// <summary>A stream configuration with a unique application id and a state directory of its own (deleted by <see cref="StateDirectory.Dispose"/>).</summary>
    public static StreamConfig Config(StateDirectory state, string? bootstrapServers = null) => new()
    {
        ApplicationId = Unique("app"),
        BootstrapServers = bootstrapServers ?? "localhost:1", // TopologyTestDriver connects to nothing
        StateDir = state.Path,
        Logger = NullLoggerFactory.Instance,
    };

    /// <summary>Waits until <paramref name="condition"/> holds, at most <see cref="Patience"/>.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"Still waiting after {Patience.TotalSeconds} s for {what}.");
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>A temporary state directory for one stream (RocksDB stores, checkpoints), deleted afterwards.</summary>
public sealed class StateDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("kafkaclient-streams-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // a store still closing; the temp folder is cleaned by the system
        }
    }
}

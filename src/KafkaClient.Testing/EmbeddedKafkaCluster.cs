using System.Runtime.InteropServices;
using Confluent.Kafka;
using KafkaClient.Testing.Native;

namespace KafkaClient.Testing;

/// <summary>An in-process Kafka cluster, librdkafka's mock cluster, for tests and local runs without Docker or a broker.</summary>
/// <remarks>
/// <para>
/// The brokers listen on loopback; <see cref="BootstrapServers"/> works for any client on this machine, in this
/// process or another (kcat, confluent-kafka-python, a Java client). Broker ids run from 1 to
/// <see cref="BrokerCount"/>. All members are thread-safe.
/// </para>
/// <para>Known limits of the mock, which callers must respect:</para>
/// <list type="bullet">
/// <item>CreateTopics, DeleteTopics and DescribeConfigs through an admin client are not supported: use <see cref="CreateTopic"/> and <see cref="DeleteTopic"/>.</item>
/// <item>Each partition keeps only about 5 MiB and silently drops older records: keep test volume per partition below that.</item>
/// <item>OffsetsForTimes returns -1 (use Seek to replay); read_committed isolation is not honoured; idempotent de-duplication is only checked for transactional producers.</item>
/// <item>ListConsumerGroups, DeleteGroups and DeleteConsumerGroupOffsets crash the process: never call them against this cluster.</item>
/// </list>
/// <para>By default the controller is broker 1 and the group initial rebalance delay is zero, so admin metadata calls and group joins are fast.</para>
/// </remarks>
public sealed unsafe class EmbeddedKafkaCluster : ITopicAdmin, IDisposable, IAsyncDisposable
{
    private const int ProducerType = 0;

    private readonly Librdkafka.Functions _api;
    private readonly Lock _gate = new();
    private nint _client;
    private nint _cluster;
    private IAdminClient? _metadata;

    private EmbeddedKafkaCluster(Librdkafka.Functions api, nint client, nint cluster, int brokerCount)
    {
        _api = api;
        _client = client;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = Marshal.PtrToStringUTF8((nint)api.Bootstraps(cluster))
            ?? throw new InvalidOperationException("The mock cluster reported no bootstrap servers.");
    }

    /// <summary>Gets the comma-separated <c>host:port</c> list of the brokers, for <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; }

    /// <summary>Gets the number of brokers, with ids 1 to <see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>Gets the path of the native librdkafka image the cluster runs in (the one Confluent.Kafka loaded).</summary>
    public static string NativeLibraryPath => Librdkafka.Api.Path;

    /// <summary>Starts a cluster.</summary>
    /// <param name="brokerCount">How many brokers, 1 or more (default 3, so that leaders can move).</param>
    /// <returns>The running cluster; dispose it to stop it.</returns>
    public static EmbeddedKafkaCluster Start(int brokerCount = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        var api = Librdkafka.Api;
        var conf = api.ConfNew();
        Set(api, conf, "client.id", "embedded-kafka-cluster");
        Set(api, conf, "log_level", "3");
        var error = new byte[512];
        nint client;
        fixed (byte* errorText = error)
        {
            client = api.New(ProducerType, conf, errorText, (nuint)error.Length);
        }

        if (client == 0)
        {
            throw new InvalidOperationException($"Could not create the mock cluster's client: {Text(error)}");
        }

        var cluster = api.ClusterNew(client, brokerCount);
        if (cluster == 0)
        {
            api.Destroy(client);
            throw new InvalidOperationException("librdkafka could not create the mock cluster.");
        }

        api.SetControllerId(cluster, 1);
        api.GroupInitialRebalanceDelay(cluster, 0);
        return new EmbeddedKafkaCluster(api, client, cluster, brokerCount);
    }

    /// <summary>Creates a topic.</summary>
    /// <param name="name">The topic name.</param>
    /// <param name="partitions">The number of partitions (default 1).</param>
    /// <param name="replicationFactor">The replication factor, at most <see cref="BrokerCount"/> (default 1).</param>
    /// <exception cref="KafkaException">The mock refused (for example the topic exists).</exception>
    public void CreateTopic(string name, int partitions = 1, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        var topic = Librdkafka.Utf8Z(name);
        fixed (byte* t = topic)
        {
            Check(_api.TopicCreate(Cluster(), t, partitions, replicationFactor), $"create topic \"{name}\"");
        }
    }

    /// <summary>Deletes a topic and its records.</summary>
    /// <param name="name">The topic name.</param>
    public void DeleteTopic(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var topic = Librdkafka.Utf8Z(name);
        fixed (byte* t = topic)
        {
            Check(_api.TopicDelete(Cluster(), t), $"delete topic \"{name}\"");
        }
    }

    /// <summary>Makes a broker drop its connections and refuse new ones; leadership does not move by itself (see <see cref="SetPartitionLeader"/>).</summary>
    /// <param name="brokerId">The broker id, 1 to <see cref="BrokerCount"/>.</param>
    public void SetBrokerDown(int brokerId) => Check(_api.BrokerSetDown(Cluster(), CheckBroker(brokerId)), $"take broker {brokerId} down");

    /// <summary>Makes a broker accept connections again.</summary>
    /// <param name="brokerId">The broker id.</param>
    public void SetBrokerUp(int brokerId) => Check(_api.BrokerSetUp(Cluster(), CheckBroker(brokerId)), $"bring broker {brokerId} up");

    /// <summary>Delays every response of a broker, to simulate a slow network.</summary>
    /// <param name="brokerId">The broker id.</param>
    /// <param name="roundTripTime">The added delay.</param>
    public void SetBrokerRoundTripTime(int brokerId, TimeSpan roundTripTime) =>
        Check(_api.BrokerSetRtt(Cluster(), CheckBroker(brokerId), (int)roundTripTime.TotalMilliseconds), $"set the round-trip time of broker {brokerId}");

    /// <summary>Changes the host and port a broker advertises in metadata; it keeps listening where it is, so a forwarder must listen on the new address.</summary>
    /// <param name="brokerId">The broker id.</param>
    /// <param name="host">The advertised host.</param>
    /// <param name="port">The advertised port.</param>
    /// <exception cref="NotSupportedException">The loaded librdkafka is too old to change advertised addresses.</exception>
    public void SetBrokerAdvertisedAddress(int brokerId, string host, int port)
    {
        CheckBroker(brokerId);
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        if (_api.BrokerSetHostPort == null)
        {
            throw new NotSupportedException($"The loaded librdkafka ({NativeLibraryPath}) cannot change a broker's advertised address.");
        }

        var name = Librdkafka.Utf8Z(host);
        fixed (byte* h = name)
        {
            _api.BrokerSetHostPort(Cluster(), brokerId, h, port);
        }
    }

    /// <summary>Moves a partition's leadership to another broker (clients learn it from their next metadata refresh).</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="brokerId">The new leader, or -1 for no leader.</param>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        if (brokerId != -1)
        {
            CheckBroker(brokerId);
        }

        var name = Librdkafka.Utf8Z(topic);
        fixed (byte* t = name)
        {
            Check(_api.PartitionSetLeader(Cluster(), t, partition, brokerId), $"move the leader of {topic} [{partition}]");
        }
    }

    /// <summary>Makes the next requests of one kind fail with the given errors, one error per request, in order.</summary>
    /// <param name="apiKey">The request kind.</param>
    /// <param name="errors">The errors to return.</param>
    public void PushRequestErrors(KafkaApiKey apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var codes = errors.Select(e => (int)e).ToArray();
        fixed (int* c = codes)
        {
            _api.PushRequestErrors(Cluster(), (short)apiKey, (nuint)codes.Length, c);
        }
    }

    /// <summary>Forgets the errors queued by <see cref="PushRequestErrors"/> for one request kind.</summary>
    /// <param name="apiKey">The request kind.</param>
    public void ClearRequestErrors(KafkaApiKey apiKey) => _api.ClearRequestErrors(Cluster(), (short)apiKey);

    /// <summary>Makes metadata requests report an error for a topic, until set back to <see cref="ErrorCode.NoError"/>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="error">The error to report.</param>
    public void SetTopicError(string topic, ErrorCode error)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        var name = Librdkafka.Utf8Z(topic);
        fixed (byte* t = name)
        {
            _api.TopicSetError(Cluster(), t, (int)error);
        }
    }

    /// <summary>Makes a broker the coordinator of a consumer group.</summary>
    /// <param name="groupId">The group id.</param>
    /// <param name="brokerId">The coordinating broker.</param>
    public void SetGroupCoordinator(string groupId, int brokerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(groupId);
        var keyType = Librdkafka.Utf8Z("group");
        var key = Librdkafka.Utf8Z(groupId);
        fixed (byte* k = keyType)
        fixed (byte* g = key)
        {
            Check(_api.CoordinatorSet(Cluster(), k, g, CheckBroker(brokerId)), $"set the coordinator of group \"{groupId}\"");
        }
    }

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">Topic configs were given: the embedded cluster does not keep them.</exception>
    Task ITopicAdmin.CreateTopicAsync(string name, int partitions, short replicationFactor, IReadOnlyDictionary<string, string>? configs, CancellationToken cancellationToken)
    {
        if (configs is { Count: > 0 })
        {
            throw new NotSupportedException($"The embedded cluster does not keep topic configs ({string.Join(", ", configs.Keys)}); create the topic without them.");
        }

        CreateTopic(name, partitions, replicationFactor < 1 ? 1 : replicationFactor);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListTopicsAsync(CancellationToken cancellationToken = default) =>
        Task.Run<IReadOnlyList<string>>(
            () => Metadata().GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).Order(StringComparer.Ordinal).ToList(),
            cancellationToken);

    /// <inheritdoc/>
    public Task<TopicDescription> DescribeTopicAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return Task.Run(() => TopicAdmin.Describe(Metadata(), name, TimeSpan.FromSeconds(10)), cancellationToken);
    }

    /// <inheritdoc/>
    Task ITopicAdmin.DeleteTopicAsync(string name, CancellationToken cancellationToken)
    {
        DeleteTopic(name);
        return Task.CompletedTask;
    }

    private IAdminClient Metadata()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_cluster == 0, this);
            return _metadata ??= new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        }
    }

    /// <summary>Stops the brokers; connected clients see the cluster go away.</summary>
    public void Dispose()
    {
        IAdminClient? metadata;
        lock (_gate)
        {
            metadata = _metadata;
            _metadata = null;
        }

        metadata?.Dispose();
        nint cluster, client;
        lock (_gate)
        {
            (cluster, client) = (_cluster, _client);
            _cluster = _client = 0;
        }

        if (cluster != 0)
        {
            _api.ClusterDestroy(cluster);
            _api.Destroy(client);
        }
    }

    /// <summary>Stops the brokers without blocking the caller.</summary>
    /// <returns>A task that completes when the cluster is stopped.</returns>
    public ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _cluster) == 0)
        {
            return ValueTask.CompletedTask;
        }

        return new ValueTask(Task.Factory.StartNew(Dispose, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
    }

    private nint Cluster()
    {
        var cluster = Volatile.Read(ref _cluster);
        ObjectDisposedException.ThrowIf(cluster == 0, this);
        return cluster;
    }

    private int CheckBroker(int brokerId)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, BrokerCount);
        return brokerId;
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new KafkaException(new Error((ErrorCode)error, $"The embedded cluster could not {what}: {(ErrorCode)error}"));
        }
    }

    private static void Set(Librdkafka.Functions api, nint conf, string name, string value)
    {
        var n = Librdkafka.Utf8Z(name);
        var v = Librdkafka.Utf8Z(value);
        var error = new byte[256];
        fixed (byte* pn = n)
        fixed (byte* pv = v)
        fixed (byte* pe = error)
        {
            if (api.ConfSet(conf, pn, pv, pe, (nuint)error.Length) != 0)
            {
                throw new InvalidOperationException($"Could not set '{name}' on the mock cluster's client: {Text(error)}");
            }
        }
    }

    private static string Text(byte[] nulTerminated)
    {
        var end = Array.IndexOf(nulTerminated, (byte)0);
        return System.Text.Encoding.UTF8.GetString(nulTerminated, 0, end < 0 ? nulTerminated.Length : end);
    }
}

/// <summary>Kafka protocol request kinds, for <see cref="EmbeddedKafkaCluster.PushRequestErrors"/>.</summary>
#pragma warning disable CA1028 // The protocol defines these as 16-bit numbers.
public enum KafkaApiKey : short
#pragma warning restore CA1028
{
    /// <summary>Produce (0).</summary>
    Produce = 0,

    /// <summary>Fetch (1).</summary>
    Fetch = 1,

    /// <summary>ListOffsets (2).</summary>
    ListOffsets = 2,

    /// <summary>Metadata (3).</summary>
    Metadata = 3,

    /// <summary>OffsetCommit (8).</summary>
    OffsetCommit = 8,

    /// <summary>OffsetFetch (9).</summary>
    OffsetFetch = 9,

    /// <summary>FindCoordinator (10).</summary>
    FindCoordinator = 10,

    /// <summary>JoinGroup (11).</summary>
    JoinGroup = 11,

    /// <summary>Heartbeat (12).</summary>
    Heartbeat = 12,

    /// <summary>LeaveGroup (13).</summary>
    LeaveGroup = 13,

    /// <summary>SyncGroup (14).</summary>
    SyncGroup = 14,

    /// <summary>InitProducerId (22).</summary>
    InitProducerId = 22,
}

using System.Globalization;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using KafkaClient.Testing;

namespace KafkaClient.DevStack;

/// <summary>The local development stack: an embedded Kafka cluster and an embedded Schema Registry on well-known ports.</summary>
internal static class Program
{
    /// <summary>The partitions librdkafka's mock gives a topic it creates automatically.</summary>
    internal const int DefaultPartitions = 4;

    private const string Synopsis = "usage: kafka-devstack [--kafka-port N] [--registry-port N] [--brokers N] [--partitions N]";

    private const string Usage = Synopsis + """

          --kafka-port N     the Kafka bootstrap port, 1 to 65535 (default 9092)
          --registry-port N  the Schema Registry port, 1 to 65535 (default 8081)
          --brokers N        the number of brokers, 1 to 16 (default 1)
          --partitions N     the partitions of each topic created automatically, 1 to 1000 (default 4);
                             each partition keeps about 5 MiB and drops its oldest records beyond that,
                             so spread data over more partitions to keep more
          -h, --help         show this text
        """;

    private static async Task<int> Main(string[] args)
    {
        if (args.Any(a => a is "-h" or "--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (Options.Parse(args, out var error) is not { } options)
        {
            // One line, no stack trace: the exit code of a usage error, as getopt-style tools use.
            await Console.Error.WriteLineAsync($"kafka-devstack: {error}; {Synopsis}");
            return 2;
        }

        var (kafkaPort, registryPort, brokers, partitions) = (options.KafkaPort, options.RegistryPort, options.Brokers, options.Partitions);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        await using var cluster = EmbeddedKafkaCluster.Start(brokers);
        var creator = new TopicCreator(cluster, partitions, Math.Min(3, brokers), Console.Error);
        var proxies = new List<BrokerProxy>();
        try
        {
            // Every broker is advertised at a proxy (broker 1 at the Kafka port, as docker-compose's broker is), so
            // that every Metadata request passes one and auto-created topics get the chosen partitions.
            foreach (var (id, host, port) in BrokerAddresses(cluster.BootstrapServers))
            {
                BrokerProxy proxy;
                try
                {
                    proxy = BrokerProxy.Start(id == 1 ? kafkaPort : 0, host, port, creator.Create, creator.CreateAsync);
                }
                catch (System.Net.Sockets.SocketException ex) when (id == 1)
                {
                    await Console.Error.WriteLineAsync($"Kafka port {kafkaPort} is not free ({ex.Message}); choose another with --kafka-port.");
                    return 1;
                }

                proxies.Add(proxy);
                cluster.SetBrokerAdvertisedAddress(id, "localhost", proxy.Port);
            }

            EmbeddedSchemaRegistry registry;
            try
            {
                registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { Port = registryPort });
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"Registry port {registryPort} is not free ({ex.Message}); choose another with --registry-port.");
                return 1;
            }

            await using (registry)
            {
                Console.WriteLine($"Kafka bootstrap servers: localhost:{kafkaPort}  (brokers: {string.Join(", ", proxies.Select(p => $"localhost:{p.Port}"))})");
                Console.WriteLine($"Schema Registry:         http://localhost:{registryPort}");
                Console.WriteLine($"Topics created automatically get {partitions} partitions.");
                await Console.Error.WriteLineAsync(
                    $"warning: the embedded cluster keeps {DropWatcher.Limit} and drops the oldest records beyond that; a warning names each partition that loses records.");
                await using var drops = DropWatcher.Start(cluster.BootstrapServers, Console.Error, TimeSpan.FromSeconds(1));
                Console.WriteLine("Ready. Ctrl-C or SIGTERM stops.");
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("Stopping.");
                }
            }
        }
        finally
        {
            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }
        }

        return 0;
    }

    private static List<(int Id, string Host, int Port)> BrokerAddresses(string bootstrapServers)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        return admin.GetMetadata(TimeSpan.FromSeconds(30)).Brokers.Select(b => (b.BrokerId, b.Host, b.Port)).OrderBy(b => b.BrokerId).ToList();
    }
}

/// <summary>Creates topics: those a Metadata request may auto-create, with the chosen partitions, before the mock creates them with its own; and those a CreateTopics request asks for.</summary>
/// <param name="cluster">The cluster.</param>
/// <param name="partitions">The partitions of a topic created automatically, or by CreateTopics with -1 (the broker's default).</param>
/// <param name="replicationFactor">The replication factor of a topic created automatically, or by CreateTopics with -1: the mock's own for auto-created topics.</param>
/// <param name="warnings">Where a line goes for each topic created without the configs it was asked with.</param>
internal sealed class TopicCreator(EmbeddedKafkaCluster cluster, int partitions, int replicationFactor, TextWriter warnings)
{
    private const int MaxNameLength = 249;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);

    /// <summary>Creates those of the topics that do not exist yet.</summary>
    /// <param name="topics">The topic names.</param>
    public void Create(IReadOnlyList<string> topics)
    {
        foreach (var topic in topics)
        {
            if (_known.ContainsKey(topic) || string.IsNullOrWhiteSpace(topic))
            {
                continue;
            }

            try
            {
                cluster.CreateTopic(topic, partitions, replicationFactor);
                _known[topic] = true;
            }
            catch (KafkaException ex) when (ex.Error.Code == ErrorCode.TopicAlreadyExists)
            {
                _known[topic] = true;
            }
            catch (Exception ex) when (ex is KafkaException or ObjectDisposedException)
            {
                // The mock refused or is stopping: it answers the request itself.
            }
        }
    }

    /// <summary>Answers a CreateTopics request as a broker does: each topic created with the partitions and replication factor asked for, or refused with Kafka's error code.</summary>
    /// <param name="request">The request.</param>
    /// <returns>Each topic's outcome, in the request's order.</returns>
    /// <remarks>The mock keeps no topic configs: a topic asked for with configs is created without them, and a warning names them.</remarks>
    public async Task<IReadOnlyList<CreateTopicResult>> CreateAsync(CreateTopicsRequest request)
    {
        var duplicates = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        IReadOnlyList<string>? existing = null;
        var results = new List<CreateTopicResult>();
        foreach (var topic in request.Topics)
        {
            if (duplicates.Contains(topic.Name))
            {
                results.Add(Refused(topic, ErrorCode.InvalidRequest, $"The request names topic '{topic.Name}' more than once."));
                continue;
            }

            if (Check(topic) is { } refusal)
            {
                results.Add(refusal);
                continue;
            }

            var (topicPartitions, topicReplicationFactor) = (topic.Partitions == -1 ? partitions : topic.Partitions, topic.ReplicationFactor == -1 ? replicationFactor : topic.ReplicationFactor);
            try
            {
                if (request.ValidateOnly)
                {
                    existing ??= await ((ITopicAdmin)cluster).ListTopicsAsync();
                    results.Add(existing.Contains(topic.Name, StringComparer.Ordinal)
                        ? Refused(topic, ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists.")
                        : new CreateTopicResult(topic.Name, 0, null));
                    continue;
                }

                cluster.CreateTopic(topic.Name, topicPartitions, topicReplicationFactor);
                _known[topic.Name] = true;
                results.Add(new CreateTopicResult(topic.Name, 0, null));
                if (topic.Configs.Count > 0)
                {
                    await warnings.WriteLineAsync(
                        $"warning: topic \"{topic.Name}\" was created without its configs ({string.Join(", ", topic.Configs.Select(c => $"{c.Key}={c.Value}"))}): the embedded cluster keeps no topic configs.");
                }
            }
            catch (KafkaException ex) when (ex.Error.Code == ErrorCode.TopicAlreadyExists)
            {
                _known[topic.Name] = true;
                results.Add(Refused(topic, ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists."));
            }
            catch (KafkaException ex)
            {
                // A librdkafka-local code has no meaning on the wire.
                results.Add(Refused(topic, ex.Error.IsLocalError ? ErrorCode.Unknown : ex.Error.Code, ex.Message));
            }
            catch (ObjectDisposedException)
            {
                results.Add(Refused(topic, ErrorCode.Unknown, "The dev stack is stopping."));
            }
        }

        return results;
    }

    private CreateTopicResult? Check(NewTopic topic)
    {
        if (topic.Name.Length == 0 || topic.Name is "." or ".." || topic.Name.Length > MaxNameLength || !topic.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            return Refused(topic, ErrorCode.TopicException, $"Topic name '{topic.Name}' is illegal: it must be 1 to {MaxNameLength} ASCII letters, digits, '.', '_' or '-', and not '.' or '..'.");
        }

        if (topic.HasAssignments)
        {
            return Refused(topic, ErrorCode.InvalidReplicaAssignment, "The dev stack places replicas itself: give a number of partitions and a replication factor instead of replica assignments.");
        }

        if (topic.Partitions is 0 or < -1)
        {
            return Refused(topic, ErrorCode.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.");
        }

        if (topic.ReplicationFactor is 0 or < -1)
        {
            return Refused(topic, ErrorCode.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.");
        }

        return topic.ReplicationFactor > cluster.BrokerCount
            ? Refused(topic, ErrorCode.InvalidReplicationFactor, $"Replication factor: {topic.ReplicationFactor} larger than available brokers: {cluster.BrokerCount}.")
            : null;
    }

    private static CreateTopicResult Refused(NewTopic topic, ErrorCode error, string message) => new(topic.Name, (short)error, message);
}

/// <summary>The command line, checked: every value in range.</summary>
internal sealed record Options(int KafkaPort, int RegistryPort, int Brokers, int Partitions)
{
    /// <summary>Reads the arguments (other than --help).</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="error">Why they are not valid, in one line, or null.</param>
    /// <returns>The options, or null when they are not valid.</returns>
    public static Options? Parse(IReadOnlyList<string> args, out string? error)
    {
        var options = new Options(9092, 8081, 1, Program.DefaultPartitions);
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            (int Min, int Max)? range = name switch
            {
                "--kafka-port" or "--registry-port" => (1, 65535),
                "--brokers" => (1, 16),
                "--partitions" => (1, 1000),
                _ => null,
            };
            if (range is not { } r)
            {
                error = $"unknown option \"{name}\"";
                return null;
            }

            if (i + 1 >= args.Count)
            {
                error = $"{name} needs a number after it";
                return null;
            }

            var text = args[++i];
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < r.Min || value > r.Max)
            {
                error = $"{name} must be a whole number from {r.Min} to {r.Max}, not \"{text}\"";
                return null;
            }

            options = name switch
            {
                "--kafka-port" => options with { KafkaPort = value },
                "--registry-port" => options with { RegistryPort = value },
                "--brokers" => options with { Brokers = value },
                _ => options with { Partitions = value },
            };
        }

        error = null;
        return options;
    }
}

using System.Globalization;
using System.Runtime.InteropServices;
using KafkaClient.Testing;

namespace KafkaClient.DevStack;

/// <summary>The local development stack: an embedded Kafka cluster and an embedded Schema Registry on well-known ports.</summary>
internal static class Program
{
    private const string Usage = "usage: kafka-devstack [--kafka-port 9092] [--registry-port 8081] [--brokers 1]";

    private static async Task<int> Main(string[] args)
    {
        int kafkaPort = 9092, registryPort = 8081, brokers = 1;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help")
            {
                Console.WriteLine(Usage);
                return 0;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                await Console.Error.WriteLineAsync($"{args[i]}: expected a number after it.\n{Usage}");
                return 2;
            }

            switch (args[i++])
            {
                case "--kafka-port": kafkaPort = value; break;
                case "--registry-port": registryPort = value; break;
                case "--brokers": brokers = value; break;
                default:
                    await Console.Error.WriteLineAsync($"Unknown option {args[i - 1]}.\n{Usage}");
                    return 2;
            }
        }

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
        TcpForwarder bootstrap;
        EmbeddedSchemaRegistry registry;
        try
        {
            bootstrap = TcpForwarder.Start(kafkaPort, cluster.BootstrapServers.Split(',')[0]);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            await Console.Error.WriteLineAsync($"Kafka port {kafkaPort} is not free ({ex.Message}); choose another with --kafka-port.");
            return 1;
        }

        await using (bootstrap)
        {
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
                Console.WriteLine($"Kafka bootstrap servers: localhost:{bootstrap.Port}  (brokers: {cluster.BootstrapServers})");
                Console.WriteLine($"Schema Registry:         http://localhost:{registryPort}");
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

        return 0;
    }
}

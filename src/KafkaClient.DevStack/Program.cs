using System.Globalization;
using System.Runtime.InteropServices;
using KafkaClient.Testing;

namespace KafkaClient.DevStack;

/// <summary>The local development stack: an embedded Kafka cluster and an embedded Schema Registry on well-known ports.</summary>
internal static class Program
{
    private const string Synopsis = "usage: kafka-devstack [--kafka-port N] [--registry-port N] [--brokers N]";

    private const string Usage = Synopsis + """

          --kafka-port N     the Kafka bootstrap port, 1 to 65535 (default 9092)
          --registry-port N  the Schema Registry port, 1 to 65535 (default 8081)
          --brokers N        the number of brokers, 1 to 16 (default 1)
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

        var (kafkaPort, registryPort, brokers) = (options.KafkaPort, options.RegistryPort, options.Brokers);
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

        return 0;
    }
}

/// <summary>The command line, checked: every value in range.</summary>
internal sealed record Options(int KafkaPort, int RegistryPort, int Brokers)
{
    /// <summary>Reads the arguments (other than --help).</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="error">Why they are not valid, in one line, or null.</param>
    /// <returns>The options, or null when they are not valid.</returns>
    public static Options? Parse(IReadOnlyList<string> args, out string? error)
    {
        var options = new Options(9092, 8081, 1);
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            (int Min, int Max)? range = name switch
            {
                "--kafka-port" or "--registry-port" => (1, 65535),
                "--brokers" => (1, 16),
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
                _ => options with { Brokers = value },
            };
        }

        error = null;
        return options;
    }
}

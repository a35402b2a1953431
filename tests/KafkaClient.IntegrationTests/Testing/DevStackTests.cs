using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.IntegrationTests.SchemaRegistry;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.TestProcesses;

namespace KafkaClient.IntegrationTests.Testing;

/// <summary>The local dev stack, run as users run it: a separate process on fixed ports, stopped by SIGTERM.</summary>
public class DevStackTests
{
    [RequiresToolFact("/usr/bin/python3", "python3-confluent-kafka python3-jsonschema python3-requests", "confluent_kafka.schema_registry.json_schema")]
    public async Task Python_code_written_for_docker_compose_runs_against_it_unchanged()
    {
        await using var stack = await DevStackProcess.StartAsync();
        var schema = Path.Combine(Path.GetTempPath(), $"user-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(schema, User.Schema);
        var peer = Path.Combine(AppContext.BaseDirectory, "Python", "json_peer.py");
        await ExternalTool.RunAsync("/usr/bin/python3", [peer, "produce", stack.BootstrapServers, stack.RegistryUrl, "compose-users", schema, "2"], timeout: TimeSpan.FromSeconds(120));
        var read = await ExternalTool.RunAsync("/usr/bin/python3", [peer, "consume", stack.BootstrapServers, "compose-users", schema, "2", "compose"], timeout: TimeSpan.FromSeconds(120));
        Assert.Equal(2, read.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        Assert.Equal(0, await stack.StopAsync());
        Assert.Contains("Stopping.", stack.Lines);
    }

    [Fact]
    public async Task Serves_kafka_and_the_registry_on_the_given_ports_until_sigterm()
    {
        var (kafkaPort, registryPort) = (DevStackProcess.FreePort(), DevStackProcess.FreePort());
        await using var stack = await DevStackProcess.StartAsync(kafkaPort, registryPort);
        Assert.Contains(stack.Lines, l => l.Contains($"localhost:{kafkaPort}", StringComparison.Ordinal));
        Assert.Contains(stack.Lines, l => l.Contains($"http://localhost:{registryPort}", StringComparison.Ordinal));

        // Code written for a docker-compose setup: bootstrap localhost:<port>, registry http://localhost:<port>.
        var bootstrap = $"localhost:{kafkaPort}";
        using var registry = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = $"http://localhost:{registryPort}" });
        await using (var producer = new SerializingProducerBuilder<string, User>(new ProducerConfig { BootstrapServers = bootstrap })
            .SetValueSerializer(new JsonSchemaSerializer<User>(registry, User.Schema, jsonOptions: User.Json))
            .Build())
        {
            await producer.ProduceAsync("dev-users", "ann", new User("ann", 3, "red"));
        }

        await using (var consumer = new DeserializingConsumerBuilder<string, User>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "dev", AutoOffsetReset = AutoOffsetReset.Earliest })
            .SetValueDeserializer(new JsonSchemaDeserializer<User>(registry, jsonOptions: User.Json))
            .Build())
        {
            consumer.Subscribe("dev-users");
            Assert.Equal("ann", (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.Name);
            Assert.Contains("dev-users-value", await registry.GetAllSubjectsAsync());
        }

        Assert.Equal(0, await stack.StopAsync());
        Assert.Contains("Stopping.", stack.Lines);
    }

    [Fact]
    public async Task A_taken_port_is_reported_and_the_stack_exits_non_zero()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "KafkaClient.DevStack.dll"), "--kafka-port", $"{port}", "--registry-port", $"{DevStackProcess.FreePort()}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var stack = Process.Start(start)!;
        var error = await stack.StandardError.ReadToEndAsync();
        await stack.WaitForExitAsync();

        Assert.Equal(1, stack.ExitCode);
        Assert.Contains($"Kafka port {port} is not free", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warns_at_start_of_the_per_partition_limit_and_names_each_partition_that_drops_records()
    {
        await using var stack = await DevStackProcess.StartAsync();
        Assert.Contains(stack.Lines, l => l.StartsWith("warning: ", StringComparison.Ordinal) && l.Contains("5 MiB per partition", StringComparison.Ordinal));

        // 8 MiB to partition 0 of an auto-created topic: well beyond what the embedded cluster keeps.
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = stack.BootstrapServers, LingerMs = 5 }).Build())
        {
            var value = new byte[8 * 1024];
            for (var i = 0; i < 1024; i++)
            {
                producer.Produce(new TopicPartition("dev-drops", 0), new Message<Null, byte[]> { Value = value });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string? warning = null;
        while (warning is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            warning = stack.Lines.FirstOrDefault(l => l.Contains("topic \"dev-drops\" partition 0:", StringComparison.Ordinal));
        }

        Assert.NotNull(warning);
        Assert.Matches(@"^warning: topic ""dev-drops"" partition 0: records 0\.\.[0-9]+ were dropped \(the embedded cluster keeps about 5 MiB per partition", warning);
        Assert.DoesNotContain(stack.Lines, l => l.Contains("topic \"dev-drops\" partition 1", StringComparison.Ordinal));
        Assert.Equal(0, await stack.StopAsync());
    }

    [Fact]
    public async Task Topics_created_automatically_get_the_chosen_number_of_partitions_on_every_broker()
    {
        await using var stack = await DevStackProcess.StartAsync("--partitions", "7", "--brokers", "2");
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = stack.BootstrapServers }).Build())
        {
            // The producer's Metadata request creates the topic; every partition then takes records.
            await producer.ProduceAsync("dev-spread", new Message<Null, string> { Value = "first" });
            for (var partition = 0; partition < 7; partition++)
            {
                var delivered = await producer.ProduceAsync(new TopicPartition("dev-spread", partition), new Message<Null, string> { Value = $"p{partition}" });
                Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
            }
        }

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.BootstrapServers }).Build();
        var metadata = admin.GetMetadata("dev-spread", TimeSpan.FromSeconds(10));
        Assert.Equal(7, Assert.Single(metadata.Topics).Partitions.Count);
        Assert.Equal(2, metadata.Brokers.Count);
        Assert.All(metadata.Brokers, b => Assert.Equal("localhost", b.Host));
        Assert.Contains(metadata.Brokers, b => b.Port == stack.KafkaPort);
        Assert.Equal(0, await stack.StopAsync());
    }

    [Theory]
    [InlineData("--kafka-port", "70000")]
    [InlineData("--kafka-port", "0")]
    [InlineData("--registry-port", "65536")]
    [InlineData("--brokers", "0")]
    [InlineData("--brokers", "-1")]
    [InlineData("--brokers", "many")]
    [InlineData("--partitions", "0")]
    [InlineData("--partitions", "1001")]
    [InlineData("--kafka-port", "99999999999")]
    [InlineData("--kafka-port")]
    [InlineData("--no-such-flag", "1")]
    [InlineData("extra")]
    public async Task An_invalid_argument_is_a_one_line_usage_error_with_exit_code_2(params string[] args)
    {
        var (exitCode, output, error) = await RunToEndAsync(args);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("kafka-devstack: ", line, StringComparison.Ordinal);
        Assert.Contains(args[0], line, StringComparison.Ordinal);
        Assert.Contains("usage", line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_option_and_exits_0()
    {
        var (exitCode, output, error) = await RunToEndAsync(["--help"]);

        Assert.Equal(0, exitCode);
        Assert.Equal("", error);
        foreach (var option in new[] { "--kafka-port", "--registry-port", "--brokers", "--partitions", "5 MiB" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunToEndAsync(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "KafkaClient.DevStack.dll"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var stack = Process.Start(start)!;
        var output = stack.StandardOutput.ReadToEndAsync();
        var error = stack.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await stack.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            stack.Kill();
            throw;
        }

        return (stack.ExitCode, await output, await error);
    }
}

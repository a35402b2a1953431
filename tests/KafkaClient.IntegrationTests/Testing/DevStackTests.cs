using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
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

    [Fact]
    public async Task Topic_admin_creates_topics_with_the_partitions_and_replication_factor_asked_for()
    {
        await using var stack = await DevStackProcess.StartAsync("--partitions", "4", "--brokers", "3");
        using var admin = new TopicAdmin([new("bootstrap.servers", stack.BootstrapServers)]);

        await admin.CreateTopicAsync("dev-created", partitions: 6, replicationFactor: 2);
        var created = await admin.DescribeTopicAsync("dev-created");
        Assert.Equal(6, created.Partitions.Count);
        Assert.All(created.Partitions, p => Assert.Equal(2, p.Replicas.Count));

        // The broker's defaults (-1): the stack's --partitions and the replication factor of the topics it creates on first use.
        await admin.CreateTopicAsync("dev-defaults", partitions: 1);
        Assert.All((await admin.DescribeTopicAsync("dev-defaults")).Partitions, p => Assert.Equal(3, p.Replicas.Count));
        using var client = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.BootstrapServers }).Build();
        await client.CreateTopicsAsync([new TopicSpecification { Name = "dev-default-partitions", NumPartitions = -1, ReplicationFactor = 1 }]);
        Assert.Equal(4, (await admin.DescribeTopicAsync("dev-default-partitions")).Partitions.Count);

        // Several topics in one request; records go to every partition.
        await client.CreateTopicsAsync([new TopicSpecification { Name = "dev-one", NumPartitions = 2, ReplicationFactor = 1 }, new TopicSpecification { Name = "dev-two", NumPartitions = 5, ReplicationFactor = 1 }]);
        Assert.Equal(2, (await admin.DescribeTopicAsync("dev-one")).Partitions.Count);
        Assert.Equal(5, (await admin.DescribeTopicAsync("dev-two")).Partitions.Count);
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = stack.BootstrapServers }).Build())
        {
            for (var partition = 0; partition < 6; partition++)
            {
                var delivered = await producer.ProduceAsync(new TopicPartition("dev-created", partition), new Message<Null, string> { Value = $"p{partition}" });
                Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
            }
        }

        Assert.Equal(0, await stack.StopAsync());
    }

    [Fact]
    public async Task CreateTopics_refusals_carry_kafkas_error_codes_and_name_the_topic()
    {
        await using var stack = await DevStackProcess.StartAsync("--brokers", "2");
        using var admin = new TopicAdmin([new("bootstrap.servers", stack.BootstrapServers)]);
        await admin.CreateTopicAsync("dev-taken", partitions: 3);

        var exists = await Assert.ThrowsAsync<KafkaOperationException>(() => admin.CreateTopicAsync("dev-taken", partitions: 3));
        Assert.Equal(ErrorCode.TopicAlreadyExists, exists.Error.Code);
        Assert.Equal("dev-taken", exists.Topic);
        Assert.Equal(3, (await admin.DescribeTopicAsync("dev-taken")).Partitions.Count);

        var replicas = await Assert.ThrowsAsync<KafkaOperationException>(() => admin.CreateTopicAsync("dev-three-replicas", partitions: 1, replicationFactor: 3));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, replicas.Error.Code);
        Assert.Contains("larger than available brokers: 2", replicas.Message, StringComparison.Ordinal);

        var name = await Assert.ThrowsAsync<KafkaOperationException>(() => admin.CreateTopicAsync("dev bad name", partitions: 1));
        Assert.Equal(ErrorCode.TopicException, name.Error.Code);

        // One request, one outcome per topic.
        using var client = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.BootstrapServers }).Build();
        var mixed = await Assert.ThrowsAsync<CreateTopicsException>(() => client.CreateTopicsAsync(
            [new TopicSpecification { Name = "dev-fine", NumPartitions = 2, ReplicationFactor = 1 }, new TopicSpecification { Name = "dev-taken", NumPartitions = 1, ReplicationFactor = 1 }]));
        Assert.Equal(ErrorCode.NoError, mixed.Results.Single(r => r.Topic == "dev-fine").Error.Code);
        Assert.Equal(ErrorCode.TopicAlreadyExists, mixed.Results.Single(r => r.Topic == "dev-taken").Error.Code);
        Assert.Equal(2, (await admin.DescribeTopicAsync("dev-fine")).Partitions.Count);

        var topics = await admin.ListTopicsAsync();
        Assert.DoesNotContain("dev-three-replicas", topics);
        Assert.DoesNotContain("dev bad name", topics);
        Assert.Equal(0, await stack.StopAsync());
    }

    [Fact]
    public async Task CreateTopics_validate_only_creates_nothing_and_configs_are_reported_as_not_kept()
    {
        await using var stack = await DevStackProcess.StartAsync();
        using var client = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = stack.BootstrapServers }).Build();
        using var admin = new TopicAdmin([new("bootstrap.servers", stack.BootstrapServers)]);

        await client.CreateTopicsAsync([new TopicSpecification { Name = "dev-validated", NumPartitions = 2, ReplicationFactor = 1 }], new CreateTopicsOptions { ValidateOnly = true });
        Assert.DoesNotContain("dev-validated", await admin.ListTopicsAsync());
        await admin.CreateTopicAsync("dev-validated", partitions: 2);
        var exists = await Assert.ThrowsAsync<CreateTopicsException>(() => client.CreateTopicsAsync(
            [new TopicSpecification { Name = "dev-validated", NumPartitions = 2, ReplicationFactor = 1 }], new CreateTopicsOptions { ValidateOnly = true }));
        Assert.Equal(ErrorCode.TopicAlreadyExists, exists.Results.Single().Error.Code);

        // Created, as a broker would, but the embedded cluster keeps no configs: the stack says so.
        await admin.CreateTopicAsync("dev-compacted", partitions: 1, configs: new Dictionary<string, string> { ["cleanup.policy"] = "compact" });
        Assert.Single((await admin.DescribeTopicAsync("dev-compacted")).Partitions);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!stack.Lines.Any(l => l.Contains("dev-compacted", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Contains("warning: topic \"dev-compacted\" was created without its configs (cleanup.policy=compact): the embedded cluster keeps no topic configs.", stack.Lines);
        Assert.Equal(0, await stack.StopAsync());
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_with_createtopics_in_the_broker_s_api_versions()
    {
        await using var stack = await DevStackProcess.StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync("localhost", stack.KafkaPort);
        var stream = client.GetStream();

        // Four requests in one write, as a client pipelines them: the stack's own CreateTopics answer must wait for the
        // broker's answer to the Metadata request before it, and come before the broker's answer to the one after it.
        byte[] Request(short apiKey, short version, int correlationId, byte[] body)
        {
            var request = new List<byte>();
            request.AddRange(BigEndian(apiKey));
            request.AddRange(BigEndian(version));
            request.AddRange(BigEndian(correlationId));
            request.AddRange(BigEndian((short)4));
            request.AddRange("test"u8.ToArray());
            request.AddRange(body);
            return [.. BigEndian(request.Count), .. request];
        }

        byte[] allTopics = BigEndian(-1);
        byte[] createTopic = [.. BigEndian(1), .. BigEndian((short)7), .. "dev-raw"u8.ToArray(), .. BigEndian(3), .. BigEndian((short)1), .. BigEndian(0), .. BigEndian(0), .. BigEndian(5000), 0];
        await stream.WriteAsync((byte[])[.. Request(18, 0, 1, []), .. Request(3, 1, 2, allTopics), .. Request(19, 4, 3, createTopic), .. Request(3, 1, 4, allTopics)]);

        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var responses = new List<byte[]>();
        for (var i = 0; i < 4; i++)
        {
            var size = new byte[4];
            await stream.ReadExactlyAsync(size, limit.Token);
            var response = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
            await stream.ReadExactlyAsync(response, limit.Token);
            responses.Add(response);
        }

        Assert.Equal([1, 2, 3, 4], responses.Select(r => BinaryPrimitives.ReadInt32BigEndian(r)));

        // ApiVersions v0: error, then (key, min, max) entries; CreateTopics is key 19, versions 0 to 4.
        var apiVersions = responses[0];
        Assert.Equal(0, BinaryPrimitives.ReadInt16BigEndian(apiVersions.AsSpan(4)));
        var entries = Enumerable.Range(0, BinaryPrimitives.ReadInt32BigEndian(apiVersions.AsSpan(6)))
            .Select(i => apiVersions.AsSpan(10 + (6 * i), 6).ToArray())
            .Select(e => (Key: BinaryPrimitives.ReadInt16BigEndian(e), Min: BinaryPrimitives.ReadInt16BigEndian(e.AsSpan(2)), Max: BinaryPrimitives.ReadInt16BigEndian(e.AsSpan(4))))
            .ToList();
        Assert.Equal(10 + (6 * entries.Count), apiVersions.Length);
        Assert.Contains(((short)19, (short)0, (short)4), entries);
        Assert.Contains(entries, e => e.Key == 3); // the broker's own entries are kept

        // CreateTopics v4: throttle time, one topic: name, error 0, no message.
        byte[] created = [.. BigEndian(3), .. BigEndian(0), .. BigEndian(1), .. BigEndian((short)7), .. "dev-raw"u8.ToArray(), .. BigEndian((short)0), .. BigEndian((short)-1)];
        Assert.Equal(created, responses[2]);

        // The Metadata request sent after it reaches the broker once the topic exists.
        Assert.True(responses[3].AsSpan().IndexOf("dev-raw"u8) >= 0, "the later Metadata response lacks dev-raw");
        using var admin = new TopicAdmin([new("bootstrap.servers", stack.BootstrapServers)]);
        Assert.Equal(3, (await admin.DescribeTopicAsync("dev-raw")).Partitions.Count);
        Assert.Equal(0, await stack.StopAsync());
    }

    private static byte[] BigEndian(short value) => [(byte)(value >> 8), (byte)value];

    private static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

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

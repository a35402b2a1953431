using System.Text.RegularExpressions;
using KafkaClient.TestProcesses;

namespace KafkaClient.IntegrationTests.Testing;

/// <summary>
/// The samples (whose code the README shows) run as a user runs them: on their own embedded stack, and twice against
/// one dev stack (<c>kafka-devstack</c> as a process, named by KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL).
/// </summary>
public class SamplesTests
{
    [Fact]
    public async Task Quickstart_produces_and_consumes_nine_messages()
    {
        var (exitCode, output) = await SampleProcess.RunAsync("Quickstart.dll");
        Assert.True(exitCode == 0, output);
        AssertQuickstart(output);
    }

    [Fact]
    public async Task Quickstart_runs_twice_on_the_dev_stack_in_a_topic_it_creates_with_three_partitions() =>
        await SampleProcess.RunTwiceOnDevStackAsync("Quickstart.dll", async (output, stack) =>
        {
            AssertQuickstart(output);
            Assert.Contains($"Kafka at {stack.BootstrapServers} (external)", output, StringComparison.Ordinal);

            // Created by the admin client's CreateTopics: 3 partitions, not the 4 of a topic the stack creates on first use.
            var topic = Regex.Match(output, "topic (quickstart-[0-9a-f]{32})").Groups[1].Value;
            using var admin = new TopicAdmin([new("bootstrap.servers", stack.BootstrapServers)]);
            Assert.Equal(3, (await admin.DescribeTopicAsync(topic)).Partitions.Count);
        });

    [Fact]
    public async Task Json_walkthrough_produces_consumes_and_is_refused_an_incompatible_schema()
    {
        var (exitCode, output) = await SampleProcess.RunAsync("JsonWalkthrough.dll");
        Assert.True(exitCode == 0, output);
        AssertJsonWalkthrough(output);
    }

    [Fact]
    public async Task Json_walkthrough_runs_twice_on_the_dev_stack() =>
        await SampleProcess.RunTwiceOnDevStackAsync("JsonWalkthrough.dll", (output, _) =>
        {
            AssertJsonWalkthrough(output);
            return Task.CompletedTask;
        });

    [Fact]
    public async Task Protobuf_walkthrough_produces_consumes_registers_references_and_is_refused_an_incompatible_schema()
    {
        var (exitCode, output) = await SampleProcess.RunAsync("ProtobufWalkthrough.dll");
        Assert.True(exitCode == 0, output);
        AssertProtobufWalkthrough(output);
    }

    [Fact]
    public async Task Protobuf_walkthrough_runs_twice_on_the_dev_stack() =>
        await SampleProcess.RunTwiceOnDevStackAsync("ProtobufWalkthrough.dll", (output, _) =>
        {
            AssertProtobufWalkthrough(output);
            return Task.CompletedTask;
        });

    [Fact]
    public async Task Worker_handles_orders_dead_letters_the_failing_one_and_stops_healthy_with_one_trace()
    {
        var (exitCode, output) = await SampleProcess.RunAsync("Worker.dll");
        Assert.True(exitCode == 0, output);
        AssertWorker(output);
    }

    [Fact]
    public async Task Worker_runs_twice_on_the_dev_stack_creating_its_retry_and_dead_letter_topics() =>
        await SampleProcess.RunTwiceOnDevStackAsync("Worker.dll", async (output, stack) =>
        {
            AssertWorker(output);
            Assert.Contains($"Kafka at {stack.BootstrapServers} (external)", output, StringComparison.Ordinal);

            // The orders topic (by the sample) and its retry and dead-letter topics (by the hosted consumer at start),
            // created with TopicAdmin: 2 partitions each, not the 4 of a topic the stack creates on first use.
            var topic = Regex.Match(output, "topic (orders-[0-9a-f]{32})").Groups[1].Value;
            Assert.Contains($"created topic {topic}-retry-1s with 2 partition(s)", output, StringComparison.Ordinal);
            Assert.Contains($"created topic {topic}-dlt with 2 partition(s)", output, StringComparison.Ordinal);
            using var admin = new TopicAdmin([new("bootstrap.servers", stack.BootstrapServers)]);
            foreach (var name in new[] { topic, $"{topic}-retry-1s", $"{topic}-dlt" })
            {
                Assert.Equal(2, (await admin.DescribeTopicAsync(name)).Partitions.Count);
            }
        });

    private static void AssertQuickstart(string output)
    {
        Assert.Contains("Quickstart done: 9 produced, 9 consumed", output, StringComparison.Ordinal);
        Assert.Contains("skipped poison record at", output, StringComparison.Ordinal);
    }

    private static void AssertJsonWalkthrough(string output)
    {
        Assert.Contains("User record carol successfully produced to user_json", output, StringComparison.Ordinal);
        Assert.Contains("User record bob: name: bob, favorite_number: 42", output, StringComparison.Ordinal);
        Assert.Contains("Refused as expected: Schema being registered is incompatible with an earlier schema for subject \"user_json-value\"", output, StringComparison.Ordinal);
        Assert.Contains("compatibility: 'BACKWARD'", output, StringComparison.Ordinal);
    }

    private static void AssertProtobufWalkthrough(string output)
    {
        Assert.Contains("User record carol successfully produced to mytopic_protobuf", output, StringComparison.Ordinal);
        Assert.Contains("User record bob: name: bob, favorite_number: 42, favorite_color: green", output, StringComparison.Ordinal);
        Assert.Contains("refers to shared/address.proto (subject shared/address.proto, version 1)", output, StringComparison.Ordinal);
        Assert.Contains("Signup record alice: signed up at 2026-11-26T09:30:00.0000000+00:00 from Springfield, US", output, StringComparison.Ordinal);
        Assert.Contains("Refused as expected: Schema being registered is incompatible with an earlier schema for subject \"mytopic_protobuf-value\"", output, StringComparison.Ordinal);
        Assert.Contains("FIELD_SCALAR_KIND_CHANGED", output, StringComparison.Ordinal);
    }

    private static void AssertWorker(string output)
    {
        Assert.Contains("forwarded to orders-", output, StringComparison.Ordinal);
        Assert.Contains("Dead letter order-7 after 4 attempt(s): Order order-7 has no stock for pears.", output, StringComparison.Ordinal);
        Assert.Contains("health kafka: Healthy", output, StringComparison.Ordinal);
        Assert.Contains("health schema-registry: Healthy", output, StringComparison.Ordinal);
        Assert.Contains("Application is shutting down...", output, StringComparison.Ordinal);
        Assert.Contains("Worker done: 9 handled, 1 dead-lettered, health Healthy, trace ok", output, StringComparison.Ordinal);
    }
}

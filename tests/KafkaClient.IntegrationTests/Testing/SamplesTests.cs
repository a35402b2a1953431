using KafkaClient.TestProcesses;

namespace KafkaClient.IntegrationTests.Testing;

/// <summary>The samples (whose code the README shows) run as a user runs them, on their own embedded stack.</summary>
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
    public async Task Json_walkthrough_produces_consumes_and_is_refused_an_incompatible_schema()
    {
        var (exitCode, output) = await SampleProcess.RunAsync("JsonWalkthrough.dll");
        Assert.True(exitCode == 0, output);
        AssertJsonWalkthrough(output);
    }

    [Fact]
    public async Task Protobuf_walkthrough_produces_consumes_registers_references_and_is_refused_an_incompatible_schema()
    {
        var (exitCode, output) = await SampleProcess.RunAsync("ProtobufWalkthrough.dll");
        Assert.True(exitCode == 0, output);
        AssertProtobufWalkthrough(output);
    }

    [Fact]
    public async Task Worker_handles_orders_dead_letters_the_failing_one_and_stops_healthy_with_one_trace()
    {
        var (exitCode, output) = await SampleProcess.RunAsync("Worker.dll");
        Assert.True(exitCode == 0, output);
        AssertWorker(output);
    }

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

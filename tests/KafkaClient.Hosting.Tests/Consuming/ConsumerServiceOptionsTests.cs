using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KafkaClient.Hosting.Tests.Consuming;

/// <summary>Options checked once when the host starts, each problem naming its option; retry topic names; what counts as transient.</summary>
public sealed class ConsumerServiceOptionsTests
{
    private static async Task<Exception> StartFailsAsync(Action<KafkaConsumerServiceOptions<string, string>> configure, IConfiguration? section = null)
    {
        var behavior = new Behavior();
        using var host = Hosts.Build(behavior, services =>
        {
            if (section is null)
            {
                services.AddKafkaConsumerService<string, string, TestHandler>(configure);
            }
            else
            {
                services.AddKafkaConsumerService<string, string, TestHandler>(section, configure);
            }
        });
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Empty(behavior.Journal);
        return error;
    }

    [Fact]
    public async Task Wrong_options_fail_the_host_start_and_each_is_named()
    {
        var error = await StartFailsAsync(o =>
        {
            o.Consumer.Config["bootstrap.servers"] = Unreachable.Broker;
            o.MaxInFlight = 0;
            o.MaxAttempts = 0;
            o.RetryBackoff = TimeSpan.FromSeconds(-1);
            o.ShutdownTimeout = TimeSpan.Zero;
            o.MaxBatchSize = 0;
        });

        var validation = Assert.IsType<OptionsValidationException>(error);
        Assert.Equal("TestHandler", validation.OptionsName);
        foreach (var option in (string[])["Topics", "GroupId", "MaxInFlight", "MaxAttempts", "RetryBackoff", "ShutdownTimeout", "MaxBatchSize"])
        {
            Assert.Contains($"KafkaConsumerServiceOptions.{option} ", validation.Message, StringComparison.Ordinal);
        }

        Assert.Contains("group.id", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_and_dead_letter_topics_must_be_names_distinct_from_what_the_service_reads()
    {
        var error = await StartFailsAsync(o =>
        {
            o.Consumer.Config["group.id"] = "g";
            o.Topics.Add("orders");
            o.Topics.Add("^audit-.*");
            o.RetryTopicDelays.Add(TimeSpan.FromSeconds(5));
            o.RetryTopicDelays.Add(TimeSpan.FromSeconds(5));
            o.DeadLetterTopic = "orders";
        });

        var message = Assert.IsType<OptionsValidationException>(error).Message;
        Assert.Contains("KafkaConsumerServiceOptions.Topics must name topics, not patterns (\"^audit-.*\")", message, StringComparison.Ordinal);
        Assert.Contains("KafkaConsumerServiceOptions.RetryTopicDelays gives the topic \"orders-retry-5s\" twice", message, StringComparison.Ordinal);
        Assert.Contains("KafkaConsumerServiceOptions.DeadLetterTopic gives \"orders\", which is also a topic this service reads", message, StringComparison.Ordinal);
        Assert.DoesNotContain("GroupId", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("retries", "RetryTopicFormat")]
    [InlineData("{topic} retry {delay}", "RetryTopicFormat")]
    [InlineData("{topic}-{delay}", null)]
    public async Task A_retry_topic_format_must_give_valid_distinct_names(string format, string? wrongOption)
    {
        if (wrongOption is null)
        {
            Assert.Equal("orders-30s", RetryTopology.RetryTopicName(format, "orders", TimeSpan.FromSeconds(30)));
            return;
        }

        var error = await StartFailsAsync(o =>
        {
            o.GroupId = "g";
            o.Topics.Add("orders");
            o.RetryTopicDelays.Add(TimeSpan.FromSeconds(5));
            o.RetryTopicDelays.Add(TimeSpan.FromSeconds(30));
            o.RetryTopicFormat = format;
        });
        Assert.Contains($"KafkaConsumerServiceOptions.{wrongOption} ", Assert.IsType<OptionsValidationException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_consumer_section_fails_the_start_naming_it()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection([]).Build().GetSection("Kafka:Orders");
        var error = await StartFailsAsync(o => o.Topics.Add("orders"), section);
        Assert.Contains("'Kafka:Orders'", Assert.IsType<ArgumentException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_consumer_configuration_error_stops_the_service_on_the_background_loop_without_holding_up_the_start()
    {
        var logs = new MemoryLoggerProvider();
        var behavior = new Behavior();
        using var host = Hosts.Build(
            behavior,
            services =>
            {
                services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
                services.AddKafkaConsumerService<string, string, TestHandler>(o =>
                {
                    o.Consumer.Config["bootstrap.servers"] = Unreachable.Broker;
                    o.Consumer.Config["no.such.key"] = "1";
                    o.Topics.Add("orders");
                    o.GroupId = "g";
                });
            },
            logs);

        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(await Hosts.Eventually(() => logs.Records.Any(r => r.EventId.Name == "ConsumerServiceFailed")), "the failure was not logged");
        Assert.Contains(logs.Records, r => r.EventId.Name == "ConsumerServiceFailed" && r.Level == Microsoft.Extensions.Logging.LogLevel.Critical);
        await Hosts.StopAsync(host);
    }

    [Fact]
    public async Task Validating_clients_on_start_builds_the_hosted_consumers_consumer_and_names_the_bad_key()
    {
        var behavior = new Behavior();
        using var host = Hosts.Build(behavior, services =>
        {
            services.ValidateKafkaClientsOnStart();
            services.AddKafkaConsumerService<string, string, TestHandler>(o =>
            {
                o.Consumer.Config["bootstrap.servers"] = Unreachable.Broker;
                o.Consumer.Config["no.such.key"] = "1";
                o.Topics.Add("orders");
                o.GroupId = "g";
            });
        });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("IDeserializingConsumer<String, String> (consumer service TestHandler): ", error.Message, StringComparison.Ordinal);
        Assert.Contains("no.such.key", error.Message, StringComparison.Ordinal);
        Assert.Empty(behavior.Journal);
    }

    [Fact]
    public void The_defaults_are_the_documented_ones()
    {
        var options = new KafkaConsumerServiceOptions<string, string>();
        Assert.Equal(16, options.MaxInFlight);
        Assert.False(options.PerKeyParallelism);
        Assert.Equal(3, options.MaxAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.RetryBackoff);
        Assert.Equal(TimeSpan.FromSeconds(10), options.MaxRetryBackoff);
        Assert.Empty(options.RetryTopicDelays);
        Assert.Equal("{topic}-retry-{delay}", options.RetryTopicFormat);
        Assert.Null(options.DeadLetterTopic);
        Assert.Equal(TimeSpan.FromSeconds(20), options.ShutdownTimeout);
        Assert.Equal(100, options.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.MaxBatchWait);
        Assert.False(options.CreateRetryAndDeadLetterTopics);
        Assert.Null(options.TopicAdmin);
    }

    [Fact]
    public void Options_text_hides_secrets()
    {
        var options = new KafkaConsumerServiceOptions<string, string>();
        options.Consumer.Config["sasl.password"] = "hunter2";
        options.Producer.Config["sasl.password"] = "hunter3";
        options.Topics.Add("orders");
        options.RetryTopicDelays.Add(TimeSpan.FromSeconds(5));
        var text = options.ToString();
        Assert.DoesNotContain("hunter", text, StringComparison.Ordinal);
        Assert.Contains("orders", text, StringComparison.Ordinal);
        Assert.Contains("5s", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500, "500ms")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1500ms")]
    [InlineData(5000, "5s")]
    [InlineData(120_000, "2m")]
    [InlineData(90_000, "90s")]
    [InlineData(3_600_000, "1h")]
    [InlineData(86_400_000, "1d")]
    public void Delays_are_written_in_their_largest_whole_unit(long milliseconds, string text) =>
        Assert.Equal(text, RetryTopology.FormatDelay(TimeSpan.FromMilliseconds(milliseconds)));

    [Fact]
    public void Records_go_from_the_source_topic_through_each_retry_topic_to_the_dead_letter_topic()
    {
        var topology = new RetryTopology(["orders", "payments"], [TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30)], "{topic}-retry-{delay}", "{topic}-dlt");
        Assert.Equal(["orders", "payments", "orders-retry-5s", "orders-retry-30s", "payments-retry-5s", "payments-retry-30s"], topology.Subscribed);
        Assert.True(topology.TryGetStage("payments-retry-30s", out var stage));
        Assert.Equal(("payments", 2), (stage.Source, stage.Tier));
        Assert.Equal(("orders-retry-5s", (TimeSpan?)TimeSpan.FromSeconds(5)), topology.Next("orders", 0));
        Assert.Equal(("orders-retry-30s", (TimeSpan?)TimeSpan.FromSeconds(30)), topology.Next("orders", 1));
        Assert.Equal(("orders-dlt", (TimeSpan?)null), topology.Next("orders", 2));
        Assert.Equal("orders-dlt", topology.DeadLetterTopicFor("orders-retry-30s"));
        Assert.Null(new RetryTopology(["orders"], [], "{topic}-retry-{delay}", null).Next("orders", 0));
    }

    [Fact]
    public void Transient_means_a_retriable_client_exception_itself_or_inside()
    {
        var down = new KafkaOperationException("down", new Confluent.Kafka.Error(Confluent.Kafka.ErrorCode.Local_AllBrokersDown));
        var refused = new KafkaOperationException("refused", new Confluent.Kafka.Error(Confluent.Kafka.ErrorCode.TopicAuthorizationFailed));
        Assert.True(Attempts.IsTransient(down));
        Assert.True(Attempts.IsTransient(new InvalidOperationException("wrapped", down)));
        Assert.True(Attempts.IsTransient(new AggregateException(new InvalidOperationException("x"), down)));
        Assert.False(Attempts.IsTransient(refused));
        Assert.False(Attempts.IsTransient(new TimeoutException("not a client exception")));
    }
}

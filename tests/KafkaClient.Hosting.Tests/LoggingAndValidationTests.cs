using System.Collections.Concurrent;
using Confluent.Kafka;
using KafkaClient.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting.Tests;

/// <summary>One log record as an <see cref="ILogger"/> received it.</summary>
internal sealed record LogRecord(string Category, LogLevel Level, EventId EventId, string Text, IReadOnlyDictionary<string, string> Fields, Exception? Exception = null);

/// <summary>Keeps every log record in memory.</summary>
internal sealed class MemoryLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<LogRecord> Records { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(MemoryLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    fields[key] = value?.ToString() ?? string.Empty;
                }
            }

            owner.Records.Enqueue(new LogRecord(category, logLevel, eventId, formatter(state, exception), fields, exception));
        }
    }
}

/// <summary>librdkafka's logs and errors routed to ILogger, and misconfigured clients failing the host's start.</summary>
[Collection(nameof(ConsoleErrorCollection))]
public sealed class LoggingAndValidationTests
{
    private static ServiceCollection ServicesWithLogging(MemoryLoggerProvider logs)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        return services;
    }

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }

    [Fact]
    public async Task A_producer_that_cannot_connect_logs_through_ILogger_and_writes_nothing_to_stderr()
    {
        var logs = new MemoryLoggerProvider();
        var stderr = new StringWriter();
        var original = Console.Error;
        Console.SetError(stderr);
        try
        {
            var services = ServicesWithLogging(logs);
            services.AddKafkaProducer<string, string>(options =>
            {
                options.Config["bootstrap.servers"] = Unreachable.Broker;
                options.Config["client.id"] = "closed-port";
            });
            await using (var provider = services.BuildServiceProvider())
            {
                provider.GetRequiredService<ISerializingProducer<string, string>>();
                Assert.True(await Eventually(() => logs.Records.Any(r => r.EventId.Name == "KafkaError")), "no error was logged");
            }
        }
        finally
        {
            Console.SetError(original);
        }

        var records = logs.Records.ToList();
        Assert.All(records.Where(r => r.EventId.Name is "KafkaLog" or "KafkaError"), r => Assert.Equal(KafkaServiceCollectionExtensions.ProducerLogCategory, r.Category));
        var error = records.First(r => r.EventId.Name == "KafkaError");
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains(error.Fields["ErrorCode"], new[] { nameof(ErrorCode.Local_Transport), nameof(ErrorCode.Local_AllBrokersDown) });
        Assert.Contains("closed-port", error.Fields["ClientName"], StringComparison.Ordinal);

        // librdkafka's own connection failure, at Error or Warning, with its facility and client name as fields.
        var failure = records.First(r => r.EventId.Name == "KafkaLog" && r.Level is LogLevel.Error or LogLevel.Warning);
        Assert.False(string.IsNullOrEmpty(failure.Fields["Facility"]));
        Assert.Contains("closed-port", failure.Fields["ClientName"], StringComparison.Ordinal);
        Assert.Equal(string.Empty, stderr.ToString());
    }

    [Fact]
    public async Task A_log_handler_set_by_ConfigureBuilder_takes_precedence()
    {
        var logs = new MemoryLoggerProvider();
        var mine = new ConcurrentQueue<LogMessage>();
        var services = ServicesWithLogging(logs);
        services.AddKafkaProducer<string, string>(options =>
        {
            options.Config["bootstrap.servers"] = Unreachable.Broker;
            options.ConfigureBuilder = (_, builder) => builder.SetLogHandler(mine.Enqueue);
        });
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<ISerializingProducer<string, string>>();

        Assert.True(await Eventually(() => !mine.IsEmpty && logs.Records.Any(r => r.EventId.Name == "KafkaError")));
        // The handler replaced the ILogger one for log lines; errors, which it did not replace, still reach ILogger.
        Assert.DoesNotContain(logs.Records, r => r.EventId.Name == "KafkaLog");
    }

    [Fact]
    public async Task A_secret_in_a_misconfiguration_never_reaches_a_log_record()
    {
        const string Secret = "hunter2-do-not-leak";
        var logs = new MemoryLoggerProvider();
        var services = ServicesWithLogging(logs);
        services.AddKafkaConsumer<string, string>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["bootstrap.servers"] = Unreachable.Broker,
            ["group.id"] = "g",
            ["security.protocol"] = "SASL_PLAINTEXT",
            ["sasl.mechanisms"] = "PLAIN",
            ["sasl.password"] = Secret,
            // The password pasted under keys that are not secret, which librdkafka logs and names the client by.
            ["sasl.username"] = Secret,
            ["client.id"] = Secret,
            ["debug"] = "conf,broker,security",
        }).Build());
        await using (var provider = services.BuildServiceProvider())
        {
            provider.GetRequiredService<IDeserializingConsumer<string, string>>();
            Assert.True(await Eventually(() => logs.Records.Any(r => r.EventId.Name == "KafkaError")));
        }

        var records = logs.Records.ToList();
        // Not vacuous: librdkafka did log the configuration, username included.
        Assert.Contains(records, r => r.Text.Contains("sasl.username", StringComparison.Ordinal));
        Assert.All(records, r =>
        {
            Assert.DoesNotContain(Secret, r.Text, StringComparison.Ordinal);
            Assert.All(r.Fields.Values, v => Assert.DoesNotContain(Secret, v, StringComparison.Ordinal));
        });
    }

    [Theory]
    [InlineData(SyslogLevel.Emergency, LogLevel.Critical)]
    [InlineData(SyslogLevel.Alert, LogLevel.Critical)]
    [InlineData(SyslogLevel.Critical, LogLevel.Critical)]
    [InlineData(SyslogLevel.Error, LogLevel.Error)]
    [InlineData(SyslogLevel.Warning, LogLevel.Warning)]
    [InlineData(SyslogLevel.Notice, LogLevel.Information)]
    [InlineData(SyslogLevel.Info, LogLevel.Information)]
    [InlineData(SyslogLevel.Debug, LogLevel.Debug)]
    public void Syslog_levels_map_to_log_levels(SyslogLevel syslog, LogLevel expected) =>
        Assert.Equal(expected, ClientLogger.Map(syslog));

    [Fact]
    public async Task A_host_with_a_misconfigured_client_fails_to_start_naming_the_key()
    {
        static IHost Host(bool validate)
        {
            var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.AddKafkaProducer<string, string>(options => options.Config["bootstrap.servers"] = Unreachable.Broker);
            builder.Services.AddKeyedKafkaConsumer<string, string>("eu", options =>
            {
                options.Config["bootstrap.servers"] = Unreachable.Broker;
                options.Config["group.id"] = "g";
                options.Config["sasl.password"] = "hunter2-do-not-leak";
                options.Config["fetch.wait.max.msec"] = "hunter2-do-not-leak";
            });
            if (validate)
            {
                builder.Services.ValidateKafkaClientsOnStart().ValidateKafkaClientsOnStart();
            }

            return builder.Build();
        }

        using (var unvalidated = Host(validate: false))
        {
            // Opt-in: without it the misconfigured consumer fails only when resolved.
            await unvalidated.StartAsync();
            await unvalidated.StopAsync();
        }

        using var host = Host(validate: true);
        Assert.Single(host.Services.GetServices<IHostedService>());
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("fetch.wait.max.msec", error.Message, StringComparison.Ordinal);
        Assert.Contains("IDeserializingConsumer<String, String> (service key 'eu')", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ISerializingProducer", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-do-not-leak", error.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>Tests that replace <see cref="Console.Error"/> run alone.</summary>
[CollectionDefinition(nameof(ConsoleErrorCollection), DisableParallelization = true)]
public sealed class ConsoleErrorCollection;

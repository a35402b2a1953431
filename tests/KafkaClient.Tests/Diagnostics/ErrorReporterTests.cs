using Confluent.Kafka;
using KafkaClient.Diagnostics;

namespace KafkaClient.Tests.Diagnostics;

public class ErrorReporterTests
{
    [Fact]
    public void Connectivity_errors_are_reported_once_per_outage_and_the_recovery_is_logged()
    {
        var errors = new List<Error>();
        var logs = new List<LogMessage>();
        var reporter = new ErrorReporter(errors.Add, logs.Add);

        for (var i = 0; i < 50; i++)
        {
            reporter.OnClientError(new Error(i % 2 == 0 ? ErrorCode.Local_Transport : ErrorCode.Local_AllBrokersDown, "down"));
        }

        Assert.Single(errors);
        Assert.True(reporter.IsDown);
        Assert.Equal(49, reporter.Suppressed);

        reporter.Connected();
        reporter.Connected();
        Assert.False(reporter.IsDown);
        Assert.Equal("RECOVERED", Assert.Single(logs).Facility);

        reporter.OnClientError(new Error(ErrorCode.Local_AllBrokersDown, "down again"));
        reporter.OnClientError(new Error(ErrorCode.TopicAuthorizationFailed, "not connectivity"));
        Assert.Equal(["down", "down again", "not connectivity"], errors.Select(e => e.Reason));
    }

    [Fact]
    public void A_handler_that_throws_does_not_escape()
    {
        var reporter = new ErrorReporter(_ => throw new InvalidOperationException("boom"), _ => throw new InvalidOperationException("boom"));
        reporter.OnClientError(new Error(ErrorCode.Local_AllBrokersDown, "down"));
        reporter.Connected();
        reporter.Report(new Error(ErrorCode.Local_Fail, "x"));
    }
}

using Confluent.Kafka;

namespace KafkaClient.Diagnostics;

/// <summary>Hands client-level errors to the application's handler: connectivity errors once per outage, and never an exception back into librdkafka.</summary>
/// <remarks>
/// librdkafka reports an unreachable cluster again on every reconnect attempt (about 14 times a second for
/// one wrong bootstrap server). The first connectivity error of an outage is reported; the ones after it are
/// counted, not reported, until the client sees the cluster again (<see cref="Connected"/>: a delivery, a
/// fetched record), after which the next outage is reported again; the recovery itself goes to the log handler
/// (level Notice, facility RECOVERED). Thread-safe.
/// </remarks>
internal sealed class ErrorReporter
{
    private readonly Action<Error>? _handler;
    private readonly Action<LogMessage>? _log;
    private int _down;
    private long _suppressed;

    public ErrorReporter(Action<Error>? handler, Action<LogMessage>? log = null)
    {
        _handler = handler;
        _log = log;
    }

    /// <summary>Gets how many connectivity errors were held back because their outage was already reported.</summary>
    public long Suppressed => Interlocked.Read(ref _suppressed);

    /// <summary>Gets a value indicating whether the cluster is considered unreachable (an outage was reported and no traffic has got through since).</summary>
    public bool IsDown => Volatile.Read(ref _down) != 0;

    /// <summary>Reports a client-level error from librdkafka.</summary>
    public void OnClientError(Error error)
    {
        if (IsConnectivity(error.Code) && !error.IsFatal)
        {
            if (Interlocked.Exchange(ref _down, 1) != 0)
            {
                Interlocked.Increment(ref _suppressed);
                return;
            }
        }

        Report(error);
    }

    /// <summary>Notes that traffic reached the cluster, so that the next outage is reported again.</summary>
    public void Connected()
    {
        if (Volatile.Read(ref _down) != 0 && Interlocked.Exchange(ref _down, 0) != 0)
        {
            try
            {
                _log?.Invoke(new LogMessage("kafkaclient", SyslogLevel.Notice, "RECOVERED", $"The cluster is reachable again ({Suppressed} repeated connectivity error(s) were not reported)."));
            }
            catch (Exception)
            {
                // A log handler that throws must not take down the thread that noticed the recovery.
            }
        }
    }

    /// <summary>Reports an error the library found, such as a failed delivery nobody else will see.</summary>
    public void Report(Error error)
    {
        try
        {
            _handler?.Invoke(error);
        }
        catch (Exception)
        {
            // An error handler that throws must not take down librdkafka's or the delivery-report thread.
        }
    }

    private static bool IsConnectivity(ErrorCode code) =>
        code is ErrorCode.Local_AllBrokersDown or ErrorCode.Local_Transport or ErrorCode.Local_Resolve or ErrorCode.Local_TimedOut;
}

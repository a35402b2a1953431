using Confluent.Kafka;

namespace KafkaClient.Configuration;

/// <summary>Routes librdkafka's log lines to the application's handler (none by default: nothing reaches standard error) and keeps the configuration warnings written while the client is created.</summary>
internal sealed class CreationLog(Action<LogMessage>? handler)
{
    private readonly List<string> _warnings = [];
    private int _created;

    public void Log(LogMessage log)
    {
        if (Volatile.Read(ref _created) == 0 && log.Facility == "CONFWARN")
        {
            lock (_warnings)
            {
                _warnings.Add(log.Message);
            }
        }

        try
        {
            handler?.Invoke(log);
        }
        catch (Exception)
        {
            // A log handler that throws must not take down librdkafka's thread.
        }
    }

    /// <summary>Marks the client as created and returns the configuration warnings written until then.</summary>
    public IReadOnlyList<string> Finish()
    {
        Volatile.Write(ref _created, 1);
        lock (_warnings)
        {
            return [.. _warnings];
        }
    }
}

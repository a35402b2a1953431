using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting;

/// <summary>Writes a client's librdkafka log lines and client-level errors to an <see cref="ILogger"/>, secret values of its configuration redacted.</summary>
internal sealed partial class ClientLogger
{
    private readonly ILogger _logger;
    private readonly List<string> _secrets;
    private string _clientName;

    private ClientLogger(ILogger logger, IEnumerable<KeyValuePair<string, string>> config)
    {
        _logger = logger;
        _secrets = Secrets.SecretValues(config);
        var clientId = config.FirstOrDefault(e => e.Key == "client.id").Value;
        _clientName = Secrets.Redact(string.IsNullOrEmpty(clientId) ? "rdkafka" : clientId, _secrets);
    }

    /// <summary>Returns a logger for a client when the container has an <see cref="ILoggerFactory"/>, otherwise null.</summary>
    public static ClientLogger? Create(IServiceProvider provider, string category, IEnumerable<KeyValuePair<string, string>> config) =>
        provider.GetService<ILoggerFactory>() is { } factory ? new ClientLogger(factory.CreateLogger(category), config) : null;

    /// <summary>Maps librdkafka's syslog levels: 0-2 Critical, 3 Error, 4 Warning, 5-6 Information, 7 Debug.</summary>
    public static LogLevel Map(SyslogLevel level) => (int)level switch
    {
        <= 2 => LogLevel.Critical,
        3 => LogLevel.Error,
        4 => LogLevel.Warning,
        5 or 6 => LogLevel.Information,
        _ => LogLevel.Debug,
    };

    public void OnLog(LogMessage message)
    {
        var name = string.IsNullOrEmpty(message.Name) ? _clientName : Secrets.Redact(message.Name, _secrets);
        Volatile.Write(ref _clientName, name);
        var level = Map(message.Level);
        if (_logger.IsEnabled(level))
        {
            WriteLog(_logger, level, name, message.Facility, Secrets.Redact(message.Message ?? string.Empty, _secrets));
        }
    }

    public void OnError(Error error) =>
        WriteError(
            _logger,
            error.IsFatal ? LogLevel.Critical : LogLevel.Error,
            Volatile.Read(ref _clientName),
            error.Code,
            error.IsFatal,
            Secrets.Redact(error.Reason ?? string.Empty, _secrets));

    [LoggerMessage(EventId = 1, EventName = "KafkaLog", Message = "{ClientName} {Facility}: {Text}")]
    private static partial void WriteLog(ILogger logger, LogLevel level, string clientName, string facility, string text);

    [LoggerMessage(EventId = 2, EventName = "KafkaError", Message = "{ClientName} error {ErrorCode} (fatal: {IsFatal}): {Reason}")]
    private static partial void WriteError(ILogger logger, LogLevel level, string clientName, ErrorCode errorCode, bool isFatal, string reason);
}

using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace KafkaClient;

/// <summary>The library's one rule for which failures of a serializer or deserializer may succeed when repeated unchanged.</summary>
internal static partial class Transient
{
    /// <summary>Gets a value indicating whether repeating the operation may succeed: I/O and timeouts, HTTP 5xx, 408 and 429, and the library's own retriable errors.</summary>
    public static bool Is(Exception? exception) => exception switch
    {
        null => false,
        KafkaClientException k => k.IsRetriable,
        HttpRequestException { StatusCode: { } status } => IsTransient((int)status),

        // Confluent's SchemaRegistryException: an answer from the registry, its status only in the message's error code.
        HttpRequestException registry when registry.GetType() != typeof(HttpRequestException) && RegistryErrorCode().Match(registry.Message) is { Success: true } code
            => IsTransient(int.Parse(code.Groups["status"].ValueSpan, CultureInfo.InvariantCulture)),
        HttpRequestException or IOException or TimeoutException or TaskCanceledException => true,
        AggregateException { InnerExceptions.Count: 1 } a => Is(a.InnerException),
        _ => false,
    };

    private static bool IsTransient(int status) => status >= 500 || status is (int)HttpStatusCode.RequestTimeout or (int)HttpStatusCode.TooManyRequests;

    [GeneratedRegex(@"error code: (?<status>\d{3})\d{2}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegistryErrorCode();
}

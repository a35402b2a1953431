using System.Text.RegularExpressions;

namespace KafkaClient;

/// <summary>Makes text from other libraries safe to put in exception messages and headers: credentials removed, length bounded.</summary>
internal static partial class ErrorText
{
    /// <summary>The longest message or header text the library writes, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>Removes credentials written into URLs (<c>scheme://user:secret@host</c> becomes <c>scheme://***@host</c>) and cuts the text to <paramref name="maxLength"/> characters.</summary>
    /// <param name="text">The text; null gives an empty string.</param>
    /// <param name="maxLength">The longest result; longer text ends with a note of how much was cut.</param>
    /// <returns>Text without credentials, at most <paramref name="maxLength"/> characters (plus the note).</returns>
    public static string Safe(string? text, int maxLength = MaxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var redacted = text.Contains('@', StringComparison.Ordinal) ? UserInfo().Replace(text, "${scheme}://***@") : text;
        return redacted.Length <= maxLength
            ? redacted
            : string.Concat(redacted.AsSpan(0, maxLength), $"… ({redacted.Length - maxLength} more characters)");
    }

    [GeneratedRegex(@"(?<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://[^/\s@]*@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();
}

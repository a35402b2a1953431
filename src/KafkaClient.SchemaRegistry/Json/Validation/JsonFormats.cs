using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace KafkaClient.SchemaRegistry.Json.Validation;

/// <summary>The string formats, accepting what NJsonSchema's format checks accept (see the remarks for the differences).</summary>
/// <remarks>
/// NJsonSchema's checks are lenient, and are kept so that a validator change does not refuse values accepted before:
/// <c>date-time</c> takes ISO 8601 shapes from <c>yyyy</c> to a full timestamp with fraction and offset (and a space for
/// <c>T</c>); <c>date</c> is <c>yyyy-MM-dd</c>; <c>time</c> is <c>HH:mm:ss</c> with optional fraction and offset;
/// <c>uri</c> is what <see cref="Uri.TryCreate(string, UriKind, out Uri)"/> takes as absolute. Two deliberate
/// differences: NJsonSchema's regular expressions end in <c>$</c>, which lets a final line feed through
/// (<c>"a@b.io\n"</c> as an email, <c>"host\n"</c> as a hostname, <c>"1.2.3.4\n"</c>); here it does not. An IPv6
/// address with a prefix length (<c>::1/64</c>) is not an address, and is refused here. Culture-dependent parts
/// (the time separator) use the invariant culture. Only <c>uri</c> allocates (a string and a <see cref="Uri"/>).
/// </remarks>
internal static class JsonFormats
{
    private static readonly string[] DateTimeShapes =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd' 'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd' 'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd' 'HH:mm:ss",
        "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd' 'HH:mm",
        "yyyy-MM-dd'T'HH", "yyyy-MM-dd' 'HH",
        "yyyy-MM-dd", "yyyy-MM-dd'Z'", "yyyyMMdd", "yyyy-MM", "yyyy",
    ];

    /// <summary>Checks one string value.</summary>
    public static bool IsValid(StringFormat format, ReadOnlySpan<char> value) => format switch
    {
        StringFormat.DateTime => IsTimestampShape(value) || DateTimeOffset.TryParseExact(value, DateTimeShapes, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
        StringFormat.Date => IsDate(value) ?? DateTime.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
        StringFormat.Time => DateTime.TryParseExact(value, "HH:mm:ss.FFFFFFFK", CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
        StringFormat.TimeSpan => TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _),
        StringFormat.Email => IsEmail(value),
        StringFormat.Hostname => IsHostname(value),
        StringFormat.IpV4 => IsIpV4(value),
        StringFormat.IpV6 => value.IndexOf("]:", StringComparison.Ordinal) < 0 && IPAddress.TryParse(value, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6,
        StringFormat.Uri => Uri.TryCreate(value.ToString(), UriKind.Absolute, out _),
        StringFormat.Uuid => Guid.TryParse(value, out _),
        StringFormat.Base64 => IsBase64(value),
        _ => true,
    };

    /// <summary>The error kind NJsonSchema names a failed format with.</summary>
    public static string ErrorKind(StringFormat format) => format switch
    {
        StringFormat.DateTime => "DateTimeExpected",
        StringFormat.Date => "DateExpected",
        StringFormat.Time => "TimeExpected",
        StringFormat.TimeSpan => "TimeSpanExpected",
        StringFormat.Email => "EmailExpected",
        StringFormat.Hostname => "HostnameExpected",
        StringFormat.IpV4 => "IpV4Expected",
        StringFormat.IpV6 => "IpV6Expected",
        StringFormat.Uri => "UriExpected",
        StringFormat.Uuid => "UuidExpected",
        StringFormat.Base64 => "Base64Expected",
        _ => "FormatExpected",
    };

    /// <summary>Gets where the digits of <c>dddd-dd-dd</c> are.</summary>
    private static ReadOnlySpan<byte> DatePositions => [0, 1, 2, 3, 5, 6, 8, 9];

    /// <summary>The verdict on an ASCII <c>dddd-dd-dd</c> (a real calendar date), or null for any other shape.</summary>
    private static bool? IsDate(ReadOnlySpan<char> s)
    {
        if (s.Length != 10 || s[4] != '-' || s[7] != '-')
        {
            return null;
        }

        var value = 0;
        foreach (var i in DatePositions)
        {
            if (!char.IsAsciiDigit(s[i]))
            {
                return null;
            }

            value = (value * 10) + (s[i] - '0');
        }

        int year = value / 10000, month = value / 100 % 100, day = value % 100;
        return year >= 1 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month);
    }

    /// <summary>dddd-dd-dd, a T, t, _ or space, dd:dd:dd, an optional fraction, then Z, z or ±dd:dd (digits of any script, ranges unchecked).</summary>
    private static bool IsTimestampShape(ReadOnlySpan<char> s)
    {
        var i = 0;
        bool Digits(ReadOnlySpan<char> s, int count)
        {
            for (var k = 0; k < count; k++, i++)
            {
                if (i >= s.Length || !char.IsDigit(s[i]))
                {
                    return false;
                }
            }

            return true;
        }

        bool Char(ReadOnlySpan<char> s, char c)
        {
            if (i < s.Length && s[i] == c)
            {
                i++;
                return true;
            }

            return false;
        }

        if (!(Digits(s, 4) && Char(s, '-') && Digits(s, 2) && Char(s, '-') && Digits(s, 2)))
        {
            return false;
        }

        if (!(Char(s, 'T') || Char(s, 't') || Char(s, '_') || Char(s, ' ')))
        {
            return false;
        }

        if (!(Digits(s, 2) && Char(s, ':') && Digits(s, 2) && Char(s, ':') && Digits(s, 2)))
        {
            return false;
        }

        if (Char(s, '.') && !Digits(s, 1))
        {
            return false;
        }

        while (i < s.Length && char.IsDigit(s[i]))
        {
            i++;
        }

        if (Char(s, 'Z') || Char(s, 'z'))
        {
            return i == s.Length;
        }

        return (Char(s, '+') || Char(s, '-')) && Digits(s, 2) && Char(s, ':') && Digits(s, 2) && i == s.Length;
    }

    private static bool IsEmail(ReadOnlySpan<char> s)
    {
        var at = s.LastIndexOf('@');
        if (at <= 0)
        {
            return false;
        }

        // The local part: dot-separated runs of letters, digits and !#$%&'*+/=?^_`{|}~-.
        var local = s[..at];
        var run = 0;
        foreach (var c in local)
        {
            if (c == '.')
            {
                if (run == 0)
                {
                    return false;
                }

                run = 0;
            }
            else if (char.IsAsciiLetterOrDigit(c) || "!#$%&'*+/=?^_`{|}~-".Contains(c))
            {
                run++;
            }
            else
            {
                return false;
            }
        }

        if (run == 0)
        {
            return false;
        }

        // The domain: at least two labels.
        var domain = s[(at + 1)..];
        return domain.Contains('.') && IsHostname(domain);
    }

    /// <summary>Dot-separated labels of ASCII letters, digits and inner hyphens.</summary>
    private static bool IsHostname(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }

        foreach (var range in s.Split('.'))
        {
            var label = s[range];
            if (label.IsEmpty || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Four dot-separated decimal octets of one to three ASCII digits, each at most 255 (leading zeros allowed).</summary>
    private static bool IsIpV4(ReadOnlySpan<char> s)
    {
        var octets = 0;
        foreach (var range in s.Split('.'))
        {
            var octet = s[range];
            if (++octets > 4 || octet.Length is 0 or > 3)
            {
                return false;
            }

            var value = 0;
            foreach (var c in octet)
            {
                if (!char.IsAsciiDigit(c))
                {
                    return false;
                }

                value = (value * 10) + (c - '0');
            }

            if (value > 255)
            {
                return false;
            }
        }

        return octets == 4;
    }

    /// <summary>A multiple of four characters: letters, digits, + and /, then at most three =.</summary>
    private static bool IsBase64(ReadOnlySpan<char> s)
    {
        if (s.Length % 4 != 0)
        {
            return false;
        }

        var i = 0;
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '+' or '/'))
        {
            i++;
        }

        var padding = 0;
        while (i < s.Length && s[i] == '=')
        {
            i++;
            padding++;
        }

        return i == s.Length && padding <= 3;
    }
}

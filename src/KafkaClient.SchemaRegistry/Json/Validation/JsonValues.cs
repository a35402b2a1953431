using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace KafkaClient.SchemaRegistry.Json.Validation;

/// <summary>A JSON number read for comparison: exact as a decimal where it fits one, else as a double.</summary>
internal readonly record struct JsonNumber(decimal Decimal, bool IsDecimal, double Double)
{
    public int CompareTo(NumberLimit limit) =>
        IsDecimal && limit.IsDecimal ? Decimal.CompareTo(limit.Decimal) : Double.CompareTo(limit.Double);

    public bool IsMultipleOf(NumberLimit divisor)
    {
        if (IsDecimal && divisor.IsDecimal)
        {
            try
            {
                return Decimal % divisor.Decimal == 0;
            }
            catch (OverflowException)
            {
                // falls through to the double check
            }
        }

        if (!double.IsFinite(Double))
        {
            return false;
        }

        return Double % divisor.Double == 0; // exact for doubles
    }

    public bool Equals(JsonNumber other) =>
        IsDecimal && other.IsDecimal ? Decimal == other.Decimal : Double.Equals(other.Double);

    public override int GetHashCode() => Double.GetHashCode();
}

/// <summary>Reading values off a <see cref="Utf8JsonReader"/> without allocating: numbers, unescaped strings, JSON equality and hashing.</summary>
internal static class JsonValues
{
    /// <summary>Strings up to this many bytes are unescaped or transcoded on the stack; longer ones in a pooled array.</summary>
    public const int StackLimit = 256;

    /// <summary>Reads the number the reader is on.</summary>
    public static JsonNumber Number(ref Utf8JsonReader reader)
    {
        // The common case first: a plain integer that fits a long.
        var literal = reader.ValueSpan;
        if (literal.Length <= 18 && literal.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0 && reader.TryGetInt64(out var integer))
        {
            return new JsonNumber(integer, true, integer);
        }

        // 1e-400 reads as a decimal 0: only a literal without a non-zero digit is really 0.
        if (reader.TryGetDecimal(out var d) && (d != 0 || !HasNonZeroDigit(reader.ValueSpan)))
        {
            return new JsonNumber(d, true, (double)d);
        }

        return new JsonNumber(0, false, Underflowed(reader.TryGetDouble(out var x) ? x : double.NaN, reader.ValueSpan));
    }

    /// <summary>A literal too small for a double (1e-400) is not 0: the smallest double of its sign stands for it.</summary>
    private static double Underflowed(double value, ReadOnlySpan<byte> literal) =>
        value == 0 && HasNonZeroDigit(literal) ? (literal[0] == (byte)'-' ? -double.Epsilon : double.Epsilon) : value;

    /// <summary>Reads a number element of a schema.</summary>
    public static JsonNumber Number(JsonElement element) =>
        element.TryGetDecimal(out var d) && (d != 0 || !HasNonZeroDigit(System.Text.Encoding.UTF8.GetBytes(element.GetRawText())))
            ? new JsonNumber(d, true, (double)d)
            : new JsonNumber(0, false, element.GetDouble());

    /// <summary>Whether a number literal's mantissa has a digit other than 0.</summary>
    public static bool HasNonZeroDigit(ReadOnlySpan<byte> literal)
    {
        foreach (var b in literal)
        {
            if (b is (byte)'e' or (byte)'E')
            {
                return false;
            }

            if (b is >= (byte)'1' and <= (byte)'9')
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the number the reader is on is an integer: without fraction or exponent (draft 4), or of zero fraction (draft 6 on).</summary>
    public static bool IsInteger(ref Utf8JsonReader reader, bool lexical)
    {
        var span = reader.ValueSpan;
        if (span.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0)
        {
            return true;
        }

        if (lexical)
        {
            return false;
        }

        var number = Number(ref reader);
        return number.IsDecimal ? number.Decimal == decimal.Truncate(number.Decimal) : !double.IsNaN(number.Double) && (double.IsInfinity(number.Double) || Math.Floor(number.Double) == number.Double);
    }

    /// <summary>Counts the Unicode code points of UTF-8 text (JSON Schema's string length).</summary>
    public static int CodePoints(ReadOnlySpan<byte> utf8)
    {
        var count = utf8.Length;
        foreach (var b in utf8)
        {
            if ((b & 0xC0) == 0x80)
            {
                count--;
            }
        }

        return count;
    }

    /// <summary>Whether the value the reader is on equals <paramref name="expected"/> as JSON (numbers by value, objects in any order); moves a copy only.</summary>
    public static bool EqualsElement(Utf8JsonReader reader, JsonElement expected) => EqualsElementCore(ref reader, expected);

    private static bool EqualsElementCore(ref Utf8JsonReader reader, JsonElement expected)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return expected.ValueKind == JsonValueKind.Null;
            case JsonTokenType.True:
                return expected.ValueKind == JsonValueKind.True;
            case JsonTokenType.False:
                return expected.ValueKind == JsonValueKind.False;
            case JsonTokenType.Number:
                return expected.ValueKind == JsonValueKind.Number && Number(ref reader).Equals(Number(expected));
            case JsonTokenType.String:
                return expected.ValueKind == JsonValueKind.String && Lookup(ref reader, expected, out _);
            case JsonTokenType.StartArray:
                {
                    if (expected.ValueKind != JsonValueKind.Array)
                    {
                        return false;
                    }

                    RuntimeHelpers.EnsureSufficientExecutionStack();
                    var length = expected.GetArrayLength();
                    var i = 0;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (i >= length || !EqualsElementCore(ref reader, expected[i]))
                        {
                            return false;
                        }

                        reader.Skip();
                        i++;
                    }

                    return i == length;
                }

            case JsonTokenType.StartObject:
                {
                    if (expected.ValueKind != JsonValueKind.Object)
                    {
                        return false;
                    }

                    RuntimeHelpers.EnsureSufficientExecutionStack();
                    var count = 0;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        if (!Lookup(ref reader, expected, out var value))
                        {
                            return false;
                        }

                        reader.Read();
                        if (!EqualsElementCore(ref reader, value))
                        {
                            return false;
                        }

                        reader.Skip();
                        count++;
                    }

                    var expectedCount = 0;
                    foreach (var unused in expected.EnumerateObject())
                    {
                        expectedCount++;
                    }

                    return count == expectedCount;
                }

            default:
                return false;
        }
    }

    /// <summary>Whether two instance values (each reader on its first token) are equal as JSON; moves copies only.</summary>
    public static bool EqualsValue(Utf8JsonReader a, Utf8JsonReader b) => EqualsValueCore(ref a, ref b);

    private static bool EqualsValueCore(ref Utf8JsonReader a, ref Utf8JsonReader b)
    {
        if (a.TokenType != b.TokenType)
        {
            return false;
        }

        switch (a.TokenType)
        {
            case JsonTokenType.Null:
            case JsonTokenType.True:
            case JsonTokenType.False:
                return true;
            case JsonTokenType.Number:
                return Number(ref a).Equals(Number(ref b));
            case JsonTokenType.String:
                return StringEquals(ref a, ref b);
            case JsonTokenType.StartArray:
                RuntimeHelpers.EnsureSufficientExecutionStack();
                while (true)
                {
                    var moreA = a.Read() && a.TokenType != JsonTokenType.EndArray;
                    var moreB = b.Read() && b.TokenType != JsonTokenType.EndArray;
                    if (moreA != moreB)
                    {
                        return false;
                    }

                    if (!moreA)
                    {
                        return true;
                    }

                    if (!EqualsValueCore(ref a, ref b))
                    {
                        return false;
                    }

                    a.Skip();
                    b.Skip();
                }

            case JsonTokenType.StartObject:
                {
                    RuntimeHelpers.EnsureSufficientExecutionStack();
                    var countA = 0;
                    var start = b;
                    while (a.Read() && a.TokenType != JsonTokenType.EndObject)
                    {
                        countA++;
                        var scan = start;
                        var found = false;
                        while (scan.Read() && scan.TokenType != JsonTokenType.EndObject)
                        {
                            var sameName = StringEquals(ref a, ref scan);
                            scan.Read();
                            if (sameName)
                            {
                                var valueA = a;
                                valueA.Read();
                                found = EqualsValueCore(ref valueA, ref scan);
                                break;
                            }

                            scan.Skip();
                        }

                        if (!found)
                        {
                            return false;
                        }

                        a.Read();
                        a.Skip();
                    }

                    var countB = 0;
                    while (b.Read() && b.TokenType != JsonTokenType.EndObject)
                    {
                        countB++;
                        b.Read();
                        b.Skip();
                    }

                    return countA == countB;
                }

            default:
                return false;
        }
    }

    /// <summary>A hash of the value the reader is on, equal for values <see cref="EqualsValue"/> finds equal; moves the reader to the value's last token.</summary>
    public static int Hash(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return 1;
            case JsonTokenType.True:
                return 2;
            case JsonTokenType.False:
                return 3;
            case JsonTokenType.Number:
                return Number(ref reader).GetHashCode();
            case JsonTokenType.String:
                return StringHash(ref reader);
            case JsonTokenType.StartArray:
                {
                    RuntimeHelpers.EnsureSufficientExecutionStack();
                    var hash = new HashCode();
                    hash.Add(5);
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        hash.Add(Hash(ref reader));
                    }

                    return hash.ToHashCode();
                }

            case JsonTokenType.StartObject:
                {
                    RuntimeHelpers.EnsureSufficientExecutionStack();
                    var sum = 7;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        var name = StringHash(ref reader);
                        reader.Read();
                        sum += HashCode.Combine(name, Hash(ref reader)); // in any order
                    }

                    return sum;
                }

            default:
                return 0;
        }
    }

    private static int StringHash(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            var hash = new HashCode();
            hash.AddBytes(reader.ValueSpan);
            return hash.ToHashCode();
        }

        var length = reader.ValueSpan.Length;
        byte[]? rented = null;
        Span<byte> scratch = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var h = new HashCode();
            h.AddBytes(scratch[..reader.CopyString(scratch)]);
            return h.ToHashCode();
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool StringEquals(ref Utf8JsonReader a, ref Utf8JsonReader b)
    {
        if (!a.ValueIsEscaped && !b.ValueIsEscaped)
        {
            return a.ValueSpan.SequenceEqual(b.ValueSpan);
        }

        if (!b.ValueIsEscaped)
        {
            return a.ValueTextEquals(b.ValueSpan);
        }

        if (!a.ValueIsEscaped)
        {
            return b.ValueTextEquals(a.ValueSpan);
        }

        var length = b.ValueSpan.Length;
        byte[]? rented = null;
        Span<byte> scratch = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            return a.ValueTextEquals(scratch[..b.CopyString(scratch)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>For a string element: whether it equals the reader's string. For an object element: its property named by the reader's property name.</summary>
    private static bool Lookup(ref Utf8JsonReader reader, JsonElement element, out JsonElement value)
    {
        var length = reader.ValueSpan.Length;
        byte[]? rented = null;
        Span<byte> scratch = !reader.ValueIsEscaped ? default : length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            ReadOnlySpan<byte> text = reader.ValueIsEscaped ? scratch[..reader.CopyString(scratch)] : reader.ValueSpan;
            if (element.ValueKind == JsonValueKind.String)
            {
                value = element;
                return element.ValueEquals(text);
            }

            return element.TryGetProperty(text, out value);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}

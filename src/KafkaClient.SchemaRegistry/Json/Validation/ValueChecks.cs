using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace KafkaClient.SchemaRegistry.Json.Validation;

/// <summary>Checks a .NET value against one subschema, on the value rather than on the JSON written for it.</summary>
/// <remarks>
/// True means that the JSON System.Text.Json writes for the value certainly satisfies the subschema; false means that
/// it may not (a violation, or a value the check does not judge, such as a string with surrogates), and the caller then
/// validates the JSON itself. Each check mirrors, for the one kind of JSON its type writes, what
/// <see cref="CompiledJsonValidator"/> evaluates, with the same numbers (<see cref="JsonNumber"/>), patterns and formats.
/// Immutable and thread-safe; made by <see cref="TypedPlan"/>.
/// </remarks>
/// <typeparam name="T">The value's type (<see cref="object"/> for reference types).</typeparam>
internal abstract class ValueCheck<T>
{
    /// <summary>How deep a value may nest before the check gives up (the JSON validator's own limit is higher).</summary>
    public const int MaxDepth = 128;

    /// <summary>Gets the verdict every value gets, when it does not depend on the value.</summary>
    public virtual bool? Constant => null;

    /// <summary>Whether the JSON of a value certainly satisfies the subschema.</summary>
    /// <param name="value">The value.</param>
    /// <param name="depth">How deep the value is in the document.</param>
    public abstract bool Accepts(T value, int depth);
}

/// <summary>The same verdict for every value: null and non-null may differ.</summary>
internal sealed class ConstantCheck<T>(bool nullAccepted, bool valueAccepted) : ValueCheck<T>
{
    public override bool? Constant => nullAccepted == valueAccepted || default(T) is not null ? valueAccepted : null;

    public override bool Accepts(T value, int depth) => value is null ? nullAccepted : valueAccepted;
}

/// <summary>A reference-typed value checked as <see cref="object"/>, seen as a value of its own type.</summary>
internal sealed class ReferenceCheck<T>(ValueCheck<object?> inner) : ValueCheck<T>
    where T : class?
{
    public override bool? Constant => inner.Constant;

    public override bool Accepts(T value, int depth) => inner.Accepts(value, depth);
}

/// <summary>A nullable value type: null has its precomputed verdict, a value its type's check.</summary>
internal sealed class NullableCheck<T>(ValueCheck<T> inner, bool nullAccepted) : ValueCheck<T?>
    where T : struct
{
    public override bool? Constant => inner.Constant is { } c && c == nullAccepted ? c : null;

    public override bool Accepts(T? value, int depth) => value.HasValue ? inner.Accepts(value.GetValueOrDefault(), depth) : nullAccepted;
}

/// <summary>A value of a finite set (an enum, a boolean): each written value's verdict was computed once by the JSON validator itself.</summary>
internal sealed class FiniteCheck<T>(T[] accepted) : ValueCheck<T>
    where T : struct
{
    public override bool? Constant => accepted.Length == 0 ? false : null;

    public override bool Accepts(T value, int depth)
    {
        foreach (var candidate in accepted)
        {
            if (EqualityComparer<T>.Default.Equals(candidate, value))
            {
                return true;
            }
        }

        return false; // refused, or a value not written by name (an undefined or combined enum value): the JSON decides
    }
}

/// <summary>What a subschema asks of a JSON number, evaluated as <see cref="CompiledJsonValidator"/> evaluates it.</summary>
internal sealed class NumberRules
{
    private readonly JsonTypes _types;
    private readonly bool _lexicalIntegers;
    private readonly NumberLimit? _minimum;
    private readonly NumberLimit? _maximum;
    private readonly NumberLimit? _exclusiveMinimum;
    private readonly NumberLimit? _exclusiveMaximum;
    private readonly NumberLimit? _multipleOf;
    private readonly JsonNumber[]? _allowed;

    public NumberRules(SchemaNode node)
    {
        _types = node.Types;
        _lexicalIntegers = node.LexicalIntegers;
        _minimum = node.Minimum;
        _maximum = node.Maximum;
        _exclusiveMinimum = node.ExclusiveMinimum;
        _exclusiveMaximum = node.ExclusiveMaximum;
        _multipleOf = node.MultipleOf;
        if (node.Enum is { } values)
        {
            _allowed = [.. values.Where(v => v.ValueKind == JsonValueKind.Number).Select(JsonValues.Number)];
        }

        if (node.Const is { } constant)
        {
            JsonNumber[] only = constant.ValueKind == JsonValueKind.Number ? [JsonValues.Number(constant)] : [];
            _allowed = _allowed is null ? only : [.. _allowed.Where(a => only.Any(o => o.Equals(a)))];
        }
    }

    /// <summary>Gets a value indicating whether every number passes (no keyword that applies to numbers).</summary>
    public bool AcceptsAll =>
        (_types == JsonTypes.None || (_types & JsonTypes.Number) != 0) && _minimum is null && _maximum is null && _exclusiveMinimum is null
        && _exclusiveMaximum is null && _multipleOf is null && _allowed is null;

    /// <summary>Gets a value indicating whether an integer literal passes the type keyword.</summary>
    public bool IntegersHaveType => _types == JsonTypes.None || (_types & (JsonTypes.Number | JsonTypes.Integer)) != 0;

    /// <summary>Judges a number.</summary>
    /// <param name="number">The number as the validator reads its literal.</param>
    /// <param name="lexicalInteger">Whether the literal has no fraction and no exponent.</param>
    public bool Accepts(in JsonNumber number, bool lexicalInteger)
    {
        if (!number.IsDecimal && !double.IsFinite(number.Double))
        {
            return false; // the validator gives up on it: let it say so
        }

        if (_types != JsonTypes.None && (_types & JsonTypes.Number) == 0
            && ((_types & JsonTypes.Integer) == 0 || !(lexicalInteger || (!_lexicalIntegers && IsWhole(number)))))
        {
            return false;
        }

        if (_allowed is { } allowed && !Contains(allowed, number))
        {
            return false;
        }

        return !((_minimum is { } min && number.CompareTo(min) < 0)
            || (_exclusiveMinimum is { } exclusiveMin && number.CompareTo(exclusiveMin) <= 0)
            || (_maximum is { } max && number.CompareTo(max) > 0)
            || (_exclusiveMaximum is { } exclusiveMax && number.CompareTo(exclusiveMax) >= 0)
            || (_multipleOf is { } divisor && !number.IsMultipleOf(divisor)));
    }

    /// <summary>Judges a binary floating-point value by its bounds alone, when it is far enough from each that its literal's rounding cannot matter.</summary>
    /// <param name="value">The value.</param>
    /// <param name="relativeMargin">How far, relative to the magnitudes, the value's literal and a bound's literal may be from the binary values.</param>
    /// <returns>The verdict, or null when the value is too close to a bound, or the subschema asks for something exact (<c>enum</c>, <c>const</c>, <c>multipleOf</c>, <c>integer</c>).</returns>
    /// <remarks>
    /// The literal of a value between 1e-10 and 1e28 reads as the exact decimal of its shortest round-trip text, within half a unit in the
    /// last place of the value; a bound reads as its literal, within half a unit of its double. When the value and the bound's double differ
    /// by more than the margin, the decimals compare the same way (and so do the doubles the validator compares for a bound beyond a decimal).
    /// </remarks>
    public bool? ByBounds(double value, double relativeMargin)
    {
        if (_allowed is not null || _multipleOf is not null || (_types != JsonTypes.None && (_types & JsonTypes.Number) == 0))
        {
            return null;
        }

        var magnitude = Math.Abs(value);
        if (!(magnitude >= 1e-10 && magnitude <= 1e28))
        {
            return null;
        }

        // Refused or too close: the exact reading decides.
        if ((_minimum is { } min && Side(value, min, relativeMargin) != 1) || (_exclusiveMinimum is { } exclusiveMin && Side(value, exclusiveMin, relativeMargin) != 1)
            || (_maximum is { } max && Side(value, max, relativeMargin) != -1) || (_exclusiveMaximum is { } exclusiveMax && Side(value, exclusiveMax, relativeMargin) != -1))
        {
            return null;
        }

        return true;
    }

    /// <summary>Which side of a bound a value is on (1 above, -1 below), or 0 when too close to tell.</summary>
    private static int Side(double value, NumberLimit bound, double relativeMargin)
    {
        var difference = value - bound.Double;
        var margin = relativeMargin * (Math.Abs(value) + Math.Abs(bound.Double));
        return difference > margin ? 1 : difference < -margin ? -1 : 0;
    }

    /// <summary>Judges a number literal, read exactly as the validator reads it.</summary>
    public bool AcceptsLiteral(ReadOnlySpan<byte> literal)
    {
        var reader = new Utf8JsonReader(literal);
        if (!reader.Read() || reader.TokenType != JsonTokenType.Number)
        {
            return false;
        }

        var number = JsonValues.Number(ref reader);
        return Accepts(number, literal.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0);
    }

    /// <summary>The number an integer literal reads as: a long when it has at most 18 characters, else a decimal (<see cref="JsonValues.Number(ref Utf8JsonReader)"/>).</summary>
    public static JsonNumber Integer(Int128 value) =>
        value >= -99_999_999_999_999_999L && value <= 999_999_999_999_999_999L
            ? new JsonNumber((long)value, true, (long)value)
            : new JsonNumber((decimal)value, true, (double)(decimal)value);

    /// <summary>The number a decimal's literal (its invariant text, trailing zeros kept) reads as.</summary>
    public static JsonNumber Decimal(decimal value) =>
        value.Scale == 0 && value is >= -99_999_999_999_999_999m and <= 999_999_999_999_999_999m
            ? new JsonNumber((long)value, true, (long)value)
            : new JsonNumber(value, true, (double)value);

    private static bool IsWhole(in JsonNumber number) =>
        number.IsDecimal ? number.Decimal == decimal.Truncate(number.Decimal) : !double.IsNaN(number.Double) && (double.IsInfinity(number.Double) || Math.Floor(number.Double) == number.Double);

    private static bool Contains(JsonNumber[] allowed, in JsonNumber number)
    {
        foreach (var candidate in allowed)
        {
            if (candidate.Equals(number))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>An integer of any .NET integer type: System.Text.Json writes its digits.</summary>
internal sealed class IntegerCheck<T>(NumberRules rules) : ValueCheck<T>
    where T : struct, IBinaryInteger<T>
{
    public override bool Accepts(T value, int depth) => rules.Accepts(NumberRules.Integer(Int128.CreateTruncating(value)), lexicalInteger: true);
}

/// <summary>A decimal: System.Text.Json writes its invariant text, scale included (<c>1.50</c>).</summary>
internal sealed class DecimalCheck(NumberRules rules) : ValueCheck<decimal>
{
    public override bool Accepts(decimal value, int depth) => rules.Accepts(NumberRules.Decimal(value), lexicalInteger: value.Scale == 0);
}

/// <summary>A double: System.Text.Json writes its shortest round-trip text; whole values below 10^15 are read without formatting, values far from their bounds are judged on the double.</summary>
internal sealed class DoubleCheck(NumberRules rules) : ValueCheck<double>
{
    /// <summary>A bound for the literal's distance from the double (half a unit in the last place, 2^-53) and for the validator's decimal-to-double conversion, with room to spare.</summary>
    private const double Margin = 4e-15;

    public override bool Accepts(double value, int depth)
    {
        if (Math.Abs(value) < 1e15 && Math.Floor(value) == value)
        {
            return rules.Accepts(NumberRules.Integer((long)value), lexicalInteger: true); // written as plain digits ("-0" reads as 0)
        }

        if (!double.IsFinite(value))
        {
            return false; // not written without named literals, which the plan refuses
        }

        if (rules.ByBounds(value, Margin) is { } verdict)
        {
            return verdict;
        }

        Span<byte> literal = stackalloc byte[32];
        return value.TryFormat(literal, out var written, default, CultureInfo.InvariantCulture) && rules.AcceptsLiteral(literal[..written]);
    }
}

/// <summary>A float: System.Text.Json writes its shortest round-trip text as a float.</summary>
internal sealed class SingleCheck(NumberRules rules) : ValueCheck<float>
{
    public override bool Accepts(float value, int depth)
    {
        if (!float.IsFinite(value))
        {
            return false;
        }

        if (rules.ByBounds(value, 1e-6) is { } verdict)
        {
            return verdict; // a float's literal is within half a float unit (2^-24) of it
        }

        Span<byte> literal = stackalloc byte[32];
        return value.TryFormat(literal, out var written, default, CultureInfo.InvariantCulture) && rules.AcceptsLiteral(literal[..written]);
    }
}

/// <summary>What a subschema asks of a JSON string, evaluated on the .NET string System.Text.Json writes.</summary>
internal sealed class StringCheck : ValueCheck<object?>
{
    private readonly bool _nullAccepted;
    private readonly string[]? _allowed;
    private readonly long _minLength;
    private readonly long _maxLength;
    private readonly Regex? _pattern;
    private readonly StringFormat _format;

    public StringCheck(SchemaNode node, bool nullAccepted)
    {
        _nullAccepted = nullAccepted;
        if (node.Enum is { } values)
        {
            _allowed = [.. values.Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)];
        }

        if (node.Const is { } constant)
        {
            string[] only = constant.ValueKind == JsonValueKind.String ? [constant.GetString()!] : [];
            _allowed = _allowed is null ? only : [.. _allowed.Intersect(only, StringComparer.Ordinal)];
        }

        _minLength = node.MinLength;
        _maxLength = node.MaxLength;
        _pattern = node.Pattern;
        _format = node.Format;
    }

    /// <summary>Gets a value indicating whether any string passes (nothing asked of its content).</summary>
    public bool AcceptsAnyString => _allowed is null && _minLength < 0 && _maxLength < 0 && _pattern is null && _format == StringFormat.None;

    public override bool Accepts(object? value, int depth)
    {
        if (value is null)
        {
            return _nullAccepted;
        }

        var text = Unsafe.As<string>(value);

        // A lone surrogate is written as U+FFFD, and a pair counts as one code point: either way, the JSON decides.
        if (text.AsSpan().ContainsAny(Surrogates.Any))
        {
            return false;
        }

        if (_allowed is { } allowed && System.Array.IndexOf(allowed, text) < 0)
        {
            return false;
        }

        if (text.Length < _minLength || (_maxLength >= 0 && text.Length > _maxLength))
        {
            return false;
        }

        return (_pattern is null || _pattern.IsMatch(text))
            && (_format == StringFormat.None || (_format == StringFormat.Uri ? Uri.TryCreate(text, UriKind.Absolute, out _) : JsonFormats.IsValid(_format, text)));
    }
}

/// <summary>A Guid: System.Text.Json writes its 36-character <c>D</c> form, always a uuid; a pattern or another format is checked on that text.</summary>
internal sealed class GuidCheck(Regex? pattern, StringFormat format) : ValueCheck<Guid>
{
    public override bool Accepts(Guid value, int depth)
    {
        Span<char> text = stackalloc char[36];
        value.TryFormat(text, out _);
        return (pattern is null || pattern.IsMatch(text)) && (format == StringFormat.None || JsonFormats.IsValid(format, text));
    }
}

/// <summary>Reads one property of an object and checks it, minding whether System.Text.Json writes it at all.</summary>
internal abstract class MemberCheck
{
    /// <summary>Whether the property's JSON (or its absence) certainly satisfies the object's schema.</summary>
    public abstract bool Accepts(object owner, int depth);
}

/// <summary>When a reference-typed property is written: always, unless null (an ignore condition of the options), or when its predicate says so.</summary>
internal enum Presence
{
    Always,
    UnlessNull,
    Predicate,
}

/// <summary>A reference-typed property, read with System.Text.Json's own getter (no boxing).</summary>
internal sealed class ReferenceMember(Func<object, object?> get, Presence presence, Func<object, object?, bool>? shouldSerialize, bool required, ValueCheck<object?> check) : MemberCheck
{
    public override bool Accepts(object owner, int depth)
    {
        var value = get(owner);
        var written = presence switch
        {
            Presence.Always => true,
            Presence.UnlessNull => value is not null,
            _ => shouldSerialize!(owner, value),
        };
        return written ? check.Accepts(value, depth) : !required;
    }
}

/// <summary>A value-typed property, read with a typed delegate of its auto-property getter (no boxing).</summary>
internal sealed class ValueMember<TOwner, TValue>(Func<TOwner, TValue> get, bool omitDefault, bool required, ValueCheck<TValue> check) : MemberCheck
    where TOwner : class
{
    public override bool Accepts(object owner, int depth)
    {
        // The owner is an instance of the type whose metadata the plan was made from, which declares or inherits the getter.
        var value = get(Unsafe.As<TOwner>(owner));
        return omitDefault && EqualityComparer<TValue>.Default.Equals(value, default!) ? !required : check.Accepts(value, depth);
    }
}

/// <summary>An object System.Text.Json writes property by property: each property that needs it is checked.</summary>
internal sealed class ObjectCheck(bool nullAccepted, MemberCheck[] members) : ValueCheck<object?>
{
    public override bool Accepts(object? value, int depth)
    {
        if (value is null)
        {
            return nullAccepted;
        }

        if (depth >= MaxDepth)
        {
            return false;
        }

        foreach (var member in members)
        {
            if (!member.Accepts(value, depth + 1))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>An array written from a <see cref="List{T}"/> or a <typeparamref name="T"/>[] (any other collection: the JSON decides).</summary>
internal sealed class ListCheck<T>(bool nullAccepted, ValueCheck<T>? items, long minItems, long maxItems, bool unique) : ValueCheck<object?>
{
    /// <summary>Up to how many items uniqueness is checked here (pairwise); longer arrays are left to the JSON validator.</summary>
    private const int MaxUniqueItems = 64;

    public override bool Accepts(object? value, int depth)
    {
        if (value is null)
        {
            return nullAccepted;
        }

        ReadOnlySpan<T> span;
        if (value.GetType() == typeof(T[]))
        {
            span = Unsafe.As<T[]>(value);
        }
        else if (value.GetType() == typeof(List<T>))
        {
            span = CollectionsMarshal.AsSpan(Unsafe.As<List<T>>(value));
        }
        else
        {
            return false;
        }

        if (depth >= MaxDepth || span.Length < minItems || (maxItems >= 0 && span.Length > maxItems))
        {
            return false;
        }

        if (items is not null)
        {
            foreach (var item in span)
            {
                if (!items.Accepts(item, depth + 1))
                {
                    return false;
                }
            }
        }

        return !unique || Unique(span);
    }

    /// <summary>Whether no two items are equal as JSON: strings by their text (none with surrogates), integers and decimals by value.</summary>
    private static bool Unique(ReadOnlySpan<T> span)
    {
        if (span.Length > MaxUniqueItems)
        {
            return false;
        }

        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] is string text && text.AsSpan().ContainsAny(Surrogates.Any))
            {
                return false;
            }

            for (var j = i + 1; j < span.Length; j++)
            {
                if (EqualityComparer<T>.Default.Equals(span[i], span[j]))
                {
                    return false;
                }
            }
        }

        return true;
    }
}

/// <summary>The UTF-16 surrogates, which a check leaves to the JSON validator (a pair is one code point; a lone one is written as U+FFFD).</summary>
internal static class Surrogates
{
    /// <summary>Gets every high and low surrogate.</summary>
    public static SearchValues<char> Any { get; } = SearchValues.Create([.. Enumerable.Range(0xD800, 0x800).Select(c => (char)c)]);
}

/// <summary>Writes a finite value's JSON once, at plan time, for the JSON validator to judge.</summary>
internal static class FiniteJson
{
    /// <summary>Writes one value with its converter and returns the UTF-8 JSON.</summary>
    public static byte[] Write<T>(System.Text.Json.Serialization.JsonConverter<T> converter, T value, JsonSerializerOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            converter.Write(writer, value, options);
        }

        return buffer.WrittenSpan.ToArray();
    }
}

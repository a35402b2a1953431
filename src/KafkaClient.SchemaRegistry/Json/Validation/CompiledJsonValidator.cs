using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace KafkaClient.SchemaRegistry.Json.Validation;

/// <summary>Validates UTF-8 JSON against a schema compiled once, in one pass of a <see cref="Utf8JsonReader"/>.</summary>
/// <remarks>
/// <para>
/// The success path allocates nothing: values are compared on the reader's bytes, strings are unescaped or
/// transcoded on the stack (or in pooled arrays when long), and a keyword that needs a value twice (<c>anyOf</c>,
/// <c>oneOf</c>, <c>not</c>, <c>if</c>, <c>allOf</c>, <c>contains</c>, <c>dependentSchemas</c>, <c>enum</c> of
/// objects) reads a copy of the reader, a struct over the same bytes. The only exception is <c>format: uri</c>,
/// which needs a string for <see cref="Uri"/>.
/// </para>
/// <para>
/// A document that fails is read a second time to collect every violation with its path, in NJsonSchema's shape
/// (<c>#/address.lines[0]: StringExpected</c>); only that pass allocates.
/// </para>
/// <para>
/// A number beyond a double's range (<c>1e999</c>, a megabyte of digits) checked against <c>minimum</c>,
/// <c>maximum</c> or <c>multipleOf</c> throws <see cref="OverflowException"/>: the document cannot be checked, as
/// NJsonSchema could not check such numbers either.
/// </para>
/// <para>Thread-safe: the compiled schema is immutable.</para>
/// </remarks>
internal sealed class CompiledJsonValidator : IJsonValidator
{
    /// <summary>How deep a document may nest (NJsonSchema's Newtonsoft reader stops at 64).</summary>
    public const int MaxDepth = 256;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = MaxDepth };

    private readonly SchemaNode _root;

    /// <summary>Initializes a new instance of the <see cref="CompiledJsonValidator"/> class.</summary>
    /// <param name="schema">The JSON Schema text.</param>
    /// <exception cref="SchemaNotCompilableException">The schema needs a keyword or reference this validator does not handle.</exception>
    /// <exception cref="SchemaCycleException">The schema refers to itself without descending into the instance.</exception>
    public CompiledJsonValidator(string schema)
    {
        _root = SchemaCompiler.Compile(schema);
    }

    /// <inheritdoc/>
    public string Engine => "compiled";

    /// <summary>Gets the compiled schema, for the type checks <see cref="TypedPlan"/> derives from it.</summary>
    internal SchemaNode Root => _root;

    /// <summary>Whether one JSON value (a literal such as <c>null</c> or <c>"red"</c>) satisfies a subschema, as <see cref="Check"/> would judge it there.</summary>
    /// <param name="node">The subschema.</param>
    /// <param name="utf8Json">The value, UTF-8.</param>
    /// <returns>True when valid; false when invalid or when the value could not be checked.</returns>
    internal static bool Accepts(SchemaNode node, ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
            if (!reader.Read())
            {
                return false;
            }

            var quiet = new Context(utf8Json, 0, null);
            return Evaluate(ref reader, node, ref quiet, null);
        }
        catch (Exception ex) when (ex is JsonException or OverflowException or RegexMatchTimeoutException or InsufficientExecutionStackException)
        {
            return false;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<string>? Check(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        if (!reader.Read())
        {
            throw new JsonException("The document is empty.");
        }

        var quiet = new Context(utf8Json, 0, null);
        if (Evaluate(ref reader, _root, ref quiet, null))
        {
            return null;
        }

        // Once more, collecting every violation with its path.
        var errors = new List<string>();
        reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        reader.Read();
        var collecting = new Context(utf8Json, 0, errors);
        _ = Evaluate(ref reader, _root, ref collecting, string.Empty);
        if (errors.Count == 0)
        {
            errors.Add("#/: NotValid"); // not expected: both passes apply the same rules
        }

        return errors;
    }

    /// <summary>Validates the value the reader is on against a schema.</summary>
    /// <remarks>
    /// Quiet (no error list), it returns false at the first violation, leaving the reader anywhere: callers that go on
    /// after a failure read copies. Collecting, it reads the whole value, leaving the reader on its last token.
    /// </remarks>
    private static bool Evaluate(ref Utf8JsonReader reader, SchemaNode node, ref Context context, string? path)
    {
        if (node.Constant is { } constant)
        {
            if (!constant)
            {
                context.Report(path, "FalseSchema");
            }

            reader.Skip();
            return constant;
        }

        var token = reader.TokenType;
        if (token == JsonTokenType.Null && node.NullableExtension)
        {
            return true;
        }

        if (node.RefOnly)
        {
            return Evaluate(ref reader, node.Ref!, ref context, path);
        }

        var collecting = context.Errors is not null;
        var valid = true;
        if (node.HasApplicators && !Applicators(reader, node, ref context, path))
        {
            if (!collecting)
            {
                return false;
            }

            valid = false;
        }

        if (node.Types != JsonTypes.None && !HasType(ref reader, node))
        {
            if (!collecting)
            {
                return false;
            }

            context.Report(path, TypeError(node.Types));
            valid = false;
        }

        if (node.Enum is not null && !InEnum(ref reader, node))
        {
            if (!collecting)
            {
                return false;
            }

            context.Report(path, "NotInEnumeration");
            valid = false;
        }

        if (node.Const is { } expected && !JsonValues.EqualsElement(reader, expected))
        {
            if (!collecting)
            {
                return false;
            }

            context.Report(path, "NotConst");
            valid = false;
        }

        switch (token)
        {
            case JsonTokenType.StartObject:
                if (node.HasObjectKeywords)
                {
                    return ValidateObject(ref reader, node, ref context, path) && valid;
                }

                reader.Skip();
                return valid;
            case JsonTokenType.StartArray:
                if (node.HasArrayKeywords)
                {
                    return ValidateArray(ref reader, node, ref context, path) && valid;
                }

                reader.Skip();
                return valid;
            case JsonTokenType.String:
                return (!node.HasStringKeywords || ValidateString(ref reader, node, ref context, path)) && valid;
            case JsonTokenType.Number:
                return (!node.HasNumberKeywords || ValidateNumber(ref reader, node, ref context, path)) && valid;
            default:
                return valid;
        }
    }

    /// <summary>The keywords that apply other schemas to the same value, each on a copy of the reader.</summary>
    private static bool Applicators(Utf8JsonReader start, SchemaNode node, ref Context context, string? path)
    {
        var valid = true;
        var quiet = context.Quiet();
        if (node.Ref is { } reference)
        {
            var copy = start;
            valid &= Evaluate(ref copy, reference, ref context, path);
            if (!valid && !context.Collecting)
            {
                return false;
            }
        }

        if (node.AllOf is { } allOf)
        {
            foreach (var schema in allOf)
            {
                var copy = start;
                if (!Evaluate(ref copy, schema, ref context, path))
                {
                    if (!context.Collecting)
                    {
                        return false;
                    }

                    valid = false;
                }
            }
        }

        if (node.AnyOf is { } anyOf)
        {
            var any = false;
            foreach (var schema in anyOf)
            {
                var copy = start;
                if (Evaluate(ref copy, schema, ref quiet, null))
                {
                    any = true;
                    break;
                }
            }

            if (!any)
            {
                if (!context.Collecting)
                {
                    return false;
                }

                context.Report(path, "NotAnyOf");
                valid = false;
            }
        }

        if (node.OneOf is { } oneOf)
        {
            var matches = 0;
            foreach (var schema in oneOf)
            {
                var copy = start;
                if (Evaluate(ref copy, schema, ref quiet, null) && ++matches > 1)
                {
                    break;
                }
            }

            if (matches != 1)
            {
                if (!context.Collecting)
                {
                    return false;
                }

                context.Report(path, "NotOneOf");
                valid = false;
            }
        }

        if (node.Not is { } not)
        {
            var copy = start;
            if (Evaluate(ref copy, not, ref quiet, null))
            {
                if (!context.Collecting)
                {
                    return false;
                }

                context.Report(path, "ExcludedSchemaValidates");
                valid = false;
            }
        }

        if (node.DependentSchemas.Length > 0 && start.TokenType == JsonTokenType.StartObject)
        {
            foreach (var (trigger, schema) in node.DependentSchemas)
            {
                if (HasProperty(start, node.TrackedNames[trigger]))
                {
                    var copy = start;
                    if (!Evaluate(ref copy, schema, ref context, path))
                    {
                        if (!context.Collecting)
                        {
                            return false;
                        }

                        valid = false;
                    }
                }
            }
        }

        if (node.If is { } condition)
        {
            var copy = start;
            var branch = Evaluate(ref copy, condition, ref quiet, null) ? node.Then : node.Else;
            if (branch is not null)
            {
                copy = start;
                if (!Evaluate(ref copy, branch, ref context, path))
                {
                    valid = false;
                }
            }
        }

        return valid;
    }

    /// <summary>Whether the object the reader is on has a property (a copy of the reader is moved).</summary>
    private static bool HasProperty(Utf8JsonReader reader, string name)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.ValueTextEquals(name))
            {
                return true;
            }

            reader.Read();
            reader.Skip();
        }

        return false;
    }

    private static bool HasType(ref Utf8JsonReader reader, SchemaNode node)
    {
        var types = node.Types;
        return reader.TokenType switch
        {
            JsonTokenType.StartObject => (types & JsonTypes.Object) != 0,
            JsonTokenType.StartArray => (types & JsonTypes.Array) != 0,
            JsonTokenType.String => (types & JsonTypes.String) != 0,
            JsonTokenType.True or JsonTokenType.False => (types & JsonTypes.Boolean) != 0,
            JsonTokenType.Null => (types & JsonTypes.Null) != 0,
            JsonTokenType.Number => (types & JsonTypes.Number) != 0 || ((types & JsonTypes.Integer) != 0 && JsonValues.IsInteger(ref reader, node.LexicalIntegers)),
            _ => false,
        };
    }

    private static string TypeError(JsonTypes types) => types switch
    {
        JsonTypes.String => "StringExpected",
        JsonTypes.Number => "NumberExpected",
        JsonTypes.Integer => "IntegerExpected",
        JsonTypes.Boolean => "BooleanExpected",
        JsonTypes.Object => "ObjectExpected",
        JsonTypes.Array => "ArrayExpected",
        JsonTypes.Null => "NullExpected",
        _ => "NoTypeValidates",
    };

    private static bool InEnum(ref Utf8JsonReader reader, SchemaNode node)
    {
        if (node.EnumStrings is { } strings)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            foreach (var candidate in strings)
            {
                if (reader.ValueTextEquals(candidate))
                {
                    return true;
                }
            }

            return false;
        }

        foreach (var candidate in node.Enum!)
        {
            if (JsonValues.EqualsElement(reader, candidate))
            {
                return true;
            }
        }

        return false;
    }

    private static bool ValidateNumber(ref Utf8JsonReader reader, SchemaNode node, ref Context context, string? path)
    {
        var number = JsonValues.Number(ref reader);
        if (!number.IsDecimal && !double.IsFinite(number.Double))
        {
            // As NJsonSchema gave up on such numbers: a bound cannot be judged on infinity.
            throw new OverflowException($"A number of {reader.ValueSpan.Length} characters is beyond the range of a double and cannot be compared with the schema's bounds.");
        }

        var valid = true;
        if ((node.Minimum is { } min && number.CompareTo(min) < 0) || (node.ExclusiveMinimum is { } exclusiveMin && number.CompareTo(exclusiveMin) <= 0))
        {
            if (!context.Collecting)
            {
                return false;
            }

            context.Report(path, "NumberTooSmall");
            valid = false;
        }

        if ((node.Maximum is { } max && number.CompareTo(max) > 0) || (node.ExclusiveMaximum is { } exclusiveMax && number.CompareTo(exclusiveMax) >= 0))
        {
            if (!context.Collecting)
            {
                return false;
            }

            context.Report(path, "NumberTooBig");
            valid = false;
        }

        if (node.MultipleOf is { } divisor && !number.IsMultipleOf(divisor))
        {
            context.Report(path, "NumberNotMultipleOf");
            valid = false;
        }

        return valid;
    }

    private static bool ValidateString(ref Utf8JsonReader reader, SchemaNode node, ref Context context, string? path)
    {
        var raw = reader.ValueSpan;
        byte[]? rentedBytes = null;
        char[]? rentedChars = null;
        try
        {
            Span<byte> bytes = !reader.ValueIsEscaped ? default : raw.Length <= JsonValues.StackLimit ? stackalloc byte[JsonValues.StackLimit] : (rentedBytes = ArrayPool<byte>.Shared.Rent(raw.Length));
            ReadOnlySpan<byte> text = reader.ValueIsEscaped ? bytes[..reader.CopyString(bytes)] : raw;
            var valid = true;
            if (node.MinLength >= 0 || node.MaxLength >= 0)
            {
                var length = JsonValues.CodePoints(text);
                if (length < node.MinLength)
                {
                    if (!context.Collecting)
                    {
                        return false;
                    }

                    context.Report(path, "StringTooShort");
                    valid = false;
                }

                if (node.MaxLength >= 0 && length > node.MaxLength)
                {
                    if (!context.Collecting)
                    {
                        return false;
                    }

                    context.Report(path, "StringTooLong");
                    valid = false;
                }
            }

            if (node.Pattern is null && node.Format == StringFormat.None)
            {
                return valid;
            }

            Span<char> chars = text.Length <= JsonValues.StackLimit ? stackalloc char[JsonValues.StackLimit] : (rentedChars = ArrayPool<char>.Shared.Rent(text.Length));
            var value = chars[..Encoding.UTF8.GetChars(text, chars)];
            if (node.Pattern is { } pattern && !pattern.IsMatch(value))
            {
                if (!context.Collecting)
                {
                    return false;
                }

                context.Report(path, "PatternMismatch");
                valid = false;
            }

            if (node.Format != StringFormat.None && !JsonFormats.IsValid(node.Format, value))
            {
                context.Report(path, JsonFormats.ErrorKind(node.Format));
                valid = false;
            }

            return valid;
        }
        finally
        {
            if (rentedBytes is not null)
            {
                ArrayPool<byte>.Shared.Return(rentedBytes);
            }

            if (rentedChars is not null)
            {
                ArrayPool<char>.Shared.Return(rentedChars);
            }
        }
    }

    private static bool ValidateArray(ref Utf8JsonReader reader, SchemaNode node, ref Context context, string? path)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        var collecting = context.Collecting;
        var quiet = context.Quiet();
        var prefix = node.Prefix;
        var valid = true;
        var count = 0;
        var contained = 0;
        int[]? hashes = null;
        long[]? starts = null;
        try
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (node.UniqueItems)
                {
                    if (hashes is null || count == hashes.Length)
                    {
                        Grow(ref hashes, ref starts, count);
                    }

                    starts![count] = context.Base + reader.TokenStartIndex;
                    var copy = reader;
                    hashes![count] = JsonValues.Hash(ref copy);
                }

                if (node.Contains is { } contains)
                {
                    var copy = reader;
                    if (Evaluate(ref copy, contains, ref quiet, null))
                    {
                        contained++;
                    }
                }

                var schema = count < prefix.Length ? prefix[count] : node.RestItems;
                if (schema is null)
                {
                    reader.Skip();
                }
                else if (schema.Constant == false && node.RestIsAdditional && count >= prefix.Length)
                {
                    if (!collecting)
                    {
                        return false;
                    }

                    context.Report(Item(path, count), "TooManyItemsInTuple");
                    reader.Skip();
                    valid = false;
                }
                else if (!Evaluate(ref reader, schema, ref context, collecting ? Item(path, count) : null))
                {
                    if (!collecting)
                    {
                        return false;
                    }

                    valid = false;
                }

                count++;
            }

            if (node.MinItems >= 0 && count < node.MinItems)
            {
                valid = Fail(ref context, path, "TooFewItems");
            }

            if (node.MaxItems >= 0 && count > node.MaxItems)
            {
                valid = Fail(ref context, path, "TooManyItems");
            }

            if (node.Contains is not null && (contained < node.MinContains || (node.MaxContains >= 0 && contained > node.MaxContains)))
            {
                valid = Fail(ref context, path, contained < node.MinContains ? "TooFewContained" : "TooManyContained");
            }

            if (node.UniqueItems && count > 1 && !Unique(hashes!, starts!, count, context.Document))
            {
                valid = Fail(ref context, path, "ItemsNotUnique");
            }

            return valid;
        }
        finally
        {
            if (hashes is not null)
            {
                ArrayPool<int>.Shared.Return(hashes);
                ArrayPool<long>.Shared.Return(starts!);
            }
        }
    }

    private static void Grow(ref int[]? hashes, ref long[]? starts, int count)
    {
        var hashesNext = ArrayPool<int>.Shared.Rent(Math.Max(16, count * 2));
        var startsNext = ArrayPool<long>.Shared.Rent(Math.Max(16, count * 2));
        if (hashes is not null)
        {
            hashes.AsSpan(0, count).CopyTo(hashesNext);
            starts.AsSpan(0, count).CopyTo(startsNext);
            ArrayPool<int>.Shared.Return(hashes);
            ArrayPool<long>.Shared.Return(starts!);
        }

        hashes = hashesNext;
        starts = startsNext;
    }

    /// <summary>Whether no two items are equal: sorted by hash, only items of the same hash are compared.</summary>
    private static bool Unique(int[] hashes, long[] starts, int count, ReadOnlySpan<byte> document)
    {
        System.Array.Sort(hashes, starts, 0, count);
        for (var i = 0; i < count; i++)
        {
            for (var j = i + 1; j < count && hashes[j] == hashes[i]; j++)
            {
                var a = new Utf8JsonReader(document[(int)starts[i]..], ReaderOptions);
                var b = new Utf8JsonReader(document[(int)starts[j]..], ReaderOptions);
                a.Read();
                b.Read();
                if (JsonValues.EqualsValue(a, b))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool ValidateObject(ref Utf8JsonReader reader, SchemaNode node, ref Context context, string? path)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        var collecting = context.Collecting;
        var table = node.Properties;
        var trackedCount = node.TrackedNames.Length;
        bool[]? rentedSeen = null;
        Span<bool> seen = trackedCount == 0 ? default : trackedCount <= 64 ? stackalloc bool[64] : (rentedSeen = ArrayPool<bool>.Shared.Rent(trackedCount));
        if (rentedSeen is not null)
        {
            seen[..trackedCount].Clear(); // stack memory starts cleared
        }
        try
        {
            var valid = true;
            var count = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                count++;
                if (!ValidateProperty(ref reader, node, table, seen, ref context, path))
                {
                    if (!collecting)
                    {
                        return false;
                    }

                    valid = false;
                }
            }

            foreach (var required in node.Required)
            {
                if (!seen[required])
                {
                    if (!collecting)
                    {
                        return false;
                    }

                    context.Report(Child(path, node.TrackedNames[required]), "PropertyRequired");
                    valid = false;
                }
            }

            if (node.MinProperties >= 0 && count < node.MinProperties)
            {
                valid = Fail(ref context, path, "TooFewProperties");
            }

            if (node.MaxProperties >= 0 && count > node.MaxProperties)
            {
                valid = Fail(ref context, path, "TooManyProperties");
            }

            foreach (var (trigger, needed) in node.DependentRequired)
            {
                if (seen[trigger])
                {
                    foreach (var name in needed)
                    {
                        if (!seen[name])
                        {
                            valid = Fail(ref context, Child(path, node.TrackedNames[name]), "PropertyRequired");
                        }
                    }
                }
            }

            return valid;
        }
        finally
        {
            if (rentedSeen is not null)
            {
                ArrayPool<bool>.Shared.Return(rentedSeen);
            }
        }
    }

    /// <summary>One property: the reader is on its name and ends on the last token of its value.</summary>
    private static bool ValidateProperty(ref Utf8JsonReader reader, SchemaNode node, PropertyTable? table, scoped Span<bool> seen, ref Context context, string? path)
    {
        if (node.PropertyNames is not null || node.PatternProperties.Length > 0 || reader.ValueIsEscaped || context.Collecting)
        {
            return ValidatePropertyInFull(ref reader, node, table, seen, ref context, path);
        }

        // The common case, with few locals: a plain name, declared or additional.
        SchemaNode? declared = null;
        if (table is not null)
        {
            var entry = table.Find(reader.ValueSpan);
            if (entry >= 0)
            {
                declared = table.Schema(entry);
                if (table.Tracked(entry) is var tracked and >= 0)
                {
                    seen[tracked] = true;
                }
            }
        }

        reader.Read();
        var schema = declared ?? node.AdditionalProperties;
        if (schema is null)
        {
            reader.Skip();
            return true;
        }

        return (declared is not null || schema.Constant != false) && Evaluate(ref reader, schema, ref context, null);
    }

    /// <summary>One property, with everything: an escaped name, propertyNames, patternProperties, error paths.</summary>
    /// <remarks>The rarer parts are methods of their own, so that this one has few locals to clear per call.</remarks>
    private static bool ValidatePropertyInFull(ref Utf8JsonReader reader, SchemaNode node, PropertyTable? table, scoped Span<bool> seen, ref Context context, string? path)
    {
        var collecting = context.Collecting;
        var valid = true;
        var raw = reader.ValueSpan;
        byte[]? rented = null;
        try
        {
            Span<byte> bytes = !reader.ValueIsEscaped ? default : raw.Length <= JsonValues.StackLimit ? stackalloc byte[JsonValues.StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
            ReadOnlySpan<byte> name = reader.ValueIsEscaped ? bytes[..reader.CopyString(bytes)] : raw;
            var childPath = collecting ? Child(path, Encoding.UTF8.GetString(name)) : null;
            if (node.PropertyNames is { } names && !PropertyNameValid(ref reader, names, ref context))
            {
                if (!collecting)
                {
                    return false;
                }

                context.Report(childPath, "PropertyNameNotValid");
                valid = false;
            }

            SchemaNode? declared = null;
            if (table is not null)
            {
                var entry = table.Find(name);
                if (entry >= 0)
                {
                    declared = table.Schema(entry);
                    if (table.Tracked(entry) is var tracked and >= 0)
                    {
                        seen[tracked] = true;
                    }
                }
            }

            // properties, every matching patternProperties, else additionalProperties: all apply to the value.
            var matched = node.PatternProperties.Length > 0 && MatchesAnyPattern(node, name);
            reader.Read();
            if (matched)
            {
                return PatternProperties(ref reader, node, name, declared, ref context, childPath) && valid;
            }

            var schema = declared ?? node.AdditionalProperties;
            if (schema is null)
            {
                reader.Skip();
                return valid;
            }

            if (declared is null && schema.Constant == false)
            {
                if (!collecting)
                {
                    return false;
                }

                context.Report(childPath, "NoAdditionalPropertiesAllowed");
                reader.Skip();
                return false;
            }

            return Evaluate(ref reader, schema, ref context, childPath) && valid;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Checks a property name against <c>propertyNames</c>, reading its raw token (quotes included) as a JSON string.</summary>
    private static bool PropertyNameValid(ref Utf8JsonReader reader, SchemaNode names, ref Context context)
    {
        var at = context.Base + reader.TokenStartIndex;
        var nameReader = new Utf8JsonReader(context.Document.Slice((int)at, reader.ValueSpan.Length + 2), ReaderOptions);
        nameReader.Read();
        var nameContext = new Context(context.Document, at, null);
        return Evaluate(ref nameReader, names, ref nameContext, null);
    }

    private static bool MatchesAnyPattern(SchemaNode node, ReadOnlySpan<byte> name)
    {
        char[]? rented = null;
        Span<char> chars = name.Length <= JsonValues.StackLimit ? stackalloc char[JsonValues.StackLimit] : (rented = ArrayPool<char>.Shared.Rent(name.Length));
        try
        {
            chars = chars[..Encoding.UTF8.GetChars(name, chars)];
            foreach (var (pattern, _) in node.PatternProperties)
            {
                if (pattern.IsMatch(chars))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>A value whose name matches a pattern: its declared schema and every matching pattern's apply (the reader is on the value).</summary>
    private static bool PatternProperties(ref Utf8JsonReader reader, SchemaNode node, scoped ReadOnlySpan<byte> name, SchemaNode? declared, ref Context context, string? childPath)
    {
        char[]? rented = null;
        Span<char> chars = name.Length <= JsonValues.StackLimit ? stackalloc char[JsonValues.StackLimit] : (rented = ArrayPool<char>.Shared.Rent(name.Length));
        try
        {
            chars = chars[..Encoding.UTF8.GetChars(name, chars)];
            var valid = true;
            var value = reader;
            if (declared is not null && !Evaluate(ref reader, declared, ref context, childPath))
            {
                if (!context.Collecting)
                {
                    return false;
                }

                valid = false;
            }

            var consumed = declared is not null;
            foreach (var (pattern, schema) in node.PatternProperties)
            {
                if (!pattern.IsMatch(chars))
                {
                    continue;
                }

                var copy = value;
                if (!Evaluate(ref copy, schema, ref context, childPath))
                {
                    if (!context.Collecting)
                    {
                        return false;
                    }

                    valid = false;
                }

                if (!consumed)
                {
                    reader = copy;
                    consumed = true;
                }
            }

            return valid;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static bool Fail(ref Context context, string? path, string kind)
    {
        context.Report(path, kind);
        return false;
    }

    private static string? Child(string? path, string name)
    {
        if (path is null)
        {
            return null;
        }

        var plain = name.Length > 0 && name.All(c => char.IsLetterOrDigit(c) || c is '_' or '$' or '-');
        var segment = plain ? name : $"['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";
        return path.Length == 0 ? segment : plain ? $"{path}.{segment}" : path + segment;
    }

    private static string? Item(string? path, int index) =>
        path is null ? null : $"{path}[{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}]";

    /// <summary>The document, where the reader's bytes start in it, and the error list when collecting.</summary>
    private readonly ref struct Context(ReadOnlySpan<byte> document, long @base, List<string>? errors)
    {
        public ReadOnlySpan<byte> Document { get; } = document;

        public long Base { get; } = @base;

        public List<string>? Errors { get; } = errors;

        public bool Collecting => Errors is not null;

        public Context Quiet() => new(Document, Base, null);

        public void Report(string? path, string kind) => Errors?.Add($"#/{path}: {kind}");
    }
}

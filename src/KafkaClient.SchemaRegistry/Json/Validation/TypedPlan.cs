using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace KafkaClient.SchemaRegistry.Json.Validation;

/// <summary>The plan cannot prove or check this part of a (type, schema) pair from the value: the JSON is validated instead.</summary>
internal sealed class NotProvableException : Exception
{
    public NotProvableException(string message)
        : base(message)
    {
    }

    public NotProvableException()
    {
    }

    public NotProvableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Derives, once per (type, schema) pair, the checks a value needs beyond what its .NET type already guarantees.</summary>
/// <remarks>
/// <para>
/// From System.Text.Json's metadata of <c>T</c> (the serializer's own options: names, ignore conditions, converters) and the
/// compiled schema, each property is either proven (a <see cref="string"/> against <c>"type":"string"</c>, an <see cref="int"/>
/// against <c>"type":"integer"</c>, a property System.Text.Json always writes against <c>required</c>, a <see cref="Guid"/> against
/// <c>"format":"uuid"</c>, a <see cref="DateTimeOffset"/> against <c>"format":"date-time"</c>) or checked on the value per message
/// (bounds, lengths, patterns, formats, string enums, nulls, array sizes); enums and booleans, having few values, get each
/// value's verdict from the JSON validator itself, once.
/// </para>
/// <para>
/// Anything the plan cannot account for makes the whole pair fall back to validating the JSON: options that change what is
/// written (a reference handler, number handling that writes strings, ignored read-only properties, resolver modifiers),
/// custom converters, polymorphism, serialization callbacks, extension data, <c>object</c>, <see cref="JsonElement"/> and
/// dictionary members under a non-trivial subschema, struct owners, getters that are not auto-properties (a computed getter
/// may return something else the second time), <c>allOf</c>/<c>anyOf</c>/<c>oneOf</c>/<c>not</c>/<c>if</c>, dependencies,
/// <c>patternProperties</c>, <c>propertyNames</c>, property counts, tuples, <c>contains</c>, and recursion through <c>$ref</c>.
/// </para>
/// </remarks>
internal sealed class TypedPlan
{
    private const int MaxChecks = 4096;

    private static readonly Dictionary<Type, JsonConverter> BuiltIn = new()
    {
        [typeof(string)] = JsonMetadataServices.StringConverter,
        [typeof(bool)] = JsonMetadataServices.BooleanConverter,
        [typeof(byte)] = JsonMetadataServices.ByteConverter,
        [typeof(sbyte)] = JsonMetadataServices.SByteConverter,
        [typeof(short)] = JsonMetadataServices.Int16Converter,
        [typeof(ushort)] = JsonMetadataServices.UInt16Converter,
        [typeof(int)] = JsonMetadataServices.Int32Converter,
        [typeof(uint)] = JsonMetadataServices.UInt32Converter,
        [typeof(long)] = JsonMetadataServices.Int64Converter,
        [typeof(ulong)] = JsonMetadataServices.UInt64Converter,
        [typeof(decimal)] = JsonMetadataServices.DecimalConverter,
        [typeof(double)] = JsonMetadataServices.DoubleConverter,
        [typeof(float)] = JsonMetadataServices.SingleConverter,
        [typeof(Guid)] = JsonMetadataServices.GuidConverter,
        [typeof(DateTime)] = JsonMetadataServices.DateTimeConverter,
        [typeof(DateTimeOffset)] = JsonMetadataServices.DateTimeOffsetConverter,
        [typeof(DateOnly)] = JsonMetadataServices.DateOnlyConverter,
        [typeof(TimeOnly)] = JsonMetadataServices.TimeOnlyConverter,
        [typeof(byte[])] = JsonMetadataServices.ByteArrayConverter,
    };

    /// <summary>The formats System.Text.Json's text for a date or time type always satisfies (<see cref="JsonFormats"/>, checked by the tests).</summary>
    private static readonly Dictionary<Type, StringFormat[]> ProvenFormats = new()
    {
        [typeof(DateTimeOffset)] = [StringFormat.DateTime],
        [typeof(DateTime)] = [StringFormat.DateTime],
        [typeof(DateOnly)] = [StringFormat.Date, StringFormat.DateTime],
        [typeof(TimeOnly)] = [StringFormat.Time],
    };

    private readonly JsonSerializerOptions _options;
    private readonly Dictionary<(Type, JsonConverter, SchemaNode), object> _built = [];
    private readonly HashSet<(Type, SchemaNode)> _building = [];
    private readonly List<string> _proven = [];
    private readonly List<string> _checked = [];
    private int _count;

    private TypedPlan(JsonSerializerOptions options)
    {
        _options = options;
    }

    /// <summary>Makes the check of values of <typeparamref name="T"/> against a compiled schema, or says why it cannot.</summary>
    /// <typeparam name="T">The serializer's value type.</typeparam>
    /// <param name="root">The compiled schema.</param>
    /// <param name="options">The options the serializer writes with.</param>
    /// <param name="proven">What the type guarantees, one line per property.</param>
    /// <param name="perMessage">What is checked on each value, one line per property.</param>
    /// <returns>The check of a whole value.</returns>
    /// <exception cref="NotProvableException">Some part of the pair cannot be accounted for from the value.</exception>
    public static ValueCheck<object?> Create<T>(SchemaNode root, JsonSerializerOptions options, out IReadOnlyList<string> proven, out IReadOnlyList<string> perMessage)
    {
        if (typeof(T).IsValueType)
        {
            throw new NotProvableException($"{typeof(T).Name} is a value type (checking it would box it).");
        }

        if (!options.IsReadOnly)
        {
            options.MakeReadOnly(populateMissingResolver: true); // as the first serialization does: the metadata cannot change after the plan
        }

        CheckOptions(options);

        var plan = new TypedPlan(options);
        var info = plan.TypeInfo(typeof(T));
        var check = plan.Reference(typeof(T), info.Converter, root, "#");
        proven = plan._proven;
        perMessage = plan._checked;
        return check;
    }

    private static void CheckOptions(JsonSerializerOptions options)
    {
        if (options.ReferenceHandler is not null)
        {
            throw new NotProvableException("A reference handler writes metadata or nulls in place of values.");
        }

        if (options.DefaultIgnoreCondition is not (JsonIgnoreCondition.Never or JsonIgnoreCondition.WhenWritingNull or JsonIgnoreCondition.WhenWritingDefault))
        {
            throw new NotProvableException($"The default ignore condition {options.DefaultIgnoreCondition} is not accounted for.");
        }

#pragma warning disable SYSLIB0020 // IgnoreNullValues is obsolete, but still honoured by the serializer
        if (options.IgnoreReadOnlyProperties || options.IgnoreReadOnlyFields || options.IgnoreNullValues)
#pragma warning restore SYSLIB0020
        {
            throw new NotProvableException("Ignoring read-only members or nulls is not visible in the metadata.");
        }

        CheckNumberHandling(options.NumberHandling, "the options");
        var chain = options.TypeInfoResolverChain;
        if (chain.Count == 0 && options.TypeInfoResolver is not null)
        {
            throw new NotProvableException("The type info resolver is not System.Text.Json's.");
        }

        foreach (var resolver in chain)
        {
            // Source-generated contexts and the reflection resolver without modifiers: their getters read the members they name.
            if (resolver is not JsonSerializerContext && !(resolver.GetType() == typeof(DefaultJsonTypeInfoResolver) && ((DefaultJsonTypeInfoResolver)resolver).Modifiers.Count == 0))
            {
                throw new NotProvableException($"The type info resolver {resolver.GetType().Name} may change the metadata.");
            }
        }

        if (options.TypeInfoResolver is { } top && top is not JsonSerializerContext && top.GetType() != typeof(DefaultJsonTypeInfoResolver)
            && !(top.GetType().Assembly == typeof(JsonSerializer).Assembly && top.GetType().Name == "JsonTypeInfoResolverChain"))
        {
            throw new NotProvableException($"The type info resolver {top.GetType().Name} may change the metadata.");
        }
    }

    private static void CheckNumberHandling(JsonNumberHandling? handling, string where)
    {
        if (handling is { } h && (h & (JsonNumberHandling.WriteAsString | JsonNumberHandling.AllowNamedFloatingPointLiterals)) != 0)
        {
            throw new NotProvableException($"The number handling of {where} writes numbers as strings.");
        }
    }

    private JsonTypeInfo TypeInfo(Type type)
    {
        try
        {
            return _options.GetTypeInfo(type);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new NotProvableException($"No metadata for {type.Name}: {ex.Message}", ex);
        }
    }

    /// <summary>The check of a value of a reference type (or of any type held as <see cref="object"/>).</summary>
    private ValueCheck<object?> Reference(Type type, JsonConverter converter, SchemaNode node, string path) =>
        (ValueCheck<object?>)Value(type, converter, node, path);

    /// <summary>The check of a value: a <see cref="ValueCheck{T}"/> of <see cref="object"/> for reference types, of the type itself for value types.</summary>
    private object Value(Type type, JsonConverter converter, SchemaNode node, string path)
    {
        var key = (type, converter, node);
        if (_built.TryGetValue(key, out var existing))
        {
            return existing;
        }

        if (++_count > MaxChecks)
        {
            throw new NotProvableException("The type and schema are too large to plan.");
        }

        RuntimeHelpers.EnsureSufficientExecutionStack();
        var made = Make(type, converter, node, path);
        _built[key] = made;
        return made;
    }

    private object Make(Type type, JsonConverter converter, SchemaNode node, string path)
    {
        var canBeNull = !type.IsValueType || Nullable.GetUnderlyingType(type) is not null;
        var nullAccepted = canBeNull && CompiledJsonValidator.Accepts(node, "null"u8);
        var effective = node;
        while (effective.Constant is null && effective.RefOnly)
        {
            effective = effective.Ref!; // drafts 4 to 7: $ref replaces its siblings (their nullable marker only counts for null)
        }

        if (effective.Constant is { } constant)
        {
            return Constant(type, nullAccepted, constant);
        }

        if (IsEmpty(effective))
        {
            return Constant(type, nullAccepted, true);
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            // The type's own converter only: it writes the value with the underlying type's converter, which a property's converter may not.
            if (!IsStjConverter(converter, "NullableConverter`1") || !ReferenceEquals(converter, TypeInfo(type).Converter))
            {
                throw new NotProvableException($"{path}: {type.Name} is written by {converter.GetType().Name}.");
            }

            var inner = Value(underlying, TypeInfo(underlying).Converter, node, path);
            return Activator.CreateInstance(typeof(NullableCheck<>).MakeGenericType(underlying), inner, nullAccepted)!;
        }

        // Few values: each one's JSON is judged by the validator itself, whatever the subschema.
        if (type == typeof(bool) && ReferenceEquals(converter, BuiltIn[type]))
        {
            bool[] accepted = [.. new[] { true, false }.Where(b => CompiledJsonValidator.Accepts(node, b ? "true"u8 : "false"u8))];
            Note(path, accepted.Length == 2 ? null : $"{accepted.Length} of true and false accepted");
            return accepted.Length == 2 ? Constant(type, false, true) : new FiniteCheck<bool>(accepted);
        }

        if (type.IsEnum)
        {
            return Enum(type, converter, node, path);
        }

        if (effective.HasApplicators)
        {
            throw new NotProvableException($"{path}: allOf, anyOf, oneOf, not, if, a $ref beside other keywords or dependentSchemas.");
        }

        if (BuiltIn.TryGetValue(type, out var builtIn) && ReferenceEquals(builtIn, converter))
        {
            return Primitive(type, effective, nullAccepted, path);
        }

        var info = TypeInfo(type);
        if (!ReferenceEquals(info.Converter, converter))
        {
            throw new NotProvableException($"{path}: {type.Name} is written by the custom converter {converter.GetType().Name}.");
        }

        return info.Kind switch
        {
            JsonTypeInfoKind.Object => Object(info, effective, nullAccepted, path),
            JsonTypeInfoKind.Enumerable => List(info, effective, nullAccepted, path),
            JsonTypeInfoKind.Dictionary when info.PolymorphismOptions is null => KindOnly(type, effective, JsonTypes.Object, nullAccepted, path),
            _ => throw new NotProvableException($"{path}: {type.Name} is written by {converter.GetType().Name}, whose JSON is not known in advance."),
        };
    }

    private static object Constant(Type type, bool nullAccepted, bool valueAccepted) =>
        Activator.CreateInstance(typeof(ConstantCheck<>).MakeGenericType(type.IsValueType ? type : typeof(object)), nullAccepted, valueAccepted)!;

    /// <summary>Whether a subschema constrains nothing (<c>{}</c>, annotations only).</summary>
    private static bool IsEmpty(SchemaNode node) =>
        node.Types == JsonTypes.None && node.Enum is null && node.Const is null && !node.HasApplicators && !node.HasObjectKeywords
        && !node.HasArrayKeywords && !node.HasStringKeywords && !node.HasNumberKeywords;

    private static bool Allows(SchemaNode node, JsonTypes kind) => node.Types == JsonTypes.None || (node.Types & kind) != 0;

    private static bool IsStjConverter(JsonConverter converter, string genericName)
    {
        var type = converter.GetType();
        return type.Assembly == typeof(JsonSerializer).Assembly && type.IsGenericType && type.GetGenericTypeDefinition().Name == genericName;
    }

    private object Enum(Type type, JsonConverter converter, SchemaNode node, string path)
    {
        if (!IsStjConverter(converter, "EnumConverter`1"))
        {
            throw new NotProvableException($"{path}: the enum {type.Name} is written by {converter.GetType().Name}.");
        }

        var method = typeof(TypedPlan).GetMethod(nameof(EnumValues), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type);
        var (check, described) = ((object, string))method.Invoke(null, [converter, _options, node])!;
        _checked.Add($"{path}: {type.Name} value in {described}");
        return check;
    }

    private static (object Check, string Described) EnumValues<TEnum>(JsonConverter converter, JsonSerializerOptions options, SchemaNode node)
        where TEnum : struct, System.Enum
    {
        var typed = (JsonConverter<TEnum>)converter;
        var accepted = new List<TEnum>();
        foreach (var value in System.Enum.GetValues<TEnum>().Distinct())
        {
            if (CompiledJsonValidator.Accepts(node, FiniteJson.Write(typed, value, options)))
            {
                accepted.Add(value);
            }
        }

        return (new FiniteCheck<TEnum>([.. accepted]), $"the {accepted.Count} accepted of its {System.Enum.GetValues<TEnum>().Distinct().Count()} named values");
    }

    private object Primitive(Type type, SchemaNode node, bool nullAccepted, string path)
    {
        if (type == typeof(string))
        {
            if (!Allows(node, JsonTypes.String))
            {
                return Constant(type, nullAccepted, false);
            }

            var check = new StringCheck(node, nullAccepted);
            Note(path, check.AcceptsAnyString ? (nullAccepted ? null : "not null") : Describe(node, nullAccepted));
            return check.AcceptsAnyString ? Constant(type, nullAccepted, true) : check;
        }

        if (type == typeof(Guid))
        {
            if (!Allows(node, JsonTypes.String))
            {
                return Constant(type, false, false);
            }

            RefuseEnum(node, path, type);
            var lengthOk = node.MinLength <= 36 && (node.MaxLength < 0 || node.MaxLength >= 36);
            var format = node.Format == StringFormat.Uuid ? StringFormat.None : node.Format;
            if (!lengthOk || (node.Pattern is null && format == StringFormat.None))
            {
                Note(path, lengthOk ? null : "refused (36 characters)");
                return Constant(type, false, lengthOk);
            }

            Note(path, Describe(node, true));
            return new GuidCheck(node.Pattern, format);
        }

        if (ProvenFormats.TryGetValue(type, out var proven))
        {
            if (!Allows(node, JsonTypes.String))
            {
                return Constant(type, false, false);
            }

            RefuseEnum(node, path, type);
            if (node.MinLength >= 0 || node.MaxLength >= 0 || node.Pattern is not null || (node.Format != StringFormat.None && !proven.Contains(node.Format)))
            {
                throw new NotProvableException($"{path}: a length, pattern or format of a {type.Name} is not proven.");
            }

            Note(path, null);
            return Constant(type, false, true);
        }

        if (type == typeof(byte[]))
        {
            return KindOnly(type, node, JsonTypes.String, nullAccepted, path);
        }

        var rules = new NumberRules(node);
        var integral = type != typeof(double) && type != typeof(float) && type != typeof(decimal);
        if (rules.AcceptsAll || (integral && rules.IntegersHaveType && node.Enum is null && node.Const is null && !node.HasNumberKeywords))
        {
            Note(path, null);
            return Constant(type, false, true);
        }

        Note(path, Describe(node, true, integral));

        if (type == typeof(decimal))
        {
            return new DecimalCheck(rules);
        }

        if (type == typeof(double))
        {
            return new DoubleCheck(rules);
        }

        if (type == typeof(float))
        {
            return new SingleCheck(rules);
        }

        return Activator.CreateInstance(typeof(IntegerCheck<>).MakeGenericType(type), rules)!;
    }

    /// <summary>A value whose JSON kind is known and nothing else: only a subschema with <c>type</c> alone is accounted for.</summary>
    private object KindOnly(Type type, SchemaNode node, JsonTypes kind, bool nullAccepted, string path)
    {
        if (node.Enum is not null || node.Const is not null || node.HasObjectKeywords || node.HasArrayKeywords || node.HasStringKeywords || node.HasNumberKeywords)
        {
            throw new NotProvableException($"{path}: the content of a {type.Name} is not checked from the value.");
        }

        Note(path, nullAccepted || type.IsValueType ? null : "not null");
        return Constant(type, nullAccepted, Allows(node, kind));
    }

    private static void RefuseEnum(SchemaNode node, string path, Type type)
    {
        if (node.Enum is not null || node.Const is not null)
        {
            throw new NotProvableException($"{path}: enum or const on a {type.Name}.");
        }
    }

    private object Object(JsonTypeInfo info, SchemaNode node, bool nullAccepted, string path)
    {
        var type = info.Type;
        if (type.IsValueType)
        {
            throw new NotProvableException($"{path}: {type.Name} is a struct.");
        }

        if (info.PolymorphismOptions is not null)
        {
            throw new NotProvableException($"{path}: {type.Name} is polymorphic.");
        }

        if (info.OnSerializing is not null || info.OnSerialized is not null)
        {
            throw new NotProvableException($"{path}: {type.Name} has serialization callbacks.");
        }

        CheckNumberHandling(info.NumberHandling, type.Name);
        if (!Allows(node, JsonTypes.Object))
        {
            return Constant(type, nullAccepted, false);
        }

        if (node.Enum is not null || node.Const is not null || node.PatternProperties.Length > 0 || node.PropertyNames is not null
            || node.MinProperties >= 0 || node.MaxProperties >= 0 || node.DependentRequired.Length > 0)
        {
            throw new NotProvableException($"{path}: enum, const, patternProperties, propertyNames, property counts or dependencies on an object.");
        }

        if (!_building.Add((type, node)))
        {
            throw new NotProvableException($"{path}: {type.Name} refers back to itself.");
        }

        try
        {
            var members = new List<MemberCheck>();
            var written = new HashSet<string>(StringComparer.Ordinal);
            var valueAccepted = true;
            foreach (var property in info.Properties)
            {
                if (property.Get is null)
                {
                    continue; // never written
                }

                if (property.IsExtensionData)
                {
                    throw new NotProvableException($"{path}: {type.Name} has extension data.");
                }

                written.Add(property.Name);
                var (member, alwaysFails) = Member(property, node, path);
                if (member is not null)
                {
                    members.Add(member);
                }

                valueAccepted &= !alwaysFails;
            }

            foreach (var required in node.Required)
            {
                var name = node.TrackedNames[required];
                if (!written.Contains(name))
                {
                    Note(Child(path, name), "refused (never written)");
                    valueAccepted = false; // no property of the type writes it
                }
            }

            if (!valueAccepted)
            {
                return Constant(type, nullAccepted, false);
            }

            if (!nullAccepted && path != "#")
            {
                Note(path, "not null");
            }

            return members.Count == 0 && nullAccepted ? Constant(type, true, true) : new ObjectCheck(nullAccepted, [.. members]);
        }
        finally
        {
            _building.Remove((type, node));
        }
    }

    /// <summary>The check of one property: none when it always passes, or when it always fails (then the whole object does).</summary>
    private (MemberCheck? Check, bool AlwaysFails) Member(JsonPropertyInfo property, SchemaNode node, string path)
    {
        var childPath = Child(path, property.Name);
        CheckNumberHandling(property.NumberHandling, childPath);
        var entry = node.Properties?.Find(Encoding.UTF8.GetBytes(property.Name)) ?? -1;
        var declared = entry >= 0 ? node.Properties!.Schema(entry) : null;
        var tracked = entry >= 0 ? node.Properties!.Tracked(entry) : -1;
        var required = tracked >= 0 && node.Required.Contains(tracked);
        var schema = declared ?? node.AdditionalProperties;
        var type = property.PropertyType;

        object check;
        if (schema is null)
        {
            check = Constant(type, true, true);
        }
        else
        {
            var converter = property.CustomConverter ?? TypeInfo(type).Converter;
            if (converter is JsonConverterFactory factory && type.IsEnum)
            {
                converter = factory.CreateConverter(type, _options) ?? throw new NotProvableException($"{childPath}: no converter for {type.Name}.");
            }

            check = Value(type, converter, schema, childPath);
        }

        var constant = ConstantOf(check);

        // When System.Text.Json writes the property: its own ignore condition (a predicate), or the options' default.
        var presence = property.ShouldSerialize is not null ? Presence.Predicate
            : _options.DefaultIgnoreCondition != JsonIgnoreCondition.Never && (!type.IsValueType || Nullable.GetUnderlyingType(type) is not null) ? Presence.UnlessNull
            : Presence.Always;
        var omitDefault = _options.DefaultIgnoreCondition == JsonIgnoreCondition.WhenWritingDefault && type.IsValueType && property.ShouldSerialize is null;
        if (presence == Presence.Always && !omitDefault && constant is { } always)
        {
            if (!always)
            {
                Note(childPath, "refused (always)");
            }
            else if (schema is null)
            {
                Note(childPath, null);
            }

            return (null, !always);
        }

        if (!required && constant == true)
        {
            return (null, false); // present or not, it passes
        }

        var getter = TrustedGetter(property, out var field);
        if (!type.IsValueType)
        {
            if (getter is null && field is null)
            {
                throw new NotProvableException($"{childPath}: the value comes from a getter that is not an auto-property.");
            }

            return (new ReferenceMember(property.Get!, presence, property.ShouldSerialize, required, (ValueCheck<object?>)check), false);
        }

        if (presence == Presence.Predicate)
        {
            throw new NotProvableException($"{childPath}: an ignore condition on a value type (its predicate takes the value boxed).");
        }

        if (getter is null)
        {
            throw new NotProvableException($"{childPath}: the value comes from a field or a getter that is not an auto-property.");
        }

        var ownerType = getter.DeclaringType!;
        var delegateType = typeof(Func<,>).MakeGenericType(ownerType, type);
        var get = Delegate.CreateDelegate(delegateType, getter);
        var member = (MemberCheck)Activator.CreateInstance(
            typeof(ValueMember<,>).MakeGenericType(ownerType, type),
            get,
            omitDefault || presence == Presence.UnlessNull,
            required,
            check)!;
        return (member, false);
    }

    /// <summary>The getter of an auto-property (whose value is the one just written), or the field; null for anything else.</summary>
    private static MethodInfo? TrustedGetter(JsonPropertyInfo property, out FieldInfo? field)
    {
        field = null;
        switch (property.AttributeProvider)
        {
            case PropertyInfo { GetMethod: { } getter } member
                when getter.IsDefined(typeof(CompilerGeneratedAttribute), inherit: false) && !getter.IsStatic && (!getter.IsVirtual || getter.IsFinal)
                    && member.GetIndexParameters().Length == 0 && getter.ReturnType == property.PropertyType && getter.DeclaringType is { IsValueType: false }:
                return getter;
            case FieldInfo { IsStatic: false } member when member.FieldType == property.PropertyType && member.DeclaringType is { IsValueType: false }:
                field = member;
                return null;
            default:
                return null;
        }
    }

    private static bool? ConstantOf(object check) =>
        (bool?)check.GetType().GetProperty(nameof(ValueCheck<object>.Constant))!.GetValue(check);

    private object List(JsonTypeInfo info, SchemaNode node, bool nullAccepted, string path)
    {
        var type = info.Type;
        var element = info.ElementType ?? throw new NotProvableException($"{path}: {type.Name} has no element type.");
        if (info.PolymorphismOptions is not null)
        {
            throw new NotProvableException($"{path}: {type.Name} is polymorphic.");
        }

        CheckNumberHandling(info.NumberHandling, type.Name);
        if (!Allows(node, JsonTypes.Array))
        {
            return Constant(type, nullAccepted, false);
        }

        if (type.IsValueType || !(type.IsAssignableFrom(typeof(List<>).MakeGenericType(element)) || type.IsAssignableFrom(element.MakeArrayType())))
        {
            throw new NotProvableException($"{path}: {type.Name} cannot hold a List or an array.");
        }

        if (node.Enum is not null || node.Const is not null || node.Prefix.Length > 0 || node.Contains is not null)
        {
            throw new NotProvableException($"{path}: enum, const, tuples or contains on an array.");
        }

        if (node.UniqueItems && !(element == typeof(string) || element == typeof(decimal) || (element.IsPrimitive && element != typeof(bool) && element != typeof(char)
            && element != typeof(double) && element != typeof(float) && element != typeof(nint) && element != typeof(nuint))))
        {
            throw new NotProvableException($"{path}: uniqueItems of {element.Name} items.");
        }

        object? items = null;
        if (node.RestItems is { } itemSchema)
        {
            var check = Value(element, TypeInfo(element).Converter, itemSchema, path + "[]");
            if (ConstantOf(check) != true)
            {
                items = element.IsValueType ? check : Activator.CreateInstance(typeof(ReferenceCheck<>).MakeGenericType(element), check);
            }
        }

        if (items is null && node.MinItems < 0 && node.MaxItems < 0 && !node.UniqueItems)
        {
            Note(path, nullAccepted ? null : "not null");
            return Constant(type, nullAccepted, true);
        }

        Note(path, string.Join(", ", new[] { nullAccepted ? null : "not null", node.MinItems >= 0 ? "minItems" : null, node.MaxItems >= 0 ? "maxItems" : null, node.UniqueItems ? "uniqueItems" : null, items is null ? null : "items" }.OfType<string>()));
        return Activator.CreateInstance(typeof(ListCheck<>).MakeGenericType(element), nullAccepted, items, node.MinItems, node.MaxItems, node.UniqueItems)!;
    }

    private void Note(string path, string? perMessage)
    {
        if (perMessage is null)
        {
            _proven.Add(path);
        }
        else
        {
            _checked.Add($"{path}: {perMessage}");
        }
    }

    private static string Describe(SchemaNode node, bool nullAccepted, bool integral = false) => string.Join(", ", new[]
    {
        nullAccepted ? null : "not null",
        node.Enum is not null ? "enum" : null,
        node.Const is not null ? "const" : null,
        node.MinLength >= 0 ? "minLength" : null,
        node.MaxLength >= 0 ? "maxLength" : null,
        node.Pattern is not null ? "pattern" : null,
        node.Format != StringFormat.None ? $"format {node.Format}" : null,
        node.Minimum is not null ? "minimum" : null,
        node.ExclusiveMinimum is not null ? "exclusiveMinimum" : null,
        node.Maximum is not null ? "maximum" : null,
        node.ExclusiveMaximum is not null ? "exclusiveMaximum" : null,
        node.MultipleOf is not null ? "multipleOf" : null,
        !integral && node.Types != JsonTypes.None && (node.Types & JsonTypes.Number) == 0 && (node.Types & JsonTypes.Integer) != 0 ? "integer" : null,
    }.OfType<string>());

    private static string Child(string path, string name) => path == "#" ? "#/" + name : path + "." + name;
}

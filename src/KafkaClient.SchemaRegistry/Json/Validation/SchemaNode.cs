using System.Text.Json;
using System.Text.RegularExpressions;

namespace KafkaClient.SchemaRegistry.Json.Validation;

/// <summary>The JSON types a <c>type</c> keyword allows, as flags.</summary>
[Flags]
internal enum JsonTypes
{
    None = 0,
    Null = 1,
    Boolean = 2,
    Object = 4,
    Array = 8,
    Number = 16,
    Integer = 32,
    String = 64,
}

/// <summary>The string formats checked, with the acceptance NJsonSchema gives them (others are annotations).</summary>
internal enum StringFormat
{
    None,
    DateTime,
    Date,
    Time,
    TimeSpan,
    Email,
    Hostname,
    IpV4,
    IpV6,
    Uri,
    Uuid,
    Base64,
}

/// <summary>A numeric bound of a schema, exact as a decimal where the schema's literal fits one.</summary>
internal readonly record struct NumberLimit(decimal Decimal, bool IsDecimal, double Double);

/// <summary>One schema (or subschema) compiled for validation: each keyword parsed once, references linked.</summary>
/// <remarks>Immutable after compilation; a graph, not a tree, where <c>$ref</c> points back up.</remarks>
internal sealed class SchemaNode
{
    /// <summary>Gets or sets the verdict of a boolean schema (<c>true</c>, <c>false</c>), or null for an object schema.</summary>
    public bool? Constant { get; set; }

    /// <summary>Gets or sets the allowed types; <see cref="JsonTypes.None"/> allows any.</summary>
    public JsonTypes Types { get; set; }

    /// <summary>Gets or sets a value indicating whether a number needs no fraction or exponent to be an integer (draft 4), rather than a zero fraction (draft 6 on).</summary>
    public bool LexicalIntegers { get; set; }

    /// <summary>Gets or sets a value indicating whether null is valid whatever else the schema says (<c>nullable</c> / <c>x-nullable</c>, as NJsonSchema honours them).</summary>
    public bool NullableExtension { get; set; }

    /// <summary>Gets or sets the target of <c>$ref</c>.</summary>
    public SchemaNode? Ref { get; set; }

    /// <summary>Gets or sets a value indicating whether <c>$ref</c> replaces its siblings (drafts 4 to 7) rather than applying beside them.</summary>
    public bool RefOnly { get; set; }

    public SchemaNode[]? AllOf { get; set; }

    public SchemaNode[]? AnyOf { get; set; }

    public SchemaNode[]? OneOf { get; set; }

    public SchemaNode? Not { get; set; }

    public SchemaNode? If { get; set; }

    public SchemaNode? Then { get; set; }

    public SchemaNode? Else { get; set; }

    /// <summary>Gets or sets the <c>enum</c> values.</summary>
    public JsonElement[]? Enum { get; set; }

    /// <summary>Gets or sets the <c>enum</c> values as UTF-8 when every one is a string (the fast path), else null.</summary>
    public byte[][]? EnumStrings { get; set; }

    /// <summary>Gets or sets the <c>const</c> value, if any.</summary>
    public JsonElement? Const { get; set; }

    // numbers
    public NumberLimit? Minimum { get; set; }

    public NumberLimit? Maximum { get; set; }

    public NumberLimit? ExclusiveMinimum { get; set; }

    public NumberLimit? ExclusiveMaximum { get; set; }

    public NumberLimit? MultipleOf { get; set; }

    // strings
    public long MinLength { get; set; } = -1;

    public long MaxLength { get; set; } = -1;

    public Regex? Pattern { get; set; }

    public StringFormat Format { get; set; }

    // arrays
    public SchemaNode[] Prefix { get; set; } = [];

    /// <summary>Gets or sets the schema of the items after <see cref="Prefix"/> (<c>items</c>, or <c>additionalItems</c> after a tuple), or null for any.</summary>
    public SchemaNode? RestItems { get; set; }

    /// <summary>Gets or sets a value indicating whether <see cref="RestItems"/> came from <c>additionalItems</c> (for the error's name).</summary>
    public bool RestIsAdditional { get; set; }

    public SchemaNode? Contains { get; set; }

    public long MinContains { get; set; } = 1;

    public long MaxContains { get; set; } = -1;

    public long MinItems { get; set; } = -1;

    public long MaxItems { get; set; } = -1;

    public bool UniqueItems { get; set; }

    // objects
    public PropertyTable? Properties { get; set; }

    /// <summary>Gets or sets the tracked indexes (see <see cref="PropertyTable"/>) of the <c>required</c> properties.</summary>
    public int[] Required { get; set; } = [];

    public (Regex Pattern, SchemaNode Schema)[] PatternProperties { get; set; } = [];

    public SchemaNode? AdditionalProperties { get; set; }

    public SchemaNode? PropertyNames { get; set; }

    public long MinProperties { get; set; } = -1;

    public long MaxProperties { get; set; } = -1;

    /// <summary>Gets or sets <c>dependentRequired</c> (and array <c>dependencies</c>): when the tracked property is present, so must the others be.</summary>
    public (int Trigger, int[] Needed)[] DependentRequired { get; set; } = [];

    /// <summary>Gets or sets <c>dependentSchemas</c> (and schema <c>dependencies</c>): when the tracked property is present, the object must match the schema.</summary>
    public (int Trigger, SchemaNode Schema)[] DependentSchemas { get; set; } = [];

    /// <summary>Gets or sets the names of the tracked properties, for error paths.</summary>
    public string[] TrackedNames { get; set; } = [];

    // precomputed dispatch
    public bool HasApplicators { get; private set; }

    public bool HasObjectKeywords { get; private set; }

    public bool HasArrayKeywords { get; private set; }

    public bool HasStringKeywords { get; private set; }

    public bool HasNumberKeywords { get; private set; }

    /// <summary>Computes the dispatch flags once every keyword is set.</summary>
    public void Seal()
    {
        HasApplicators = (Ref is not null && !RefOnly) || AllOf is not null || AnyOf is not null || OneOf is not null || Not is not null || If is not null
            || DependentSchemas.Length > 0;
        HasObjectKeywords = Properties is not null || Required.Length > 0 || PatternProperties.Length > 0 || AdditionalProperties is not null
            || PropertyNames is not null || MinProperties >= 0 || MaxProperties >= 0 || DependentRequired.Length > 0;
        HasArrayKeywords = Prefix.Length > 0 || RestItems is not null || Contains is not null || MinItems >= 0 || MaxItems >= 0 || UniqueItems;
        HasStringKeywords = MinLength >= 0 || MaxLength >= 0 || Pattern is not null || Format != StringFormat.None;
        HasNumberKeywords = Minimum is not null || Maximum is not null || ExclusiveMinimum is not null || ExclusiveMaximum is not null || MultipleOf is not null;
    }
}

/// <summary>The property names an object schema knows, looked up by their UTF-8 bytes.</summary>
/// <remarks>
/// Holds the <c>properties</c> and every name the object keywords track (<c>required</c>, <c>dependentRequired</c>,
/// <c>dependentSchemas</c>); each entry has its schema (or null) and its tracked index (or -1).
/// </remarks>
internal sealed class PropertyTable
{
    private const int LinearLimit = 8;

    private readonly byte[][] _names;
    private readonly SchemaNode?[] _schemas;
    private readonly int[] _tracked;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>>? _lookup;

    public PropertyTable(IReadOnlyList<(string Name, SchemaNode? Schema, int Tracked)> entries)
    {
        _names = [.. entries.Select(e => System.Text.Encoding.UTF8.GetBytes(e.Name))];
        _schemas = [.. entries.Select(e => e.Schema)];
        _tracked = [.. entries.Select(e => e.Tracked)];
        if (entries.Count > LinearLimit)
        {
            var map = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < entries.Count; i++)
            {
                map.TryAdd(entries[i].Name, i);
            }

            _lookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }

    /// <summary>Finds a property by its unescaped UTF-8 name.</summary>
    /// <returns>The entry's index, or -1.</returns>
    public int Find(ReadOnlySpan<byte> utf8Name)
    {
        if (_lookup is not { } lookup)
        {
            var names = _names;
            for (var i = 0; i < names.Length; i++)
            {
                if (utf8Name.SequenceEqual(names[i]))
                {
                    return i;
                }
            }

            return -1;
        }

        char[]? rented = null;
        var chars = utf8Name.Length <= 256 ? stackalloc char[256] : (rented = System.Buffers.ArrayPool<char>.Shared.Rent(utf8Name.Length));
        try
        {
            var count = System.Text.Encoding.UTF8.GetChars(utf8Name, chars);
            return lookup.TryGetValue(chars[..count], out var index) ? index : -1;
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    public SchemaNode? Schema(int entry) => _schemas[entry];

    public int Tracked(int entry) => _tracked[entry];
}

using System.Collections.Frozen;
using System.Text;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

/// <summary>A kind of difference between two JSON Schemas, as Confluent Schema Registry names it (its <c>Difference.Type</c>).</summary>
/// <remarks>
/// Each member is the PascalCase form of Confluent's UPPER_SNAKE name: <see cref="RequiredPropertyAddedToOpenContentModel"/>
/// is reported as <c>REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL</c>, the name <see cref="JsonSchemaChangeKinds.ToConfluentName"/>
/// gives. "Original" is the schema registered before, "update" the new one. Which kinds keep a schema compatible is
/// <see cref="JsonSchemaDiff.CompatibleChanges"/> (and, under the LENIENT policy, <see cref="JsonSchemaDiff.LenientOnlyChanges"/>).
/// </remarks>
public enum JsonSchemaChangeKind
{
    /// <summary>The <c>$id</c> changed.</summary>
    IdChanged,

    /// <summary>The <c>description</c> changed.</summary>
    DescriptionChanged,

    /// <summary>The <c>title</c> changed.</summary>
    TitleChanged,

    /// <summary>The <c>default</c> changed, was added or was removed.</summary>
    DefaultChanged,

    /// <summary>A subschema exists in the update only.</summary>
    SchemaAdded,

    /// <summary>A subschema exists in the original only.</summary>
    SchemaRemoved,

    /// <summary>The type accepts more values (an integer became a number).</summary>
    TypeExtended,

    /// <summary>The type accepts fewer values (a number became an integer).</summary>
    TypeNarrowed,

    /// <summary>The type changed to an unrelated one.</summary>
    TypeChanged,

    /// <summary><c>maxLength</c> was added.</summary>
    MaxLengthAdded,

    /// <summary><c>maxLength</c> was removed.</summary>
    MaxLengthRemoved,

    /// <summary><c>maxLength</c> increased.</summary>
    MaxLengthIncreased,

    /// <summary><c>maxLength</c> decreased.</summary>
    MaxLengthDecreased,

    /// <summary><c>minLength</c> was added.</summary>
    MinLengthAdded,

    /// <summary><c>minLength</c> was removed.</summary>
    MinLengthRemoved,

    /// <summary><c>minLength</c> increased.</summary>
    MinLengthIncreased,

    /// <summary><c>minLength</c> decreased.</summary>
    MinLengthDecreased,

    /// <summary><c>pattern</c> was added.</summary>
    PatternAdded,

    /// <summary><c>pattern</c> was removed.</summary>
    PatternRemoved,

    /// <summary><c>pattern</c> changed.</summary>
    PatternChanged,

    /// <summary><c>maximum</c> was added.</summary>
    MaximumAdded,

    /// <summary><c>maximum</c> was removed.</summary>
    MaximumRemoved,

    /// <summary><c>maximum</c> increased.</summary>
    MaximumIncreased,

    /// <summary><c>maximum</c> decreased.</summary>
    MaximumDecreased,

    /// <summary><c>minimum</c> was added.</summary>
    MinimumAdded,

    /// <summary><c>minimum</c> was removed.</summary>
    MinimumRemoved,

    /// <summary><c>minimum</c> increased.</summary>
    MinimumIncreased,

    /// <summary><c>minimum</c> decreased.</summary>
    MinimumDecreased,

    /// <summary><c>exclusiveMaximum</c> was added.</summary>
    ExclusiveMaximumAdded,

    /// <summary><c>exclusiveMaximum</c> was removed.</summary>
    ExclusiveMaximumRemoved,

    /// <summary><c>exclusiveMaximum</c> increased.</summary>
    ExclusiveMaximumIncreased,

    /// <summary><c>exclusiveMaximum</c> decreased.</summary>
    ExclusiveMaximumDecreased,

    /// <summary><c>exclusiveMinimum</c> was added.</summary>
    ExclusiveMinimumAdded,

    /// <summary><c>exclusiveMinimum</c> was removed.</summary>
    ExclusiveMinimumRemoved,

    /// <summary><c>exclusiveMinimum</c> increased.</summary>
    ExclusiveMinimumIncreased,

    /// <summary><c>exclusiveMinimum</c> decreased.</summary>
    ExclusiveMinimumDecreased,

    /// <summary><c>multipleOf</c> was added.</summary>
    MultipleOfAdded,

    /// <summary><c>multipleOf</c> was removed.</summary>
    MultipleOfRemoved,

    /// <summary><c>multipleOf</c> became a multiple of the original (fewer values).</summary>
    MultipleOfExpanded,

    /// <summary><c>multipleOf</c> became a divisor of the original (more values).</summary>
    MultipleOfReduced,

    /// <summary><c>multipleOf</c> changed to a value neither a multiple nor a divisor of the original.</summary>
    MultipleOfChanged,

    /// <summary>A declared property became required, without a default.</summary>
    RequiredAttributeAdded,

    /// <summary>A declared property with a default became required.</summary>
    RequiredAttributeWithDefaultAdded,

    /// <summary>A property is no longer required.</summary>
    RequiredAttributeRemoved,

    /// <summary><c>maxProperties</c> was added.</summary>
    MaxPropertiesAdded,

    /// <summary><c>maxProperties</c> was removed.</summary>
    MaxPropertiesRemoved,

    /// <summary><c>maxProperties</c> increased.</summary>
    MaxPropertiesIncreased,

    /// <summary><c>maxProperties</c> decreased.</summary>
    MaxPropertiesDecreased,

    /// <summary><c>minProperties</c> was added.</summary>
    MinPropertiesAdded,

    /// <summary><c>minProperties</c> was removed.</summary>
    MinPropertiesRemoved,

    /// <summary><c>minProperties</c> increased.</summary>
    MinPropertiesIncreased,

    /// <summary><c>minProperties</c> decreased.</summary>
    MinPropertiesDecreased,

    /// <summary>Additional properties became allowed (<c>additionalProperties</c> false became true).</summary>
    AdditionalPropertiesAdded,

    /// <summary>Additional properties became forbidden (<c>additionalProperties</c> became false).</summary>
    AdditionalPropertiesRemoved,

    /// <summary>Additional properties, limited by a schema before, may now be anything.</summary>
    AdditionalPropertiesExtended,

    /// <summary>Additional properties, anything before, must now match a schema.</summary>
    AdditionalPropertiesNarrowed,

    /// <summary>A property dependency (an array of names) was added.</summary>
    DependencyArrayAdded,

    /// <summary>A property dependency was removed.</summary>
    DependencyArrayRemoved,

    /// <summary>A property dependency requires more names.</summary>
    DependencyArrayExtended,

    /// <summary>A property dependency requires fewer names.</summary>
    DependencyArrayNarrowed,

    /// <summary>A property dependency requires other names.</summary>
    DependencyArrayChanged,

    /// <summary>A schema dependency was added.</summary>
    DependencySchemaAdded,

    /// <summary>A schema dependency was removed.</summary>
    DependencySchemaRemoved,

    /// <summary>A required property without a default was added to an open content model.</summary>
    RequiredPropertyAddedToOpenContentModel,

    /// <summary>A required property with a default was added to an open content model.</summary>
    RequiredPropertyWithDefaultAddedToOpenContentModel,

    /// <summary>An optional property was added to an open content model (an old writer may have sent it with another type).</summary>
    OptionalPropertyAddedToOpenContentModel,

    /// <summary>A property whose schema accepts anything was added to an open content model.</summary>
    PropertyWithEmptySchemaAddedToOpenContentModel,

    /// <summary>A required property without a default was added to a closed or partially open content model.</summary>
    RequiredPropertyAddedToUnopenContentModel,

    /// <summary>A required property with a default was added to a closed or partially open content model.</summary>
    RequiredPropertyWithDefaultAddedToUnopenContentModel,

    /// <summary>An optional property was added to a closed or partially open content model.</summary>
    OptionalPropertyAddedToUnopenContentModel,

    /// <summary>A property was removed from an open content model.</summary>
    PropertyRemovedFromOpenContentModel,

    /// <summary>A property whose schema was <c>false</c> was removed from a closed content model.</summary>
    PropertyWithFalseRemovedFromClosedContentModel,

    /// <summary>A property was removed from a closed content model.</summary>
    PropertyRemovedFromClosedContentModel,

    /// <summary>A property was removed and the update's partially open content model accepts what it accepted.</summary>
    PropertyRemovedIsCoveredByPartiallyOpenContentModel,

    /// <summary>A property was removed and the update's partially open content model does not accept what it accepted.</summary>
    PropertyRemovedNotCoveredByPartiallyOpenContentModel,

    /// <summary>A property was added that accepts what the original's partially open content model accepted for it.</summary>
    PropertyAddedIsCoveredByPartiallyOpenContentModel,

    /// <summary>A property was added that does not accept what the original's partially open content model accepted for it.</summary>
    PropertyAddedNotCoveredByPartiallyOpenContentModel,

    /// <summary><c>maxItems</c> was added.</summary>
    MaxItemsAdded,

    /// <summary><c>maxItems</c> was removed.</summary>
    MaxItemsRemoved,

    /// <summary><c>maxItems</c> increased.</summary>
    MaxItemsIncreased,

    /// <summary><c>maxItems</c> decreased.</summary>
    MaxItemsDecreased,

    /// <summary><c>minItems</c> was added.</summary>
    MinItemsAdded,

    /// <summary><c>minItems</c> was removed.</summary>
    MinItemsRemoved,

    /// <summary><c>minItems</c> increased.</summary>
    MinItemsIncreased,

    /// <summary><c>minItems</c> decreased.</summary>
    MinItemsDecreased,

    /// <summary><c>maxContains</c> was added.</summary>
    MaxContainsAdded,

    /// <summary><c>maxContains</c> was removed.</summary>
    MaxContainsRemoved,

    /// <summary><c>maxContains</c> increased.</summary>
    MaxContainsIncreased,

    /// <summary><c>maxContains</c> decreased.</summary>
    MaxContainsDecreased,

    /// <summary><c>minContains</c> was added.</summary>
    MinContainsAdded,

    /// <summary><c>minContains</c> was removed.</summary>
    MinContainsRemoved,

    /// <summary><c>minContains</c> increased.</summary>
    MinContainsIncreased,

    /// <summary><c>minContains</c> decreased.</summary>
    MinContainsDecreased,

    /// <summary><c>uniqueItems</c> became true.</summary>
    UniqueItemsAdded,

    /// <summary><c>uniqueItems</c> is no longer true.</summary>
    UniqueItemsRemoved,

    /// <summary>Additional items became allowed (<c>additionalItems</c> false became true).</summary>
    AdditionalItemsAdded,

    /// <summary>Additional items became forbidden (<c>additionalItems</c> became false).</summary>
    AdditionalItemsRemoved,

    /// <summary>Additional items, limited by a schema before, may now be anything.</summary>
    AdditionalItemsExtended,

    /// <summary>Additional items, anything before, must now match a schema.</summary>
    AdditionalItemsNarrowed,

    /// <summary>A tuple item was added to an open content model.</summary>
    ItemAddedToOpenContentModel,

    /// <summary>A tuple item whose schema accepts anything was added to an open content model.</summary>
    ItemWithEmptySchemaAddedToOpenContentModel,

    /// <summary>A tuple item was added to a closed content model.</summary>
    ItemAddedToClosedContentModel,

    /// <summary>A tuple item was removed from an open content model.</summary>
    ItemRemovedFromOpenContentModel,

    /// <summary>A tuple item whose schema was <c>false</c> was removed from a closed content model.</summary>
    ItemWithFalseRemovedFromClosedContentModel,

    /// <summary>A tuple item was removed from a closed content model.</summary>
    ItemRemovedFromClosedContentModel,

    /// <summary>A tuple item was removed and the update's additional items schema accepts what it accepted.</summary>
    ItemRemovedIsCoveredByPartiallyOpenContentModel,

    /// <summary>A tuple item was removed and the update's additional items schema does not accept what it accepted.</summary>
    ItemRemovedNotCoveredByPartiallyOpenContentModel,

    /// <summary>A tuple item was added that accepts what the original's additional items schema accepted.</summary>
    ItemAddedIsCoveredByPartiallyOpenContentModel,

    /// <summary>A tuple item was added that does not accept what the original's additional items schema accepted.</summary>
    ItemAddedNotCoveredByPartiallyOpenContentModel,

    /// <summary>An <c>enum</c> gained values.</summary>
    EnumArrayExtended,

    /// <summary>An <c>enum</c> lost values.</summary>
    EnumArrayNarrowed,

    /// <summary>An <c>enum</c> (or <c>const</c>) both gained and lost values.</summary>
    EnumArrayChanged,

    /// <summary>A combination moved to a weaker criterion (allOf to oneOf or anyOf, oneOf to anyOf).</summary>
    CombinedTypeExtended,

    /// <summary>A combination moved to a stronger or unrelated criterion.</summary>
    CombinedTypeChanged,

    /// <summary>An <c>allOf</c> gained subschemas.</summary>
    ProductTypeExtended,

    /// <summary>An <c>allOf</c> lost subschemas.</summary>
    ProductTypeNarrowed,

    /// <summary>An <c>anyOf</c> or <c>oneOf</c> gained subschemas, or a schema became one alternative of several.</summary>
    SumTypeExtended,

    /// <summary>An <c>anyOf</c> or <c>oneOf</c> lost subschemas.</summary>
    SumTypeNarrowed,

    /// <summary>Some subschema of a combination has no compatible counterpart in the other schema.</summary>
    CombinedTypeSubschemasChanged,

    /// <summary>The subschema of a <c>not</c> accepts values it did not, so the update excludes more values.</summary>
    NotTypeExtended,

    /// <summary>The subschema of a <c>not</c> accepts fewer values, so the update excludes fewer values.</summary>
    NotTypeNarrowed,
}

/// <summary>Converts <see cref="JsonSchemaChangeKind"/> to and from Confluent's names (<c>TYPE_CHANGED</c>, ...).</summary>
public static class JsonSchemaChangeKinds
{
    // The one mapping: each member's PascalCase name, split before each capital and upper-cased.
    private static readonly string[] Names = Enum.GetValues<JsonSchemaChangeKind>().Select(kind => ToUpperSnake(kind.ToString())).ToArray();

    private static readonly FrozenDictionary<string, JsonSchemaChangeKind> ByName =
        Enum.GetValues<JsonSchemaChangeKind>().ToFrozenDictionary(kind => Names[(int)kind], StringComparer.Ordinal);

    /// <summary>Gets Confluent's name of a kind, as it appears in the registry's answers.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>For example <c>OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL</c> for <see cref="JsonSchemaChangeKind.OptionalPropertyAddedToOpenContentModel"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a member.</exception>
    public static string ToConfluentName(this JsonSchemaChangeKind kind) =>
        (uint)kind < (uint)Names.Length ? Names[(int)kind] : throw new ArgumentOutOfRangeException(nameof(kind));

    /// <summary>Parses one of Confluent's names (upper case, as the registry writes them).</summary>
    /// <param name="name">For example <c>TYPE_CHANGED</c>.</param>
    /// <param name="kind">The kind.</param>
    /// <returns>True when <paramref name="name"/> names a kind.</returns>
    public static bool TryParse(string? name, out JsonSchemaChangeKind kind)
    {
        if (name is not null && ByName.TryGetValue(name, out kind))
        {
            return true;
        }

        kind = default;
        return false;
    }

    private static string ToUpperSnake(string pascal)
    {
        var text = new StringBuilder(pascal.Length + 8);
        foreach (var c in pascal)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(c));
        }

        return text.ToString();
    }
}

using System.Collections;
using System.Text.RegularExpressions;
using KafkaClient.SchemaRegistry.Compatibility.Json;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The JSON diff's kinds of change: read-only public sets, and one mapping to Confluent's names.</summary>
public class JsonSchemaDiffKindSetTests
{
    public static TheoryData<string> Sets => [nameof(JsonSchemaDiff.CompatibleChanges), nameof(JsonSchemaDiff.LenientOnlyChanges)];

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_public_set_of_kinds_is_not_castable_to_a_mutable_set(string name)
    {
        object kinds = Set(name);

        Assert.Throws<InvalidCastException>(() => (HashSet<JsonSchemaChangeKind>)kinds);
        Assert.Throws<InvalidCastException>(() => (ISet<JsonSchemaChangeKind>)kinds);
        Assert.Throws<InvalidCastException>(() => (ICollection<JsonSchemaChangeKind>)kinds);
        Assert.Throws<InvalidCastException>(() => (IList)kinds);
        Assert.False(kinds is ISet<JsonSchemaChangeKind> or ICollection<JsonSchemaChangeKind> or ICollection);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_public_set_of_kinds_still_reads_as_a_set(string name)
    {
        var kinds = Set(name);

        Assert.NotEmpty(kinds);
        Assert.Equal(kinds.Count, kinds.Distinct().Count());
        Assert.All(kinds, kind => Assert.Contains(kind, kinds));
        Assert.True(kinds.SetEquals(kinds.ToList()));
        Assert.DoesNotContain(JsonSchemaChangeKind.RequiredPropertyAddedToOpenContentModel, kinds); // an incompatible change
        Assert.DoesNotContain(JsonSchemaChangeKind.TypeChanged, kinds);
        Assert.DoesNotContain((JsonSchemaChangeKind)(-1), kinds);
    }

    [Fact]
    public void The_two_sets_do_not_overlap()
    {
        Assert.Contains(JsonSchemaChangeKind.IdChanged, JsonSchemaDiff.CompatibleChanges);
        Assert.Contains(JsonSchemaChangeKind.AdditionalPropertiesRemoved, JsonSchemaDiff.LenientOnlyChanges);
        Assert.False(JsonSchemaDiff.CompatibleChanges.Overlaps(JsonSchemaDiff.LenientOnlyChanges));
    }

    [Fact]
    public void Every_kind_has_its_confluent_name_and_parses_back_from_it()
    {
        var names = Enum.GetValues<JsonSchemaChangeKind>().Select(kind => kind.ToConfluentName()).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(names, name => Assert.Matches(new Regex("^[A-Z]+(_[A-Z]+)*$"), name));
        Assert.All(Enum.GetValues<JsonSchemaChangeKind>(), kind => Assert.True(JsonSchemaChangeKinds.TryParse(kind.ToConfluentName(), out var parsed) && parsed == kind));
        Assert.Equal("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", JsonSchemaChangeKind.PropertyWithEmptySchemaAddedToOpenContentModel.ToConfluentName());
        Assert.Equal("ID_CHANGED", JsonSchemaChangeKind.IdChanged.ToConfluentName());
        Assert.Equal("NOT_TYPE_NARROWED", JsonSchemaChangeKind.NotTypeNarrowed.ToConfluentName());
        Assert.False(JsonSchemaChangeKinds.TryParse("id_changed", out _)); // ordinal: the registry writes them upper case
        Assert.False(JsonSchemaChangeKinds.TryParse("IdChanged", out _));
        Assert.False(JsonSchemaChangeKinds.TryParse(null, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => ((JsonSchemaChangeKind)(-1)).ToConfluentName());
    }

    [RequiresConformanceDataFact]
    public void Every_kind_in_confluents_cases_is_a_member()
    {
        var kinds = ConformanceData.JsonSchemaCases()
            .SelectMany(c => c.Case["changes"]!.AsArray().Select(change => change!.GetValue<string>().Split(' ')[0]))
            .Distinct(StringComparer.Ordinal)
            .ToList();

        Assert.NotEmpty(kinds);
        Assert.All(kinds, name => Assert.True(JsonSchemaChangeKinds.TryParse(name, out _), name));
    }

    private static IReadOnlySet<JsonSchemaChangeKind> Set(string name) =>
        name == nameof(JsonSchemaDiff.CompatibleChanges) ? JsonSchemaDiff.CompatibleChanges : JsonSchemaDiff.LenientOnlyChanges;
}

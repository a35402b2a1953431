using System.Collections;
using KafkaClient.SchemaRegistry.Compatibility.Json;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The JSON diff's public sets of change kinds cannot be cast back to a mutable collection.</summary>
public class JsonSchemaDiffKindSetTests
{
    public static TheoryData<string> Sets => [nameof(JsonSchemaDiff.CompatibleChanges), nameof(JsonSchemaDiff.LenientOnlyChanges)];

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_public_set_of_kinds_is_not_castable_to_a_mutable_set(string name)
    {
        object kinds = Set(name);

        Assert.Throws<InvalidCastException>(() => (HashSet<string>)kinds);
        Assert.Throws<InvalidCastException>(() => (ISet<string>)kinds);
        Assert.Throws<InvalidCastException>(() => (ICollection<string>)kinds);
        Assert.Throws<InvalidCastException>(() => (IList)kinds);
        Assert.False(kinds is ISet<string> or ICollection<string> or ICollection);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void A_public_set_of_kinds_still_reads_as_a_set(string name)
    {
        var kinds = Set(name);

        Assert.NotEmpty(kinds);
        Assert.Equal(kinds.Count, kinds.Distinct(StringComparer.Ordinal).Count());
        Assert.All(kinds, kind => Assert.Contains(kind, kinds));
        Assert.True(kinds.SetEquals(kinds.ToList()));
        Assert.DoesNotContain("REQUIRED_PROPERTY_ADDED", kinds); // an incompatible change
        Assert.DoesNotContain("id_changed", kinds); // ordinal: kinds are upper case
    }

    [Fact]
    public void The_two_sets_do_not_overlap()
    {
        Assert.Contains("ID_CHANGED", JsonSchemaDiff.CompatibleChanges);
        Assert.Contains("ADDITIONAL_PROPERTIES_REMOVED", JsonSchemaDiff.LenientOnlyChanges);
        Assert.False(JsonSchemaDiff.CompatibleChanges.Overlaps(JsonSchemaDiff.LenientOnlyChanges));
    }

    private static IReadOnlySet<string> Set(string name) =>
        name == nameof(JsonSchemaDiff.CompatibleChanges) ? JsonSchemaDiff.CompatibleChanges : JsonSchemaDiff.LenientOnlyChanges;
}

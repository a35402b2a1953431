using System.Collections;
using System.Collections.Frozen;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

/// <summary>A set of change kinds that is read-only all the way down: it implements only <see cref="IReadOnlySet{T}"/>.</summary>
/// <remarks>
/// <see cref="FrozenSet{T}"/> and <see cref="System.Collections.ObjectModel.ReadOnlySet{T}"/> also implement
/// <see cref="ISet{T}"/> and <see cref="ICollection{T}"/> (their mutators throw); this wrapper does not, so a caller
/// cannot cast a public set of kinds back to any mutable collection interface, let alone to <see cref="HashSet{T}"/>.
/// </remarks>
internal sealed class ReadOnlyKindSet(IEnumerable<JsonSchemaChangeKind> kinds) : IReadOnlySet<JsonSchemaChangeKind>
{
    private readonly FrozenSet<JsonSchemaChangeKind> _kinds = kinds.ToFrozenSet();

    public int Count => _kinds.Count;

    public bool Contains(JsonSchemaChangeKind item) => _kinds.Contains(item);

    public bool IsProperSubsetOf(IEnumerable<JsonSchemaChangeKind> other) => _kinds.IsProperSubsetOf(other);

    public bool IsProperSupersetOf(IEnumerable<JsonSchemaChangeKind> other) => _kinds.IsProperSupersetOf(other);

    public bool IsSubsetOf(IEnumerable<JsonSchemaChangeKind> other) => _kinds.IsSubsetOf(other);

    public bool IsSupersetOf(IEnumerable<JsonSchemaChangeKind> other) => _kinds.IsSupersetOf(other);

    public bool Overlaps(IEnumerable<JsonSchemaChangeKind> other) => _kinds.Overlaps(other);

    public bool SetEquals(IEnumerable<JsonSchemaChangeKind> other) => _kinds.SetEquals(other);

    public IEnumerator<JsonSchemaChangeKind> GetEnumerator() => ((IEnumerable<JsonSchemaChangeKind>)_kinds).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

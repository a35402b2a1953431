using System.Collections;
using System.Collections.Frozen;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

/// <summary>A set of change kinds that is read-only all the way down: it implements only <see cref="IReadOnlySet{T}"/>.</summary>
/// <remarks>
/// <see cref="FrozenSet{T}"/> and <see cref="System.Collections.ObjectModel.ReadOnlySet{T}"/> also implement
/// <see cref="ISet{T}"/> and <see cref="ICollection{T}"/> (their mutators throw); this wrapper does not, so a caller
/// cannot cast a public set of kinds back to any mutable collection interface, let alone to <see cref="HashSet{T}"/>.
/// </remarks>
internal sealed class ReadOnlyKindSet(IEnumerable<string> kinds) : IReadOnlySet<string>
{
    private readonly FrozenSet<string> _kinds = kinds.ToFrozenSet(StringComparer.Ordinal);

    public int Count => _kinds.Count;

    public bool Contains(string item) => _kinds.Contains(item);

    public bool IsProperSubsetOf(IEnumerable<string> other) => _kinds.IsProperSubsetOf(other);

    public bool IsProperSupersetOf(IEnumerable<string> other) => _kinds.IsProperSupersetOf(other);

    public bool IsSubsetOf(IEnumerable<string> other) => _kinds.IsSubsetOf(other);

    public bool IsSupersetOf(IEnumerable<string> other) => _kinds.IsSupersetOf(other);

    public bool Overlaps(IEnumerable<string> other) => _kinds.Overlaps(other);

    public bool SetEquals(IEnumerable<string> other) => _kinds.SetEquals(other);

    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)_kinds).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

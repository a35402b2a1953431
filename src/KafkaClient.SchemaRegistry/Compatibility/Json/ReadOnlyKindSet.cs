using System.Collections;
using System.Collections.Frozen;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

/// <summary>A set of change kinds that is read-only all the way down: it implements only <see cref="IReadOnlySet{T}"/>.</summary>
/// <remarks>
/// <see cref="FrozenSet{T}"/> and <see cref="System.Collections.ObjectModel.ReadOnlySet{T}"/> also implement
/// <see cref="ISet{T}"/> and <see cref="ICollection{T}"/> (their mutators throw); this wrapper does not, so a caller
/// cannot cast a public set of kinds back to any mutable collection interface, let alone to <see cref="HashSet{T}"/>.
/// </remarks>
/// <typeparam name="T">The kind of change.</typeparam>
internal sealed class ReadOnlyKindSet<T>(IEnumerable<T> kinds) : IReadOnlySet<T>
{
    private readonly FrozenSet<T> _kinds = kinds.ToFrozenSet();

    public int Count => _kinds.Count;

    public bool Contains(T item) => _kinds.Contains(item);

    public bool IsProperSubsetOf(IEnumerable<T> other) => _kinds.IsProperSubsetOf(other);

    public bool IsProperSupersetOf(IEnumerable<T> other) => _kinds.IsProperSupersetOf(other);

    public bool IsSubsetOf(IEnumerable<T> other) => _kinds.IsSubsetOf(other);

    public bool IsSupersetOf(IEnumerable<T> other) => _kinds.IsSupersetOf(other);

    public bool Overlaps(IEnumerable<T> other) => _kinds.Overlaps(other);

    public bool SetEquals(IEnumerable<T> other) => _kinds.SetEquals(other);

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_kinds).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

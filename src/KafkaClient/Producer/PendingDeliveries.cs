namespace KafkaClient.Producer;

/// <summary>The messages handed to librdkafka whose delivery report has not arrived yet.</summary>
/// <remarks>
/// An intrusive doubly linked list under one lock: adding and removing allocate nothing, and on dispose the
/// producer can still reach every message that librdkafka will never report, so none is dropped silently.
/// Waiters for "a report arrived" and "none left" are completed by the thread that removes the entry (the
/// delivery-report thread); their tasks run continuations asynchronously, so no caller code runs there.
/// </remarks>
internal sealed class PendingDeliveries<TEntry>
    where TEntry : PendingDeliveries<TEntry>.Node
{
    private readonly Lock _gate = new();
    private TEntry? _head;
    private int _count;
    private long _removals;
    private TaskCompletionSource? _removed;
    private TaskCompletionSource? _empty;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Gets how many entries were removed so far; pass it to <see cref="WhenRemovedAfter"/>.</summary>
    public long Removals => Volatile.Read(ref _removals);

    public void Add(TEntry entry)
    {
        lock (_gate)
        {
            entry.Next = _head;
            entry.Previous = null;
            if (_head is not null)
            {
                _head.Previous = entry;
            }

            _head = entry;
            entry.Linked = true;
            _count++;
        }
    }

    /// <summary>Removes an entry whose delivery was reported, waking whoever waits for room or for the list to empty.</summary>
    public void Remove(TEntry entry) => Detach(entry, delivered: true);

    /// <summary>Takes back an entry whose hand-over to librdkafka failed; not counted as a removal, so nobody waiting for room wakes up.</summary>
    public void Unlink(TEntry entry) => Detach(entry, delivered: false);

    /// <summary>Completes when an entry is removed after <paramref name="removals"/> were counted (at once if one already was).</summary>
    public Task WhenRemovedAfter(long removals)
    {
        lock (_gate)
        {
            return _removals != removals
                ? Task.CompletedTask
                : (_removed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    /// <summary>Completes when no entry is left (at once if none is).</summary>
    public Task WhenEmpty()
    {
        lock (_gate)
        {
            return _count == 0
                ? Task.CompletedTask
                : (_empty ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
    }

    public List<TEntry> Drain()
    {
        var all = new List<TEntry>();
        TaskCompletionSource? removed, empty;
        lock (_gate)
        {
            for (var node = _head; node is not null;)
            {
                var next = node.Next;
                node.Next = node.Previous = null;
                node.Linked = false;
                all.Add(node);
                node = next;
            }

            _head = null;
            _count = 0;
            removed = _removed;
            empty = _empty;
            _removed = _empty = null;
        }

        removed?.TrySetResult();
        empty?.TrySetResult();
        all.Reverse();
        return all;
    }

    private void Detach(TEntry entry, bool delivered)
    {
        TaskCompletionSource? removed = null, empty = null;
        lock (_gate)
        {
            if (!entry.Linked)
            {
                return;
            }

            if (entry.Previous is not null)
            {
                entry.Previous.Next = entry.Next;
            }
            else
            {
                _head = entry.Next;
            }

            if (entry.Next is not null)
            {
                entry.Next.Previous = entry.Previous;
            }

            entry.Next = entry.Previous = null;
            entry.Linked = false;
            _count--;
            if (delivered)
            {
                _removals++;
                removed = _removed;
                _removed = null;
            }

            if (_count == 0)
            {
                empty = _empty;
                _empty = null;
            }
        }

        removed?.TrySetResult();
        empty?.TrySetResult();
    }

    internal abstract class Node
    {
        internal TEntry? Next { get; set; }

        internal TEntry? Previous { get; set; }

        internal bool Linked { get; set; }
    }
}

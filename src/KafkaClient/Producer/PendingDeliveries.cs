namespace KafkaClient.Producer;

/// <summary>The messages handed to librdkafka whose delivery report has not arrived yet.</summary>
/// <remarks>
/// An intrusive doubly linked list under one lock: adding and removing allocate nothing, and on dispose the
/// producer can still reach every message that librdkafka will never report, so none is dropped silently.
/// </remarks>
internal sealed class PendingDeliveries<TEntry>
    where TEntry : PendingDeliveries<TEntry>.Node
{
    private readonly Lock _gate = new();
    private TEntry? _head;
    private int _count;

    public int Count => Volatile.Read(ref _count);

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

    public void Remove(TEntry entry)
    {
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
        }
    }

    public List<TEntry> Drain()
    {
        var all = new List<TEntry>();
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
        }

        all.Reverse();
        return all;
    }

    internal abstract class Node
    {
        internal TEntry? Next { get; set; }

        internal TEntry? Previous { get; set; }

        internal bool Linked { get; set; }
    }
}

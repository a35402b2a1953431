using System.Runtime.InteropServices;

namespace KafkaClient.Producer;

/// <summary>The messages handed to librdkafka whose delivery report has not arrived yet; adding and removing take no lock.</summary>
/// <remarks>
/// <para>
/// Entries are pushed on a lock-free stack and marked reported in place, so the produce and delivery-report paths
/// are one compare-and-swap each. Every few thousand adds, the adding thread takes the whole stack and pushes back
/// only the entries still pending. On dispose the producer drains it and reports every message librdkafka will
/// never report, so none is dropped silently (Confluent.Kafka does not expose librdkafka's purge).
/// </para>
/// <para>
/// A lock is taken only while somebody waits (a flush, a dispose, a send waiting for room in a full queue).
/// </para>
/// </remarks>
internal sealed class PendingDeliveries<TEntry>
    where TEntry : PendingDeliveries<TEntry>.Node
{
    private const int PruneEvery = 4096;
    // An entry's state; all but Outside mean it is linked in the stack.
    private const int Outside = 0;
    private const int Pending = 1;
    private const int Reported = 2;
    private const int Unlinked = 3;

    private readonly Lock _waitGate = new();

    // Written by the producing threads.
    private TEntry? _head;
    private long _added;
    private int _pruning;

    // Written by the delivery-report thread, on a cache line of its own, so that the two sides never contend for one.
    private PaddedReportCounters _reports;

    // Written rarely: entries taken back after a failed hand-over, or drained on dispose.
    private long _gone;
    private TaskCompletionSource? _removed;
    private TaskCompletionSource? _empty;

    /// <summary>Gets how many entries are pending; while entries come and go it may count one that just left, never miss one still there.</summary>
    public int Count
    {
        get
        {
            // Removals and take-backs first: each of them follows its entry's add, which the later read then sees.
            var left = Interlocked.Read(ref _reports.Removals) + Interlocked.Read(ref _gone);
            return (int)(Interlocked.Read(ref _added) - left);
        }
    }

    /// <summary>Gets how many reports arrived so far; pass it to <see cref="WhenRemovedAfter"/>.</summary>
    public long Removals => Interlocked.Read(ref _reports.Removals);

    public void Add(TEntry entry)
    {
        var added = Interlocked.Increment(ref _added);
        if (Interlocked.CompareExchange(ref entry.State, Pending, Unlinked) == Unlinked)
        {
            return; // taken back after a failed hand-over and still linked: pending again, not linked twice
        }

        Volatile.Write(ref entry.State, Pending);
        Push(entry, entry);
        if (added % PruneEvery == 0)
        {
            Prune();
        }
    }

    /// <summary>The entry's delivery report arrived: wakes whoever waits for room or for the list to empty.</summary>
    public void Remove(TEntry entry)
    {
        if (Interlocked.CompareExchange(ref entry.State, Reported, Pending) != Pending)
        {
            return;
        }

        Interlocked.Increment(ref _reports.Removals);
        if (Volatile.Read(ref _reports.Waiting) != 0)
        {
            Signal(delivered: true);
        }
    }

    /// <summary>Takes back an entry whose hand-over to librdkafka failed; not counted as a report, so nobody waiting for room wakes up.</summary>
    public void Unlink(TEntry entry)
    {
        if (Interlocked.CompareExchange(ref entry.State, Unlinked, Pending) != Pending)
        {
            return;
        }

        Interlocked.Increment(ref _gone);
        if (Volatile.Read(ref _reports.Waiting) != 0)
        {
            Signal(delivered: false);
        }
    }

    /// <summary>Completes when a report arrives after <paramref name="removals"/> were counted (at once if one already did).</summary>
    public Task WhenRemovedAfter(long removals)
    {
        Task task;
        lock (_waitGate)
        {
            if (Removals != removals)
            {
                return Task.CompletedTask;
            }

            task = (_removed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            Interlocked.Exchange(ref _reports.Waiting, 1);
        }

        if (Removals != removals)
        {
            Signal(delivered: true);
        }

        return task;
    }

    /// <summary>Completes when no entry is pending (at once if none is).</summary>
    public Task WhenEmpty()
    {
        Task task;
        lock (_waitGate)
        {
            if (Count == 0)
            {
                return Task.CompletedTask;
            }

            task = (_empty ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            Interlocked.Exchange(ref _reports.Waiting, 1);
        }

        if (Count == 0)
        {
            Signal(delivered: false);
        }

        return task;
    }

    /// <summary>Takes every entry still pending, oldest first, marking them reported; for dispose, after librdkafka was released.</summary>
    public List<TEntry> Drain()
    {
        var all = new List<TEntry>();
        var spin = default(SpinWait);
        do
        {
            while (Volatile.Read(ref _pruning) != 0)
            {
                spin.SpinOnce(); // a prune holds entries for microseconds and pushes the pending ones back
            }

            for (var node = Interlocked.Exchange(ref _head, null); node is not null;)
            {
                var next = node.Next;
                if (Interlocked.Exchange(ref node.State, Outside) == Pending)
                {
                    all.Add(node);
                }

                node = next;
            }
        }
        while (Volatile.Read(ref _pruning) != 0 || Volatile.Read(ref _head) is not null);

        Interlocked.Add(ref _gone, all.Count);
        Signal(delivered: true);
        all.Reverse();
        return all;
    }

    private void Push(TEntry first, TEntry last)
    {
        TEntry? head;
        do
        {
            head = Volatile.Read(ref _head);
            last.Next = head;
        }
        while (Interlocked.CompareExchange(ref _head, first, head) != head);
    }

    /// <summary>Drops reported entries: takes the whole stack and pushes back those still pending.</summary>
    private void Prune()
    {
        if (Interlocked.CompareExchange(ref _pruning, 1, 0) != 0)
        {
            return;
        }

        try
        {
            TEntry? first = null, last = null;
            for (var node = Interlocked.Exchange(ref _head, null); node is not null;)
            {
                var next = node.Next;
                var state = Volatile.Read(ref node.State);

                // A reported or taken-back entry leaves the stack, unless it became pending again meanwhile.
                if (state == Pending || Interlocked.CompareExchange(ref node.State, Outside, state) != state)
                {
                    node.Next = null;
                    if (last is null)
                    {
                        first = last = node;
                    }
                    else
                    {
                        last.Next = node;
                        last = node;
                    }
                }

                node = next;
            }

            if (first is not null)
            {
                Push(first, last!);
            }
        }
        finally
        {
            Volatile.Write(ref _pruning, 0);
        }
    }

    private void Signal(bool delivered)
    {
        TaskCompletionSource? removed = null, empty = null;
        lock (_waitGate)
        {
            if (delivered)
            {
                removed = _removed;
                _removed = null;
            }

            if (Count == 0)
            {
                empty = _empty;
                _empty = null;
            }

            Volatile.Write(ref _reports.Waiting, _removed is null && _empty is null ? 0 : 1);
        }

        removed?.TrySetResult();
        empty?.TrySetResult();
    }

    /// <summary>An entry: the message handed to librdkafka is the list's node itself, so a message in flight is one object.</summary>
    internal abstract class Node : OutgoingMessage
    {
#pragma warning disable SA1401, CA1051 // Interlocked needs a field.
        internal int State;
#pragma warning restore SA1401, CA1051

        internal TEntry? Next { get; set; }
    }
}

/// <summary>The delivery-report side's counters, padded to a cache line of their own.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedReportCounters
{
#pragma warning disable SA1401, CA1051 // Interlocked needs a field.
    [FieldOffset(64)]
    public long Removals;

    [FieldOffset(72)]
    public int Waiting;
#pragma warning restore SA1401, CA1051
}

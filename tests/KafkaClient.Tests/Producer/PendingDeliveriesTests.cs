using KafkaClient.Producer;

namespace KafkaClient.Tests.Producer;

/// <summary>The lock-free pending list: under concurrent adds, reports, take-backs and re-adds, dispose finds exactly the entries still pending.</summary>
public class PendingDeliveriesTests
{
    [Fact]
    public async Task Drain_returns_exactly_the_entries_still_pending_after_concurrent_churn()
    {
        var list = new PendingDeliveries<Entry>();
        var pendingAtEnd = new System.Collections.Concurrent.ConcurrentBag<Entry>();
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(() =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 50_000; i++)
            {
                var entry = new Entry();
                list.Add(entry);
                switch (random.Next(4))
                {
                    case 0:
                        list.Remove(entry);
                        break;
                    case 1:
                        list.Unlink(entry); // a full queue refused it ...
                        list.Add(entry);    // ... and it was handed over again
                        list.Remove(entry);
                        break;
                    case 2:
                        list.Unlink(entry);
                        list.Add(entry);
                        pendingAtEnd.Add(entry);
                        break;
                    default:
                        pendingAtEnd.Add(entry);
                        break;
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal(pendingAtEnd.Count, list.Count);
        var drained = list.Drain();
        Assert.Equal(pendingAtEnd.Count, drained.Count);
        Assert.Equal(pendingAtEnd.ToHashSet(), drained.ToHashSet());
        Assert.Equal(0, list.Count);
        Assert.True(list.WhenEmpty().IsCompleted);
    }

    [Fact]
    public async Task Waiters_wake_on_a_report_and_when_nothing_is_left()
    {
        var list = new PendingDeliveries<Entry>();
        var a = new Entry();
        var b = new Entry();
        list.Add(a);
        list.Add(b);
        var removed = list.WhenRemovedAfter(list.Removals);
        var empty = list.WhenEmpty();
        Assert.False(removed.IsCompleted);
        list.Unlink(b); // a failed hand-over is not a report
        Assert.False(removed.IsCompleted);
        list.Remove(a);
        await removed.WaitAsync(TimeSpan.FromSeconds(10));
        await empty.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private sealed class Entry : PendingDeliveries<Entry>.Node
    {
    }
}

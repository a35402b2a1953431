using System.Collections.Concurrent;
using System.Reflection;
using Confluent.Kafka;

namespace KafkaClient.Tests.Consumer;

/// <summary>A librdkafka consumer stand-in for the pipeline's owner thread: records to hand out, stored offsets and commits kept in memory.</summary>
/// <remarks>
/// Made with <see cref="DispatchProxy"/>: only the members the pipeline calls are implemented. A poll takes the next
/// step (a record to return, or an action run on the polling thread, as librdkafka runs callbacks there); with
/// <see cref="HoldPolls"/> set, a poll with a timeout waits for the next step however long it takes, so nothing
/// happens on the owner thread that the test did not ask for. No handle: the pipeline gets no poll interrupt.
/// </remarks>
public class FakeConsumer : DispatchProxy
{
    private readonly BlockingCollection<Func<ConsumeResult<byte[], byte[]>?>> _steps = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<TopicPartition, TopicPartitionOffset> _stored = [];
    private int _inside;
    private int _overlaps;

    /// <summary>Gets or sets a value indicating whether a poll with a timeout waits until the next step comes.</summary>
    public bool HoldPolls { get; set; }

    /// <summary>Gets a count released each time a held poll starts waiting with no step queued.</summary>
    public SemaphoreSlim Idle { get; } = new(0);

    /// <summary>Gets or sets what an explicit <c>Commit(offsets)</c> does on the polling thread before it returns.</summary>
    public Action? OnCommitOffsets { get; set; }

    /// <summary>Gets or sets what <c>Close</c> does before it returns (librdkafka's close leaves the group and runs the revocation callback).</summary>
    public Action? OnClose { get; set; }

    /// <summary>Gets or sets what <c>StoreOffset</c> throws, if anything.</summary>
    public Func<TopicPartitionOffset, Exception?>? StoreFailure { get; set; }

    /// <summary>Gets or sets which polls may take a step (asked on the polling thread); the others poll nothing. Null: every poll.</summary>
    public Func<bool>? TakesSteps { get; set; }

    /// <summary>Gets how many times a poll, close or dispose began while another of them was still running: librdkafka's consumer allows none of it.</summary>
    public int Overlaps => Volatile.Read(ref _overlaps);

    /// <summary>Gets the number of steps not taken yet.</summary>
    public int Pending => _steps.Count;

    public static (IConsumer<byte[], byte[]> Consumer, FakeConsumer Fake) Create()
    {
        var consumer = Create<IConsumer<byte[], byte[]>, FakeConsumer>();
        return (consumer, (FakeConsumer)(object)consumer);
    }

    public static ConsumeResult<byte[], byte[]> Record(string topic, int partition, long offset) => new()
    {
        Topic = topic,
        Partition = partition,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Key = [1], Value = [(byte)offset] },
    };

    public void Add(ConsumeResult<byte[], byte[]> record) => _steps.Add(() => record);

    /// <summary>Runs <paramref name="action"/> on the polling thread at its next poll, which then returns nothing.</summary>
    public void RunOnPoll(Action action) => _steps.Add(() =>
    {
        action();
        return null;
    });

    /// <summary>Ends every wait of a poll: from now on polls return nothing.</summary>
    public void Stop() => _stop.Cancel();

    /// <summary>Gets the offset last stored for a partition, or null.</summary>
    public TopicPartitionOffset? StoredFor(TopicPartition partition)
    {
        lock (_gate)
        {
            return _stored.GetValueOrDefault(partition);
        }
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        switch (targetMethod!.Name)
        {
            case "get_Name":
                return "fake";
            case "get_Handle":
                throw new InvalidOperationException("The fake has no librdkafka handle.");
            case "Consume" when args is [TimeSpan timeout]:
                return Exclusive(() => Poll(timeout));
            case "Close":
                return Exclusive(() =>
                {
                    OnClose?.Invoke();
                    return null;
                });
            case "Dispose":
                return Exclusive(() => null);
            case "Subscribe" or "Unsubscribe" or "Assign" or "Unassign" or "Seek" or "Pause" or "Resume":
                return null;
            case "Position":
                return Offset.Unset;
            case "StoreOffset" when args is [TopicPartitionOffset offset]:
                if (StoreFailure?.Invoke(offset) is { } failure)
                {
                    throw failure;
                }

                lock (_gate)
                {
                    _stored[offset.TopicPartition] = offset;
                }

                return null;
            case "Commit" when args is null or []:
                lock (_gate)
                {
                    return _stored.Values.ToList();
                }

            case "Commit" when args is [IEnumerable<TopicPartitionOffset>]:
                OnCommitOffsets?.Invoke();
                return null;
            default:
                throw new NotSupportedException($"The fake consumer does not implement {targetMethod.Name}.");
        }
    }

    private ConsumeResult<byte[], byte[]>? Exclusive(Func<ConsumeResult<byte[], byte[]>?> call)
    {
        if (Interlocked.Increment(ref _inside) != 1)
        {
            Interlocked.Increment(ref _overlaps);
        }

        try
        {
            return call();
        }
        finally
        {
            Interlocked.Decrement(ref _inside);
        }
    }

    private ConsumeResult<byte[], byte[]>? Poll(TimeSpan timeout)
    {
        if (_stop.IsCancellationRequested || TakesSteps?.Invoke() == false)
        {
            Thread.Sleep(timeout); // as a poll with nothing to return
            return null;
        }

        Func<ConsumeResult<byte[], byte[]>?>? step;
        try
        {
            if (timeout == TimeSpan.Zero || !HoldPolls)
            {
                if (!_steps.TryTake(out step, (int)timeout.TotalMilliseconds, _stop.Token))
                {
                    return null;
                }
            }
            else if (!_steps.TryTake(out step))
            {
                Idle.Release();
                step = _steps.Take(_stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        return step!();
    }
}

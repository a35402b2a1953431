using Confluent.Kafka;

namespace KafkaClient.Hosting;

/// <summary>Takes records from the reader and runs them: one at a time per partition (or key), or in batches.</summary>
internal abstract class Dispatcher<TKey, TValue>
{
    /// <summary>Reader: takes a record in; may wait (bounded by <paramref name="stopping"/>) for room.</summary>
    public abstract ValueTask AcceptAsync(Delivery<TKey, TValue> delivery, CancellationToken stopping);

    /// <summary>Reader: the last poll returned nothing; runs what is due.</summary>
    public virtual ValueTask IdleAsync(CancellationToken stopping) => ValueTask.CompletedTask;

    /// <summary>Gets the latest time the reader should come back to <see cref="IdleAsync"/>, or null for no limit.</summary>
    public virtual long? IdleDeadline => null;

    /// <summary>After the reader stopped: waits up to <paramref name="timeout"/> for every record taken in to finish.</summary>
    /// <returns>How many are still running.</returns>
    public abstract Task<int> DrainAsync(TimeSpan timeout);
}

/// <summary>Runs each record on its own, in order per partition (or per key of a partition), up to the in-flight bound.</summary>
/// <remarks>The reader calls <see cref="AcceptAsync"/>; lanes run on pool threads; counters are thread-safe.</remarks>
internal sealed class RecordDispatcher<TKey, TValue>(ServiceSettings settings, Func<Delivery<TKey, TValue>, ValueTask> process) : Dispatcher<TKey, TValue>
{
    private readonly SemaphoreSlim _slots = new(settings.MaxInFlight, settings.MaxInFlight);
    private readonly Lock _countGate = new();
    private int _inFlight;
    private TaskCompletionSource? _drained;

    public override async ValueTask AcceptAsync(Delivery<TKey, TValue> delivery, CancellationToken stopping)
    {
        await _slots.WaitAsync(stopping).ConfigureAwait(false);
        lock (_countGate)
        {
            _inFlight++;
        }

        var state = delivery.Partition;
        var key = new LaneKey(settings.PerKeyParallelism ? delivery.Delivered.Raw.Message.Key : null);
        Lane lane;
        lock (state.Gate)
        {
            if (!state.Lanes.TryGetValue(key, out var existing))
            {
                existing = new Lane();
                state.Lanes.Add(key, existing);
            }

            lane = existing;
            if (lane.Busy)
            {
                lane.Waiting.Enqueue(delivery);
                return;
            }

            lane.Busy = true;
        }

        _ = Task.Run(() => RunLaneAsync(state, key, lane, delivery), CancellationToken.None);
    }

    public override async Task<int> DrainAsync(TimeSpan timeout)
    {
        Task drained;
        lock (_countGate)
        {
            if (_inFlight == 0)
            {
                return 0;
            }

            drained = (_drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        try
        {
            await drained.WaitAsync(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout, settings.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Reported by the caller with the count.
        }

        lock (_countGate)
        {
            return _inFlight;
        }
    }

    private async Task RunLaneAsync(PartitionState state, LaneKey key, Lane lane, Delivery<TKey, TValue> first)
    {
        var next = first;
        while (true)
        {
            try
            {
                await process(next).ConfigureAwait(false);
            }
            finally
            {
                Done();
            }

            lock (state.Gate)
            {
                if (lane.Waiting.TryDequeue(out var waiting))
                {
                    next = (Delivery<TKey, TValue>)waiting;
                    continue;
                }

                lane.Busy = false;
                state.Lanes.Remove(key);
                return;
            }
        }
    }

    private void Done()
    {
        TaskCompletionSource? drained = null;
        lock (_countGate)
        {
            if (--_inFlight == 0)
            {
                drained = _drained;
                _drained = null;
            }
        }

        _slots.Release();
        drained?.TrySetResult();
    }
}

/// <summary>Gathers records into batches (up to the batch size, or the batch wait after the first) and runs one batch at a time on the reader.</summary>
/// <remarks>Reader only, except <see cref="DrainAsync"/>, which runs after the reader stopped.</remarks>
internal sealed class BatchDispatcher<TKey, TValue>(ServiceSettings settings, Func<List<Delivery<TKey, TValue>>, ValueTask> process) : Dispatcher<TKey, TValue>
{
    private List<Delivery<TKey, TValue>> _batch = [];
    private long _firstAt;
    private int _running;

    public override long? IdleDeadline =>
        _batch.Count == 0 ? null : _firstAt + (long)(settings.MaxBatchWait.TotalSeconds * settings.Time.TimestampFrequency);

    public override async ValueTask AcceptAsync(Delivery<TKey, TValue> delivery, CancellationToken stopping)
    {
        if (_batch.Count == 0)
        {
            _firstAt = settings.Time.GetTimestamp();
        }

        _batch.Add(delivery);
        if (_batch.Count >= settings.MaxBatchSize)
        {
            await RunAsync(stopping).ConfigureAwait(false);
        }
    }

    public override async ValueTask IdleAsync(CancellationToken stopping)
    {
        if (_batch.Count > 0 && settings.Time.GetElapsedTime(_firstAt) >= settings.MaxBatchWait)
        {
            await RunAsync(stopping).ConfigureAwait(false);
        }
    }

    public override Task<int> DrainAsync(TimeSpan timeout)
    {
        // Batches run on the reader, which the caller waited for: a batch gathered but not started is left, to be
        // read again, and a batch still running outlived the wait.
        return Task.FromResult(Volatile.Read(ref _running));
    }

    private async ValueTask RunAsync(CancellationToken stopping)
    {
        var batch = _batch;
        _batch = [];
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        Volatile.Write(ref _running, batch.Count);
        try
        {
            await process(batch).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}

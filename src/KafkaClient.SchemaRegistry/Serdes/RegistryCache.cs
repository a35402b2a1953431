using System.Collections.Concurrent;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>
/// An asynchronous cache of what a serde learns from the registry: one load per key however many callers ask at
/// once, successes kept, retriable failures forgotten at once, and failures that are not retriable (an unknown
/// schema id) remembered for a short time so that a run of records with the same bad id costs one registry request.
/// </summary>
/// <typeparam name="TKey">The key: a schema id, or a topic and component.</typeparam>
/// <typeparam name="TValue">What is known about the key.</typeparam>
/// <remarks>
/// Whether a failure is retriable is the library's one rule (the load throws the format's exceptions, whose
/// <see cref="KafkaClientException.IsRetriable"/> says it). At most <see cref="MaxFailures"/> failures are
/// remembered; beyond that, expired ones are dropped and then new failures are not remembered. Thread-safe.
/// </remarks>
internal sealed class RegistryCache<TKey, TValue>
    where TKey : notnull
{
    /// <summary>The most failures remembered at once, so that records with ever new bad ids cannot grow the cache without bound.</summary>
    public const int MaxFailures = 1000;

    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();
    private readonly Func<TKey, Task<TValue>> _load;
    private readonly TimeSpan _failureTime;
    private readonly TimeProvider _time;
    private int _failures;

    /// <summary>Initializes a new instance of the <see cref="RegistryCache{TKey, TValue}"/> class.</summary>
    /// <param name="load">Loads the value of a key; throws the format's exceptions.</param>
    /// <param name="failureTime">How long a failure that is not retriable is remembered; zero forgets every failure at once.</param>
    /// <param name="time">The clock; null for the system's.</param>
    public RegistryCache(Func<TKey, Task<TValue>> load, TimeSpan failureTime, TimeProvider? time = null)
    {
        _load = load;
        _failureTime = failureTime;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Gets the value of <paramref name="key"/>: a completed task once known (or while a failure is remembered), else the one pending load.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value, or the remembered failure.</returns>
    public Task<TValue> GetAsync(TKey key)
    {
        while (true)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                if (!entry.Task.IsFaulted && !entry.Task.IsCanceled)
                {
                    if (entry.Task.IsCompleted)
                    {
                        KafkaClient.Diagnostics.Telemetry.RegistryCacheHit();
                    }

                    return entry.Task;
                }

                if (entry.RememberedUntil is { } until && _time.GetTimestamp() < until)
                {
                    return entry.Task;
                }

                if (!_entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry)))
                {
                    continue; // another caller replaced it
                }

                Forgotten(entry);
            }

            // Started only once in the dictionary, so concurrent callers share one load.
            var fresh = new Entry();
            var start = new Task<Task<TValue>>(() => LoadAsync(key, fresh));
            fresh.Task = start.Unwrap();
            if (_entries.TryAdd(key, fresh))
            {
                start.RunSynchronously(TaskScheduler.Default);
                return fresh.Task;
            }
        }
    }

    /// <summary>Gets the value of <paramref name="key"/> if it is already known, without starting a load.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, when known.</param>
    /// <returns>True when the value is known; false when it is not yet, is being loaded, or its load failed.</returns>
    public bool TryGet(TKey key, out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.Task.IsCompletedSuccessfully)
        {
            KafkaClient.Diagnostics.Telemetry.RegistryCacheHit();
            value = entry.Task.Result;
            return true;
        }

        value = default!;
        return false;
    }

    private void Forgotten(Entry entry)
    {
        if (entry.RememberedUntil is not null)
        {
            Interlocked.Decrement(ref _failures);
        }
    }

    private async Task<TValue> LoadAsync(TKey key, Entry entry)
    {
        try
        {
            return await _load(key).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Failed(key, entry, ex);
            throw;
        }
    }

    private void Failed(TKey key, Entry entry, Exception exception)
    {
        if (_failureTime > TimeSpan.Zero && !Transient.Is(exception) && Reserve())
        {
            entry.RememberedUntil = _time.GetTimestamp() + (long)(_failureTime.TotalSeconds * _time.TimestampFrequency);
            return;
        }

        _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
    }

    private bool Reserve()
    {
        if (Interlocked.Increment(ref _failures) <= MaxFailures)
        {
            return true;
        }

        // Full: drop the failures that have expired, then try once more.
        var now = _time.GetTimestamp();
        foreach (var (key, entry) in _entries)
        {
            if (entry.RememberedUntil is { } until && until <= now && _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry)))
            {
                Forgotten(entry);
            }
        }

        if (Volatile.Read(ref _failures) <= MaxFailures)
        {
            return true;
        }

        Interlocked.Decrement(ref _failures);
        return false;
    }

    private sealed class Entry
    {
        private long _rememberedUntil = -1;

        public Task<TValue> Task { get; set; } = null!;

        /// <summary>Gets or sets the timestamp until which a failure is remembered; null while pending, after success, or for a forgotten failure.</summary>
        public long? RememberedUntil
        {
            get => Volatile.Read(ref _rememberedUntil) is var until and >= 0 ? until : null;
            set => Volatile.Write(ref _rememberedUntil, value ?? -1);
        }
    }
}

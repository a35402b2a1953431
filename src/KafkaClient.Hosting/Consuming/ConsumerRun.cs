using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KafkaClient.Hosting;

/// <summary>One run of a hosted consumer: creates and subscribes its consumer, reads records into the dispatcher, defers retry records until due, and shuts down within the timeout.</summary>
/// <remarks>
/// <para>
/// Threads: one asynchronous reader (<see cref="RunAsync"/>) polls, defers, resumes and takes records in; handlers run
/// on pool threads; the consumer's poll thread calls the rebalance members. Partition states and deferred partitions
/// are guarded by one lock.
/// </para>
/// <para>
/// A retry topic's record that is not due yet is never waited for: its partition is paused and sought back to it, and
/// resumed by the reader when it is due, so other partitions go on meanwhile.
/// </para>
/// </remarks>
internal sealed class ConsumerRun<TKey, TValue> : IDisposable
{
    private static readonly TimeSpan LongestPoll = TimeSpan.FromSeconds(1);

    private readonly IServiceProvider _provider;
    private readonly ConsumerServiceRegistration<TKey, TValue> _registration;
    private readonly ServiceSettings _settings;
    private readonly RetryTopology _topology;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly string _group;
    private readonly Attempts _attempts;
    private readonly Dispatcher<TKey, TValue> _dispatcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];
    private readonly Dictionary<TopicPartition, long> _deferred = [];
    private Forwarder _forwarder;
    private DeserializingConsumer<TKey, TValue>? _consumer;
    private long _stopAt;
    private volatile bool _closing;
    private int _released;
    private int _phase = (int)HostedConsumerPhase.Starting;
    private volatile string? _failure;

    public ConsumerRun(IServiceProvider provider, ConsumerServiceRegistration<TKey, TValue> registration)
    {
        _provider = provider;
        _registration = registration;
        var options = registration.Options;
        _settings = new ServiceSettings(
            options.MaxInFlight,
            options.PerKeyParallelism,
            options.MaxAttempts,
            options.RetryBackoff,
            options.MaxRetryBackoff,
            options.ShutdownTimeout,
            options.MaxBatchSize,
            options.MaxBatchWait,
            provider.GetService<TimeProvider>() ?? TimeProvider.System);
        _topology = registration.Topology;
        _logger = provider.GetService<ILoggerFactory>()?.CreateLogger(KafkaConsumerServiceExtensions.ConsumerServiceLogCategory) ?? NullLogger.Instance;
        _name = registration.Name;
        _group = !string.IsNullOrWhiteSpace(options.GroupId) ? options.GroupId : options.Consumer.Config.TryGetValue("group.id", out var group) ? group : string.Empty;
        _attempts = new Attempts(provider.GetRequiredService<IServiceScopeFactory>(), _settings, _logger, _name);
        _forwarder = new Forwarder(null, _topology, _settings, _logger, _name);
        _dispatcher = registration.HandleBatch is null
            ? new RecordDispatcher<TKey, TValue>(_settings, ProcessAsync)
            : new BatchDispatcher<TKey, TValue>(_settings, ProcessBatchAsync);
    }

    private HostedConsumerPhase Phase => (HostedConsumerPhase)Volatile.Read(ref _phase);

    /// <summary>The host stopped waiting for this service: handlers' tokens fire now.</summary>
    public void Abort()
    {
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Finished meanwhile.
        }
    }

    /// <summary>Runs until <paramref name="stoppingToken"/> fires, then shuts down: drain, commit, leave the group.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        if (stoppingToken.IsCancellationRequested)
        {
            // Stopped before it ran: no consumer is made only to be closed.
            Volatile.Write(ref _phase, (int)HostedConsumerPhase.NotRunning);
            return;
        }

        using var stopping = stoppingToken.Register(Stop);
        try
        {
            await StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ServiceLog.Failed(_logger, ex, _name);
            await ShutdownAsync().ConfigureAwait(false);
            Fail(ex);
            throw;
        }

        Exception? failure = null;
        var reading = ReadAsync();
        try
        {
            // Normally ends when stopping ends the reader; a batch still running when the handlers' time is up is left.
            await reading.WaitAsync(_abort.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Reported by ShutdownAsync as records still running.
        }
        catch (Exception ex)
        {
            failure = ex;
            ServiceLog.Failed(_logger, ex, _name);
            Stop();
        }

        await ShutdownAsync().ConfigureAwait(false);
        if (failure is not null)
        {
            Fail(failure);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        Volatile.Write(ref _phase, (int)HostedConsumerPhase.NotRunning);
    }

    /// <summary>Takes a snapshot for a health check: the phase and, while reading, each assigned partition's progress.</summary>
    public HostedConsumerSnapshot Snapshot()
    {
        var phase = Phase;
        if (phase != HostedConsumerPhase.Running || _consumer is not { } consumer)
        {
            return new HostedConsumerSnapshot(phase, _failure);
        }

        List<(PartitionState State, bool Deferred)> states;
        lock (_gate)
        {
            states = [.. _partitions.Values.Select(state => (state, _deferred.ContainsKey(state.Partition)))];
        }

        var partitions = new List<PartitionProgress>(states.Count);
        try
        {
            foreach (var (state, deferred) in states.OrderBy(s => s.State.Partition.Topic, StringComparer.Ordinal).ThenBy(s => s.State.Partition.Partition.Value))
            {
                partitions.Add(new PartitionProgress(
                    state.Partition,
                    state,
                    consumer.Position(state.Partition),
                    consumer.GetWatermarkOffsets(state.Partition).High,
                    state.Finished,
                    state.InFlight,
                    deferred));
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or KafkaException or KafkaClientException)
        {
            // Closed or closing meanwhile.
            return new HostedConsumerSnapshot(Phase == HostedConsumerPhase.Running ? HostedConsumerPhase.Stopping : Phase, _failure);
        }

        return new HostedConsumerSnapshot(HostedConsumerPhase.Running, null, consumer.Name, partitions);
    }

    public void OnAssigned(IReadOnlyList<TopicPartition> partitions)
    {
        lock (_gate)
        {
            foreach (var partition in partitions)
            {
                _partitions[partition] = new PartitionState(partition);
                _deferred.Remove(partition);
            }
        }
    }

    public void OnRevoked(IReadOnlyList<TopicPartitionOffset> partitions)
    {
        var states = Release(partitions);
        var closing = _closing || Volatile.Read(ref _stopAt) != 0;
        var budget = closing ? DrainLeft() : _settings.ShutdownTimeout;
        var start = _settings.Time.GetTimestamp();
        foreach (var state in states)
        {
            var left = state.RevokeAndWait(budget - _settings.Time.GetElapsedTime(start));
            if (left > 0 && !_closing)
            {
                ServiceLog.RevokedWhileHandling(_logger, _name, state.Partition.ToString(), left);
            }
        }

        if (!_closing && _consumer is { } consumer)
        {
            // What was handled in the revoked partitions is committed before another member reads them. (Kafka accepts
            // it while the group prepares the rebalance; librdkafka's mock cluster refuses it with RebalanceInProgress,
            // and then the next owner reads again from the last commit.)
            try
            {
                consumer.Commit();
            }
            catch (Exception ex) when (ex is KafkaClientException or ObjectDisposedException)
            {
                ServiceLog.CommitFailed(_logger, ex, _name);
            }
        }
    }

    public void OnLost(IReadOnlyList<TopicPartitionOffset> partitions)
    {
        foreach (var state in Release(partitions))
        {
            state.RevokeAndWait(TimeSpan.Zero);
        }
    }

    public void Dispose()
    {
        // Normally released by the shutdown; not when the service is disposed without being stopped.
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _consumer?.Dispose();
        }

        _stop.Dispose();
        _abort.Dispose();
    }

    private async Task StartAsync()
    {
        // A consumer of this run's own: one that was closed cannot join its group again.
        _consumer = _registration.CreateConsumer(_provider, this);

        // A handler the container cannot make fails here, once, instead of on every record.
        var scope = _provider.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            _registration.ResolveHandler(scope.ServiceProvider);
        }

        if (_topology.Forwards && _registration.Options.CreateRetryAndDeadLetterTopics && !await CreateTopicsAsync().ConfigureAwait(false))
        {
            return; // stopped meanwhile: RunAsync shuts down
        }

        if (_topology.Forwards)
        {
            _forwarder = new Forwarder(_provider.GetRequiredKeyedService<ISerializingProducer<byte[], byte[]>>(_registration), _topology, _settings, _logger, _name);
        }

        _consumer.Subscribe(_topology.Subscribed);
        Interlocked.CompareExchange(ref _phase, (int)HostedConsumerPhase.Running, (int)HostedConsumerPhase.Starting);

        ServiceLog.Started(_logger, _name, string.Join(", ", _topology.Subscribed), _group);
    }

    /// <summary>Creates the missing retry and dead-letter topics through the options' admin, or one on the consumer's connection keys.</summary>
    private async Task<bool> CreateTopicsAsync()
    {
        if (_registration.Options.TopicAdmin is { } given)
        {
            return await TopicCreator.CreateMissingAsync(given, _topology, _settings, _logger, _name, _stop.Token).ConfigureAwait(false);
        }

        var config = _registration.ConnectionConfig();
        var logger = ClientLogger.Create(_provider, KafkaServiceCollectionExtensions.ConsumerLogCategory, config);
        using var admin = Secrets.Guard(config, () => new TopicAdmin(config, message => logger?.OnLog(message), error => logger?.OnError(error)));
        return await TopicCreator.CreateMissingAsync(admin, _topology, _settings, _logger, _name, _stop.Token).ConfigureAwait(false);
    }

    private async Task ReadAsync()
    {
        // Not on the caller's flow: the first poll may wait for the group.
        await Task.Yield();
        var consumer = _consumer!;
        while (!_stop.IsCancellationRequested)
        {
            ResumeDue();
            ConsumeResult<TKey, TValue>? record;
            try
            {
                record = await consumer.PollAsync(NextWait(), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (KafkaOperationException ex) when (ex.Error.IsFatal)
            {
                throw;
            }
            catch (DeserializationException ex) when (!ex.IsRetriable)
            {
                // The Raise poison policy: the consumer has moved past the record and stored its offset.
                ServiceLog.Poison(_logger, ex, _name);
                continue;
            }
            catch (KafkaClientException ex)
            {
                // A transient deserialization failure (the consumer stays on the record and retries it with backoff),
                // a dead letter refused for good, or a consume error librdkafka recovers from.
                ServiceLog.ConsumeFailed(_logger, ex, _name);
                continue;
            }

            var delivered = consumer.TakeDelivered();
            if (record is not null && !record.IsPartitionEOF && delivered is not null && Admit(record) is { } state && !Defer(record))
            {
                state.Took();
                try
                {
                    await _dispatcher.AcceptAsync(new Delivery<TKey, TValue>(record, delivered, state), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
            }

            await _dispatcher.IdleAsync(_stop.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Gets the partition state of a record, or null when its partition was taken away since it was read.</summary>
    private PartitionState? Admit(ConsumeResult<TKey, TValue> record)
    {
        lock (_gate)
        {
            return _partitions.TryGetValue(record.TopicPartition, out var state) && !state.Revoked ? state : null;
        }
    }

    /// <summary>Pauses a retry topic's partition whose record is not due yet, and seeks it back to that record.</summary>
    /// <returns>True when the record was deferred.</returns>
    private bool Defer(ConsumeResult<TKey, TValue> record)
    {
        if (!_topology.TryGetStage(record.Topic, out var stage) || stage.Tier == 0)
        {
            return false;
        }

        var now = _settings.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var delay = (long)_topology.DelayOf(stage.Tier).TotalMilliseconds;

        // Never later than the delay from now, whatever the header says (another machine's clock).
        var due = Math.Min(Forwarder.ReadLong(record.Message.Headers, RetryHeaders.Due) ?? (record.Message.Timestamp.UnixTimestampMs + delay), now + delay);
        if (due <= now)
        {
            return false;
        }

        var partition = record.TopicPartition;
        try
        {
            _consumer!.Pause([partition]);
            _consumer.Seek(new TopicPartitionOffset(partition, record.Offset, record.LeaderEpoch));
        }
        catch (Exception ex) when (ex is KafkaException or KafkaClientException)
        {
            // Taken away meanwhile: its next owner reads the record from the last commit.
            ServiceLog.ConsumeFailed(_logger, ex, _name);
        }

        lock (_gate)
        {
            _deferred[partition] = due;
        }

        ServiceLog.Deferred(_logger, _name, $"{record.Topic} [{record.Partition.Value}] @{record.Offset.Value}", DateTimeOffset.FromUnixTimeMilliseconds(due));
        return true;
    }

    private void ResumeDue()
    {
        List<TopicPartition>? due = null;
        var now = _settings.Time.GetUtcNow().ToUnixTimeMilliseconds();
        lock (_gate)
        {
            foreach (var (partition, at) in _deferred)
            {
                if (at <= now)
                {
                    (due ??= []).Add(partition);
                }
            }

            foreach (var partition in due ?? [])
            {
                _deferred.Remove(partition);
            }
        }

        if (due is not null)
        {
            ResumeQuietly(due);
        }
    }

    private TimeSpan NextWait()
    {
        var wait = LongestPoll;
        lock (_gate)
        {
            if (_deferred.Count > 0)
            {
                var next = TimeSpan.FromMilliseconds(_deferred.Values.Min() - _settings.Time.GetUtcNow().ToUnixTimeMilliseconds());
                wait = next < wait ? next : wait;
            }
        }

        if (_dispatcher.IdleDeadline is { } deadline)
        {
            var left = TimeSpan.FromSeconds((deadline - _settings.Time.GetTimestamp()) / (double)_settings.Time.TimestampFrequency);
            wait = left < wait ? left : wait;
        }

        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    private async ValueTask ProcessAsync(Delivery<TKey, TValue> delivery)
    {
        // A record not started before stopping, or whose partition was taken away, is left to be read again.
        if (_stop.IsCancellationRequested || !delivery.Partition.TryBeginRunning())
        {
            return;
        }

        try
        {
            var result = await _attempts.RunAsync(
                (provider, cancellationToken) => HandleTracedAsync(provider, delivery.Record, cancellationToken),
                delivery.ToString,
                _stop.Token,
                _abort.Token).ConfigureAwait(false);
            await CompleteAsync(delivery, result).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ServiceLog.Unexpected(_logger, ex, _name, delivery.ToString());
        }
        finally
        {
            delivery.Partition.EndRunning();
        }
    }

    /// <summary>Runs the handler inside the record's <c>process</c> activity, a child of its producer's <c>send</c>.</summary>
    private ValueTask HandleTracedAsync(IServiceProvider provider, ConsumeResult<TKey, TValue> record, CancellationToken cancellationToken) =>
        TracedAsync(() => KafkaClientTelemetry.StartProcessActivity(record, _group.Length == 0 ? null : _group), () => _registration.Handle!(provider, record, cancellationToken));

    /// <summary>Runs the batch handler inside one <c>process</c> activity, linked to each record's producer context.</summary>
    private ValueTask HandleBatchTracedAsync(IServiceProvider provider, List<ConsumeResult<TKey, TValue>> records, CancellationToken cancellationToken) =>
        TracedAsync(() => KafkaClientTelemetry.StartBatchProcessActivity(records, _group.Length == 0 ? null : _group), () => _registration.HandleBatch!(provider, records, cancellationToken));

    /// <summary>Calls a handler inside the activity <paramref name="start"/> makes (current only within this call), records a failure on it, and ends it.</summary>
    private static async ValueTask TracedAsync(Func<System.Diagnostics.Activity?> start, Func<ValueTask> handle)
    {
        using var activity = start();
        try
        {
            await handle().ConfigureAwait(false);
        }
        catch (Exception ex) when (activity is not null)
        {
            activity.SetTag("error.type", ex.GetType().FullName);
            activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }

    private async ValueTask ProcessBatchAsync(List<Delivery<TKey, TValue>> batch)
    {
        var live = new List<Delivery<TKey, TValue>>(batch.Count);
        foreach (var delivery in batch)
        {
            if (delivery.Partition.TryBeginRunning())
            {
                live.Add(delivery);
            }
        }

        if (live.Count == 0)
        {
            return;
        }

        try
        {
            var records = live.ConvertAll(d => d.Record);
            var result = await _attempts.RunAsync(
                (provider, cancellationToken) => HandleBatchTracedAsync(provider, records, cancellationToken),
                () => string.Create(CultureInfo.InvariantCulture, $"a batch of {live.Count} record(s), {live[0]} to {live[^1]}"),
                _stop.Token,
                _abort.Token).ConfigureAwait(false);
            foreach (var delivery in live)
            {
                if (!await CompleteAsync(delivery, result).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (Exception ex)
        {
            ServiceLog.Unexpected(_logger, ex, _name, $"a batch from {live[0]}");
        }
        finally
        {
            foreach (var delivery in live)
            {
                delivery.Partition.EndRunning();
            }
        }
    }

    /// <summary>Acknowledges a handled record, or forwards a failed one and then acknowledges it; false when the record is left unfinished.</summary>
    private async ValueTask<bool> CompleteAsync(Delivery<TKey, TValue> delivery, AttemptResult result)
    {
        switch (result.Outcome)
        {
            case Outcome.Handled:
                _consumer!.Acknowledge(delivery.Delivered);
                delivery.Partition.Finish();
                return true;
            case Outcome.Failed when !delivery.Partition.Revoked:
                if (await _forwarder.ForwardAsync(delivery.Delivered, result, _stop.Token, _abort.Token).ConfigureAwait(false))
                {
                    _consumer!.Acknowledge(delivery.Delivered);
                    delivery.Partition.Finish();
                    return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>Starts the shutdown clock (once), then stops fetching: the clock is set before anything that stopping lets run.</summary>
    private void Stop()
    {
        if (Interlocked.CompareExchange(ref _stopAt, _settings.Time.GetTimestamp(), 0) == 0)
        {
            if (Interlocked.CompareExchange(ref _phase, (int)HostedConsumerPhase.Stopping, (int)HostedConsumerPhase.Starting) != (int)HostedConsumerPhase.Starting)
            {
                Interlocked.CompareExchange(ref _phase, (int)HostedConsumerPhase.Stopping, (int)HostedConsumerPhase.Running);
            }

            try
            {
                _abort.CancelAfter(_settings.ShutdownTimeout - _settings.CloseReserve);
            }
            catch (ObjectDisposedException)
            {
                // Finished meanwhile.
            }
        }

        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Finished meanwhile.
        }
    }

    /// <summary>Gets how much of the shutdown timeout is left, once stopping began.</summary>
    private TimeSpan Left()
    {
        var left = _settings.ShutdownTimeout - _settings.Time.GetElapsedTime(Volatile.Read(ref _stopAt));
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private TimeSpan DrainLeft()
    {
        var left = Left() - _settings.CloseReserve;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    private async Task ShutdownAsync()
    {
        Stop();
        var running = await _dispatcher.DrainAsync(DrainLeft()).ConfigureAwait(false);
        if (running > 0)
        {
            ServiceLog.HandlersOutlivedShutdown(_logger, _name, running);
        }

        if (_consumer is not { } consumer)
        {
            return;
        }

        _closing = true;
        await CommitHandledAsync(consumer).ConfigureAwait(false);

        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        try
        {
            // Closes (librdkafka's close blocks while it leaves the group: not on a pool thread) and releases the consumer.
            var close = Task.Factory.StartNew(consumer.Dispose, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await close.WaitAsync(Left(), _settings.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ServiceLog.CloseFailed(_logger, null, _name);
        }
        catch (Exception ex) when (ex is KafkaException or KafkaClientException or ObjectDisposedException or InvalidOperationException)
        {
            ServiceLog.CloseFailed(_logger, ex, _name);
        }
    }

    private void Fail(Exception failure)
    {
        // Secret values never reach these messages: the registrations redact them when the clients are built.
        _failure = $"{failure.GetType().Name}: {failure.Message}";
        Volatile.Write(ref _phase, (int)HostedConsumerPhase.Failed);
    }

    /// <summary>Commits the handled offsets synchronously, trying again while the failure is retriable (a rebalance in progress) and time is left.</summary>
    /// <remarks>Safe to repeat: a commit covers the stored offsets of the partitions assigned then, and a partition taken away meanwhile has none.</remarks>
    private async Task CommitHandledAsync(DeserializingConsumer<TKey, TValue> consumer)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var limit = new CancellationTokenSource(Left());
                var committed = await consumer.CommitAsync(limit.Token).ConfigureAwait(false);
                ServiceLog.Stopped(_logger, _name, string.Join(", ", committed.Select(o => $"{o.Topic} [{o.Partition.Value}] @{o.Offset.Value}")));
                return;
            }
            catch (KafkaClientException ex) when (ex.IsRetriable && Left() > _settings.CloseReserve / 2)
            {
                await Attempts.DelayAsync(TimeSpan.FromMilliseconds(Math.Min(50 * attempt, 500)), _settings.Time, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is KafkaClientException or OperationCanceledException or ObjectDisposedException)
            {
                ServiceLog.CommitFailed(_logger, ex, _name);
                return;
            }
        }
    }

    /// <summary>Takes partitions out of the table and the deferred set; those that were paused for a due time are resumed, so a later assignment is not left paused.</summary>
    private List<PartitionState> Release(IReadOnlyList<TopicPartitionOffset> partitions)
    {
        var states = new List<PartitionState>(partitions.Count);
        List<TopicPartition>? paused = null;
        lock (_gate)
        {
            foreach (var partition in partitions)
            {
                if (_partitions.Remove(partition.TopicPartition, out var state))
                {
                    states.Add(state);
                }

                if (_deferred.Remove(partition.TopicPartition))
                {
                    (paused ??= []).Add(partition.TopicPartition);
                }
            }
        }

        if (paused is not null)
        {
            ResumeQuietly(paused);
        }

        return states;
    }

    private void ResumeQuietly(List<TopicPartition> partitions)
    {
        try
        {
            _consumer?.Resume(partitions);
        }
        catch (Exception ex) when (ex is KafkaException or KafkaClientException or ObjectDisposedException)
        {
            ServiceLog.ConsumeFailed(_logger, ex, _name);
        }
    }
}

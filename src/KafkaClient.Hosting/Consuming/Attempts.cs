using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting;

/// <summary>How handling one record (or batch) ended.</summary>
internal enum Outcome
{
    /// <summary>The handler returned.</summary>
    Handled,

    /// <summary>Every attempt failed; the record goes on to a retry or dead-letter topic.</summary>
    Failed,

    /// <summary>Stopping ended the attempts; the record is not finished and is read again after a restart.</summary>
    Abandoned,
}

/// <summary>What the attempts at a record ended with: the outcome, and for a failure the first and last exceptions and how many attempts failed.</summary>
internal readonly record struct AttemptResult(Outcome Outcome, Exception? First = null, Exception? Last = null, int Failures = 0);

/// <summary>Calls a handler with the options' rules: a new DI scope per attempt, retries in place with backoff, and transient failures retried until success or stop.</summary>
/// <remarks>Thread-safe: many records run through it at once.</remarks>
internal sealed class Attempts(IServiceScopeFactory scopes, ServiceSettings settings, ILogger logger, string service)
{
    /// <summary>Runs <paramref name="call"/> until it succeeds, its attempts are used up, or stopping ends it.</summary>
    /// <param name="call">Calls the handler resolved from the scope's provider with the token.</param>
    /// <param name="records">Names the record or batch in log records.</param>
    /// <param name="stopping">Fires when the service stops: no new attempt starts.</param>
    /// <param name="abort">Fires when the shutdown timeout is close: given to the handler.</param>
    public async ValueTask<AttemptResult> RunAsync(Func<IServiceProvider, CancellationToken, ValueTask> call, Func<string> records, CancellationToken stopping, CancellationToken abort)
    {
        Exception? first = null;
        Exception? last = null;
        var failures = 0;
        var transient = 0;
        while (true)
        {
            if (stopping.IsCancellationRequested && (failures > 0 || transient > 0))
            {
                return new AttemptResult(Outcome.Abandoned);
            }

            try
            {
                var scope = scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    await call(scope.ServiceProvider, abort).ConfigureAwait(false);
                }

                return new AttemptResult(Outcome.Handled);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                return new AttemptResult(Outcome.Abandoned);
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                transient++;
                var backoff = settings.Backoff(transient);
                ServiceLog.HandlerFailedTransiently(logger, ex, service, records(), transient, (long)backoff.TotalMilliseconds);
                if (!await DelayAsync(backoff, settings.Time, stopping).ConfigureAwait(false))
                {
                    return new AttemptResult(Outcome.Abandoned);
                }
            }
            catch (Exception ex)
            {
                transient = 0;
                first ??= ex;
                last = ex;
                failures++;
                if (failures >= settings.MaxAttempts)
                {
                    ServiceLog.AttemptsExhausted(logger, ex, service, records(), failures);
                    return new AttemptResult(Outcome.Failed, first, last, failures);
                }

                var backoff = settings.Backoff(failures);
                ServiceLog.HandlerFailed(logger, ex, service, records(), failures, settings.MaxAttempts, (long)backoff.TotalMilliseconds);
                if (!await DelayAsync(backoff, settings.Time, stopping).ConfigureAwait(false))
                {
                    return new AttemptResult(Outcome.Abandoned);
                }
            }
        }
    }

    /// <summary>Gets a value indicating whether an exception, or one inside it, is a <see cref="KafkaClientException"/> that may succeed if repeated.</summary>
    public static bool IsTransient(Exception exception)
    {
        for (Exception? ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is KafkaClientException { IsRetriable: true })
            {
                return true;
            }

            if (ex is AggregateException aggregate && aggregate.InnerExceptions.Any(IsTransient))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Waits, returning false instead of throwing when <paramref name="cancellationToken"/> fires.</summary>
    public static async ValueTask<bool> DelayAsync(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}

/// <summary>A hosted consumer's options, checked and copied once at start (the options object may change afterwards without effect).</summary>
internal sealed record ServiceSettings(
    int MaxInFlight,
    bool PerKeyParallelism,
    int MaxAttempts,
    TimeSpan RetryBackoff,
    TimeSpan MaxRetryBackoff,
    TimeSpan ShutdownTimeout,
    int MaxBatchSize,
    TimeSpan MaxBatchWait,
    TimeProvider Time)
{
    /// <summary>Gets the part of the shutdown timeout kept for committing and leaving the group: a fifth, at most 5 seconds.</summary>
    public TimeSpan CloseReserve => ShutdownTimeout / 5 < TimeSpan.FromSeconds(5) ? ShutdownTimeout / 5 : TimeSpan.FromSeconds(5);

    public TimeSpan Backoff(int attempt)
    {
        var backoff = RetryBackoff * Math.Pow(2, Math.Min(attempt - 1, 20));
        return backoff > MaxRetryBackoff ? MaxRetryBackoff : backoff;
    }
}

using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Confluent.Kafka;

namespace KafkaClient.Streams;

/// <summary>
/// Streamiz's <c>ISerDes</c> is synchronous and our registry serdes are asynchronous: the bridge between them, over the
/// serdes' synchronous fast paths.
/// </summary>
/// <remarks>
/// <para>
/// Every call first tries <see cref="IFastPathSerializer{T}.TrySerialize"/> / <see cref="IFastPathDeserializer{T}.TryDeserialize"/>,
/// which complete on the calling thread, without a task, once the subject's schema (serializer) or the writer's schema id
/// (deserializer) is cached: the steady state never waits. Only a cold call (the first value for a subject, the first
/// record of a schema id not seen yet, unless warmed up before the topology started) has to wait for the registry, and
/// Streamiz gives no way to wait but blocking its stream thread. That wait is the one documented block: the asynchronous
/// call is started on the thread pool (<see cref="Task.Run{TResult}(Func{Task{TResult}})"/>, so nothing it awaits needs the
/// calling thread or its synchronization context back: no deadlock, even from a test's context), and the stream thread
/// waits for it, bounded by a timeout. Streamiz's stream threads are dedicated threads, not pool threads, so the wait
/// takes nothing from the pool the call runs on.
/// </para>
/// <para>
/// A retriable failure (a registry that cannot be reached) is attempted again in place with backoff until the timeout,
/// as the core's consumer stays on such a record; what is still failing then is thrown as it is (retriable), never turned
/// into a poison record.
/// </para>
/// </remarks>
internal static class SyncBridge
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>Waits for a cold asynchronous serde call, as the remarks describe.</summary>
    /// <typeparam name="TResult">The call's result.</typeparam>
    /// <param name="call">Starts the call; called again for each attempt after a retriable failure.</param>
    /// <param name="timeout">How long to wait in all.</param>
    /// <param name="timedOut">Makes the format's retriable exception for a call still running at the timeout.</param>
    /// <returns>The call's result.</returns>
    public static TResult Wait<TResult>(Func<Task<TResult>> call, TimeSpan timeout, Func<TimeSpan, Exception> timedOut)
    {
        var started = Stopwatch.GetTimestamp();
        var backoff = FirstBackoff;
        while (true)
        {
            var task = Task.Run(call);
            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (!Completes(task, remaining))
            {
                throw timedOut(timeout);
            }

            if (task.IsCompletedSuccessfully)
            {
                return task.Result;
            }

            var error = task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerExceptions[0] : task.Exception;
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (Transient.Is(error) && elapsed + backoff < timeout)
            {
                Thread.Sleep(backoff);
                backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
                continue;
            }

            ExceptionDispatchInfo.Throw(error);
        }
    }

    private static bool Completes(Task task, TimeSpan wait)
    {
        if (wait <= TimeSpan.Zero)
        {
            return task.IsCompleted;
        }

        try
        {
            return task.Wait(wait);
        }
        catch (AggregateException)
        {
            return true; // faulted: the caller reads the task
        }
        catch (OperationCanceledException)
        {
            return true; // canceled: the caller reads the task
        }
    }
}

/// <summary>
/// Remembers, per thread, which part of a record our serdes last failed to deserialize, so that the poison-record handler
/// Streamiz calls next (on the same thread, with the same exception) knows whether the key or the value failed: Streamiz
/// passes the handler the record and the exception, not the part.
/// </summary>
internal static class FailedComponent
{
    [ThreadStatic]
    private static Exception? t_exception;

    [ThreadStatic]
    private static MessageComponentType t_component;

    /// <summary>Notes that <paramref name="exception"/> was thrown deserializing <paramref name="component"/>.</summary>
    /// <param name="exception">The exception about to be thrown.</param>
    /// <param name="component">The key or the value.</param>
    public static void Note(Exception exception, MessageComponentType component)
    {
        t_exception = exception;
        t_component = component;
    }

    /// <summary>Gets the part <paramref name="exception"/> was thrown for, if our serdes threw it last on this thread.</summary>
    /// <param name="exception">The exception Streamiz handed to its handler.</param>
    /// <returns>The key or the value; null for an exception our serdes did not note.</returns>
    public static MessageComponentType? Of(Exception exception)
    {
        if (!ReferenceEquals(t_exception, exception))
        {
            return null;
        }

        t_exception = null;
        return t_component;
    }
}

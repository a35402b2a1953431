using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using KafkaClient.Native;

namespace KafkaClient.Consumer;

/// <summary>Makes the owner thread's blocking poll return at once, so a command posted to it (commit, seek, assign) does not wait out the poll's slice.</summary>
/// <remarks>
/// <para>
/// librdkafka's <c>rd_kafka_queue_yield</c> on the consumer queue does exactly this from any thread
/// (<c>rd_kafka_yield</c> only works from inside a callback of the polling thread), but Confluent.Kafka neither
/// wraps it nor exposes the client's native handle publicly. So the handle is read once from Confluent.Kafka's
/// internal <c>Handle.LibrdkafkaHandle</c>, and the functions are resolved from the librdkafka image Confluent.Kafka loaded.
/// If either is missing (another Confluent.Kafka version), <see cref="Create"/> returns null and commands wait
/// for the poll's slice to end instead, as they always could.
/// </para>
/// <para>
/// Never while the consumer closes: librdkafka's close forwards the consumer queue to a queue of its own and waits
/// on it, and a yield ends that wait early, so the close fails with a timeout before the consumer has left its
/// group. The closing thread calls <see cref="Disable"/> first.
/// </para>
/// <para>
/// Thread-safe. The native handle is referenced for the duration of each call, so a consumer disposed
/// meanwhile is not destroyed under it; once disposed or disabled, <see cref="Interrupt"/> does nothing.
/// </para>
/// </remarks>
internal sealed unsafe class PollInterrupt
{
    private static readonly Lazy<Functions?> Native = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly SafeHandle _handle;
    private readonly Functions _native;
    private readonly Lock _gate = new();
    private bool _disabled;

    private PollInterrupt(SafeHandle handle, Functions native)
    {
        _handle = handle;
        _native = native;
    }

    /// <summary>Creates the interrupt for a client, or returns null when this Confluent.Kafka does not allow it.</summary>
    /// <param name="client">The consumer whose poll is to be interrupted.</param>
    /// <returns>The interrupt, or null.</returns>
    public static PollInterrupt? Create(IClient client)
    {
        try
        {
            var native = Native.Value;
            var property = typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic);
            return native is not null && property?.GetValue(client.Handle) is SafeHandle { IsInvalid: false } handle
                ? new PollInterrupt(handle, native)
                : null;
        }
        catch (Exception ex) when (ex is TargetInvocationException or InvalidOperationException or NotSupportedException or MemberAccessException or DllNotFoundException or BadImageFormatException)
        {
            return null;
        }
    }

    /// <summary>Makes every later <see cref="Interrupt"/> do nothing, once an interrupt in progress has returned; before the consumer is closed.</summary>
    public void Disable()
    {
        lock (_gate)
        {
            _disabled = true;
        }
    }

    /// <summary>Makes a poll in progress (or the next one) return without waiting; nothing once disabled.</summary>
    public void Interrupt()
    {
        lock (_gate)
        {
            if (!_disabled)
            {
                Yield();
            }
        }
    }

    private void Yield()
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            var queue = _native.GetConsumerQueue(_handle.DangerousGetHandle());
            if (queue != 0)
            {
                _native.Yield(queue);
                _native.DestroyQueue(queue);
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: there is no poll left to interrupt.
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private static Functions? Resolve()
    {
        var path = LoadedLibrdkafka.Find("rd_kafka_queue_yield");
        if (path is null || !NativeLibrary.TryLoad(path, out var library))
        {
            return null;
        }

        return NativeLibrary.TryGetExport(library, "rd_kafka_queue_get_consumer", out var get)
            && NativeLibrary.TryGetExport(library, "rd_kafka_queue_yield", out var yield)
            && NativeLibrary.TryGetExport(library, "rd_kafka_queue_destroy", out var destroy)
            ? new Functions(get, yield, destroy)
            : null;
    }

    /// <summary>The three librdkafka functions an interrupt calls.</summary>
    private sealed class Functions(nint getConsumerQueue, nint yield, nint destroyQueue)
    {
        public delegate* unmanaged[Cdecl]<nint, nint> GetConsumerQueue { get; } = (delegate* unmanaged[Cdecl]<nint, nint>)getConsumerQueue;

        public delegate* unmanaged[Cdecl]<nint, void> Yield { get; } = (delegate* unmanaged[Cdecl]<nint, void>)yield;

        public delegate* unmanaged[Cdecl]<nint, void> DestroyQueue { get; } = (delegate* unmanaged[Cdecl]<nint, void>)destroyQueue;
    }
}

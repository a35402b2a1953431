using System.Collections.Concurrent;

namespace KafkaClient.Consumer;

/// <summary>A dedicated thread that runs a client's blocking librdkafka calls so that asynchronous callers never block a pool thread.</summary>
/// <remarks>Work items run one at a time, in order; a long wait is split into slices so that other items interleave.</remarks>
internal sealed class BlockingCallWorker : IDisposable
{
    private readonly BlockingCollection<Action> _queue = new();
    private readonly Thread _thread;

    public BlockingCallWorker(string name)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public bool HasWaiting => _queue.Count > 0;

    public Task<T> Run<T>(Func<T> call)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                completion.TrySetResult(call());
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        });
        return completion.Task;
    }

    public void Post(Action item)
    {
        try
        {
            _queue.Add(item);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(BlockingCallWorker), "The client is closed.");
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
            _queue.Dispose();
        }
    }

    private void Run()
    {
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            item();
        }
    }
}

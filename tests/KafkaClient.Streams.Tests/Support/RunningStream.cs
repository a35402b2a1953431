using Streamiz.Kafka.Net;
using Streamiz.Kafka.Net.Stream;

namespace KafkaClient.Streams.Tests.Support;

/// <summary>A <see cref="KafkaStream"/> started and awaited until RUNNING (bounded), closed on dispose.</summary>
public sealed class RunningStream : IDisposable
{
    private readonly TaskCompletionSource _running = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _states = [];

    private RunningStream(Topology topology, IStreamConfig config)
    {
        Stream = new KafkaStream(topology, config);
        Stream.StateChanged += (from, to) =>
        {
            lock (_states)
            {
                _states.Add($"{from}->{to}");
            }

            if (to == KafkaStream.State.RUNNING)
            {
                _running.TrySetResult();
            }
            else if (to == KafkaStream.State.ERROR)
            {
                _running.TrySetException(new InvalidOperationException($"The stream went to ERROR: {States}"));
            }
        };
    }

    public KafkaStream Stream { get; }

    public string States
    {
        get
        {
            lock (_states)
            {
                return string.Join(", ", _states);
            }
        }
    }

    public static async Task<RunningStream> StartAsync(Topology topology, IStreamConfig config)
    {
        var running = new RunningStream(topology, config);
        try
        {
            await running.Stream.StartAsync();
            await running._running.Task.WaitAsync(StreamsKit.Patience);
            return running;
        }
        catch
        {
            running.Dispose();
            throw;
        }
    }

    public void Dispose() => Stream.Dispose();
}

using Microsoft.Extensions.Hosting;

namespace KafkaClient.Hosting;

/// <summary>The <see cref="BackgroundService"/> of one hosted consumer registration: checks the options at start and runs the consumer on the background loop.</summary>
/// <remarks>
/// The host calls it from one thread at a time. Each start begins a new <see cref="ConsumerRun{TKey, TValue}"/> with a
/// consumer of its own, so the service may be stopped and started again; a start while a run is still stopping throws.
/// </remarks>
internal sealed class KafkaConsumerService<TKey, TValue>(IServiceProvider provider, ConsumerServiceRegistration<TKey, TValue> registration) : BackgroundService
{
    private ConsumerRun<TKey, TValue>? _run;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (ExecuteTask is { IsCompleted: false })
        {
            throw new InvalidOperationException($"The {registration} is still running or stopping: StopAsync must complete before it starts again.");
        }

        // Cheap and without I/O: a wrong option fails the host's start, naming it.
        OptionsCheck.Validate(registration.Options, registration.Name);

        // A run per start, with a consumer of its own; an earlier run is finished (its CTSs are left to the collector,
        // since a handler that outlived its shutdown may still hold its tokens).
        _run = new ConsumerRun<TKey, TValue>(provider, registration);
        registration.Run = _run;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The host's own shutdown timeout ends the handlers' time too.
        var run = _run;
        using var giveUp = cancellationToken.Register(() => run?.Abort());
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (registration.Run == run)
        {
            registration.Run = null;
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _run?.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Returns to the host at once; the consumer is created and subscribed on the background loop.
        await Task.Yield();
        await _run!.RunAsync(stoppingToken).ConfigureAwait(false);
    }
}

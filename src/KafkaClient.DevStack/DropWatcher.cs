using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace KafkaClient.DevStack;

/// <summary>Reports records the embedded cluster drops: it keeps about 5 MiB per partition and silently discards the oldest beyond that.</summary>
/// <remarks>
/// When the cluster drops records, a partition's low watermark (its earliest offset) rises. Once per interval the watcher
/// reads the metadata and the earliest offset of every partition (one metadata request and one ListOffsets request per
/// broker, whatever the number of partitions) and writes a warning for each partition whose low watermark rose.
/// </remarks>
internal sealed class DropWatcher : IAsyncDisposable
{
    /// <summary>How much the embedded cluster keeps per partition, for messages.</summary>
    public const string Limit = "about 5 MiB per partition";

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly IAdminClient _admin;
    private readonly TextWriter _warnings;
    private readonly TimeSpan _interval;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<TopicPartition, long> _lowWatermarks = [];
    private readonly Task _loop;

    private DropWatcher(string bootstrapServers, TextWriter warnings, TimeSpan interval)
    {
        _warnings = warnings;
        _interval = interval;
        _admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers, ClientId = "kafka-devstack-drop-watcher" })
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, _) => { })
            .Build();
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Starts watching.</summary>
    /// <param name="bootstrapServers">The cluster.</param>
    /// <param name="warnings">Where warnings go, one line each.</param>
    /// <param name="interval">How often to look.</param>
    /// <returns>The running watcher; dispose it before the cluster.</returns>
    public static DropWatcher Start(string bootstrapServers, TextWriter warnings, TimeSpan interval) => new(bootstrapServers, warnings, interval);

    /// <summary>Stops watching.</summary>
    /// <returns>A task that completes when the watcher has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        _admin.Dispose();
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            await Task.Delay(_interval, _stop.Token);
            try
            {
                await CheckAsync();
            }
            catch (KafkaException)
            {
                // The cluster did not answer in time: look again next round.
            }
        }
    }

    private async Task CheckAsync()
    {
        var metadata = _admin.GetMetadata(RequestTimeout);
        var partitions = metadata.Topics
            .Where(t => t.Error.Code == ErrorCode.NoError)
            .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
            .ToList();
        if (partitions.Count == 0)
        {
            return;
        }

        IEnumerable<ListOffsetsResultInfo> results;
        try
        {
            results = (await _admin.ListOffsetsAsync(
                partitions.Select(p => new TopicPartitionOffsetSpec { TopicPartition = p, OffsetSpec = OffsetSpec.Earliest() }),
                new ListOffsetsOptions { RequestTimeout = RequestTimeout })).ResultInfos;
        }
        catch (ListOffsetsException ex)
        {
            // Some partitions failed (a topic created or deleted meanwhile): use the others.
            results = ex.Result.ResultInfos;
        }

        foreach (var result in results)
        {
            var found = result.TopicPartitionOffsetError;
            if (found.Error.Code != ErrorCode.NoError || found.Offset.Value < 0)
            {
                continue;
            }

            var low = found.Offset.Value;
            var previous = _lowWatermarks.GetValueOrDefault(found.TopicPartition, 0);
            if (low > previous)
            {
                await _warnings.WriteLineAsync(
                    $"warning: topic \"{found.Topic}\" partition {found.Partition.Value}: records {previous}..{low - 1} were dropped (the embedded cluster keeps {Limit}; spread data over more partitions with --partitions)");
            }

            // Lower after a topic was deleted and created again.
            _lowWatermarks[found.TopicPartition] = low;
        }
    }
}

using Confluent.Kafka;
using KafkaClient.Consumer;
using KafkaClient.Diagnostics;
using KafkaClient.Serialization;

namespace KafkaClient.Tests.Consumer;

/// <summary>
/// The poll lease on a fake librdkafka consumer: the reader polls for itself when its buffer is empty, the owner thread
/// when the reader waits or is away and to run commands; one poll at a time, never during close, and neither side
/// starves the other.
/// </summary>
/// <remarks>
/// <see cref="FakeConsumer.TakesSteps"/> decides which thread's polls get the records and callbacks, so each test
/// knows where a step runs; a reader runs on a thread of its own, since the synchronous poll runs on its caller.
/// </remarks>
public class PollLeaseTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly TopicPartition Partition = new("t", 0);

    [Fact]
    public async Task The_reader_fetches_for_itself_when_its_buffer_is_empty()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        fake.TakesSteps = reader.IsCurrent; // records reach only the reader's own polls
        try
        {
            for (var i = 0; i < 3; i++)
            {
                fake.Add(FakeConsumer.Record("t", 0, i));
            }

            var read = await reader.RunAsync(() => PollMany(pipeline, fake, 3));

            Assert.Equal([0L, 1L, 2L], read);
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    [Fact]
    public async Task The_owner_thread_fetches_while_the_reader_waits()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        fake.TakesSteps = () => !reader.IsCurrent(); // only the owner thread's polls get anything
        try
        {
            var read = reader.RunAsync(() => new[]
            {
                pipeline.PollAsync(Patience, async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult()!.Offset.Value,
                pipeline.PollAsync(Patience, async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult()!.Offset.Value,
            });
            await Task.Delay(100); // the reader polled for itself, found nothing and waits
            fake.Add(FakeConsumer.Record("t", 0, 0));
            fake.Add(FakeConsumer.Record("t", 0, 1));

            var offsets = await read;
            Assert.Equal([0L, 1L], offsets);
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    [Fact]
    public async Task The_owner_thread_fills_the_buffer_while_a_reader_that_polled_for_itself_is_away()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        try
        {
            fake.Add(FakeConsumer.Record("t", 0, 0));
            fake.TakesSteps = reader.IsCurrent;
            Assert.Equal([0L], await reader.RunAsync(() => PollMany(pipeline, fake, 1))); // the reader polled for itself

            // It stops reading: the owner thread must take over, so librdkafka is still polled and the buffer fills.
            fake.TakesSteps = () => !reader.IsCurrent();
            for (var i = 1; i <= 5; i++)
            {
                fake.Add(FakeConsumer.Record("t", 0, i));
            }

            await UntilAsync(() => fake.Pending == 0);
            Assert.Equal([1L, 2L, 3L, 4L, 5L], await reader.RunAsync(() => PollMany(pipeline, fake, 5)));
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Closing_waits_for_an_inline_poll_in_progress_and_never_overlaps_it(bool async)
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        fake.TakesSteps = reader.IsCurrent;
        fake.RunOnPoll(() =>
        {
            entered.Set();
            release.Wait(Patience); // a callback of librdkafka's taking its time on the reader's own poll
        });
        var polling = reader.RunAsync(() => pipeline.PollAsync(TimeSpan.Zero, async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult());
        Assert.True(entered.Wait(Patience));

        var close = async ? pipeline.CloseAsync(async: true).AsTask() : Task.Run(() => pipeline.CloseAsync(async: false).AsTask());
        await Task.Delay(200);
        Assert.False(close.IsCompleted, "Close went ahead while the reader was inside librdkafka's poll.");

        release.Set();
        await close.WaitAsync(Patience);
        try
        {
            Assert.Null(await polling); // the poll returns what it found, or the close's wake-up if it came first
        }
        catch (ObjectDisposedException)
        {
        }

        Assert.Equal(0, fake.Overlaps);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => reader.RunAsync(() => pipeline.PollAsync(TimeSpan.Zero, async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult()));
        fake.Stop();
    }

    /// <summary>
    /// Two threads disposing (each closes, then releases librdkafka's consumer): the second returned at once and
    /// released the consumer while the first was still in librdkafka's close, whose revocation callback then failed on
    /// the destroyed handle (Confluent.Kafka's RebalanceCallback: ObjectDisposedException, unhandled, ending the process).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_second_close_waits_for_the_close_in_progress_so_a_dispose_after_it_never_overlaps_it(bool async)
    {
        var (consumer, fake) = FakeConsumer.Create();
        var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var inClose = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        fake.OnClose = () =>
        {
            inClose.Set();
            release.Wait(Patience); // leaving the group
        };
        fake.Stop();

        var first = Task.Run(() => pipeline.CloseAsync(async: false).AsTask());
        Assert.True(inClose.Wait(Patience));
        var second = async ? pipeline.CloseAsync(async: true).AsTask() : Task.Run(() => pipeline.CloseAsync(async: false).AsTask());
        var disposed = second.ContinueWith(_ => pipeline.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default); // as Dispose does
        await Task.Delay(200);
        Assert.False(second.IsCompleted, "The second close returned while the first was still inside librdkafka's close.");

        release.Set();
        await first.WaitAsync(Patience);
        await second.WaitAsync(Patience);
        await disposed.WaitAsync(Patience);
        Assert.Equal(0, fake.Overlaps);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Close_from_a_handler_run_by_close_throws_InvalidOperationException_instead_of_waiting_for_itself(bool async)
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        fake.OnClose = () => pipeline.OnRevoked(
            [new TopicPartitionOffset(Partition, Offset.Unset)],
            _ => pipeline.CloseAsync(async: false).AsTask().GetAwaiter().GetResult());
        fake.Stop();

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.CloseAsync(async).AsTask().WaitAsync(Patience));

        Assert.Contains("cannot be closed or disposed from its own handlers", thrown.Message, StringComparison.Ordinal);
        Assert.True(pipeline.IsClosed);
    }

    [Fact]
    public async Task A_handler_that_throws_during_an_inline_poll_surfaces_once_from_the_reader_and_loses_no_record()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        Thread? ranOn = null;
        fake.TakesSteps = reader.IsCurrent;
        try
        {
            fake.Add(FakeConsumer.Record("t", 0, 0));
            fake.RunOnPoll(() => pipeline.OnAssigned([new TopicPartition("u", 0)], _ =>
            {
                ranOn = Thread.CurrentThread;
                throw new InvalidOperationException("the application's handler failed");
            }));
            fake.Add(FakeConsumer.Record("t", 0, 1));

            var (read, failures) = await reader.RunAsync(() =>
            {
                var offsets = new List<long>();
                var thrown = new List<Exception>();
                var deadline = DateTime.UtcNow + Patience;
                while ((offsets.Count < 2 || fake.Pending > 0) && DateTime.UtcNow < deadline)
                {
                    try
                    {
                        if (pipeline.PollAsync(TimeSpan.Zero, async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } record)
                        {
                            offsets.Add(record.Offset.Value);
                        }
                    }
                    catch (InvalidOperationException ex)
                    {
                        thrown.Add(ex);
                    }
                }

                // Polled on: the failure is not raised again.
                for (var i = 0; i < 20; i++)
                {
                    try
                    {
                        Assert.Null(pipeline.PollAsync(TimeSpan.Zero, async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult());
                    }
                    catch (InvalidOperationException ex)
                    {
                        thrown.Add(ex);
                    }
                }

                return (offsets, thrown);
            });

            Assert.Same(reader.Thread, ranOn);
            Assert.Equal("the application's handler failed", Assert.Single(failures).Message);
            Assert.Equal([0L, 1L], read);
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    [Fact]
    public async Task A_commit_from_a_handler_during_an_inline_poll_runs_at_once_and_covers_the_records_returned()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        fake.TakesSteps = reader.IsCurrent;
        try
        {
            fake.Add(FakeConsumer.Record("t", 0, 0));
            fake.Add(FakeConsumer.Record("t", 0, 1));
            Assert.Equal([0L, 1L], await reader.RunAsync(() => PollMany(pipeline, fake, 2)));

            // A partition assigned later (cooperative rebalancing), on the reader's own poll: the handler commits. The
            // owner thread cannot run that commit (the reader holds the poll), so it must run right there.
            IReadOnlyList<TopicPartitionOffset>? committed = null;
            Thread? ranOn = null;
            fake.RunOnPoll(() => pipeline.OnAssigned([new TopicPartition("u", 0)], _ =>
            {
                ranOn = Thread.CurrentThread;
                committed = pipeline.CommitAsync(async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }));
            await reader.RunAsync(() => PollMany(pipeline, fake, 0));

            Assert.Same(reader.Thread, ranOn);
            Assert.Equal(new TopicPartitionOffset(Partition, 2), Assert.Single(committed!));
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    [Fact]
    public async Task Close_from_a_handler_during_an_inline_poll_throws_InvalidOperationException_and_the_consumer_goes_on()
    {
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        fake.TakesSteps = reader.IsCurrent;
        try
        {
            fake.RunOnPoll(() => pipeline.OnAssigned([new TopicPartition("u", 0)], _ => pipeline.CloseAsync(async: false).AsTask().GetAwaiter().GetResult()));
            fake.Add(FakeConsumer.Record("t", 0, 0));

            var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => reader.RunAsync(() => PollMany(pipeline, fake, 1)));
            Assert.Contains("cannot be closed or disposed from its own handlers", thrown.Message, StringComparison.Ordinal);
            Assert.False(pipeline.IsClosed);
            Assert.Equal([0L], await reader.RunAsync(() => PollMany(pipeline, fake, 1)));
        }
        finally
        {
            await CloseAsync(pipeline, fake);
        }
    }

    /// <summary>
    /// A reader polling without waiting, and commits from several threads one after another: both must go on. Before,
    /// the owner thread ran commands for as long as more were posted, and then did not poll because the reader had
    /// come by lately, while the reader was refused the poll because commands were pending: nothing polled at all.
    /// </summary>
    [Fact]
    public async Task A_reader_polling_without_waiting_and_commits_from_several_threads_starve_neither_each_other()
    {
        const int Records = 1000;
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var reader = new Reader();
        fake.OnCommitOffsets = () => Thread.Sleep(5); // a commit waiting for the broker
        using var stop = new CancellationTokenSource();
        var commits = new int[4];
        var committers = Enumerable.Range(0, commits.Length).Select(i => Task.Factory.StartNew(
            () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Assert.True(pipeline.CommitAsync([new TopicPartitionOffset(Partition, 0)], async: true, CancellationToken.None).AsTask().Wait(Patience), "A commit waited in vain.");
                    Interlocked.Increment(ref commits[i]);
                }
            },
            TaskCreationOptions.LongRunning)).ToList();
        try
        {
            await Task.Delay(100);
            for (var i = 0; i < Records; i++)
            {
                fake.Add(FakeConsumer.Record("t", 0, i));
            }

            var read = await reader.RunAsync(() => PollMany(pipeline, fake, Records));

            Assert.Equal(Enumerable.Range(0, Records).Select(i => (long)i), read);
            await stop.CancelAsync();
            await Task.WhenAll(committers).WaitAsync(Patience);
            Assert.All(commits, count => Assert.True(count > 0));
            Assert.Equal(0, fake.Overlaps);
        }
        finally
        {
            await stop.CancelAsync();
            await CloseAsync(pipeline, fake);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task One_poll_at_a_time_while_a_busy_reader_and_commands_take_turns(bool async)
    {
        const int Records = 5000;
        var (consumer, fake) = FakeConsumer.Create();
        using var pipeline = Pipeline(consumer);
        pipeline.Subscribe(["t"]);
        using var stop = new CancellationTokenSource();
        var commands = Task.Factory.StartNew(
            () =>
            {
                var random = new Random(11);
                while (!stop.IsCancellationRequested)
                {
                    Task done = random.Next(3) switch
                    {
                        0 => pipeline.CommitAsync(async: false, CancellationToken.None).AsTask(),
                        1 => pipeline.CommitAsync(async: true, CancellationToken.None).AsTask(),
                        _ => Task.FromResult(pipeline.Position(new TopicPartition("other", 0))),
                    };
                    Assert.True(done.Wait(Patience), "A command waited in vain.");
                    Thread.SpinWait(random.Next(2000));
                }
            },
            TaskCreationOptions.LongRunning);
        var feeding = Task.Factory.StartNew(
            () =>
            {
                for (var i = 0; i < Records; i++)
                {
                    fake.Add(FakeConsumer.Record("t", 0, i));
                    if (i % 100 == 0)
                    {
                        Thread.Sleep(1);
                    }
                }
            },
            TaskCreationOptions.LongRunning);
        try
        {
            var read = new List<long>();
            var deadline = DateTime.UtcNow + Patience;
            while (read.Count < Records && DateTime.UtcNow < deadline)
            {
                var record = async
                    ? await pipeline.PollAsync(TimeSpan.FromMilliseconds(50), async: true, CancellationToken.None)
                    : await Task.Run(() => pipeline.PollAsync(TimeSpan.Zero, async: false, CancellationToken.None).AsTask());
                if (record is not null)
                {
                    read.Add(record.Offset.Value);
                }
            }

            Assert.Equal(Enumerable.Range(0, Records).Select(i => (long)i), read);
            await stop.CancelAsync();
            await commands.WaitAsync(Patience);
            await feeding.WaitAsync(Patience);
            Assert.Equal(0, fake.Overlaps);
            await UntilAsync(() => fake.StoredFor(Partition)?.Offset.Value == Records); // stored once the reader is away
        }
        finally
        {
            await stop.CancelAsync();
            await CloseAsync(pipeline, fake);
        }
    }

    /// <summary>Polls without waiting until <paramref name="count"/> records came and the fake has no step left: the reader gets the poll only when nothing else holds it, so it tries again.</summary>
    private static List<long> PollMany(ConsumerPipeline<byte[], byte[]> pipeline, FakeConsumer fake, int count)
    {
        var read = new List<long>();
        var deadline = DateTime.UtcNow + Patience;
        while ((read.Count < count || fake.Pending > 0) && DateTime.UtcNow < deadline)
        {
            if (pipeline.PollAsync(TimeSpan.Zero, async: false, CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } record)
            {
                read.Add(record.Offset.Value);
            }
        }

        return read;
    }

    private static ConsumerPipeline<byte[], byte[]> Pipeline(IConsumer<byte[], byte[]> consumer) => new(
        consumer,
        DeserializerSlot<byte[]>.From(Deserializers.ByteArray),
        DeserializerSlot<byte[]>.From(Deserializers.ByteArray),
        new OffsetStore(consumer, enabled: true),
        deadLetters: null,
        new ConsumerSettings(PoisonRecordPolicy.Raise, null, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 16),
        new ErrorReporter(null),
        new ClientTelemetry("test", group: null),
        TimeProvider.System);

    private static async Task CloseAsync(ConsumerPipeline<byte[], byte[]> pipeline, FakeConsumer fake)
    {
        fake.Stop();
        await pipeline.CloseAsync(async: true).AsTask().WaitAsync(Patience);
    }

    private static async Task UntilAsync(Func<bool> condition)
    {
        for (var waited = TimeSpan.Zero; !condition(); waited += TimeSpan.FromMilliseconds(10))
        {
            Assert.True(waited < Patience, "The condition did not come true.");
            await Task.Delay(10);
        }
    }

    /// <summary>One dedicated thread that does all of a test's reading, so the test knows which polls are the reader's.</summary>
    private sealed class Reader : IDisposable
    {
        private readonly System.Collections.Concurrent.BlockingCollection<Action> _work = [];

        public Reader()
        {
            Thread = new Thread(() =>
            {
                foreach (var work in _work.GetConsumingEnumerable())
                {
                    work();
                }
            })
            { IsBackground = true, Name = "reader" };
            Thread.Start();
        }

        public Thread Thread { get; }

        public bool IsCurrent() => Thread.CurrentThread == Thread;

        public Task<T> RunAsync<T>(Func<T> call)
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            _work.Add(() =>
            {
                try
                {
                    done.TrySetResult(call());
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);
                }
            });
            return done.Task.WaitAsync(2 * Patience);
        }

        public void Dispose() => _work.CompleteAdding();
    }
}

using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace KafkaClient.Hosting.Tests.Consuming;

/// <summary>The hosted consumer through a real generic host against the embedded cluster: offsets, order, retries, shutdown.</summary>
[Collection(HostedConsumerCollection.Name)]
public sealed class HostedConsumerTests(HostedConsumerFixture kafka)
{
    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static string? Header(ConsumeResult<byte[], byte[]> record, string name) =>
        record.Message.Headers.TryGetLastBytes(name, out var bytes) && bytes is not null ? Text(bytes) : null;

    private void Options(KafkaConsumerServiceOptions<string, string> options, string topic, string group)
    {
        kafka.Configure(options, topic, group);
        options.RetryBackoff = TimeSpan.FromMilliseconds(10);
    }

    [Fact]
    public async Task Graceful_shutdown_commits_exactly_the_handled_records_and_a_restart_neither_rereads_nor_skips()
    {
        var topic = HostedConsumerFixture.Unique("shutdown");
        var group = HostedConsumerFixture.Unique("shutdown");
        kafka.Cluster.CreateTopic(topic, partitions: 3);
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 60).Select(i => (i % 3, (string?)$"k{i}", $"v{i}")));
        var behavior = new Behavior { Handle = async (_, _) => await Task.Delay(20) };

        using (var first = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o => Options(o, topic, group))))
        {
            await first.StartAsync();
            Assert.True(await Hosts.Eventually(() => behavior.Journal.Count >= 15), "the first host handled nothing");
            await Hosts.StopAsync(first);
        }

        var handledFirst = behavior.Journal.ToList();
        var committed = kafka.Committed(group, topic, 3);
        for (var partition = 0; partition < 3; partition++)
        {
            // Each partition's records were handled in order, from the start, once: the commit is the count handled.
            var offsets = handledFirst.Where(s => s.Partition == partition).Select(s => s.Offset).ToList();
            Assert.Equal(Enumerable.Range(0, offsets.Count).Select(i => (long)i), offsets);
            Assert.Equal(offsets.Count == 0 ? Offset.Unset.Value : offsets.Count, committed[partition]);
        }

        var logs = new MemoryLoggerProvider();
        using (var second = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o => Options(o, topic, group)), logs))
        {
            await second.StartAsync();
            Assert.True(await Hosts.Eventually(() => behavior.Journal.Select(s => s.Value).Distinct().Count() == 60), "the second host did not handle the rest");
            await Hosts.StopAsync(second);
        }

        var all = behavior.Journal.Select(s => s.Value).ToList();
        Assert.Equal(60, all.Count);
        Assert.Equal(Enumerable.Range(0, 60).Select(i => $"v{i}").Order(), all.Order());
        var final = kafka.Committed(group, topic, 3);
        Assert.True(final.All(o => o == 20), $"committed [{string.Join(", ", final)}]; {string.Join(" | ", logs.Records.Where(r => r.Category.StartsWith("KafkaClient", StringComparison.Ordinal) && r.Level >= LogLevel.Information).Select(r => r.Text))}");
    }

    [Fact]
    public async Task The_service_stopped_and_started_again_in_one_host_neither_rereads_nor_skips()
    {
        var topic = HostedConsumerFixture.Unique("restart");
        var group = HostedConsumerFixture.Unique("restart");
        kafka.Cluster.CreateTopic(topic, partitions: 3);
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 60).Select(i => (i % 3, (string?)$"k{i}", $"v{i}")));
        var behavior = new Behavior { Handle = async (_, _) => await Task.Delay(10) };
        var logs = new MemoryLoggerProvider();
        using var host = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o => Options(o, topic, group)), logs);
        await host.StartAsync();
        var service = host.Services.GetServices<IHostedService>().OfType<KafkaConsumerService<string, string>>().Single();

        // Twice: stop the service alone (the host runs on), check the commit, add records, start it again.
        for (var round = 1; round <= 2; round++)
        {
            var target = 20 * round;
            Assert.True(await Hosts.Eventually(() => behavior.Journal.Count >= target), $"round {round}: nothing handled");
            using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                await service.StopAsync(limit.Token).WaitAsync(TimeSpan.FromSeconds(90));
            }

            var handled = behavior.Journal.ToList();
            var committed = kafka.Committed(group, topic, 3);
            for (var partition = 0; partition < 3; partition++)
            {
                // Each partition's records were handled in order, once each: the commit is the count handled.
                var offsets = handled.Where(s => s.Partition == partition).Select(s => s.Offset).ToList();
                Assert.Equal(Enumerable.Range(0, offsets.Count).Select(i => (long)i), offsets);
                Assert.Equal(offsets.Count == 0 ? Offset.Unset.Value : offsets.Count, committed[partition]);
            }

            await kafka.ProduceAsync(topic, Enumerable.Range(0, 30).Select(i => (i % 3, (string?)$"k{i}", $"r{round}-{i}")));
            Assert.Equal(handled.Count, behavior.Journal.Count); // stopped: nothing handled meanwhile
            await service.StartAsync(CancellationToken.None);
        }

        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count >= 120), "the restarted service did not handle the rest");
        await Hosts.StopAsync(host);

        var all = behavior.Journal.Select(s => s.Value).ToList();
        Assert.Equal(120, all.Count);
        Assert.Equal(120, all.Distinct().Count());
        Assert.Equal([40L, 40L, 40L], kafka.Committed(group, topic, 3));
        Assert.Equal(3, logs.Records.Count(r => r.EventId.Name == "ConsumerServiceStarted"));
        Assert.Equal(3, logs.Records.Count(r => r.EventId.Name == "ConsumerServiceStopped"));
    }

    [Fact]
    public async Task Starting_the_service_again_before_it_stopped_is_refused()
    {
        var topic = HostedConsumerFixture.Unique("twice");
        kafka.Cluster.CreateTopic(topic);
        var logs = new MemoryLoggerProvider();
        using var host = Hosts.Build(new Behavior(), services => services.AddKafkaConsumerService<string, string, TestHandler>(o => Options(o, topic, HostedConsumerFixture.Unique("twice"))), logs);
        await host.StartAsync();
        var service = host.Services.GetServices<IHostedService>().OfType<KafkaConsumerService<string, string>>().Single();
        Assert.True(await Hosts.Eventually(() => logs.Records.Any(r => r.EventId.Name == "ConsumerServiceStarted")));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => service.StartAsync(CancellationToken.None));
        Assert.Contains("StopAsync must complete before it starts again", error.Message, StringComparison.Ordinal);
        await Hosts.StopAsync(host);
        Assert.Single(logs.Records, r => r.EventId.Name == "ConsumerServiceStarted");
    }

    [Fact]
    public async Task A_rebalance_between_two_hosts_skips_nothing_and_each_partition_is_read_on_from_a_commit()
    {
        var topic = HostedConsumerFixture.Unique("rebalance");
        var group = HostedConsumerFixture.Unique("rebalance");
        kafka.Cluster.CreateTopic(topic, partitions: 4);
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 120).Select(i => (i % 4, (string?)$"k{i}", $"v{i}")));
        var behavior = new Behavior { Handle = async (_, _) => await Task.Delay(25) };
        void Register(IServiceCollection services) => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
        {
            Options(o, topic, group);
            o.Consumer.Config["auto.commit.interval.ms"] = "200";
        });

        using var first = Hosts.Build(behavior, Register);
        using var second = Hosts.Build(behavior, Register);
        await first.StartAsync();
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count >= 10), "the first host handled nothing");
        await second.StartAsync(); // joins: the group takes partitions from the first host and gives them to the second
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Select(s => s.Value).Distinct().Count() == 120), "the two hosts did not handle every record");

        // Every handled offset gets committed while both run; stopping both then never moves a commit back.
        Assert.True(await Hosts.Eventually(() => kafka.Committed(group, topic, 4).All(o => o == 30)), "the handled offsets were not committed");
        await Task.WhenAll(Hosts.StopAsync(first), Hosts.StopAsync(second));

        // The revoking host commits what it handled before the partitions move. Kafka accepts that commit; the
        // embedded (mock) cluster refuses commits during a rebalance, so there a partition may be read again from
        // its last commit. Either way no record is skipped: each offset is first handled after the one before it.
        for (var partition = 0; partition < 4; partition++)
        {
            var seen = new HashSet<long>();
            foreach (var offset in behavior.Journal.Where(s => s.Partition == partition).Select(s => s.Offset))
            {
                Assert.True(offset == 0 || seen.Contains(offset - 1), $"partition {partition}: offset {offset} handled before {offset - 1}");
                seen.Add(offset);
            }
        }

        Assert.Equal([30L, 30L, 30L, 30L], kafka.Committed(group, topic, 4));
    }

    [Fact]
    public async Task Without_per_key_parallelism_a_partition_runs_one_record_at_a_time_in_offset_order()
    {
        var topic = HostedConsumerFixture.Unique("order");
        var group = HostedConsumerFixture.Unique("order");
        kafka.Cluster.CreateTopic(topic, partitions: 2);
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 40).Select(i => (i % 2, (string?)$"k{i % 5}", $"v{i}")));
        var running = new int[2];
        var overlaps = 0;
        var behavior = new Behavior();
        behavior.Handle = async (record, _) =>
        {
            if (Interlocked.Increment(ref running[record.Partition.Value]) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            await Task.Delay(5);
            Interlocked.Decrement(ref running[record.Partition.Value]);
        };

        using var host = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o => Options(o, topic, group)));
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count >= 40));
        await Hosts.StopAsync(host);

        Assert.Equal(0, overlaps);
        for (var partition = 0; partition < 2; partition++)
        {
            Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), behavior.Journal.Where(s => s.Partition == partition).Select(s => s.Offset));
        }

        Assert.Equal(1 + 40, behavior.Instances); // one at start (the container can make it), then one from its own scope per record
    }

    [Fact]
    public async Task With_per_key_parallelism_keys_of_a_partition_overlap_each_key_stays_in_order_and_the_commit_waits_for_the_slowest()
    {
        var topic = HostedConsumerFixture.Unique("perkey");
        var group = HostedConsumerFixture.Unique("perkey");
        kafka.Cluster.CreateTopic(topic, partitions: 1);
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 40).Select(i => (0, (string?)$"k{i % 4}", $"{i % 4}:{i / 4}")));
        var otherKeyStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runningPerKey = new int[4];
        var overlapsPerKey = 0;
        var behavior = new Behavior();
        behavior.Handle = async (record, _) =>
        {
            var key = record.Message.Key![1] - '0';
            if (Interlocked.Increment(ref runningPerKey[key]) > 1)
            {
                Interlocked.Increment(ref overlapsPerKey);
            }

            if (record.Offset == 0)
            {
                // Offset 0 (key k0) holds until a record of another key started: only possible if keys overlap.
                await otherKeyStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
                await releaseFirst.Task.WaitAsync(TimeSpan.FromSeconds(60));
            }
            else if (key != 0)
            {
                otherKeyStarted.TrySetResult();
            }

            Interlocked.Decrement(ref runningPerKey[key]);
        };

        using var host = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
        {
            Options(o, topic, group);
            o.PerKeyParallelism = true;
            o.MaxInFlight = 64;
            o.Consumer.Config["auto.commit.interval.ms"] = "100";
        }));
        await host.StartAsync();

        // Every record of keys k1-k3 is handled while offset 0 still runs, yet nothing is committed past it.
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count(s => s.Key != "k0") == 30), "other keys did not run past the held record");
        await Task.Delay(500); // a few auto-commit intervals
        Assert.True(kafka.Committed(group, topic, 1)[0] <= 0, "an offset past a record still running was committed");

        releaseFirst.SetResult();
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count == 40));
        Assert.True(await Hosts.Eventually(() => kafka.Committed(group, topic, 1)[0] == 40), "the commit did not reach the end once the held record finished");
        await Hosts.StopAsync(host);

        Assert.Equal(0, overlapsPerKey);
        for (var key = 0; key < 4; key++)
        {
            var prefix = $"{key}:";
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{key}:{i}"), behavior.Journal.Where(s => s.Value.StartsWith(prefix, StringComparison.Ordinal)).Select(s => s.Value));
        }
    }

    [Fact]
    public async Task A_failing_handler_walks_the_retry_topics_into_the_dead_letter_topic_with_headers_and_delays()
    {
        var topic = HostedConsumerFixture.Unique("walk");
        var group = HostedConsumerFixture.Unique("walk");
        string[] retryTopics = [$"{topic}-retry-1s", $"{topic}-retry-2s"];
        var deadLetters = $"{topic}-dlt";
        foreach (var name in (string[])[topic, .. retryTopics, deadLetters])
        {
            kafka.Cluster.CreateTopic(name);
        }

        await kafka.ProduceAsync(topic, [(0, "a", "ok-1"), (0, "b", "poison"), (0, "c", "ok-2")]);
        var failures = 0;
        var behavior = new Behavior
        {
            Handle = (record, _) => record.Message.Value == "poison"
                ? throw new InvalidOperationException($"fail {Interlocked.Increment(ref failures)}")
                : ValueTask.CompletedTask,
        };

        using var host = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
        {
            Options(o, topic, group);
            o.MaxAttempts = 2;
            o.RetryTopicDelays.Add(TimeSpan.FromSeconds(1));
            o.RetryTopicDelays.Add(TimeSpan.FromSeconds(2));
            o.DeadLetterTopic = "{topic}-dlt";
        }));
        await host.StartAsync();
        var parked = Assert.Single(await kafka.ReadRawAsync(deadLetters, 1));
        await Hosts.StopAsync(host);

        // Two attempts on each of the three topics, in this order; the good records once each.
        var poison = behavior.Journal.Where(s => s.Value == "poison").ToList();
        Assert.Equal([topic, topic, retryTopics[0], retryTopics[0], retryTopics[1], retryTopics[1]], poison.Select(s => s.Topic));
        Assert.Equal(["ok-1", "ok-2"], behavior.Journal.Where(s => s.Value != "poison").Select(s => s.Value));

        // On each retry topic: the due time is the forward's timestamp plus the tier's delay, and no attempt came before it.
        foreach (var (retryTopic, delay) in retryTopics.Zip([1000L, 2000L]))
        {
            foreach (var attempt in poison.Where(s => s.Topic == retryTopic))
            {
                var due = long.Parse(attempt.Header(RetryHeaders.Due)!, CultureInfo.InvariantCulture);
                Assert.Equal(attempt.Timestamp + delay, due);
                Assert.True(attempt.At.ToUnixTimeMilliseconds() >= due, $"attempt on {retryTopic} at {attempt.At:O}, before its due time {DateTimeOffset.FromUnixTimeMilliseconds(due):O}");
                Assert.Equal(topic, attempt.Header(RetryHeaders.OriginalTopic));
                Assert.Equal("1", attempt.Header(RetryHeaders.OriginalOffset));
            }
        }

        Assert.Equal("2", poison[2].Header(RetryHeaders.Attempts));
        Assert.Equal("4", poison[4].Header(RetryHeaders.Attempts));

        // The dead letter: raw record, the original place, every attempt counted, the first and last errors, the core's error headers.
        Assert.Equal("b", Text(parked.Message.Key));
        Assert.Equal("poison", Text(parked.Message.Value));
        Assert.Equal(topic, Header(parked, RetryHeaders.OriginalTopic));
        Assert.Equal("0", Header(parked, RetryHeaders.OriginalPartition));
        Assert.Equal("1", Header(parked, RetryHeaders.OriginalOffset));
        Assert.Equal("6", Header(parked, RetryHeaders.Attempts));
        Assert.Equal(typeof(InvalidOperationException).FullName, Header(parked, RetryHeaders.FirstErrorType));
        Assert.Equal("fail 1", Header(parked, RetryHeaders.FirstError));
        Assert.Equal(typeof(InvalidOperationException).FullName, Header(parked, RetryHeaders.LastErrorType));
        Assert.Equal("fail 6", Header(parked, RetryHeaders.LastError));
        Assert.Equal("fail 6", Header(parked, DeadLetterPolicy.HeaderError));
        Assert.Equal(typeof(InvalidOperationException).FullName, Header(parked, DeadLetterPolicy.HeaderErrorType));
        Assert.Equal("handler", Header(parked, DeadLetterPolicy.HeaderComponent));
        Assert.Equal(retryTopics[1], Header(parked, DeadLetterPolicy.HeaderSourceTopic));
        Assert.Equal("0", Header(parked, DeadLetterPolicy.HeaderSourceOffset));
        Assert.Null(Header(parked, RetryHeaders.Due));

        // Everything read is committed: the source topic past all three, each retry topic past its one record.
        Assert.Equal([3L], kafka.Committed(group, topic, 1));
        Assert.Equal([1L], kafka.Committed(group, retryTopics[0], 1));
        Assert.Equal([1L], kafka.Committed(group, retryTopics[1], 1));
    }

    [Fact]
    public async Task Missing_retry_and_dead_letter_topics_are_created_like_their_source_and_a_failing_handler_walks_into_them()
    {
        var topic = HostedConsumerFixture.Unique("create");
        var group = HostedConsumerFixture.Unique("create");
        var retryTopic = $"{topic}-retry-1s";
        var deadLetters = $"{topic}-dlt";
        kafka.Cluster.CreateTopic(topic, partitions: 3);
        await kafka.ProduceAsync(topic, [(0, "a", "ok-1"), (1, "b", "poison"), (2, "c", "ok-2")]);
        ITopicAdmin admin = kafka.Cluster;
        Assert.DoesNotContain(retryTopic, await admin.ListTopicsAsync());
        Assert.DoesNotContain(deadLetters, await admin.ListTopicsAsync());
        var behavior = new Behavior { Handle = (record, _) => record.Message.Value == "poison" ? throw new InvalidOperationException("no") : ValueTask.CompletedTask };
        var logs = new MemoryLoggerProvider();

        using var host = Hosts.Build(
            behavior,
            services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
            {
                Options(o, topic, group);
                o.MaxAttempts = 1;
                o.RetryTopicDelays.Add(TimeSpan.FromSeconds(1));
                o.DeadLetterTopic = "{topic}-dlt";
                o.CreateRetryAndDeadLetterTopics = true;
                o.TopicAdmin = kafka.Cluster;
            }),
            logs);
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => logs.Records.Count(r => r.EventId.Name == "TopicCreated") == 2), "the topics were not created");
        Assert.True(await Hosts.Eventually(() => Enumerable.Range(0, 3).Sum(p => kafka.Count(deadLetters, p)) == 1), "nothing reached the dead-letter topic");
        await Hosts.StopAsync(host);

        Assert.Equal(3, (await admin.DescribeTopicAsync(retryTopic)).Partitions.Count);
        Assert.Equal(3, (await admin.DescribeTopicAsync(deadLetters)).Partitions.Count);
        Assert.Equal([topic, retryTopic], behavior.Journal.Where(s => s.Value == "poison").Select(s => s.Topic));
        Assert.Equal(["ok-1", "ok-2"], behavior.Journal.Where(s => s.Value != "poison").Select(s => s.Value).Order());
        Assert.Contains(logs.Records, r => r.EventId.Name == "TopicCreated" && r.Text.Contains($"created topic {retryTopic} with 3 partition(s), as many as {topic}", StringComparison.Ordinal));
        Assert.Contains(logs.Records, r => r.EventId.Name == "TopicCreated" && r.Text.Contains($"created topic {deadLetters} with 3 partition(s)", StringComparison.Ordinal));

        // A second start finds them: nothing is created again.
        var again = new MemoryLoggerProvider();
        using (var second = Hosts.Build(
            new Behavior(),
            services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
            {
                Options(o, topic, group);
                o.RetryTopicDelays.Add(TimeSpan.FromSeconds(1));
                o.DeadLetterTopic = "{topic}-dlt";
                o.CreateRetryAndDeadLetterTopics = true;
                o.TopicAdmin = kafka.Cluster;
            }),
            again))
        {
            await second.StartAsync();
            Assert.True(await Hosts.Eventually(() => again.Records.Any(r => r.EventId.Name == "ConsumerServiceStarted")));
            await Hosts.StopAsync(second);
        }

        Assert.DoesNotContain(again.Records, r => r.EventId.Name is "TopicCreated" or "TopicCreationFailed" or "ConsumerServiceFailed");
    }

    [Fact]
    public async Task A_source_topic_that_does_not_exist_gets_no_retry_topics_and_a_warning()
    {
        var topic = HostedConsumerFixture.Unique("absent");
        var logs = new MemoryLoggerProvider();
        using var host = Hosts.Build(
            new Behavior(),
            services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
            {
                Options(o, topic, HostedConsumerFixture.Unique("absent"));
                o.RetryTopicDelays.Add(TimeSpan.FromSeconds(5));
                o.DeadLetterTopic = "{topic}-dlt";
                o.CreateRetryAndDeadLetterTopics = true;
                o.TopicAdmin = kafka.Cluster;
            }),
            logs);
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => logs.Records.Any(r => r.EventId.Name == "ConsumerServiceStarted")), "the service did not start");
        await Hosts.StopAsync(host);

        var warning = Assert.Single(logs.Records, r => r.EventId.Name == "SourceTopicMissing");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains($"[{topic}-retry-5s, {topic}-dlt]", warning.Text, StringComparison.Ordinal);
        var topics = await ((ITopicAdmin)kafka.Cluster).ListTopicsAsync();
        Assert.DoesNotContain(topics, t => t.StartsWith(topic, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cluster_that_refuses_to_create_a_topic_stops_the_service_naming_it()
    {
        // Without TopicAdmin the service uses the admin client on the consumer's keys; the embedded cluster refuses its CreateTopics.
        var topic = HostedConsumerFixture.Unique("refused");
        kafka.Cluster.CreateTopic(topic, partitions: 2);
        var logs = new MemoryLoggerProvider();
        var behavior = new Behavior();
        using var host = Hosts.Build(
            behavior,
            services =>
            {
                services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
                services.AddKafkaConsumerService<string, string, TestHandler>(o =>
                {
                    Options(o, topic, HostedConsumerFixture.Unique("refused"));
                    o.DeadLetterTopic = "{topic}-dlt";
                    o.CreateRetryAndDeadLetterTopics = true;
                });
            },
            logs);
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => logs.Records.Any(r => r.EventId.Name == "ConsumerServiceFailed")), "the refusal did not stop the service");
        await Hosts.StopAsync(host);

        var failed = Assert.Single(logs.Records, r => r.EventId.Name == "ConsumerServiceFailed");
        Assert.Equal(LogLevel.Critical, failed.Level);
        var refused = Assert.IsType<KafkaOperationException>(failed.Exception);
        Assert.Equal($"{topic}-dlt", refused.Topic);
        Assert.Contains($"Could not create topic \"{topic}-dlt\"", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Records, r => r.EventId.Name == "ConsumerServiceStarted");
    }

    [Fact]
    public async Task A_record_waiting_on_a_retry_topic_holds_up_no_other_partition()
    {
        var topic = HostedConsumerFixture.Unique("wait");
        var group = HostedConsumerFixture.Unique("wait");
        var retryTopic = $"{topic}-retry-2m";
        kafka.Cluster.CreateTopic(topic);
        kafka.Cluster.CreateTopic(retryTopic);
        await kafka.ProduceAsync(topic, [(0, "a", "poison")]);
        var behavior = new Behavior { Handle = (record, _) => record.Message.Value == "poison" ? throw new InvalidOperationException("no") : ValueTask.CompletedTask };

        using var host = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
        {
            Options(o, topic, group);
            o.MaxAttempts = 1;
            o.RetryTopicDelays.Add(TimeSpan.FromMinutes(2));
        }));
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => kafka.Count(retryTopic) == 1), "the record was not forwarded");
        await Task.Delay(500); // the consumer reads the retry record and pauses its partition

        await kafka.ProduceAsync(topic, [(0, "b", "next")]);
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Any(s => s.Value == "next"), seconds: 60), "a record on the source topic waited for the retry topic");
        await Hosts.StopAsync(host);

        Assert.DoesNotContain(behavior.Journal, s => s.Topic == retryTopic);
        Assert.Equal([Offset.Unset.Value], kafka.Committed(group, retryTopic, 1)); // the waiting record is read again after a restart
        Assert.Equal([2L], kafka.Committed(group, topic, 1));
    }

    [Fact]
    public async Task A_transient_failure_is_retried_on_the_record_and_never_forwarded()
    {
        var topic = HostedConsumerFixture.Unique("transient");
        var group = HostedConsumerFixture.Unique("transient");
        kafka.Cluster.CreateTopic(topic);
        kafka.Cluster.CreateTopic($"{topic}-retry-1s");
        kafka.Cluster.CreateTopic($"{topic}-dlt");
        await kafka.ProduceAsync(topic, [(0, "a", "v")]);
        var attempts = 0;
        var behavior = new Behavior
        {
            Handle = (_, _) => Interlocked.Increment(ref attempts) <= 6
                ? throw new InvalidOperationException("wrapped", new KafkaOperationException("broker down", new Error(ErrorCode.Local_Transport)))
                : ValueTask.CompletedTask,
        };

        using var host = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
        {
            Options(o, topic, group);
            o.MaxAttempts = 2;
            o.MaxRetryBackoff = TimeSpan.FromMilliseconds(50);
            o.RetryTopicDelays.Add(TimeSpan.FromSeconds(1));
            o.DeadLetterTopic = "{topic}-dlt";
        }));
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => kafka.Committed(group, topic, 1)[0] == 1), "the record was not handled in the end");
        await Hosts.StopAsync(host);

        Assert.Equal(7, behavior.Journal.Count);
        Assert.All(behavior.Journal, s => Assert.Equal(topic, s.Topic));
        Assert.Equal(0, kafka.Count($"{topic}-retry-1s"));
        Assert.Equal(0, kafka.Count($"{topic}-dlt"));
    }

    [Fact]
    public async Task A_registry_outage_holds_the_record_instead_of_dead_lettering_it()
    {
        var topic = HostedConsumerFixture.Unique("outage");
        var group = HostedConsumerFixture.Unique("outage");
        kafka.Cluster.CreateTopic(topic);
        kafka.Cluster.CreateTopic($"{topic}-dlt");
        await kafka.ProduceAsync(topic, [(0, "a", "first"), (0, "b", "second")]);
        var outage = new OutageDeserializer(failures: 5);
        var behavior = new Behavior();

        using var host = Hosts.Build(behavior, services =>
        {
            services.AddSingleton<IAsyncDeserializer<string>>(outage);
            services.AddKafkaConsumerService<string, string, TestHandler>(o =>
            {
                Options(o, topic, group);
                o.DeadLetterTopic = "{topic}-dlt";
                o.Consumer.ConfigureBuilder = (_, builder) => builder.SetRetryBackoff(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50));
            });
        });
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count == 2));
        await Hosts.StopAsync(host);

        Assert.Equal(["first", "second"], behavior.Journal.Select(s => s.Value));
        Assert.True(outage.Failed >= 5);
        Assert.Equal(0, kafka.Count($"{topic}-dlt"));
        Assert.Equal([2L], kafka.Committed(group, topic, 1));
    }

    [Fact]
    public async Task A_record_that_cannot_be_deserialized_goes_to_the_dead_letter_topic_through_the_poison_policy()
    {
        var topic = HostedConsumerFixture.Unique("poison");
        var group = HostedConsumerFixture.Unique("poison");
        kafka.Cluster.CreateTopic(topic);
        kafka.Cluster.CreateTopic($"{topic}-dlt");
        await using (var producer = new SerializingProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = kafka.Cluster.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(topic, "a", BitConverter.GetBytes(1).Reverse().ToArray());
            await producer.ProduceAsync(topic, "b", [1, 2, 3]);
            await producer.ProduceAsync(topic, "c", BitConverter.GetBytes(3).Reverse().ToArray());
        }

        var values = new System.Collections.Concurrent.ConcurrentQueue<int>();
        using var host = Hosts.Build(new Behavior(), services =>
        {
            services.AddSingleton(values);
            services.AddKafkaConsumerService<string, int, IntHandler>(o =>
            {
                foreach (var (key, value) in kafka.ConsumerConfig())
                {
                    o.Consumer.Config[key] = value;
                }

                o.Topics.Add(topic);
                o.GroupId = group;
                o.DeadLetterTopic = "{topic}-dlt";
            });
        });
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => values.Count == 2));
        var parked = Assert.Single(await kafka.ReadRawAsync($"{topic}-dlt", 1));
        Assert.True(await Hosts.Eventually(() => kafka.Committed(group, topic, 1)[0] == 3), "the poison record's offset was not committed");
        await Hosts.StopAsync(host);

        Assert.Equal([1, 3], values);
        Assert.Equal("value", Header(parked, DeadLetterPolicy.HeaderComponent));
        Assert.Equal("1", Header(parked, DeadLetterPolicy.HeaderSourceOffset));
    }

    [Fact]
    public async Task A_handler_that_outlives_the_shutdown_timeout_is_not_committed_and_its_record_is_read_again()
    {
        var topic = HostedConsumerFixture.Unique("outlive");
        var group = HostedConsumerFixture.Unique("outlive");
        kafka.Cluster.CreateTopic(topic);
        await kafka.ProduceAsync(topic, [(0, "a", "quick"), (0, "b", "stuck"), (0, "c", "after")]);
        var tokenFired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stuck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var behavior = new Behavior();
        behavior.Handle = async (record, cancellationToken) =>
        {
            if (record.Message.Value == "stuck" && !release.Task.IsCompleted)
            {
                // Ignores its token: it goes on past the shutdown timeout.
                cancellationToken.Register(() => tokenFired.TrySetResult());
                stuck.TrySetResult();
                await release.Task;
            }
        };

        var logs = new MemoryLoggerProvider();
        using (var first = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o =>
        {
            Options(o, topic, group);
            o.ShutdownTimeout = TimeSpan.FromSeconds(2);
        }), logs))
        {
            await first.StartAsync();
            await stuck.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await Hosts.StopAsync(first);
            await tokenFired.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        Assert.Equal([1L], kafka.Committed(group, topic, 1));
        Assert.Contains(logs.Records, r => r.EventId.Name == "HandlersOutlivedShutdown");

        release.SetResult();
        behavior.Journal.Clear();
        using (var second = Hosts.Build(behavior, services => services.AddKafkaConsumerService<string, string, TestHandler>(o => Options(o, topic, group))))
        {
            await second.StartAsync();
            Assert.True(await Hosts.Eventually(() => behavior.Journal.Count == 2));
            await Hosts.StopAsync(second);
        }

        Assert.Equal(["stuck", "after"], behavior.Journal.Select(s => s.Value));
        Assert.Equal([3L], kafka.Committed(group, topic, 1));
    }

    [Fact]
    public async Task Host_start_is_not_held_up_while_the_consumer_is_created_on_the_background_loop()
    {
        var topic = HostedConsumerFixture.Unique("startup");
        var group = HostedConsumerFixture.Unique("startup");
        kafka.Cluster.CreateTopic(topic);
        await kafka.ProduceAsync(topic, [(0, "a", "v")]);
        using var gate = new ManualResetEventSlim();
        var creating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var behavior = new Behavior();
        using var host = Hosts.Build(behavior, services =>
        {
            // The consumer's deserializer comes from the container, and making it waits for the test.
            services.AddSingleton<IDeserializer<string>>(_ =>
            {
                creating.TrySetResult();
                gate.Wait(TimeSpan.FromSeconds(60));
                return Deserializers.Utf8;
            });
            services.AddKafkaConsumerService<string, string, TestHandler>(o => Options(o, topic, group));
        });

        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await creating.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(behavior.Journal);

        gate.Set();
        Assert.True(await Hosts.Eventually(() => behavior.Journal.Count == 1));
        await Hosts.StopAsync(host);
    }

    [Fact]
    public async Task A_batch_handler_gets_records_in_order_and_a_failed_batch_goes_record_by_record_to_the_dead_letter_topic()
    {
        var topic = HostedConsumerFixture.Unique("batch");
        var group = HostedConsumerFixture.Unique("batch");
        kafka.Cluster.CreateTopic(topic);
        kafka.Cluster.CreateTopic($"{topic}-dlt");
        await kafka.ProduceAsync(topic, Enumerable.Range(0, 23).Select(i => (0, (string?)$"k{i}", i == 11 ? "poison" : $"v{i}")));
        var batches = new System.Collections.Concurrent.ConcurrentQueue<string[]>();
        var behavior = new Behavior();
        behavior.HandleBatch = (records, _) =>
        {
            var values = records.Select(r => r.Message.Value).ToArray();
            batches.Enqueue(values);
            return values.Contains("poison") ? throw new InvalidOperationException("bad batch") : ValueTask.CompletedTask;
        };

        using var host = Hosts.Build(behavior, services => services.AddKafkaBatchConsumerService<string, string, TestBatchHandler>(o =>
        {
            Options(o, topic, group);
            o.MaxBatchSize = 5;
            o.MaxAttempts = 2;
            o.DeadLetterTopic = "{topic}-dlt";
        }));
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => kafka.Committed(group, topic, 1)[0] == 23), "not every record was committed");
        await Hosts.StopAsync(host);

        var all = batches.ToList();
        Assert.All(all, b => Assert.InRange(b.Length, 1, 5));
        var failed = all.Where(b => b.Contains("poison")).ToList();
        Assert.Equal(2, failed.Count); // attempted twice, the same records both times
        Assert.Equal(failed[0], failed[1]);
        var handled = all.Where(b => !b.Contains("poison")).SelectMany(b => b).ToList();
        Assert.Equal(Enumerable.Range(0, 23).Select(i => i == 11 ? "poison" : $"v{i}").Where(v => !failed[0].Contains(v)), handled);

        var parked = await kafka.ReadRawAsync($"{topic}-dlt", failed[0].Length);
        Assert.Equal(failed[0], parked.Select(r => Text(r.Message.Value)));
        Assert.All(parked, r => Assert.Equal("bad batch", Header(r, DeadLetterPolicy.HeaderError)));
    }

    [Fact]
    public async Task The_readme_example_runs_a_handler_from_the_container()
    {
        kafka.Cluster.CreateTopic("orders");
        foreach (var name in (string[])["orders-retry-5s", "orders-retry-30s", "orders-dlt"])
        {
            kafka.Cluster.CreateTopic(name);
        }

        await kafka.ProduceAsync("orders", [(0, "order-1", "2 apples")]);
        var store = new OrderStore();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(kafka.ConsumerConfig().ToDictionary(e => $"Kafka:Orders:{e.Key}", e => (string?)e.Value));
        builder.Services.AddSingleton<IOrderStore>(store);

        // The README's hosted consumer example.
        builder.Services.AddKafkaConsumerService<string, string, OrderHandler>(builder.Configuration.GetSection("Kafka:Orders"), options =>
        {
            options.Topics.Add("orders");
            options.GroupId = "order-service";
            options.RetryTopicDelays.Add(TimeSpan.FromSeconds(5));   // orders -> orders-retry-5s
            options.RetryTopicDelays.Add(TimeSpan.FromSeconds(30));  //        -> orders-retry-30s
            options.DeadLetterTopic = "{topic}-dlt";                 //        -> orders-dlt
        });

        using var host = builder.Build();
        await host.StartAsync();
        Assert.True(await Hosts.Eventually(() => store.Saved.Count == 1));
        await Hosts.StopAsync(host);
        Assert.Equal(("order-1", "2 apples"), store.Saved.Single());
    }
}

public sealed class IntHandler(System.Collections.Concurrent.ConcurrentQueue<int> values) : IKafkaRecordHandler<string, int>
{
    public ValueTask HandleAsync(ConsumeResult<string, int> record, CancellationToken cancellationToken = default)
    {
        values.Enqueue(record.Message.Value);
        return ValueTask.CompletedTask;
    }
}

/// <summary>A value deserializer whose schema registry is down for its first calls: it fails as an unreachable registry does (retriable).</summary>
public sealed class OutageDeserializer(int failures) : IAsyncDeserializer<string>
{
    private int _calls;

    public int Failed => Math.Min(Volatile.Read(ref _calls), failures);

    public Task<string> DeserializeAsync(ReadOnlyMemory<byte> data, bool isNull, SerializationContext context) =>
        Interlocked.Increment(ref _calls) <= failures
            ? throw new HttpRequestException("Connection refused (registry:8081)")
            : Task.FromResult(Encoding.UTF8.GetString(data.Span));
}

public interface IOrderStore
{
    ValueTask SaveAsync(string id, string order, CancellationToken cancellationToken = default);
}

public sealed class OrderStore : IOrderStore
{
    public System.Collections.Concurrent.ConcurrentQueue<(string, string)> Saved { get; } = new();

    public ValueTask SaveAsync(string id, string order, CancellationToken cancellationToken = default)
    {
        Saved.Enqueue((id, order));
        return ValueTask.CompletedTask;
    }
}

#region readme-handler
public sealed class OrderHandler(IOrderStore store) : IKafkaRecordHandler<string, string>
{
    public ValueTask HandleAsync(ConsumeResult<string, string> record, CancellationToken cancellationToken = default) =>
        store.SaveAsync(record.Message.Key, record.Message.Value, cancellationToken);
}
#endregion
